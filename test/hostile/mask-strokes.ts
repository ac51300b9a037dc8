// The mask strokes of the mask-save crash case, one deterministic sequence shared by the child
// that saves them (mask-saver.child.ts) and the test that checks what survived the kill
// (crash.test.ts): the k-th stored row of the painter must be the k-th mask of this sequence.

/** The canvas the painter paints on: an image row of this size (pixels are not looked at by masks). */
export const CANVAS: { height: number; width: number } = { height: 480, width: 640 };
export const PAINTER = 'crash-painter';
export const STROKE_SEED = 13;

/** mulberry32: a small seeded generator (the same numbers in both processes). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Successive masks (row-major 0/1, height x width) of a painter: each a disc painted onto the
 * previous mask, every fourth one erased from it, radius 6..40. Strokes that change nothing are
 * left out (a save of the same pixels stores no row), so every mask differs from the one before.
 */
export function* strokeMasks(height: number, width: number, seed: number): Generator<Uint8Array> {
  const next = random(seed);
  const mask = new Uint8Array(height * width);
  for (let stroke = 0; ; stroke++) {
    const erase = stroke % 4 === 3;
    const cx = Math.floor(next() * width);
    const cy = Math.floor(next() * height);
    const r = 6 + Math.floor(next() * 35);
    let changed = false;
    for (let y = Math.max(0, cy - r); y <= Math.min(height - 1, cy + r); y++)
      for (let x = Math.max(0, cx - r); x <= Math.min(width - 1, cx + r); x++)
        if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r && mask[y * width + x] !== (erase ? 0 : 1)) {
          mask[y * width + x] = erase ? 0 : 1;
          changed = true;
        }
    if (changed) yield mask.slice();
  }
}
