// Explaining pairs: the unit of work of the 'explain' job and of a single-pair explanation
// (a batch of one). Runs in this thread or in an engine worker ('explain.pairs', tasks.ts);
// the results are plain typed arrays, moved back to the main thread without copies.
//
// Inputs are an image set ([n, H, W, C] floats in [0, 1] at the model's input shape) and
// pairs as indices into it. Gradient methods explain `batchSize` pairs per forward +
// backward pass (gradientCams batches them exactly: inference-mode layers; with an ONNX Runtime
// accelerator straight from the pixels, each distinct image forwarded once); perturbation
// methods go pair by pair (each is already many batched forwards).
import { explainMany, type CamMethod, type PairExplanation, type ScoreCamChannels } from './cam';
import { pairTensors, type CamModel, type PairImages } from './cam-model';
import type { Grid } from './metrics';

/** Pairs as indices into a set of images ([count, H, W, C] floats in [0, 1]). */
export type PairBatch = PairImages;

export interface ExplainedPair {
  score: number;
  /** map grid (the target layer's, or the input's for occlusion / RISE) */
  h: number;
  w: number;
  layer: string;
  counterfactualDefined: boolean;
  /** a factual, a counterfactual, b factual, b counterfactual; [h * w] each, in [0, 1]; null: not defined */
  maps: [Float32Array, Float32Array | null, Float32Array, Float32Array | null];
  noEvidence: [{ factual: boolean; counterfactual: boolean | null }, { factual: boolean; counterfactual: boolean | null }];
  scale: [{ factual: number; counterfactual: number | null }, { factual: number; counterfactual: number | null }];
  /** wall time per pair (for a batch: the batch's time / its pairs) */
  ms: number;
  /** Score-CAM: the channels masked per image (engine/explain/cam ScoreCamChannels) */
  channels?: ScoreCamChannels;
}

export interface BatchOptions {
  /** pairs per forward + backward of the gradient methods (default 16) */
  batchSize?: number;
  signal?: AbortSignal;
  /** pairs done so far, of the total */
  onProgress?: (done: number, total: number) => void;
  /** Score-CAM channel cap (engine/explain/cam ExplainOptions.maxChannels) */
  maxChannels?: number;
}

export const DEFAULT_EXPLAIN_BATCH = 16;

function toExplained(e: PairExplanation, ms: number): ExplainedPair {
  const [ia, ib] = e.images;
  return {
    score: e.score,
    h: ia.h,
    w: ia.w,
    layer: e.layer,
    counterfactualDefined: e.counterfactualDefined,
    maps: [ia.factual, ia.counterfactual, ib.factual, ib.counterfactual],
    noEvidence: [ia.noEvidence, ib.noEvidence],
    scale: [ia.scale, ib.scale],
    ms,
    ...(e.channels ? { channels: e.channels } : {}),
  };
}

function checkBatch(batch: PairBatch): void {
  const size = batch.shape[0] * batch.shape[1] * batch.shape[2];
  if (batch.a.length !== batch.b.length) throw new Error(`pairs: ${batch.a.length} first images but ${batch.b.length} second ones`);
  if (size <= 0 || batch.pixels.length % size !== 0)
    throw new Error(`pixels: ${batch.pixels.length} values are not images of [${batch.shape}]`);
  const count = batch.pixels.length / size;
  for (let i = 0; i < batch.a.length; i++) {
    if (!(batch.a[i] >= 0 && batch.a[i] < count && batch.b[i] >= 0 && batch.b[i] < count))
      throw new Error(`pair ${i} points outside the ${count} images`);
  }
}

/** Explains every pair of the batch with `method` (engine/explain/cam explainMany); results in pair order. */
export async function explainPairs(cam: CamModel, batch: PairBatch, method: CamMethod, opts: BatchOptions = {}): Promise<ExplainedPair[]> {
  checkBatch(batch);
  const n = batch.a.length;
  const out: PairExplanation[] = new Array(n);
  const t0 = performance.now();
  await explainMany(
    cam,
    {
      count: n,
      load: (start, end) => {
        const [x1, x2] = pairTensors(batch, start, end);
        return { x1, x2 };
      },
      images: (start, end) => ({ ...batch, a: batch.a.subarray(start, end), b: batch.b.subarray(start, end) }),
    },
    method,
    {
      pairsPerBatch: opts.batchSize ?? DEFAULT_EXPLAIN_BATCH,
      signal: opts.signal,
      ...(opts.maxChannels !== undefined ? { maxChannels: opts.maxChannels } : {}),
      onResult: (i, e) => {
        out[i] = e;
      },
      onProgress: opts.onProgress && ((f) => opts.onProgress!(Math.round(f * n), n)),
    },
  );
  // the average wall time per pair of this call (batched pairs share their forward + backward)
  const ms = n > 0 ? (performance.now() - t0) / n : 0;
  return out.map((e) => toExplained(e, ms));
}

/** Rows of a pair batch: the images used by pairs [start, end) only, with indices remapped (masks, keyed by image index, follow). */
export function subBatch(
  batch: PairBatch,
  start: number,
  end: number,
  masks?: Record<number, Grid>,
): { batch: PairBatch; masks?: Record<number, Grid> } {
  const [H, W, C] = batch.shape;
  const size = H * W * C;
  const remap = new Map<number, number>();
  const take = (i: number) => {
    let j = remap.get(i);
    if (j === undefined) {
      j = remap.size;
      remap.set(i, j);
    }
    return j;
  };
  const a = Int32Array.from(batch.a.subarray(start, end), take);
  const b = Int32Array.from(batch.b.subarray(start, end), take);
  const pixels = new Float32Array(remap.size * size);
  const subMasks: Record<number, Grid> = {};
  for (const [from, to] of remap) {
    pixels.set(batch.pixels.subarray(from * size, (from + 1) * size), to * size);
    if (masks?.[from]) subMasks[to] = masks[from];
  }
  return { batch: { shape: batch.shape, pixels, a, b }, ...(masks ? { masks: subMasks } : {}) };
}
