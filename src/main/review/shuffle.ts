// The review queue's seeded random order: each pair's place comes from a hash of (seed, pair id),
// so the order is the same on every call for a seed, needs no stored permutation, and a pair
// keeps its place when pairs before it leave the queue (a keyset cursor stays valid).

/** One round of a 32-bit integer finaliser (the "lowbias32" constants of Chris Wellons' hash-prospector). */
function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The sort key of a pair in the 'random' order of `seed`: an unsigned 32-bit integer (ties go by pair id). */
export function shuffleKey(seed: number, pairId: number): number {
  // The id's high bits (ids beyond 2^32) are folded in so distinct ids rarely collide.
  const high = Math.floor(pairId / 2 ** 32);
  return mix32(mix32(seed) ^ mix32((pairId >>> 0) ^ mix32(high)));
}
