// A small seeded PRNG for reproducible splits and pair draws. Math.random is never
// used for anything that must be reproducible: the same seed gives the same numbers
// on every platform and Node version (pure 32-bit integer arithmetic).

/** A random source: next() returns a float in [0, 1). */
export interface Rng {
  next(): number;
  /** integer in [0, n) */
  int(n: number): number;
}

/** splitmix32-style mixer: turns (seed, stream) into a well-spread 32-bit state. */
export function mixSeed(seed: number, stream = 0): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul((stream >>> 0) + 0x7f4a7c15, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x21f0aaad);
  h = Math.imul(h ^ (h >>> 15), 0x735a2d97);
  return (h ^ (h >>> 15)) >>> 0;
}

/**
 * mulberry32 (Tommy Ettinger): 32-bit state, period 2^32, good enough statistics for
 * shuffling and sampling. `stream` derives independent sequences from one seed, so
 * e.g. changing the pairs-per-anchor option does not change the image split.
 */
export function createRng(seed: number, stream = 0): Rng {
  let state = mixSeed(seed, stream);
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n) };
}

/** In-place Fisher-Yates shuffle; returns the same array. */
export function shuffleInPlace<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = items[i];
    items[i] = items[j];
    items[j] = tmp;
  }
  return items;
}

/** Hash a string label to stream numbers (stable across runs). */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
