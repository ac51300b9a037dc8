// Explaining many pairs (a split, a filtered set) in one call: gradient methods go b pairs
// at a time through one forward + one backward (gradientCams); perturbation methods one
// pair at a time. Cancellation between batches, progress over pairs, every loaded tensor
// disposed. Parallelism across cores is the caller's (one engine per worker_thread).
import type * as tf from '@tensorflow/tfjs';
import type { CamModel, PairImages } from '../cam-model';
import { gradientCams, gradientCamsOfImages } from './gradcam';
import { explainPair, isGradientMethod } from './registry';
import { checkAborted, type CamMethod, type ExplainOptions, type PairExplanation } from './types';

export interface PairSource {
  /** number of pairs */
  count: number;
  /** Pairs [start, end) as x1, x2 [end - start, H, W, C]; disposed by explainMany. */
  load(start: number, end: number): Promise<{ x1: tf.Tensor4D; x2: tf.Tensor4D }> | { x1: tf.Tensor4D; x2: tf.Tensor4D };
  /**
   * Pairs [start, end) as indices into images, when the source has them: the gradient methods
   * then take the pixels as they are (gradientCamsOfImages), without tensors from load.
   */
  images?(start: number, end: number): PairImages;
}

export interface ExplainManyOptions extends ExplainOptions {
  /** pairs per forward/backward for gradient methods (default 16) */
  pairsPerBatch?: number;
  /** receives each explanation in order; may be async (e.g. a db insert) */
  onResult: (index: number, explanation: PairExplanation) => void | Promise<void>;
}

export async function explainMany(
  model: CamModel,
  source: PairSource,
  method: CamMethod,
  opts: ExplainManyOptions,
): Promise<{ explained: number }> {
  const per = isGradientMethod(method) ? Math.max(1, Math.floor(opts.pairsPerBatch ?? 16)) : 1;
  const { onResult, onProgress, ...rest } = opts;
  let done = 0;
  for (let start = 0; start < source.count; start += per) {
    checkAborted(opts.signal);
    const end = Math.min(source.count, start + per);
    const onPairProgress = onProgress && ((f: number) => onProgress((done + f) / source.count));
    const results =
      isGradientMethod(method) && source.images
        ? (await gradientCamsOfImages(model, source.images(start, end), [method], rest))[method]
        : await explainLoaded(model, source, start, end, method, onPairProgress ? { ...rest, onProgress: onPairProgress } : rest);
    if (results.length !== end - start) throw new Error(`pairs ${start}-${end}: ${results.length} explanations`);
    for (const [j, r] of results.entries()) await onResult(start + j, r);
    done = end;
    onProgress?.(done / source.count);
  }
  return { explained: done };
}

/** Pairs [start, end) from the source's tensors (load), which it disposes. */
async function explainLoaded(
  model: CamModel,
  source: PairSource,
  start: number,
  end: number,
  method: CamMethod,
  opts: ExplainOptions,
): Promise<PairExplanation[]> {
  const { x1, x2 } = await source.load(start, end);
  try {
    if (x1.shape[0] !== end - start || x2.shape[0] !== end - start)
      throw new Error(`load(${start}, ${end}) returned ${x1.shape[0]} and ${x2.shape[0]} pairs`);
    if (isGradientMethod(method)) return (await gradientCams(model, x1, x2, [method], opts))[method];
    return [await explainPair(model, x1, x2, method, opts)];
  } finally {
    x1.dispose();
    x2.dispose();
  }
}
