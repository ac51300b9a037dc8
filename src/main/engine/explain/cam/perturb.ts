// Shared machinery of the perturbation methods (Score-CAM, occlusion, RISE): score many
// modified copies of ONE image of the pair against the other image's fixed embedding,
// in chunks, with cancellation and progress between chunks.
import * as tf from '@tensorflow/tfjs';
import { embedOf, forwardOf, type CamModel } from '../cam-model';
import { checkAborted, type ExplainOptions } from './types';

export const DEFAULT_BATCH_SIZE = 32;

/** One forward of the unmodified pair, keeping activations and embeddings. Dispose with disposePairForward. */
export interface PairForward {
  a: [tf.Tensor4D, tf.Tensor4D]; // [1, h, w, K]
  e: [tf.Tensor2D, tf.Tensor2D]; // [1, D]
  score: number;
}

export async function pairForward(model: CamModel, x1: tf.Tensor4D, x2: tf.Tensor4D): Promise<PairForward> {
  if (x1.rank !== 4 || x2.rank !== 4 || x1.shape[0] !== 1 || x2.shape[0] !== 1) {
    throw new Error(`perturbation methods explain one pair: expected [1, H, W, C] inputs, got [${x1.shape}] and [${x2.shape}]`);
  }
  const f1 = await forwardOf(model, x1, true);
  const f2 = await forwardOf(model, x2, true);
  const s = tf.tidy(() => model.score(f1.e!, f2.e!));
  const score = (await s.data())[0];
  s.dispose();
  return { a: [f1.a, f2.a], e: [f1.e!, f2.e!], score };
}

export function disposePairForward(f: PairForward): void {
  tf.dispose([...f.a, ...f.e]);
}

/** s of (xs[j], other) if which = 0, of (other, xs[j]) if which = 1, for a batch xs [n, H, W, C] (not disposed). */
export async function scoreAgainst(model: CamModel, xs: tf.Tensor4D, eOther: tf.Tensor2D, which: 0 | 1): Promise<Float32Array> {
  const e = await embedOf(model, xs); // [n, D]
  const s = tf.tidy(() => {
    const eo = tf.tile(eOther, [xs.shape[0], 1]) as tf.Tensor2D;
    return which === 0 ? model.score(e, eo) : model.score(eo, e);
  });
  try {
    return (await s.data()) as Float32Array;
  } finally {
    tf.dispose([e, s]);
  }
}

/**
 * Scores n modified copies of image `which`: build(start, end) returns the copies
 * [end - start, H, W, C] (it runs inside tf.tidy). Chunks of opts.batchSize; checks the
 * signal and reports progress (mapped to [progressFrom, progressTo]) between chunks.
 */
export async function scoreInChunks(
  model: CamModel,
  n: number,
  build: (start: number, end: number) => tf.Tensor4D,
  eOther: tf.Tensor2D,
  which: 0 | 1,
  opts: ExplainOptions,
  progressFrom = 0,
  progressTo = 1,
): Promise<Float32Array> {
  const out = new Float32Array(n);
  const bs = Math.max(1, Math.floor(opts.batchSize ?? DEFAULT_BATCH_SIZE));
  for (let start = 0; start < n; start += bs) {
    checkAborted(opts.signal);
    const end = Math.min(n, start + bs);
    const xs = tf.tidy(() => build(start, end));
    try {
      out.set(await scoreAgainst(model, xs, eOther, which), start);
    } finally {
      xs.dispose();
    }
    opts.onProgress?.(progressFrom + ((progressTo - progressFrom) * end) / n);
  }
  checkAborted(opts.signal);
  return out;
}

/** Replace pixels: x * keep + baseline * (1 - keep), keep [n, H, W, 1] in [0, 1]. Call inside tf.tidy. */
export function blendWithBaseline(x: tf.Tensor4D, keep: tf.Tensor4D, baselineValue: number): tf.Tensor4D {
  const kept = tf.mul(x, keep) as tf.Tensor4D;
  return baselineValue === 0 ? kept : (tf.add(kept, tf.mul(tf.sub(1, keep), baselineValue)) as tf.Tensor4D);
}
