// Explaining and measuring pairs: the unit of work of the 'explain' and 'metrics' jobs, of
// a single-pair explanation (a batch of one) and of the model-randomisation sanity check,
// and the description of a model version the explanation service validates requests with.
// Runs in-process (ExplainService without a pool) or in an engine worker through the tasks
// registered at the bottom ('explain.describe', 'explain.pairs', 'explain.metrics',
// 'explain.sanity'); the results are plain typed arrays, moved back to the main thread
// without copies. No SQL here.
//
// Inputs are an image set ([n, H, W, C] floats in [0, 1] at the model's input shape) and
// pairs as indices into it. Gradient methods explain `batchSize` pairs per forward +
// backward pass (gradientCams batches them exactly: inference-mode layers); perturbation
// methods go pair by pair (each is already many batched forwards).
import * as tf from '@tensorflow/tfjs';
import type { CamModel } from './cam-model';
import { explainMany, METHOD_INFO, type CamMethod, type PairExplanation, type ScoreCamChannels } from './cam';
import { checkAborted } from './cam/types';
import type { Shape3 } from '../data/dataset';
import { energyPointingGame, faithfulness, pointingGame, sanityCheck, thresholdIoU, type Grid, type SanityStep } from './metrics';
import { loadSiamese, type SiameseModel } from '../models/siamese';
import { toCamModel } from './split-model';
import { registerTask, type TaskContext } from '../runtime/pool/registry';
import { backendInfo } from '../runtime/backend';

export interface PairBatch {
  shape: Shape3;
  /** [count, H, W, C] floats in [0, 1], image after image */
  pixels: Float32Array;
  /** pairs: indices into the images */
  a: Int32Array;
  b: Int32Array;
}

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
  /** Score-CAM: the channels masked per image (engine/cam ScoreCamChannels) */
  channels?: ScoreCamChannels;
}

export interface BatchOptions {
  /** pairs per forward + backward of the gradient methods (default 16) */
  batchSize?: number;
  signal?: AbortSignal;
  /** pairs done so far, of the total */
  onProgress?: (done: number, total: number) => void;
  /** Score-CAM channel cap (engine/cam ExplainOptions.maxChannels) */
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

/** The images of pairs [start, end) as two [b, H, W, C] tensors. Dispose them. */
function pairTensors(batch: PairBatch, start: number, end: number): [tf.Tensor4D, tf.Tensor4D] {
  const [H, W, C] = batch.shape;
  const size = H * W * C;
  const n = end - start;
  const x1 = new Float32Array(n * size);
  const x2 = new Float32Array(n * size);
  for (let i = 0; i < n; i++) {
    x1.set(batch.pixels.subarray(batch.a[start + i] * size, (batch.a[start + i] + 1) * size), i * size);
    x2.set(batch.pixels.subarray(batch.b[start + i] * size, (batch.b[start + i] + 1) * size), i * size);
  }
  return [tf.tensor4d(x1, [n, H, W, C]), tf.tensor4d(x2, [n, H, W, C])];
}

function checkBatch(batch: PairBatch): void {
  const size = batch.shape[0] * batch.shape[1] * batch.shape[2];
  if (batch.a.length !== batch.b.length) throw new Error(`pairs: ${batch.a.length} first images but ${batch.b.length} second ones`);
  if (size <= 0 || batch.pixels.length % size !== 0) throw new Error(`pixels: ${batch.pixels.length} values are not images of [${batch.shape}]`);
  const count = batch.pixels.length / size;
  for (let i = 0; i < batch.a.length; i++) {
    if (!(batch.a[i] >= 0 && batch.a[i] < count && batch.b[i] >= 0 && batch.b[i] < count)) throw new Error(`pair ${i} points outside the ${count} images`);
  }
}

/** Explains every pair of the batch with `method` (engine/cam explainMany); results in pair order. */
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

// ---- faithfulness and localisation ----

export interface CurveTriple {
  map: number;
  random: number;
  centre: number;
}

export interface ImageMetrics {
  /** the factual map had no evidence: nothing to rank pixels by, no curves */
  noEvidence: boolean;
  deletion: CurveTriple | null;
  insertion: CurveTriple | null;
  /** s at each step (N + 1) for the map, the random map and the centre prior */
  curves: { deletion: { map: Float32Array; random: Float32Array; centre: Float32Array }; insertion: { map: Float32Array; random: Float32Array; centre: Float32Array } } | null;
  /** against the image's mask, when it has one */
  mask: { epg: number | null; pointing: boolean | null; iou: number | null } | null;
}

export interface PairMetrics {
  explained: ExplainedPair;
  images: [ImageMetrics, ImageMetrics];
}

export interface MetricsOptions extends BatchOptions {
  /** deletion / insertion steps N (default 32) */
  steps?: number;
  /** seed of the random reference maps and of the tie-breaking (default 0; pair k uses seed + k) */
  seed?: number;
  /** masks by IMAGE index of the batch (row-major grids, inside > 0.5) */
  masks?: Record<number, Grid>;
  /** IoU threshold on the map (fraction of its max; default 0.5) */
  iouThreshold?: number;
  /** index of the batch's first pair in the whole job (seeds depend on it, not on the chunking) */
  indexOffset?: number;
}

/** Explains each pair, then measures both images' factual maps (deletion / insertion against random and centre prior; mask agreement). */
export async function metricsForPairs(cam: CamModel, batch: PairBatch, method: CamMethod, opts: MetricsOptions = {}): Promise<PairMetrics[]> {
  const n = batch.a.length;
  const explained = await explainPairs(cam, batch, method, { batchSize: opts.batchSize, signal: opts.signal, maxChannels: opts.maxChannels });
  const steps = Math.max(1, Math.floor(opts.steps ?? 32));
  const seed = opts.seed ?? 0;
  const out: PairMetrics[] = [];
  for (let k = 0; k < n; k++) {
    checkAborted(opts.signal);
    const e = explained[k];
    const g = (opts.indexOffset ?? 0) + k;
    const [x1, x2] = pairTensors(batch, k, k + 1);
    try {
      const images: ImageMetrics[] = [];
      for (const which of [0, 1] as const) {
        const map: Grid = { data: e.maps[2 * which]!, h: e.h, w: e.w };
        const noEvidence = e.noEvidence[which].factual;
        let deletion: CurveTriple | null = null;
        let insertion: CurveTriple | null = null;
        let curves: ImageMetrics['curves'] = null;
        if (!noEvidence) {
          const rep = await faithfulness(cam, x1, x2, which, map, { steps, seed: seed + g, randomSeed: 100_003 * (seed + 1) + 2 * g + which, batchSize: steps + 1, signal: opts.signal });
          deletion = { map: rep.map.deletion.auc, random: rep.random.deletion.auc, centre: rep.centre.deletion.auc };
          insertion = { map: rep.map.insertion.auc, random: rep.random.insertion.auc, centre: rep.centre.insertion.auc };
          curves = {
            deletion: { map: rep.map.deletion.scores, random: rep.random.deletion.scores, centre: rep.centre.deletion.scores },
            insertion: { map: rep.map.insertion.scores, random: rep.random.insertion.scores, centre: rep.centre.insertion.scores },
          };
        }
        const maskGrid = opts.masks?.[which === 0 ? batch.a[k] : batch.b[k]];
        const mask = maskGrid
          ? {
              epg: energyPointingGame(map, maskGrid),
              pointing: pointingGame(map, maskGrid),
              iou: thresholdIoU(map, maskGrid, { threshold: opts.iouThreshold ?? 0.5 }),
            }
          : null;
        images.push({ noEvidence, deletion, insertion, curves, mask });
      }
      out.push({ explained: e, images: images as [ImageMetrics, ImageMetrics] });
    } finally {
      tf.dispose([x1, x2]);
    }
    opts.onProgress?.(k + 1, n);
  }
  return out;
}

// ---- what the service needs to know of a model version ----

/**
 * A model version as the explanation service sees it: the target layers and input shape it
 * validates requests with and decodes images at, read from the loaded model's graph. Plain
 * data (structured-cloneable): computed in a worker when there is a pool, so the thread that
 * serves the UI does not load the model only to learn these.
 */
export interface ModelDescription {
  /** SiameseModel.camLayers(): the valid Grad-CAM targets, input to output */
  camLayers: string[];
  /** SiameseModel.defaultCamLayer(); null when it throws (then `noDefaultCamLayer` is its message) */
  defaultCamLayer: string | null;
  noDefaultCamLayer?: string;
  /** the model's input shape (config.inputShape) */
  inputShape: Shape3;
  /** sanityLayers(): the layers the sanity check randomises, top first */
  sanityLayers: string[];
}

/** The description of a loaded model (no tensor work: its graph and config only). */
export function describeModel(model: SiameseModel): ModelDescription {
  let defaultCamLayer: string | null = null;
  let noDefaultCamLayer: string | undefined;
  try {
    defaultCamLayer = model.defaultCamLayer();
  } catch (e) {
    noDefaultCamLayer = e instanceof Error ? e.message : String(e);
  }
  return {
    camLayers: model.camLayers(),
    defaultCamLayer,
    ...(noDefaultCamLayer !== undefined ? { noDefaultCamLayer } : {}),
    inputShape: [...model.config.inputShape] as Shape3,
    sanityLayers: sanityLayers(model),
  };
}

// ---- model-randomisation sanity check (Adebayo et al. 2018) ----

export interface SanityInput {
  /** the pair's two images [2, H, W, C], a then b */
  pixels: Float32Array;
  shape: Shape3;
  method: CamMethod;
  /** randomise at most this many layers (default: all with weights) */
  maxLayers?: number;
  seed?: number;
  maxChannels?: number;
}

export interface SanityResult {
  /** the layers in the order they were randomised (top first) */
  order: string[];
  steps: SanityStep[];
}

/** The layers the sanity check randomises, top first: those with trainable weights, batch norms excepted. */
export function sanityLayers(model: SiameseModel): string[] {
  return model.net.layers
    .filter((l) => l.trainableWeights.length > 0 && l.getClassName() !== 'BatchNormalization')
    .reverse()
    .map((l) => l.name);
}

/**
 * Cascading randomisation from the top of a fresh copy of the model (`loadCopy`, disposed
 * here), explaining the pair at target layer `layer` after each step; `cam` explains the
 * original. Weights are redrawn at their own scale, seeded by (seed, layer, weight).
 */
export async function sanityForPair(
  cam: CamModel,
  loadCopy: () => Promise<SiameseModel>,
  layer: string,
  input: SanityInput,
  opts: { signal?: AbortSignal; onProgress?: (fraction: number) => void } = {},
): Promise<SanityResult> {
  const [H, W, C] = input.shape;
  if (input.pixels.length !== 2 * H * W * C) throw new Error(`sanity: expected 2 images of [${input.shape}], got ${input.pixels.length} values`);
  checkAborted(opts.signal);
  const copy = await loadCopy();
  const variables = copy.net.weights;
  let x1: tf.Tensor4D | undefined;
  let x2: tf.Tensor4D | undefined;
  try {
    const names = new Set(sanityLayers(copy));
    const order = copy.net.layers.filter((l) => names.has(l.name)).reverse();
    const top = order.slice(0, input.maxLayers ?? order.length);
    if (top.length === 0) throw new Error('the model has no layer with weights to randomise');
    const camCopy = toCamModel(copy, layer);
    let randomized = 0;
    const seed = input.seed ?? 0;
    const randomizeTop = (n: number) => {
      for (; randomized < n; randomized++) {
        const l = top[randomized];
        const fresh = tf.tidy(() =>
          l.getWeights().map((w, k) => {
            const std = tf.moments(w).variance.sqrt().dataSync()[0];
            // keep constant weights (e.g. zero biases); redraw the others at their own scale
            return std > 0 ? tf.randomNormal(w.shape, 0, std, 'float32', seed * 1000 + randomized * 10 + k) : w.clone();
          }),
        );
        l.setWeights(fresh);
        tf.dispose(fresh);
      }
      return { model: camCopy, label: top[n - 1].name };
    };
    const size = H * W * C;
    x1 = tf.tensor4d(input.pixels.subarray(0, size), [1, H, W, C]);
    x2 = tf.tensor4d(input.pixels.subarray(size, 2 * size), [1, H, W, C]);
    const report = await sanityCheck(
      cam,
      randomizeTop,
      top.map((_, i) => i + 1),
      x1,
      x2,
      input.method,
      { signal: opts.signal, onProgress: opts.onProgress, ...(input.maxChannels !== undefined ? { maxChannels: input.maxChannels } : {}) },
    );
    return { order: top.map((l) => l.name), steps: report.steps };
  } finally {
    tf.dispose([x1, x2].filter((x): x is tf.Tensor4D => x !== undefined));
    copy.dispose();
    // sub-models built on the copy hold extra references to its layers: free what is left
    for (const v of variables) {
      try {
        v.dispose();
      } catch {
        // already disposed with the model
      }
    }
  }
}

// ---- worker tasks ----

export interface ExplainTaskPayload extends PairBatch {
  /** the model version's folder (saveSiamese) */
  modelDir: string;
  /** cache key of the loaded model in the worker (folder + version stamp) */
  modelKey: string;
  /** target layer (undefined: the model's default) */
  layer?: string;
  method: CamMethod;
  batchSize?: number;
  /** Score-CAM channel cap */
  maxChannels?: number;
}

export interface MetricsTaskPayload extends ExplainTaskPayload {
  indexOffset?: number;
  steps?: number;
  seed?: number;
  masks?: Record<number, Grid>;
  iouThreshold?: number;
}

/** The worker's loaded model of a version (cached per version: shared by every explain task). */
const siameseIn = (ctx: TaskContext, p: Pick<ExplainTaskPayload, 'modelDir' | 'modelKey'>) => ctx.cache<SiameseModel>(`siamese:${p.modelKey}`, () => loadSiamese(p.modelDir));

async function camIn(ctx: TaskContext, p: Pick<ExplainTaskPayload, 'modelDir' | 'modelKey' | 'layer'>): Promise<CamModel> {
  return toCamModel(await siameseIn(ctx, p), p.layer);
}

export interface DescribeTaskPayload {
  modelDir: string;
  modelKey: string;
}

/** The model's description; the loaded model stays in the worker's cache for the tasks that follow. */
registerTask('explain.describe', async (p: DescribeTaskPayload, ctx): Promise<ModelDescription> => describeModel(await siameseIn(ctx, p)));

const progressOf = (ctx: TaskContext) => (done: number, total: number) => ctx.progress(done / Math.max(1, total), undefined, { done, total });

registerTask('explain.pairs', async (p: ExplainTaskPayload, ctx) => {
  const cam = await camIn(ctx, p);
  const res = await explainPairs(cam, p, p.method, { batchSize: p.batchSize, signal: ctx.signal, onProgress: progressOf(ctx), maxChannels: p.maxChannels });
  return { backend: backendInfo()?.name ?? null, pairs: res };
});

registerTask('explain.metrics', async (p: MetricsTaskPayload, ctx) => {
  const cam = await camIn(ctx, p);
  const res = await metricsForPairs(cam, p, p.method, {
    batchSize: p.batchSize,
    steps: p.steps,
    seed: p.seed,
    masks: p.masks,
    iouThreshold: p.iouThreshold,
    indexOffset: p.indexOffset,
    signal: ctx.signal,
    onProgress: progressOf(ctx),
    maxChannels: p.maxChannels,
  });
  return { backend: backendInfo()?.name ?? null, pairs: res };
});

export interface SanityTaskPayload extends SanityInput {
  modelDir: string;
  modelKey: string;
  /** target layer (resolved by the caller: the copy is explained at the same layer) */
  layer: string;
}

/** The original model comes from the worker's cache; the randomised copy is loaded fresh and disposed. */
registerTask('explain.sanity', async (p: SanityTaskPayload, ctx): Promise<SanityResult & { backend: string | null }> => {
  const cam = await camIn(ctx, p);
  const res = await sanityForPair(cam, () => loadSiamese(p.modelDir), p.layer, p, { signal: ctx.signal, onProgress: (f) => ctx.progress(f) });
  return { backend: backendInfo()?.name ?? null, ...res };
});

/** Whether a method defines a counterfactual map (for messages). */
export const counterfactualDefined = (m: CamMethod) => METHOD_INFO[m].counterfactual.defined;
