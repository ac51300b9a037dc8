// Separable toy data for the engine tests (not a test file itself).
import type { ImageSet } from '../../src/main/engine/dataset';
import { createRng } from '../../src/main/pairs/rng';

/** Separable toy data: class c has a bright 3x3 blob in quadrant c, plus noise. */
export function toyImages(perClass: number, classes: number, seed: number): { images: ImageSet; classes: Int32Array } {
  const rng = createRng(seed);
  const n = perClass * classes;
  const pixels = new Float32Array(n * 64);
  const cls = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    cls[i] = c;
    const oy = c < 2 ? 1 : 4;
    const ox = c % 2 === 0 ? 1 : 4;
    for (let p = 0; p < 64; p++) pixels[i * 64 + p] = rng.next() * 0.3;
    for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) pixels[i * 64 + (oy + y) * 8 + ox + x] = 0.7 + rng.next() * 0.3;
  }
  return { images: { shape: [8, 8, 1], count: n, pixels }, classes: cls };
}

