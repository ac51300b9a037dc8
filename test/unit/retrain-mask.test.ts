// Mask-guided retraining, the pieces: the mask losses (zero when all the evidence lies inside the
// mask, positive otherwise; tensor = plain-loop), the training maps (= the app's Grad-CAM at the
// map layer, for the small CNN's flatten and GAP heads), the gradient of every loss against
// central finite differences on a tiny model (second derivative above the gradient layer, and a
// conv layer below it), no tensors left behind; explicit-pair batches with masks and their
// data-parallel shares; the mask-guided augmentation.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/main/engine/runtime/backend';
import { buildSiamese, defaultModelConfig, type SiameseModel } from '../../src/main/engine/models';
import { gradientCams } from '../../src/main/engine/explain/cam/gradcam';
import { toCamModel } from '../../src/main/engine/explain/split-model';
import {
  interpolationMatrix,
  maskLossOf,
  maskLossPerImage,
  MASK_LOSS_KINDS,
  type MaskLossKind,
} from '../../src/main/engine/train/mask/loss';
import { mapSplit } from '../../src/main/engine/train/mask/split';
import { pairRawMaps, pairStepGradients, pairStepLossValue, type MaskBatch } from '../../src/main/engine/train/mask/step';
import { checkSecondDerivative } from '../../src/main/engine/train/mask/check';
import { maskEpochPlanner, type MaskData } from '../../src/main/engine/train/mask/plan';
import { boxBlur, maskAugmentInto, maskBox } from '../../src/main/engine/train/mask/augment';
import { sliceShare } from '../../src/main/engine/train/data-parallel';
import { DEFAULT_TRAIN_CONFIG } from '../../src/main/engine/train/trainer';
import { upsampleBilinear } from '../../src/main/images/overlay';
import { createRng } from '../../src/main/pairs/rng';
import { toyImages } from './engine-toy';

const S = 16;

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
});

const tiny = (head: 'flatten' | 'gap' = 'flatten', seed = 4): Promise<SiameseModel> =>
  buildSiamese(defaultModelConfig({ inputShape: [S, S, 1], width: 0.25, embeddingSize: 8, seed, head }));

/** k pairs of random images [a(k); b(k)] in [0, 1] with some structure (a bright square each). */
function pairImages(k: number, seed: number): Float32Array {
  const rng = createRng(seed, 9);
  const x = new Float32Array(2 * k * S * S);
  for (let i = 0; i < 2 * k; i++) {
    for (let p = 0; p < S * S; p++) x[i * S * S + p] = 0.2 * rng.next();
    const oy = rng.int(S - 5);
    const ox = rng.int(S - 5);
    for (let y = 0; y < 5; y++) for (let xx = 0; xx < 5; xx++) x[i * S * S + (oy + y) * S + ox + xx] = 0.6 + 0.4 * rng.next();
  }
  return x;
}

/** A mask [S, S] (0/255): the rectangle [y0, y1) x [x0, x1). */
function rectMask(y0: number, y1: number, x0: number, x1: number): Uint8Array {
  const m = new Uint8Array(S * S);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * S + x] = 255;
  return m;
}

describe('mask losses', () => {
  it('the interpolation matrices resample as the overlays do (half-pixel centres)', () => {
    const map = Float32Array.from({ length: 3 * 5 }, (_, i) => Math.sin(i) + 1);
    const uh = interpolationMatrix(7, 3);
    const uw = interpolationMatrix(11, 5);
    const expected = upsampleBilinear(map, 3, 5, 7, 11);
    for (let i = 0; i < 7; i++)
      for (let j = 0; j < 11; j++) {
        let acc = 0;
        for (let u = 0; u < 3; u++) for (let v = 0; v < 5; v++) acc += uh[i * 3 + u] * uw[j * 5 + v] * map[u * 5 + v];
        expect(acc).toBeCloseTo(expected[i * 11 + j], 5);
      }
  });

  it('are zero when all the evidence lies inside the mask and positive otherwise (rrr, energy; hint: zero when the map is the mask)', () => {
    // 8x8 maps on 8x8 masks (no resampling) and 4x4 maps on 8x8 masks (bilinear), tensor and plain loops
    const mask = new Float32Array(64);
    for (let y = 2; y < 6; y++) for (let x = 1; x < 7; x++) mask[y * 8 + x] = 1;
    const inside = mask.map((v, i) => v * (1 + (i % 3))); // evidence only inside, uneven
    const leaky = inside.map((v, i) => (i === 0 ? 0.5 : v)); // one cell outside
    const exact = mask.slice(); // the map is the mask
    const coarseInside = new Float32Array(16); // 4x4 map whose upsampled support is inside the mask
    coarseInside[1 * 4 + 1] = 1;
    coarseInside[1 * 4 + 2] = 2;
    const coarseMask = Float32Array.from(upsampleBilinear(coarseInside, 4, 4, 8, 8), (v) => (v > 0 ? 1 : 0));
    const coarseOutside = Float32Array.from(coarseInside, (v, i) => (i === 15 ? 1 : v));
    const tensorLoss = (kind: MaskLossKind, map: Float32Array, h: number, m: Float32Array) =>
      tf.tidy(() => maskLossPerImage(kind, tf.tensor3d(map, [1, h, h]), tf.tensor3d(m, [1, 8, 8])).dataSync()[0]);
    for (const kind of MASK_LOSS_KINDS) {
      const zeroCase = kind === 'hint' ? exact : inside;
      expect(tensorLoss(kind, zeroCase, 8, mask)).toBeCloseTo(0, 6);
      expect(maskLossOf(kind, zeroCase, 8, 8, mask, 8, 8)).toBeCloseTo(0, 6);
      expect(tensorLoss(kind, leaky, 8, mask)).toBeGreaterThan(1e-4);
      expect(tensorLoss(kind, leaky, 8, mask)).toBeCloseTo(maskLossOf(kind, leaky, 8, 8, mask, 8, 8), 5);
      if (kind !== 'hint') expect(tensorLoss(kind, coarseInside, 4, coarseMask)).toBeCloseTo(0, 6);
      expect(tensorLoss(kind, coarseOutside, 4, coarseMask)).toBeGreaterThan(1e-3);
      expect(tensorLoss(kind, coarseOutside, 4, coarseMask)).toBeCloseTo(maskLossOf(kind, coarseOutside, 4, 4, coarseMask, 8, 8), 5);
    }
    // energy = 1 - EPG: one unit of 1 + 2 + ... outside
    const total = leaky.reduce((p, q) => p + q, 0);
    expect(tensorLoss('energy', leaky, 8, mask)).toBeCloseTo(0.5 / total, 5);
    // a map without evidence: nothing outside (rrr, energy 0)
    expect(tensorLoss('rrr', new Float32Array(64), 8, mask)).toBe(0);
    expect(tensorLoss('energy', new Float32Array(64), 8, mask)).toBe(0);
  });
});

describe('the maps mask-guided training differentiates', () => {
  for (const head of ['flatten', 'gap'] as const) {
    it(`are the Grad-CAM maps of the explanation engine (small CNN, ${head} head: the score differentiated at ${head === 'flatten' ? 'pool2' : 'gap'})`, async () => {
      const model = await tiny(head);
      const split = mapSplit(model);
      expect(split.layer).toBe('conv4');
      expect(split.gradLayer).toBe(head === 'flatten' ? 'pool2' : 'gap');
      expect(split.doubleDiffLayers).toEqual(head === 'flatten' ? ['Flatten', 'Dense', 'Dense'] : ['Dense', 'Dense']);
      const k = 3;
      const x = pairImages(k, 1);
      const raw = tf.tidy(() => {
        const a = split.features(tf.tensor4d(x, [2 * k, S, S, 1]), false);
        return pairRawMaps(
          split,
          model.tau,
          a,
          Int32Array.from({ length: 2 * k }, (_, i) => i),
          false,
        );
      });
      const ours = raw.arraySync() as number[][][];
      raw.dispose();
      const x1 = tf.tensor4d(x.subarray(0, k * S * S), [k, S, S, 1]);
      const x2 = tf.tensor4d(x.subarray(k * S * S), [k, S, S, 1]);
      const cams = (await gradientCams(toCamModel(model, 'conv4'), x1, x2, ['gradcam'], { keepRaw: true })).gradcam;
      tf.dispose([x1, x2]);
      for (let i = 0; i < k; i++)
        for (const [img, slot] of [
          [0, i],
          [1, k + i],
        ] as const) {
          const ref = Array.from(cams[i].images[img].raw!.factual, (v) => Math.max(0, v)); // before normalisation
          const mine = ours[slot].flat().map((v) => Math.max(0, v));
          const scale = Math.max(...ref, 1e-12);
          mine.forEach((v, p) => expect(Math.abs(v - ref[p]) / scale).toBeLessThan(1e-4));
        }
      model.dispose();
    });
  }
});

describe('gradients of the mask losses', () => {
  const k = 4;
  const batch = (): { images: Float32Array; count: number; labels: Float32Array; mask: MaskBatch } => {
    const masks = new Uint8Array(3 * S * S);
    masks.set(rectMask(2, 10, 3, 12), 0);
    masks.set(rectMask(6, 16, 0, 8), S * S);
    masks.set(rectMask(0, 8, 8, 16), 2 * S * S);
    return {
      images: pairImages(k, 2),
      count: 2 * k,
      labels: Float32Array.from([1, 0, 1, 0]),
      mask: { index: Int32Array.from([0, 5, 3]), masks, scale: 1 },
    };
  };

  for (const kind of MASK_LOSS_KINDS) {
    it(`${kind}: its gradient agrees with central differences on a tiny model (above the gradient layer: a second derivative; below it); the backend check passes; no tensors left`, async () => {
      const model = await tiny();
      const split = mapSplit(model);
      const b = batch();
      const before = tf.memory().numTensors;
      const check = checkSecondDerivative(model, split, b, { kind, maps: 'factual' }, 1);
      expect(tf.memory().numTensors).toBe(before);
      console.log(
        `[fd-check] map probe (${kind} run) ${check.backend}: analytic ${check.analytic} numeric ${check.numeric} eps ${check.eps} rel ${check.relativeError}`,
      );
      expect(check.ok).toBe(true);
      expect(Math.abs(check.analytic!)).toBeGreaterThan(1e-6); // informative: the head's weights move the maps
      expect(check.relativeError!).toBeLessThan(0.05);

      // the loss itself, along a unit direction of one kernel: embedding and dense1 (above the
      // gradient layer: the map reaches them only through the second derivative) and conv3 (below
      // it: first derivatives of A and of alpha through pool2's backward), with the contrastive part
      const opts = { kind, maps: 'factual' as const, margin: model.config.margin };
      for (const layer of ['embedding', 'dense1', 'conv3']) {
        const kernel = model.net.getLayer(layer).trainableWeights[0].read() as tf.Variable;
        const g = pairStepGradients(model, split, [kernel], b, opts);
        const direction = tf.tidy(() => {
          const r = tf.randomNormal(kernel.shape, 0, 1, 'float32', 3);
          return tf.div(r, tf.norm(r));
        });
        const analytic = tf.tidy(() => tf.sum(tf.mul(g.grads[0], direction)).dataSync()[0]);
        tf.dispose(g.grads);
        const original = kernel.clone();
        const at = (eps: number) => {
          const moved = tf.tidy(() => tf.add(original, tf.mul(direction, eps)));
          kernel.assign(moved);
          moved.dispose();
          return pairStepLossValue(model, split, b, opts).loss;
        };
        let best = Infinity;
        let numeric = NaN;
        for (const eps of [3e-3, 1e-3, 3e-4]) {
          const fd = (at(eps) - at(-eps)) / (2 * eps);
          const rel = Math.abs(fd - analytic) / Math.max(Math.abs(analytic), 1e-8);
          if (rel < best) [best, numeric] = [rel, fd];
        }
        kernel.assign(original);
        tf.dispose([original, direction]);
        console.log(`[fd-check] ${kind} loss along ${layer}: analytic ${analytic} numeric ${numeric} rel ${best}`);
        expect(Math.abs(analytic)).toBeGreaterThan(1e-5);
        expect(best).toBeLessThan(0.05);
      }
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    });
  }

  for (const head of ['flatten', 'gap'] as const) {
    it(`the maps' gradient w.r.t. every weight above the gradient layer agrees with central differences (${head} head)`, async () => {
      const model = await tiny(head, 9);
      const split = mapSplit(model);
      expect(split.vjpKind).toBe('explicit');
      const b = batch();
      const probe = () =>
        tf.tidy(() => {
          const a = split.features(tf.tensor4d(b.images, [b.count, S, S, 1]), false);
          const raw = pairRawMaps(split, model.tau, a, b.mask.index, false);
          return tf.sum(tf.mul(raw, tf.linspace(0.5, 1.5, raw.size).reshape(raw.shape))) as tf.Scalar;
        });
      for (const v of split.headVariables) {
        const { value, grads } = tf.variableGrads(probe, [v]);
        const direction = tf.tidy(() => {
          const r = tf.randomNormal(v.shape, 0, 1, 'float32', 11);
          return tf.div(r, tf.norm(r));
        });
        const analytic = tf.tidy(() => tf.sum(tf.mul(grads[v.name], direction)).dataSync()[0]);
        tf.dispose([value, ...Object.values(grads)]);
        const original = v.clone();
        const at = (eps: number) => {
          const moved = tf.tidy(() => tf.add(original, tf.mul(direction, eps)));
          v.assign(moved);
          moved.dispose();
          const t = probe();
          const out = t.dataSync()[0];
          t.dispose();
          return out;
        };
        // the closest of a few step sizes (a ReLU of the head may switch within the larger ones)
        let numeric = NaN;
        for (const eps of [1e-2, 3e-3, 1e-3]) {
          const fd = (at(eps) - at(-eps)) / (2 * eps);
          if (!(Math.abs(fd - analytic) >= Math.abs(numeric - analytic))) numeric = fd;
        }
        v.assign(original);
        tf.dispose([original, direction]);
        console.log(`[fd-check] ${head} map probe along ${v.name}: analytic ${analytic} numeric ${numeric}`);
        expect(Math.abs(analytic - numeric)).toBeLessThan(0.02 * Math.max(Math.abs(numeric), 1e-4));
      }
      model.dispose();
    });
  }

  it("tfjs's own second derivative through an op that reuses its output (exp) is wrong: why split.ts writes ds/de out", () => {
    // f(th) = sum_i d/dg_i exp(th_i g_i) = sum_i th_i exp(th_i g_i); df/dth_i = exp(th_i g_i) (1 + th_i g_i)
    const th = tf.variable(tf.tensor1d([0.3, -0.2]));
    const g = tf.tensor1d([0.5, 1.5]);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.grad((x: tf.Tensor) => tf.sum(tf.exp(tf.mul(th, x))))(g)) as tf.Scalar, [th]);
    const got = Array.from(grads[th.name].dataSync());
    const expected = [0.3 * 0.5, -0.2 * 1.5].map((t) => Math.exp(t) * (1 + t));
    // tfjs 4.22 drops the term through exp's saved output: got = exp(th g) only
    expect(Math.abs(got[0] - expected[0])).toBeGreaterThan(0.1);
    expect(got[0]).toBeCloseTo(Math.exp(0.15), 4);
    tf.dispose([th, g, value, ...Object.values(grads)]);
  });

  it('a step leaves no tensors; without masks it is the contrastive loss alone', async () => {
    const model = await tiny();
    const split = mapSplit(model);
    const vars = model.net.trainableWeights.map((w) => w.read() as tf.Variable);
    const b = batch();
    const before = tf.memory().numTensors;
    const withMask = pairStepGradients(model, split, vars, b, { kind: 'energy', maps: 'both', margin: 2 });
    tf.dispose(withMask.grads);
    const plain = pairStepGradients(model, split, vars, { ...b, mask: undefined }, { kind: 'energy', maps: 'factual', margin: 2 });
    tf.dispose(plain.grads);
    expect(tf.memory().numTensors).toBe(before);
    expect(plain.parts.mask).toBe(0);
    expect(plain.loss).toBeCloseTo(withMask.parts.contrastive, 5);
    expect(withMask.parts.mask).toBeGreaterThan(0);
    expect(withMask.loss).toBeCloseTo(withMask.parts.contrastive + withMask.parts.mask, 5);
    model.dispose();
  });
});

describe('explicit-pair batches with masks', () => {
  const { images, classes } = toyImages(6, 4, 3); // 24 images 8x8
  const data = {
    images,
    train: { indices: Int32Array.from({ length: 20 }, (_, i) => i), classes: classes.slice(0, 20) },
    val: { a: Int32Array.of(20), b: Int32Array.of(21), label: Uint8Array.of(0) },
  };
  const masks: MaskData = { images: Int32Array.of(2, 7, 11), masks: new Uint8Array(3 * 64).fill(255) };

  it('pairs every train image once with a partner (balanced); the masked slots carry their masks and scale lambda / m', () => {
    const plan = maskEpochPlanner(data, masks, { mode: { kind: 'loss', lambda: 3 } })(1, {
      ...DEFAULT_TRAIN_CONFIG,
      batchSize: 8,
      seed: 1,
    });
    expect(plan.steps).toBe(3);
    const anchors: number[] = [];
    let same = 0;
    let masked = 0;
    for (let s = 0; s < plan.steps; s++) {
      const b = plan.batch(s);
      expect(b.count).toBe(2 * b.anchors);
      expect(b.labels.length).toBe(b.anchors);
      same += b.labels.reduce((p, q) => p + q, 0);
      for (let i = 0; i < b.anchors; i++) {
        // find the anchor image by its pixels
        const px = b.images.subarray(i * 64, (i + 1) * 64);
        anchors.push([...Array(24).keys()].find((img) => images.pixels.subarray(img * 64, (img + 1) * 64).every((v, p) => v === px[p]))!);
      }
      if (b.mask) {
        masked += b.mask.index.length;
        expect(b.mask.scale).toBeCloseTo(3 / b.mask.index.length);
        expect(b.mask.masks.length).toBe(b.mask.index.length * 64);
      }
      // every row is its image unchanged, and says which (frozen features may come from a cache)
      expect(b.imageIds!.length).toBe(b.count);
      b.imageIds!.forEach((img, row) =>
        expect(Array.from(b.images.subarray(row * 64, (row + 1) * 64))).toEqual(
          Array.from(images.pixels.subarray(img * 64, (img + 1) * 64)),
        ),
      );
    }
    expect(anchors.sort((p, q) => p - q)).toEqual([...Array(20).keys()]);
    expect(same).toBe(10);
    expect(masked).toBeGreaterThanOrEqual(3); // each masked image is an anchor once (and maybe a partner)
  });

  it('splits into data-parallel shares with the masks re-indexed and rescaled (share weight x scale = the batch scale)', () => {
    const full = maskEpochPlanner(
      data,
      { images: Int32Array.from({ length: 20 }, (_, i) => i), masks: new Uint8Array(20 * 64).map((_, i) => i % 251) },
      {
        mode: { kind: 'loss', lambda: 2 },
      },
    )(1, { ...DEFAULT_TRAIN_CONFIG, batchSize: 6, seed: 2 }).batch(0);
    expect(full.mask!.index.length).toBe(12);
    const share = sliceShare(full, 64, 2, 5); // pairs 2..4: slots 2..4 and 8..10
    expect(Array.from(share.mask!.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(share.mask!.scale * (3 / 6)).toBeCloseTo(full.mask!.scale);
    const src = (slot: number) => full.mask!.masks.subarray(full.mask!.index.indexOf(slot) * 64, (full.mask!.index.indexOf(slot) + 1) * 64);
    expect(Array.from(share.mask!.masks.subarray(3 * 64, 4 * 64))).toEqual(Array.from(src(8)));
    expect(Array.from(share.images.subarray(3 * 64, 4 * 64))).toEqual(Array.from(full.images.subarray(8 * 64, 9 * 64)));
  });

  it('augment mode: no masks in the batches, the masked images come augmented', () => {
    const plan = maskEpochPlanner(data, masks, { mode: { kind: 'augment', augment: { modes: ['noise'], probability: 1 } } })(1, {
      ...DEFAULT_TRAIN_CONFIG,
      batchSize: 40,
      seed: 1,
    });
    const b = plan.batch(0);
    expect(b.mask).toBeUndefined();
    expect(b.imageIds).toBeUndefined(); // augmented rows: not the images as stored
    // a fully inside mask keeps the image: every slot is some original image
    for (let s = 0; s < b.count; s++) {
      const px = b.images.subarray(s * 64, (s + 1) * 64);
      expect([...Array(24).keys()].some((img) => images.pixels.subarray(img * 64, (img + 1) * 64).every((v, p) => v === px[p]))).toBe(true);
    }
  });
});

describe('mask-guided augmentation', () => {
  const shape = [8, 8, 1] as const;
  const src = Float32Array.from({ length: 64 }, (_, i) => (i % 8) / 8);
  const mask = new Uint8Array(64);
  for (let y = 2; y < 6; y++) for (let x = 3; x < 6; x++) mask[y * 8 + x] = 255;
  const donor = Float32Array.from({ length: 64 }, () => 0.77);

  for (const mode of ['background', 'noise', 'blur'] as const) {
    it(`${mode}: keeps the inside, changes the outside, is seeded`, () => {
      const run = (seed: number) => {
        const dst = new Float32Array(64);
        maskAugmentInto(src, 0, mask, 0, dst, 0, shape, { modes: [mode], probability: 1 }, createRng(seed), () => ({
          pixels: donor,
          offset: 0,
        }));
        return dst;
      };
      const out = run(1);
      for (let p = 0; p < 64; p++) if (mask[p]) expect(out[p]).toBe(src[p]);
      const blurred = boxBlur(src, 0, shape, 2);
      for (let p = 0; p < 64; p++) {
        if (mask[p]) continue;
        if (mode === 'background') expect(out[p]).toBeCloseTo(0.77);
        if (mode === 'blur') expect(out[p]).toBeCloseTo(blurred[p]);
      }
      expect(Array.from(run(1))).toEqual(Array.from(out));
      if (mode === 'noise') expect(Array.from(run(2))).not.toEqual(Array.from(out));
    });
  }

  it('crop: a crop that contains the mask box, resized back', () => {
    expect(maskBox(mask, 0, 8, 8)).toEqual([2, 6, 3, 6]);
    const img = new Float32Array(64);
    img.set(mask.map((v) => v / 255)); // the image is its mask
    for (let seed = 0; seed < 10; seed++) {
      const dst = new Float32Array(64);
      maskAugmentInto(img, 0, mask, 0, dst, 0, shape, { modes: ['crop'], probability: 1 }, createRng(seed), () => ({
        pixels: donor,
        offset: 0,
      }));
      // the object stays whole: as much mass or more (zoomed in), centre pixel still bright
      expect(dst.reduce((p, q) => p + q, 0)).toBeGreaterThanOrEqual(img.reduce((p, q) => p + q, 0) - 1e-3);
    }
  });

  it('probability 0 copies the image', () => {
    const dst = new Float32Array(64);
    expect(
      maskAugmentInto(src, 0, mask, 0, dst, 0, shape, { modes: ['noise'], probability: 0 }, createRng(1), () => ({
        pixels: donor,
        offset: 0,
      })),
    ).toBeNull();
    expect(Array.from(dst)).toEqual(Array.from(src));
  });
});
