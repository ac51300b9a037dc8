// Model-agnostic baselines on the score, in input space (maps at the image's H x W).
//
// Occlusion (Zeiler & Fergus 2014, on s): slide a patch x patch square with stride over
// image i, replace it by the baseline value, re-score the pair with the other image
// fixed. drop_j = s - s_j. Each pixel gets the mean drop over the patches covering it
// (the grid always covers the last row/column). factual = ReLU(drop): occluding it lowers
// s; counterfactual = ReLU(-drop): occluding it RAISES s (it argued against similarity).
//
// RISE (Petsiuk et al. 2018, on s): N random smooth masks M_m (a (g+1) x (g+1) binary
// grid, cells kept with probability p, upsampled bilinearly with cell size ceil(H/g) and
// cropped at a random shift, seeded). The paper's estimate of E[s | u kept] is
// sum_m s_m M_m(u) / (N p); we divide by the realised mask mass sum_m M_m(u) instead
// (same expectation, much lower variance: with N p the random fluctuation of the mask
// count at u swamps the effect of a small region), and store
// E[s | u kept] - mean_m s_m, so the constant offset is removed before normalising by
// the max. RISE defines no counterfactual (null).
import * as tf from '@tensorflow/tfjs';
import type { CamModel } from '../cam-model';
import { createRng } from '../../../pairs/rng';
import { imageExplanation } from './normalize';
import { blendWithBaseline, DEFAULT_BATCH_SIZE, disposePairForward, pairForward, scoreAgainst, scoreInChunks } from './perturb';
import { checkAborted, type ExplainOptions, type ImageExplanation, type PairExplanation } from './types';

/** Top-left corners along one axis: 0, stride, ..., and size - patch so the far edge is covered. */
export function patchStarts(size: number, patch: number, stride: number): number[] {
  if (patch >= size) return [0];
  const out: number[] = [];
  for (let p = 0; p + patch <= size; p += stride) out.push(p);
  if (out[out.length - 1] !== size - patch) out.push(size - patch);
  return out;
}

export async function occlusionPair(
  model: CamModel,
  x1: tf.Tensor4D,
  x2: tf.Tensor4D,
  opts: ExplainOptions = {},
): Promise<PairExplanation> {
  const fwd = await pairForward(model, x1, x2);
  try {
    const [, H, W] = x1.shape;
    const patch = Math.max(1, Math.round(opts.patch ?? Math.round(Math.min(H, W) / 7)));
    const stride = Math.max(1, Math.round(opts.stride ?? Math.round(patch / 2)));
    const ys = patchStarts(H, patch, stride);
    const xsStarts = patchStarts(W, patch, stride);
    const positions = ys.flatMap((y) => xsStarts.map((x) => [y, x] as const));
    const n = positions.length;
    const baselineValue = opts.baselineValue ?? 0;
    const images: ImageExplanation[] = [];
    for (const i of [0, 1] as const) {
      const x = i === 0 ? x1 : x2;
      if (x.shape[1] !== H || x.shape[2] !== W) throw new Error('occlusion needs both images at the same size');
      const s = await scoreInChunks(
        model,
        n,
        (start, end) => {
          const keep = new Float32Array((end - start) * H * W).fill(1);
          for (let j = start; j < end; j++) {
            const [py, px] = positions[j];
            const off = (j - start) * H * W;
            for (let u = py; u < Math.min(H, py + patch); u++) keep.fill(0, off + u * W + px, off + u * W + Math.min(W, px + patch));
          }
          return blendWithBaseline(x, tf.tensor4d(keep, [end - start, H, W, 1]), baselineValue);
        },
        fwd.e[1 - i],
        i,
        opts,
        i * 0.5,
        i * 0.5 + 0.5,
      );
      const sum = new Float64Array(H * W);
      const count = new Uint32Array(H * W);
      positions.forEach(([py, px], j) => {
        const drop = fwd.score - s[j];
        for (let u = py; u < Math.min(H, py + patch); u++)
          for (let v = px; v < Math.min(W, px + patch); v++) {
            sum[u * W + v] += drop;
            count[u * W + v]++;
          }
      });
      const raw = new Float32Array(H * W);
      for (let p = 0; p < raw.length; p++) raw[p] = count[p] > 0 ? sum[p] / count[p] : 0;
      images.push(
        imageExplanation(
          raw,
          raw.map((v) => -v),
          H,
          W,
          opts.keepRaw ?? false,
        ),
      );
    }
    return {
      method: 'occlusion',
      layer: 'input',
      score: fwd.score,
      counterfactualDefined: true,
      images: images as [ImageExplanation, ImageExplanation],
    };
  } finally {
    disposePairForward(fwd);
  }
}

/** n smooth random masks [n, H, W] (RISE), deterministic given the rng state. */
export function riseMasks(n: number, H: number, W: number, grid: number, keepProb: number, rng: { next(): number }): Float32Array {
  const ch = Math.ceil(H / grid);
  const cw = Math.ceil(W / grid);
  const g1 = grid + 1;
  const out = new Float32Array(n * H * W);
  const cells = new Float32Array(g1 * g1);
  for (let m = 0; m < n; m++) {
    for (let c = 0; c < cells.length; c++) cells[c] = rng.next() < keepProb ? 1 : 0;
    const sy = Math.floor(rng.next() * ch);
    const sx = Math.floor(rng.next() * cw);
    for (let u = 0; u < H; u++) {
      // bilinear between cell centres (half-pixel convention), clamped at the border
      const fy = Math.min(grid, Math.max(0, (u + sy + 0.5) / ch - 0.5));
      const y0 = Math.floor(fy);
      const y1 = Math.min(grid, y0 + 1);
      const ty = fy - y0;
      for (let v = 0; v < W; v++) {
        const fx = Math.min(grid, Math.max(0, (v + sx + 0.5) / cw - 0.5));
        const x0 = Math.floor(fx);
        const x1 = Math.min(grid, x0 + 1);
        const tx = fx - x0;
        const top = cells[y0 * g1 + x0] * (1 - tx) + cells[y0 * g1 + x1] * tx;
        const bot = cells[y1 * g1 + x0] * (1 - tx) + cells[y1 * g1 + x1] * tx;
        out[(m * H + u) * W + v] = top * (1 - ty) + bot * ty;
      }
    }
  }
  return out;
}

export async function risePair(model: CamModel, x1: tf.Tensor4D, x2: tf.Tensor4D, opts: ExplainOptions = {}): Promise<PairExplanation> {
  const fwd = await pairForward(model, x1, x2);
  try {
    const [, H, W] = x1.shape;
    const n = Math.max(1, Math.floor(opts.masks ?? 1000));
    const grid = Math.max(1, Math.floor(opts.grid ?? 7));
    const p = opts.keepProb ?? 0.5;
    const baselineValue = opts.baselineValue ?? 0;
    const images: ImageExplanation[] = [];
    const bs = Math.max(1, Math.floor(opts.batchSize ?? DEFAULT_BATCH_SIZE));
    for (const i of [0, 1] as const) {
      const x = i === 0 ? x1 : x2;
      const eOther = fwd.e[1 - i];
      const rng = createRng(opts.seed ?? 0, 100 + i);
      // masks are drawn chunk by chunk (same sequence as all at once) and accumulated, so
      // memory stays at one chunk of masks (1000 masks at 224x224 would be 200 MB)
      const sal = new Float64Array(H * W);
      const mass = new Float64Array(H * W);
      let sum = 0;
      for (let start = 0; start < n; start += bs) {
        checkAborted(opts.signal);
        const m = Math.min(bs, n - start);
        const masks = riseMasks(m, H, W, grid, p, rng);
        const blended = tf.tidy(() => blendWithBaseline(x, tf.tensor4d(masks, [m, H, W, 1]), baselineValue));
        let s: Float32Array;
        try {
          s = await scoreAgainst(model, blended, eOther, i);
        } finally {
          blended.dispose();
        }
        for (let j = 0; j < m; j++) {
          sum += s[j];
          const off = j * H * W;
          for (let q = 0; q < H * W; q++) {
            sal[q] += s[j] * masks[off + q];
            mass[q] += masks[off + q];
          }
        }
        opts.onProgress?.((i + (start + m) / n) / 2);
      }
      checkAborted(opts.signal);
      const mean = sum / n;
      const raw = new Float32Array(H * W);
      for (let q = 0; q < H * W; q++) raw[q] = mass[q] > 0 ? sal[q] / mass[q] - mean : 0;
      images.push(imageExplanation(raw, null, H, W, opts.keepRaw ?? false));
    }
    return {
      method: 'rise',
      layer: 'input',
      score: fwd.score,
      counterfactualDefined: false,
      images: images as [ImageExplanation, ImageExplanation],
    };
  } finally {
    disposePairForward(fwd);
  }
}
