// Evaluation of a Siamese model on pairs: embeddings of each needed image computed
// once (in batches), distances and scores per pair, then the metrics of roc.ts over
// the WHOLE split, with the decision threshold chosen on validation.
import * as tf from '@tensorflow/tfjs';
import type { ImageSet, PairList } from '../data/dataset';
import { imageSize } from '../data/dataset';
import type { SiameseModel } from '../models/siamese';
import {
  chooseThreshold,
  metricsAt,
  rocAuc,
  rocCurve,
  scoreHistogram,
  type BinaryMetrics,
  type RocPoint,
  type ScoreHistogram,
} from './roc';

export interface SplitMetrics extends BinaryMetrics {
  auc: number;
  pairs: number;
  same: number;
  different: number;
  roc: RocPoint[];
  histogram: ScoreHistogram;
}

export interface EvaluationResult {
  /** chosen on validation, maximising accuracy */
  threshold: number;
  thresholdSource: 'val' | 'given';
  splits: Partial<Record<'train' | 'val' | 'test', SplitMetrics>>;
}

export interface PairScores {
  score: Float32Array;
  /** L2 distance d (not squared) */
  distance: Float32Array;
}

/**
 * Embeds the images `indices` of `images` (all when omitted): Float32Array [n, D].
 * One tf.tidy per batch; nothing is left allocated.
 */
export async function embedImages(
  model: SiameseModel,
  images: ImageSet,
  indices?: ArrayLike<number>,
  batchSize = 256,
  signal?: AbortSignal,
): Promise<{ embeddings: Float32Array; dim: number }> {
  const idx = indices ?? Int32Array.from({ length: images.count }, (_, i) => i);
  const size = imageSize(images.shape);
  const dim = model.config.embeddingSize;
  const out = new Float32Array(idx.length * dim);
  for (let start = 0; start < idx.length; start += batchSize) {
    if (signal?.aborted) throw new Error('cancelled');
    const n = Math.min(batchSize, idx.length - start);
    const buf = new Float32Array(n * size);
    for (let k = 0; k < n; k++) buf.set(images.pixels.subarray(idx[start + k] * size, (idx[start + k] + 1) * size), k * size);
    // ONNX Runtime when the version was loaded with an accelerator (loadForInference), else tfjs
    const accelerated = model.accelerator ? await model.accelerator.embed(buf, [n, ...images.shape]) : null;
    if (accelerated) {
      out.set(accelerated, start * dim);
      continue;
    }
    const e = tf.tidy(() => model.embed(tf.tensor4d(buf, [n, ...images.shape])));
    out.set(await e.data(), start * dim);
    e.dispose();
  }
  return { embeddings: out, dim };
}

/** Scores every pair: each image referenced is embedded once. */
export async function scorePairs(
  model: SiameseModel,
  images: ImageSet,
  pairs: PairList,
  batchSize = 256,
  signal?: AbortSignal,
): Promise<PairScores> {
  const { used, slot } = pairImages([pairs]);
  const { embeddings, dim } = await embedImages(model, images, used, batchSize, signal);
  return pairScoresFrom(embeddings, dim, slot, pairs, model.tau);
}

/** The images the pairs of `lists` reference, each once, ascending; slot: image -> its row in `used`. */
export function pairImages(lists: PairList[]): { used: number[]; slot: Map<number, number> } {
  const set = new Set<number>();
  for (const pairs of lists) {
    for (const i of pairs.a) set.add(i);
    for (const i of pairs.b) set.add(i);
  }
  const used = [...set].sort((x, y) => x - y);
  return { used, slot: new Map(used.map((img, i) => [img, i])) };
}

/** Pair scores s = exp(-d²/τ) and distances d from embeddings [images, D] (slot: image -> row). */
export function pairScoresFrom(
  embeddings: Float32Array,
  dim: number,
  slot: Map<number, number>,
  pairs: PairList,
  tau: number,
): { score: Float32Array; distance: Float32Array } {
  const n = pairs.a.length;
  const score = new Float32Array(n);
  const distance = new Float32Array(n);
  for (let p = 0; p < n; p++) {
    const oa = slot.get(pairs.a[p])! * dim;
    const ob = slot.get(pairs.b[p])! * dim;
    let d2 = 0;
    for (let k = 0; k < dim; k++) {
      const diff = embeddings[oa + k] - embeddings[ob + k];
      d2 += diff * diff;
    }
    distance[p] = Math.sqrt(d2);
    score[p] = Math.exp(-d2 / tau);
  }
  return { score, distance };
}

/** All metrics of one split at a given threshold. */
export function splitMetrics(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  threshold: number,
  rocPoints = 201,
  bins = 20,
): SplitMetrics {
  let same = 0;
  for (let i = 0; i < labels.length; i++) same += labels[i];
  return {
    ...metricsAt(scores, labels, threshold),
    auc: rocAuc(scores, labels),
    pairs: labels.length,
    same,
    different: labels.length - same,
    roc: rocCurve(scores, labels, rocPoints),
    histogram: scoreHistogram(scores, labels, bins),
  };
}

/**
 * Evaluates the model on the given splits. The threshold is chosen on `val` (which
 * must then be present) unless `threshold` is given.
 */
export async function evaluateModel(
  model: SiameseModel,
  images: ImageSet,
  splits: Partial<Record<'train' | 'val' | 'test', PairList>>,
  options: { threshold?: number; batchSize?: number; signal?: AbortSignal } = {},
): Promise<{ result: EvaluationResult; scores: Partial<Record<'train' | 'val' | 'test', PairScores>> }> {
  const scores: Partial<Record<'train' | 'val' | 'test', PairScores>> = {};
  for (const [name, pairs] of Object.entries(splits) as ['train' | 'val' | 'test', PairList][]) {
    scores[name] = await scorePairs(model, images, pairs, options.batchSize, options.signal);
  }
  return { result: evaluationFromScores(splits, scores, options.threshold), scores };
}

/**
 * The metrics of scored splits (scores[name] for every split of `splits`): at `threshold` when
 * given, else at the threshold chosen on `val` (maximising accuracy), which must then be present.
 */
export function evaluationFromScores(
  splits: Partial<Record<'train' | 'val' | 'test', PairList>>,
  scores: Partial<Record<'train' | 'val' | 'test', PairScores>>,
  given?: number,
): EvaluationResult {
  let threshold = given;
  let thresholdSource: EvaluationResult['thresholdSource'] = 'given';
  if (threshold === undefined) {
    if (!splits.val || !scores.val) throw new Error('The threshold is chosen on the validation split, which has no pairs');
    threshold = chooseThreshold(scores.val.score, splits.val.label).threshold;
    thresholdSource = 'val';
  }
  const result: EvaluationResult = { threshold, thresholdSource, splits: {} };
  for (const [name, pairs] of Object.entries(splits) as ['train' | 'val' | 'test', PairList][]) {
    result.splits[name] = splitMetrics(scores[name]!.score, pairs.label, threshold);
  }
  return result;
}
