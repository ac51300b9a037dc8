// Score-CAM for a pair (Wang et al. 2020), gradient-free. For image i with activations
// A_i [h, w, K] (from one forward of the pair):
//   H_k   = minmax( upsample_bilinear(A_i[:, :, k]) )  to the input size, in [0, 1]
//           (a constant channel gives H_k = 0: it carries no spatial information)
//   s_k   = s(x_i ∘ H_k + b ∘ (1 - H_k), x_other)      the other image fixed
//   s_b   = s(b, x_other)                                b = baseline image (default zeros)
//   'delta' (default):  w_k = s_k - s_b  (the CIC of the paper, on the similarity)
//        factual R = sum_k w_k A_k -> ReLU(R);  counterfactual ReLU(-R) (the negative change)
//   'softmax':  factual weights softmax_k(s_k) (pytorch-grad-cam), counterfactual softmax_k(-s_k)
// Costs 2 + (non-constant channels of x1) + (of x2) forwards, batched.
//
// Channel cap (opts.maxChannels, default DEFAULT_SCORECAM_MAX_CHANNELS = 256): per IMAGE,
// only the active channels with the largest mean |A_i[:, :, k]| over that image's positions
// are masked and scored (the usual Score-CAM speed-up; for a post-ReLU layer this is the
// mean activation); the others get w_k = 0. Per image, because each image's map is built
// from its own activations and masks: a channel that is silent in x_i adds ~nothing to
// M_i whatever its weight. With 'delta' weights |w_k| <= 1, so leaving channel k out moves
// the raw map by at most A_i[:, :, k] pointwise: the top-k by activation mass drop the least.
// With maxChannels >= the active channels the result is exactly the uncapped one.
import * as tf from '@tensorflow/tfjs';
import type { CamModel } from '../cam-model';
import { imageExplanation } from './normalize';
import { blendWithBaseline, disposePairForward, pairForward, scoreAgainst, scoreInChunks } from './perturb';
import { DEFAULT_SCORECAM_MAX_CHANNELS, type ExplainOptions, type ImageExplanation, type PairExplanation } from './types';

/** The channel cap of opts: a positive integer, or Infinity for none. */
export function scoreCamCap(maxChannels: number | undefined): number {
  const cap = maxChannels ?? DEFAULT_SCORECAM_MAX_CHANNELS;
  if (!(cap >= 1)) throw new Error(`maxChannels must be >= 1 (got ${String(maxChannels)})`);
  return Number.isFinite(cap) ? Math.floor(cap) : Infinity;
}

/** Of the channels `active` (ascending), the `cap` with the largest mass (ties: lower index first), ascending. */
export function topChannels(active: number[], mass: ArrayLike<number>, cap: number): number[] {
  if (active.length <= cap) return active;
  return [...active]
    .sort((p, q) => mass[q] - mass[p] || p - q)
    .slice(0, cap)
    .sort((p, q) => p - q);
}

/** Of image i's channels, those that vary spatially (`active` of them) and of those the `cap` with the most mean |activation|. */
async function channelsToMask(a: tf.Tensor4D, cap: number): Promise<{ active: number; masked: number[] }> {
  const [mn, mx, mass] = tf.tidy(() => [tf.min(a, [0, 1, 2]), tf.max(a, [0, 1, 2]), tf.mean(tf.abs(a), [0, 1, 2])]);
  const [lo, hi, m] = (await Promise.all([mn.data(), mx.data(), mass.data()])) as Float32Array[];
  tf.dispose([mn, mx, mass]);
  const active: number[] = [];
  for (let k = 0; k < lo.length; k++) if (hi[k] > lo[k]) active.push(k);
  return { active: active.length, masked: topChannels(active, m, cap) };
}

/**
 * s(x_i ∘ H_k + b ∘ (1 - H_k), x_other) for each channel k of `channels`: H_k the channel of
 * A_i [1, h, w, K] upsampled to x's size and min-max normalised (constant: 0). Batched.
 */
async function maskedScores(
  model: CamModel,
  x: tf.Tensor4D,
  a: tf.Tensor4D,
  channels: number[],
  eOther: tf.Tensor2D,
  which: 0 | 1,
  opts: ExplainOptions,
  progress: [number, number],
): Promise<Float32Array> {
  const [, H, W] = x.shape;
  const baselineValue = opts.baselineValue ?? 0;
  const idxAll = tf.tensor1d(channels, 'int32');
  try {
    return await scoreInChunks(
      model,
      channels.length,
      (start, end) => {
        const idx = tf.slice(idxAll, [start], [end - start]);
        const ch = tf.transpose(tf.gather(a, idx, 3), [3, 1, 2, 0]) as tf.Tensor4D; // [n, h, w, 1]
        const up = tf.image.resizeBilinear(ch, [H, W], false, true); // half-pixel centres
        const mn = tf.min(up, [1, 2, 3], true);
        const range = tf.sub(tf.max(up, [1, 2, 3], true), mn);
        const mask = tf.where(tf.greater(range, 0), tf.div(tf.sub(up, mn), tf.maximum(range, 1e-30)), tf.zerosLike(up)) as tf.Tensor4D;
        return blendWithBaseline(x, mask, baselineValue);
      },
      eOther,
      which,
      opts,
      progress[0],
      progress[1],
    );
  } finally {
    idxAll.dispose();
  }
}

const softmax = (vals: number[]) => {
  const m = Math.max(...vals);
  const ex = vals.map((v) => Math.exp(v - m));
  const z = ex.reduce((p, q) => p + q, 0);
  return ex.map((v) => v / z);
};

/** The factual and counterfactual channel weights [K] from the masked scores of `channels` (others 0). */
function channelWeights(
  weighting: 'delta' | 'softmax',
  K: number,
  channels: number[],
  sMasked: Float32Array,
  sBaseline: number,
): { factual: Float32Array; counterfactual: Float32Array } {
  const factual = new Float32Array(K);
  const counterfactual = new Float32Array(K);
  if (weighting === 'delta') {
    channels.forEach((k, j) => {
      factual[k] = sMasked[j] - sBaseline;
      counterfactual[k] = -(sMasked[j] - sBaseline);
    });
  } else if (channels.length > 0) {
    const pf = softmax(Array.from(sMasked));
    const pc = softmax(Array.from(sMasked, (v) => -v));
    channels.forEach((k, j) => {
      factual[k] = pf[j];
      counterfactual[k] = pc[j];
    });
  }
  return { factual, counterfactual };
}

export async function scoreCamPair(model: CamModel, x1: tf.Tensor4D, x2: tf.Tensor4D, opts: ExplainOptions = {}): Promise<PairExplanation> {
  const fwd = await pairForward(model, x1, x2);
  try {
    const baselineValue = opts.baselineValue ?? 0;
    const cap = scoreCamCap(opts.maxChannels);
    const xs = [x1, x2] as const;
    const chosen = await Promise.all(fwd.a.map((a) => channelsToMask(a, cap)));
    const total = chosen[0].masked.length + chosen[1].masked.length;
    let done = 0;
    const images: ImageExplanation[] = [];
    for (const i of [0, 1] as const) {
      const x = xs[i];
      const a = fwd.a[i];
      const eOther = fwd.e[1 - i];
      const [, h, w, K] = a.shape;
      const channels = chosen[i].masked;
      const baseline = tf.fill(x.shape, baselineValue) as tf.Tensor4D;
      let sb: number;
      try {
        sb = (await scoreAgainst(model, baseline, eOther, i))[0];
      } finally {
        baseline.dispose();
      }
      const sMasked = await maskedScores(model, x, a, channels, eOther, i, opts, [
        done / Math.max(1, total),
        (done + channels.length) / Math.max(1, total),
      ]);
      done += channels.length;
      const weights = channelWeights(opts.scoreCamWeighting ?? 'delta', K, channels, sMasked, sb);
      const maps = tf.tidy(() =>
        tf.stack([tf.sum(tf.mul(a, tf.tensor1d(weights.factual)), -1), tf.sum(tf.mul(a, tf.tensor1d(weights.counterfactual)), -1)]),
      );
      const data = (await maps.data()) as Float32Array;
      maps.dispose();
      const hw = h * w;
      images.push(imageExplanation(data.slice(0, hw), data.slice(hw, 2 * hw), h, w, opts.keepRaw ?? false));
    }
    opts.onProgress?.(1);
    return {
      method: 'scorecam',
      layer: model.layer,
      score: fwd.score,
      counterfactualDefined: true,
      images: images as [ImageExplanation, ImageExplanation],
      channels: {
        used: [chosen[0].masked.length, chosen[1].masked.length],
        active: [chosen[0].active, chosen[1].active],
        total: fwd.a[0].shape[3],
        maxChannels: Number.isFinite(cap) ? cap : null,
      },
    };
  } finally {
    disposePairForward(fwd);
  }
}
