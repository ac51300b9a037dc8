// Separable toy data for the engine tests (not a test file itself).
import type { ImageSet } from '../../src/main/engine/data/dataset';
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

/**
 * Train data for the trainers: 16 images per class of 4 classes; images 0-47 are the train
 * anchors, every pair among images 48-63 is a validation pair.
 */
export function toyTrainData(): {
  images: ImageSet;
  train: { indices: Int32Array; classes: Int32Array };
  val: { a: Int32Array; b: Int32Array; label: Uint8Array };
} {
  const { images, classes } = toyImages(16, 4, 2);
  const a: number[] = [];
  const b: number[] = [];
  const label: number[] = [];
  for (let i = 48; i < 64; i++)
    for (let j = i + 1; j < 64; j++) {
      a.push(i);
      b.push(j);
      label.push(classes[i] === classes[j] ? 1 : 0);
    }
  const val = { a: Int32Array.from(a), b: Int32Array.from(b), label: Uint8Array.from(label) };
  return { images, train: { indices: Int32Array.from({ length: 48 }, (_, i) => i), classes: classes.slice(0, 48) }, val };
}
