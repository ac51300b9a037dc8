// Deletion and insertion curves (Petsiuk et al. 2018) on the similarity of a pair.
//
// Pixels of ONE image (`which`) are ordered by the map's importance (upsampled
// bilinearly to the image size if needed; ties broken by a seeded random order, so a
// flat region is not removed in raster order). In N steps, step k has the first
// m_k = round(k * P / N) pixels (all channels) changed:
//   deletion:  x_k = x with those pixels replaced by the baseline  (x_0 = x)
//   insertion: x_k = baseline with those pixels restored from x     (x_0 = baseline)
// and the pair is re-scored with the OTHER image fixed: s_k = s(x_k, x_other) (or
// (x_other, x_k) for image 2), in batches. AUC = trapezoid of s over the fraction
// m_k / P in [0, 1]. Deletion: lower is better; insertion: higher is better.
//
// Baselines (what a changed pixel becomes): 'zeros' (default for deletion: black in the model's
// input range) or 'blur' (a Gaussian-blurred copy, the default for insertion as in Petsiuk et
// al., sigma blurSigma, default 5 px at 224 px scaled to the image), a constant value, or one per
// channel (e.g. the dataset's mean colour), or 'road': ROAD's noisy linear imputation (impute.ts),
// recomputed at every step from the pixels kept at that step. Black removes nothing where the
// image is already black (Fashion-MNIST's background): a map that glows there is not punished
// by a black deletion; blur, mean and ROAD change every pixel they remove.
// The random-map and centre-prior baselines give the same curves for reference maps.
import * as tf from '@tensorflow/tfjs';
import type { FaithfulnessBaseline } from '../../../../shared/dto';
import { embedOf, type CamModel } from '../cam-model';
import { scoreInChunks } from '../cam/perturb';
import { checkAborted, type ProgressFn } from '../cam/types';
import { upsampleBilinear } from '../../../images/overlay';
import { createRng } from '../../../pairs/rng';
import { noisyLinearImpute } from './impute';
import type { Grid } from './localization';

export type CurveMode = 'deletion' | 'insertion';
export type PixelBaseline = 'zeros' | 'blur' | 'road' | number | readonly number[];

/** The pixel baseline of a contract baseline name; 'mean' needs the dataset's channel means. */
export function pixelBaseline(name: FaithfulnessBaseline, channelMeans?: readonly number[]): PixelBaseline {
  switch (name) {
    case 'black':
      return 'zeros';
    case 'blur':
      return 'blur';
    case 'road':
      return 'road';
    case 'mean':
      if (!channelMeans || channelMeans.length === 0) throw new Error("the 'mean' baseline needs the dataset's channel means");
      return channelMeans;
  }
}

export interface CurveOptions {
  /** number of steps N (default 32); N + 1 scores per curve */
  steps?: number;
  /** default: 'zeros' for deletion, 'blur' for insertion */
  baseline?: PixelBaseline;
  /** Gaussian sigma in pixels for the 'blur' baseline (default max(1, 5 * max(H, W) / 224)) */
  blurSigma?: number;
  batchSize?: number;
  /** seed of the tie-breaking order (default 0) */
  seed?: number;
  /** 'road': std of the noise added to imputed pixels (default 0.01; impute.ts) */
  roadNoise?: number;
  signal?: AbortSignal;
  onProgress?: ProgressFn;
}

export interface Curve {
  mode: CurveMode;
  /** fraction of pixels removed (deletion) / inserted (insertion), [N + 1] from 0 to 1 */
  fractions: Float32Array;
  /** s at each step [N + 1] */
  scores: Float32Array;
  auc: number;
}

/** Trapezoid rule of y over x (x increasing). */
export function trapezoid(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let a = 0;
  for (let i = 1; i < x.length; i++) a += ((x[i] - x[i - 1]) * (y[i] + y[i - 1])) / 2;
  return a;
}

/** Pixel order by decreasing importance; ties in a seeded random order. */
export function importanceOrder(values: ArrayLike<number>, seed = 0): Int32Array {
  const n = values.length;
  const rng = createRng(seed, 0x5eed);
  const tie = new Float64Array(n);
  for (let i = 0; i < n; i++) tie[i] = rng.next();
  const idx = Array.from({ length: n }, (_, i) => i);
  const v = (i: number) => (Number.isFinite(values[i]) ? values[i] : -Infinity);
  idx.sort((a, b) => v(b) - v(a) || tie[a] - tie[b]);
  return Int32Array.from(idx);
}

/** Gaussian blur of x [1, H, W, C] with reflect padding. Call inside tf.tidy. */
export function gaussianBlur(x: tf.Tensor4D, sigma: number): tf.Tensor4D {
  const [, H, W, C] = x.shape;
  const r = Math.max(1, Math.min(Math.ceil(3 * sigma), H - 1, W - 1));
  if (H < 2 || W < 2) return x.clone();
  const k = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const z = k.reduce((a, b) => a + b, 0);
  const kn = k.map((v) => v / z);
  const kx = tf.tile(tf.tensor4d(kn, [1, 2 * r + 1, 1, 1]), [1, 1, C, 1]) as tf.Tensor4D;
  const ky = tf.tile(tf.tensor4d(kn, [2 * r + 1, 1, 1, 1]), [1, 1, C, 1]) as tf.Tensor4D;
  const padded = tf.mirrorPad(
    x,
    [
      [0, 0],
      [r, r],
      [r, r],
      [0, 0],
    ],
    'reflect',
  );
  return tf.depthwiseConv2d(tf.depthwiseConv2d(padded, kx, 1, 'valid'), ky, 1, 'valid');
}

/** The baseline image [1, H, W, C] for `x` (not for 'road', which depends on the pixels kept). Call inside tf.tidy. */
export function baselineImage(x: tf.Tensor4D, baseline: Exclude<PixelBaseline, 'road'>, blurSigma?: number): tf.Tensor4D {
  if (baseline === 'zeros') return tf.zerosLike(x);
  if (baseline === 'blur') return gaussianBlur(x, blurSigma ?? Math.max(1, (5 * Math.max(x.shape[1], x.shape[2])) / 224));
  if (typeof baseline === 'number') return tf.fill(x.shape, baseline) as tf.Tensor4D;
  const C = x.shape[3];
  if (baseline.length !== C) throw new Error(`baseline: ${baseline.length} channel values for an image of ${C} channels`);
  return tf.mul(tf.onesLike(x), tf.tensor4d(Float32Array.from(baseline), [1, 1, 1, C])) as tf.Tensor4D;
}

/** A seeded uniform random map at the image size (the "random" reference). */
export function randomMap(H: number, W: number, seed = 0): Grid {
  const rng = createRng(seed, 0x7a11);
  return { data: Float32Array.from({ length: H * W }, () => rng.next()), h: H, w: W };
}

/** An isotropic Gaussian centred on the image, sigma = min(H, W) / 4 (the "centre prior" reference). */
export function centrePriorMap(H: number, W: number): Grid {
  const sigma = Math.min(H, W) / 4;
  const cy = (H - 1) / 2;
  const cx = (W - 1) / 2;
  const data = new Float32Array(H * W);
  for (let u = 0; u < H; u++)
    for (let v = 0; v < W; v++) data[u * W + v] = Math.exp(-((u - cy) ** 2 + (v - cx) ** 2) / (2 * sigma * sigma));
  return { data, h: H, w: W };
}

/**
 * Deletion or insertion curve of image `which` of the pair under `map`.
 * x1, x2: [1, H, W, C]; not disposed.
 */
export async function perturbationCurve(
  model: CamModel,
  x1: tf.Tensor4D,
  x2: tf.Tensor4D,
  which: 0 | 1,
  map: Grid,
  mode: CurveMode,
  opts: CurveOptions = {},
): Promise<Curve> {
  if (x1.shape[0] !== 1 || x2.shape[0] !== 1) throw new Error('perturbationCurve takes one pair ([1, H, W, C])');
  const x = which === 0 ? x1 : x2;
  const [, H, W] = x.shape;
  const P = H * W;
  const values = map.h === H && map.w === W ? map.data : upsampleBilinear(map.data, map.h, map.w, H, W);
  const order = importanceOrder(values, opts.seed ?? 0);
  const N = Math.max(1, Math.floor(opts.steps ?? 32));
  const counts = Array.from({ length: N + 1 }, (_, k) => Math.round((k * P) / N));
  // rank[p] = position of pixel p in the order; pixel p is changed at step k iff rank[p] < counts[k]
  const rank = new Int32Array(P);
  order.forEach((p, r) => (rank[p] = r));
  const baseline = opts.baseline ?? (mode === 'deletion' ? 'zeros' : 'blur');
  // keep[k][p] = 1 where image k of the curve shows x's own pixel p
  const keepAt = (k: number): Uint8Array => {
    const m = counts[k];
    const keep = new Uint8Array(P);
    for (let p = 0; p < P; p++) {
      const changed = rank[p] < m;
      // deletion keeps the unchanged pixels of x; insertion keeps the changed ones
      keep[p] = (mode === 'deletion' ? !changed : changed) ? 1 : 0;
    }
    return keep;
  };
  const eOther = await embedOf(model, which === 0 ? x2 : x1); // [1, D]
  let base: tf.Tensor4D | null = null;
  let imputed: Float32Array[] | null = null;
  try {
    checkAborted(opts.signal);
    if (baseline === 'road') imputed = await roadSteps(x, N, keepAt, opts);
    else base = tf.tidy(() => baselineImage(x, baseline, opts.blurSigma));
    const scores = await scoreInChunks(
      model,
      N + 1,
      (start, end) => {
        if (imputed) {
          const C = x.shape[3];
          const batch = new Float32Array((end - start) * P * C);
          for (let k = start; k < end; k++) batch.set(imputed[k], (k - start) * P * C);
          return tf.tensor4d(batch, [end - start, H, W, C]);
        }
        const keep = new Float32Array((end - start) * P);
        for (let k = start; k < end; k++) keep.set(keepAt(k), (k - start) * P);
        const keepT = tf.tensor4d(keep, [end - start, H, W, 1]);
        return tf.add(tf.mul(x, keepT), tf.mul(base!, tf.sub(1, keepT))) as tf.Tensor4D;
      },
      eOther as tf.Tensor2D,
      which,
      { batchSize: opts.batchSize, signal: opts.signal, onProgress: opts.onProgress },
    );
    const fractions = Float32Array.from(counts, (c) => c / P);
    return { mode, fractions, scores, auc: trapezoid(fractions, scores) };
  } finally {
    tf.dispose([eOther, ...(base ? [base] : [])]);
  }
}

/** The N + 1 images of a ROAD curve: x with the pixels not kept at step k imputed ([H * W * C] each). */
async function roadSteps(x: tf.Tensor4D, N: number, keepAt: (k: number) => Uint8Array, opts: CurveOptions): Promise<Float32Array[]> {
  const [, H, W, C] = x.shape;
  const pixels = (await x.data()) as Float32Array;
  const out: Float32Array[] = [];
  let previous: Float32Array | undefined;
  for (let k = 0; k <= N; k++) {
    checkAborted(opts.signal);
    // seeded per step; the previous step's fill is the solver's start (few pixels change per step)
    previous = noisyLinearImpute(pixels, H, W, C, keepAt(k), {
      seed: (opts.seed ?? 0) * 1009 + k,
      start: previous,
      ...(opts.roadNoise !== undefined ? { noise: opts.roadNoise } : {}),
    });
    out.push(previous);
  }
  return out;
}

export interface FaithfulnessReport {
  which: 0 | 1;
  map: { deletion: Curve; insertion: Curve };
  random: { deletion: Curve; insertion: Curve };
  centre: { deletion: Curve; insertion: Curve };
}

/** Deletion and insertion for the map, a seeded random map and the centre prior (6 curves). */
export async function faithfulness(
  model: CamModel,
  x1: tf.Tensor4D,
  x2: tf.Tensor4D,
  which: 0 | 1,
  map: Grid,
  opts: CurveOptions & { randomSeed?: number } = {},
): Promise<FaithfulnessReport> {
  const x = which === 0 ? x1 : x2;
  const [, H, W] = x.shape;
  const maps = { map, random: randomMap(H, W, opts.randomSeed ?? 0), centre: centrePriorMap(H, W) };
  const out: Partial<Record<keyof typeof maps, { deletion: Curve; insertion: Curve }>> = {};
  let j = 0;
  for (const key of ['map', 'random', 'centre'] as const) {
    const sub = (from: number) => ({ ...opts, onProgress: opts.onProgress && ((f: number) => opts.onProgress!((from + f) / 6)) });
    const deletion = await perturbationCurve(model, x1, x2, which, maps[key], 'deletion', sub(j++));
    const insertion = await perturbationCurve(model, x1, x2, which, maps[key], 'insertion', sub(j++));
    out[key] = { deletion, insertion };
  }
  return { which, map: out.map!, random: out.random!, centre: out.centre! };
}
