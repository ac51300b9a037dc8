// The baselines of the deletion / insertion curves on hand-computable images: ROAD's noisy
// linear imputation (impute.ts) against closed-form solutions, the blur of an impulse against
// a hand-built Gaussian, and whole curves under black, mean and ROAD on the quadrant model,
// whose score depends only on the mean of the top-left quadrant.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { quadrantModel } from '../../src/main/engine/explain/cam/analytic-models';
import {
  gaussianBlur,
  noisyLinearImpute,
  perturbationCurve,
  pixelBaseline,
  trapezoid,
  type Grid,
} from '../../src/main/engine/explain/metrics';
import { initBackend } from '../../src/main/engine/runtime/backend';
import { createRng } from '../../src/main/pairs/rng';

beforeAll(async () => {
  await initBackend({ force: 'cpu' });
});

describe('noisyLinearImpute (ROAD)', () => {
  it('a removed centre of a 3x3 image is the weighted mean of its 8 neighbours (1/6 direct, 1/12 diagonal)', () => {
    const x = Float32Array.from([1, 2, 3, 4, 99, 6, 7, 8, 9]);
    const keep = Uint8Array.from([1, 1, 1, 1, 0, 1, 1, 1, 1]);
    const out = noisyLinearImpute(x, 3, 3, 1, keep, { noise: 0 });
    const expected = (2 + 4 + 6 + 8) / 6 + (1 + 3 + 7 + 9) / 12; // the 8 weights sum to 1
    expect(out[4]).toBeCloseTo(expected, 5);
    expect(Array.from(out).filter((_, i) => i !== 4)).toEqual([1, 2, 3, 4, 6, 7, 8, 9]); // kept pixels untouched
    expect(x[4]).toBe(99); // the input is not changed
  });

  it('a corner counts only the neighbours inside the image', () => {
    const x = Float32Array.from([50, 2, 3, 4, 5, 6, 7, 8, 9]);
    const out = noisyLinearImpute(x, 3, 3, 1, Uint8Array.from([0, 1, 1, 1, 1, 1, 1, 1, 1]), { noise: 0 });
    expect(out[0]).toBeCloseTo((2 / 6 + 4 / 6 + 5 / 12) / (1 / 6 + 1 / 6 + 1 / 12), 5);
  });

  it('a removed run between two kept pixels is their linear interpolation (1 x 4)', () => {
    const out = noisyLinearImpute(Float32Array.from([3, 0, 0, 9]), 1, 4, 1, Uint8Array.from([1, 0, 0, 1]), { noise: 0 });
    expect(out[1]).toBeCloseTo(5, 5); // (2 * 3 + 9) / 3
    expect(out[2]).toBeCloseTo(7, 5); // (3 + 2 * 9) / 3
  });

  it('keeps a uniform background uniform, per channel, and solves large holes', () => {
    const H = 20;
    const W = 24;
    const x = new Float32Array(H * W * 2);
    for (let p = 0; p < H * W; p++) {
      x[2 * p] = 0.25;
      x[2 * p + 1] = 0.75;
    }
    const keep = new Uint8Array(H * W).fill(1);
    for (let u = 2; u < 18; u++) for (let v = 3; v < 20; v++) keep[u * W + v] = 0; // a 16 x 17 hole
    const out = noisyLinearImpute(x, H, W, 2, keep, { noise: 0 });
    for (let p = 0; p < H * W; p++) {
      expect(out[2 * p]).toBeCloseTo(0.25, 4);
      expect(out[2 * p + 1]).toBeCloseTo(0.75, 4);
    }
  });

  it('with nothing kept every pixel takes the channel mean; noise is seeded and of the given size', () => {
    const x = Float32Array.from([0, 1, 2, 3]);
    expect(Array.from(noisyLinearImpute(x, 2, 2, 1, new Uint8Array(4), { noise: 0 }))).toEqual([1.5, 1.5, 1.5, 1.5]);
    const big = new Float32Array(64 * 64);
    const keep = new Uint8Array(64 * 64);
    for (let p = 0; p < keep.length; p += 2) keep[p] = 1; // every other pixel removed: each fill is exactly 0
    const a = noisyLinearImpute(big, 64, 64, 1, keep, { noise: 0.01, seed: 3 });
    const b = noisyLinearImpute(big, 64, 64, 1, keep, { noise: 0.01, seed: 3 });
    expect(Array.from(a)).toEqual(Array.from(b));
    const filled = Array.from(a).filter((_, p) => !keep[p]);
    const std = Math.sqrt(filled.reduce((s, v) => s + v * v, 0) / filled.length);
    expect(std).toBeGreaterThan(0.008);
    expect(std).toBeLessThan(0.012);
  });
});

/**
 * Plain-loop Gaussian blur of x [H * W * C] (HWC) with reflect padding (the edge pixel is the
 * mirror, not repeated: index -1 reads 1): radius min(ceil(3 sigma), H - 1, W - 1), at least 1.
 */
function refBlur(x: ArrayLike<number>, H: number, W: number, C: number, sigma: number): number[] {
  const r = Math.max(1, Math.min(Math.ceil(3 * sigma), H - 1, W - 1));
  const g = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const z = g.reduce((a, b) => a + b, 0);
  const reflect = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
  const rows = new Array<number>(H * W * C).fill(0);
  for (let u = 0; u < H; u++)
    for (let v = 0; v < W; v++)
      for (let c = 0; c < C; c++)
        for (let d = -r; d <= r; d++) rows[(u * W + v) * C + c] += (g[d + r] / z) * x[(u * W + reflect(v + d, W)) * C + c];
  const out = new Array<number>(H * W * C).fill(0);
  for (let u = 0; u < H; u++)
    for (let v = 0; v < W; v++)
      for (let c = 0; c < C; c++)
        for (let d = -r; d <= r; d++) out[(u * W + v) * C + c] += (g[d + r] / z) * rows[(reflect(u + d, H) * W + v) * C + c];
  return out;
}

describe('gaussianBlur', () => {
  it('spreads an impulse into the normalised Gaussian (separable, away from the border)', () => {
    const sigma = 1.5;
    const n = 15;
    const img = new Float32Array(n * n);
    img[7 * n + 7] = 1;
    const out = tf.tidy(() => gaussianBlur(tf.tensor4d(img, [1, n, n, 1]), sigma).dataSync());
    const r = Math.ceil(3 * sigma);
    const g = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
    const z = g.reduce((a, b) => a + b, 0);
    for (let dy = -r; dy <= r; dy++)
      for (let dx = -r; dx <= r; dx++) expect(out[(7 + dy) * n + 7 + dx]).toBeCloseTo((g[dy + r] / z) * (g[dx + r] / z), 6);
    expect(out[0]).toBe(0); // beyond the kernel's reach
  });

  it('matches a plain-loop blur with reflect padding everywhere, borders included, per channel', () => {
    const [H, W, C] = [9, 13, 2];
    const rng = createRng(4, 2);
    const x = Float32Array.from({ length: H * W * C }, () => rng.next());
    for (const sigma of [0.8, 2, 6]) {
      // sigma 6: the radius is capped by the image (8 rows)
      const out = tf.tidy(() => gaussianBlur(tf.tensor4d(x, [1, H, W, C]), sigma).dataSync());
      const ref = refBlur(x, H, W, C, sigma);
      let worst = 0;
      for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(out[i] - ref[i]));
      expect(worst, `sigma ${sigma}`).toBeLessThan(1e-5);
      // and the blur changed the image (a copy would be 0.1 or more off somewhere)
      expect(Math.max(...ref.map((v, i) => Math.abs(v - x[i]))), `sigma ${sigma}`).toBeGreaterThan(0.1);
    }
  });
});

describe('deletion and insertion curves under black, mean and ROAD', () => {
  // 4 x 4 image: the top-left quadrant (the only part the model reads) is 1, the rest 0.5; the
  // other image is all ones, so s = sigmoid(4 * mean(top-left quadrant) - 1).
  const H = 4;
  const x = Float32Array.from({ length: 16 }, (_, p) => (Math.floor(p / 4) < 2 && p % 4 < 2 ? 1 : 0.5));
  const sig = (e: number) => 1 / (1 + Math.exp(-(4 * e - 1)));
  // the map ranks the quadrant first, so step 1 of 4 (4 pixels) removes / inserts exactly it
  const map: Grid = { data: Float32Array.from(x, (v) => (v === 1 ? 1 : 0)), h: H, w: H };
  const curve = async (mode: 'deletion' | 'insertion', baseline?: ReturnType<typeof pixelBaseline>) => {
    const model = quadrantModel(H, H);
    const x1 = tf.tensor4d(x, [1, H, H, 1]);
    const x2 = tf.ones([1, H, H, 1]) as tf.Tensor4D;
    try {
      return await perturbationCurve(model, x1, x2, 0, map, mode, { steps: 4, baseline, roadNoise: 0 });
    } finally {
      tf.dispose([x1, x2]);
      model.dispose();
    }
  };
  const fractions = [0, 0.25, 0.5, 0.75, 1];

  it('black: removing the quadrant drops the quadrant mean to 0', async () => {
    const c = await curve('deletion', pixelBaseline('black'));
    const expected = [sig(1), sig(0), sig(0), sig(0), sig(0)];
    expected.forEach((v, k) => expect(c.scores[k]).toBeCloseTo(v, 5));
    expect(c.auc).toBeCloseTo(trapezoid(fractions, expected), 5);
  });

  it("mean: removed pixels take the dataset's mean colour", async () => {
    const c = await curve('deletion', pixelBaseline('mean', [0.3]));
    [sig(1), sig(0.3), sig(0.3), sig(0.3), sig(0.3)].forEach((v, k) => expect(c.scores[k]).toBeCloseTo(v, 5));
    const ins = await curve('insertion', pixelBaseline('mean', [0.3]));
    [sig(0.3), sig(1), sig(1), sig(1), sig(1)].forEach((v, k) => expect(ins.scores[k]).toBeCloseTo(v, 5));
  });

  it('ROAD: the removed quadrant is imputed from the kept 0.5 background; all removed: the image mean', async () => {
    const c = await curve('deletion', pixelBaseline('road'));
    const imageMean = (4 * 1 + 12 * 0.5) / 16;
    [sig(1), sig(0.5), sig(0.5), sig(0.5), sig(imageMean)].forEach((v, k) => expect(c.scores[k]).toBeCloseTo(v, 4));
    // insertion keeps the quadrant from step 1 on; the rest is imputed (step 0: all imputed)
    const ins = await curve('insertion', pixelBaseline('road'));
    [sig(imageMean), sig(1), sig(1), sig(1), sig(1)].forEach((v, k) => expect(ins.scores[k]).toBeCloseTo(v, 4));
  });

  it('blur (the default baseline of insertion): removed pixels take the blurred image, sigma max(1, 5 H / 224)', async () => {
    // sigma = 1 at 4 px: the removed quadrant's mean becomes that of the blurred image's quadrant
    const blurred = refBlur(x, H, H, 1, 1);
    const q = (img: ArrayLike<number>) => [0, 1, 4, 5].reduce((t, p) => t + img[p], 0) / 4;
    const mb = q(blurred);
    expect(mb).toBeGreaterThan(0.6); // the 0.5 background bleeds in: far from the quadrant's 1
    expect(mb).toBeLessThan(0.95);
    const ins = await curve('insertion'); // no baseline given: insertion's default
    const expectedIns = [sig(mb), sig(1), sig(1), sig(1), sig(1)];
    expectedIns.forEach((v, k) => expect(ins.scores[k]).toBeCloseTo(v, 5));
    expect(ins.auc).toBeCloseTo(trapezoid(fractions, expectedIns), 5);
    const del = await curve('deletion', 'blur');
    const expectedDel = [sig(1), sig(mb), sig(mb), sig(mb), sig(mb)];
    expectedDel.forEach((v, k) => expect(del.scores[k]).toBeCloseTo(v, 5));
    expect(del.auc).toBeCloseTo(trapezoid(fractions, expectedDel), 5);
    // deletion's default is black, not blur
    expect((await curve('deletion')).scores[1]).toBeCloseTo(sig(0), 5);
  });

  it("'mean' without channel means is refused; a wrong channel count too", async () => {
    expect(() => pixelBaseline('mean')).toThrow(/channel means/);
    await expect(curve('deletion', [0.1, 0.2])).rejects.toThrow(/2 channel values for an image of 1 channels/);
  });
});
