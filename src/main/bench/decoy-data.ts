// The decoy benchmark's data (SCIENCE.md section 5), from the real Fashion-MNIST: a small patch
// whose POSITION (or SHADE) is tied to the class in the training and validation splits and drawn
// at random in the test split, and object masks computed from each garment's own pixels (dilated,
// the patch left out) standing in for an expert. Pure arrays, seeded; no tensors.
import { createRng, shuffleInPlace, type Rng } from '../pairs/rng';

export type DecoyKind = 'position' | 'shade';
export const DECOY_KINDS: readonly DecoyKind[] = ['position', 'shade'];

/** Fashion-MNIST's geometry and the patch. */
export const SIDE = 28;
export const PATCH = 4;
/** the patch of each class ('position'): 4 x 4 at these top-left corners, around the border */
export const PATCH_POSITIONS: readonly [number, number][] = [
  [0, 0],
  [0, 8],
  [0, 16],
  [0, 24],
  [24, 0],
  [24, 8],
  [24, 16],
  [24, 24],
  [12, 0],
  [12, 24],
];
/** the patch's grey level of each class ('shade'); 'position' patches are white */
export const PATCH_SHADES: readonly number[] = Array.from({ length: 10 }, (_, c) => 0.1 + 0.1 * c);
/** garment pixels: above this grey level (of 255); the mask is them dilated by DILATE pixels */
export const GARMENT_LEVEL = 0;
export const DILATE = 1;

export interface DecoyImages {
  /** [n, 28, 28, 1] in [0, 1] */
  pixels: Float32Array;
  classes: Int32Array;
  /** [n, 28 * 28] 0/255: the garment's own pixels dilated, minus the patch */
  masks: Uint8Array;
  /** where the patch went (top-left) and its grey level, per image; null: no patch (clean) */
  patches: ({ y: number; x: number; shade: number } | null)[];
}

/** How a split stamps its patches: tied to the class, at random, or none. */
export type PatchMode = 'tied' | 'random' | 'none';

/**
 * Builds images from Fashion-MNIST bytes (`raw`: n x 784, `labels`: n) at `indices`, with patches
 * stamped per `mode`. The patch of a 'random' image is drawn from the same set of positions (or
 * shades) as the tied ones, independently of the class.
 */
export function buildDecoyImages(
  raw: Uint8Array,
  labels: Uint8Array,
  indices: number[],
  kind: DecoyKind,
  mode: PatchMode,
  rng: Rng,
): DecoyImages {
  const n = indices.length;
  const area = SIDE * SIDE;
  const pixels = new Float32Array(n * area);
  const classes = new Int32Array(n);
  const masks = new Uint8Array(n * area);
  const patches: DecoyImages['patches'] = [];
  indices.forEach((src, i) => {
    const c = labels[src];
    classes[i] = c;
    const image = raw.subarray(src * area, (src + 1) * area);
    for (let p = 0; p < area; p++) pixels[i * area + p] = image[p] / 255;
    const garment = dilate(image, GARMENT_LEVEL, DILATE);
    let patch: { y: number; x: number; shade: number } | null = null;
    if (mode !== 'none') {
      const pick = mode === 'tied' ? c : rng.int(10);
      if (kind === 'position') {
        const [y, x] = PATCH_POSITIONS[pick];
        patch = { y, x, shade: 1 };
      } else {
        // 'shade': a random corner, the grey level tied to the class (or random)
        const [y, x] = PATCH_POSITIONS[[0, 3, 4, 7][rng.int(4)]];
        patch = { y, x, shade: PATCH_SHADES[pick] };
      }
      for (let dy = 0; dy < PATCH; dy++)
        for (let dx = 0; dx < PATCH; dx++) {
          const p = (patch.y + dy) * SIDE + patch.x + dx;
          pixels[i * area + p] = patch.shade;
          garment[p] = 0;
        }
    }
    masks.set(garment, i * area);
    patches.push(patch);
  });
  return { pixels, classes, masks, patches };
}

/** {image > level} dilated by r pixels (square), as 0/255. */
export function dilate(image: ArrayLike<number>, level: number, r: number): Uint8Array {
  const out = new Uint8Array(SIDE * SIDE);
  for (let y = 0; y < SIDE; y++)
    for (let x = 0; x < SIDE; x++) {
      if (image[y * SIDE + x] <= level) continue;
      for (let yy = Math.max(0, y - r); yy <= Math.min(SIDE - 1, y + r); yy++)
        for (let xx = Math.max(0, x - r); xx <= Math.min(SIDE - 1, x + r); xx++) out[yy * SIDE + xx] = 255;
    }
  return out;
}

/** `perClass` indices of each of the 10 classes from `labels`, seeded, interleaved by class. */
export function sampleByClass(labels: Uint8Array, perClass: number, rng: Rng, exclude: ReadonlySet<number> = new Set()): number[] {
  const byClass: number[][] = Array.from({ length: 10 }, () => []);
  labels.forEach((c, i) => {
    if (!exclude.has(i)) byClass[c].push(i);
  });
  const picked = byClass.map((list) => shuffleInPlace([...list], rng).slice(0, perClass));
  if (picked.some((l) => l.length < perClass)) throw new Error(`Not ${perClass} images of every class`);
  const out: number[] = [];
  for (let k = 0; k < perClass; k++) for (let c = 0; c < 10; c++) out.push(picked[c][k]);
  return out;
}

/** Balanced explicit pairs over images [offset, offset + n): each image once with a same-class and once with an other-class partner. */
export function balancedPairs(classes: Int32Array, offset: number, seed: number): { a: Int32Array; b: Int32Array; label: Uint8Array } {
  const rng = createRng(seed, 0xdec0);
  const n = classes.length;
  const byClass = new Map<number, number[]>();
  classes.forEach((c, i) => byClass.set(c, [...(byClass.get(c) ?? []), i]));
  const a: number[] = [];
  const b: number[] = [];
  const label: number[] = [];
  for (let i = 0; i < n; i++) {
    const same = byClass.get(classes[i])!;
    if (same.length >= 2) {
      let j = same[rng.int(same.length)];
      while (j === i) j = same[rng.int(same.length)];
      a.push(offset + i);
      b.push(offset + j);
      label.push(1);
    }
    let q = rng.int(n);
    while (classes[q] === classes[i]) q = rng.int(n);
    a.push(offset + i);
    b.push(offset + q);
    label.push(0);
  }
  return { a: Int32Array.from(a), b: Int32Array.from(b), label: Uint8Array.from(label) };
}
