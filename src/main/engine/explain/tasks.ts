// The explanation's worker tasks, registered by every engine worker (engine/worker.ts):
// 'explain.describe', 'explain.pairs', 'explain.metrics', 'explain.sanity'. The loaded model of a
// version stays in the worker's cache (per version key) for the tasks that follow.
import { loadForInference } from '../onnx/accelerator';
import { loadSiamese, type SiameseModel } from '../models/siamese';
import { backendInfo } from '../runtime/backend';
import { defineTasks, type TaskContext } from '../runtime/pool/registry';
import type { CamMethod } from './cam';
import { computedOn, withAcceleratorThreads, type CamModel } from './cam-model';
import { describeModel } from './describe';
import { faithfulnessForPairs, type FaithfulnessOptions } from './faithfulness';
import { reliabilityOfPair, type ReliabilityOptions } from './reliability';
import { metricsForPairs } from './measure';
import type { Grid } from './metrics';
import { explainPairs, type PairBatch } from './pairs';
import { sanityForPair, type SanityInput } from './sanity-pair';
import { toCamModel } from './split-model';

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
  /**
   * ONNX Runtime threads for this call (default: the worker's, one): a lone interactive pair on an
   * idle pool gets the pool's cores (measured: ResNet50 pair Grad-CAM 103 ms on one thread, 59 on two).
   */
  ortThreads?: number;
}

export interface MetricsTaskPayload extends ExplainTaskPayload {
  indexOffset?: number;
  steps?: number;
  seed?: number;
  masks?: Record<number, Grid>;
  iouThreshold?: number;
}

/** The worker's loaded model of a version (cached per version: shared by every explain task). */
const siameseIn = (ctx: TaskContext, p: Pick<ExplainTaskPayload, 'modelDir' | 'modelKey'>) =>
  ctx.cache<SiameseModel>(`siamese:${p.modelKey}`, () => loadForInference(p.modelDir));

async function camIn(ctx: TaskContext, p: Pick<ExplainTaskPayload, 'modelDir' | 'modelKey' | 'layer'>): Promise<CamModel> {
  return toCamModel(await siameseIn(ctx, p), p.layer);
}

export interface DescribeTaskPayload {
  modelDir: string;
  modelKey: string;
}

export interface SanityTaskPayload extends SanityInput {
  modelDir: string;
  modelKey: string;
  /** target layer (resolved by the caller: the copy is explained at the same layer) */
  layer: string;
}

export interface FaithfulnessTaskPayload extends PairBatch, Omit<FaithfulnessOptions, 'signal' | 'onProgress'> {
  modelDir: string;
  modelKey: string;
  /** target layer of the layer-based methods */
  layer: string;
}

export interface ReliabilityTaskPayload extends PairBatch, Omit<ReliabilityOptions, 'signal'> {
  modelDir: string;
  modelKey: string;
  layer: string;
  /** the pair's stored factual maps, a then b (null: no evidence) */
  maps: [Grid | null, Grid | null];
}

/** A thread count from the caller: 1..256 (as SIMLENS_ORT_THREADS). */
function checkedThreads(n: unknown): number {
  if (!(typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 256))
    throw new Error(`ortThreads must be an integer from 1 to 256, got ${String(n)}`);
  return n;
}

const progressOf = (ctx: TaskContext) => (done: number, total: number) =>
  ctx.progress(done / Math.max(1, total), undefined, { done, total });

export const explainTasks = defineTasks({
  /** The model's description; the loaded model stays in the worker's cache for the tasks that follow. */
  'explain.describe': async (p: DescribeTaskPayload, ctx) => describeModel(await siameseIn(ctx, p)),

  'explain.pairs': async (p: ExplainTaskPayload, ctx) => {
    const loaded = await camIn(ctx, p);
    const cam = p.ortThreads === undefined ? loaded : withAcceleratorThreads(loaded, checkedThreads(p.ortThreads));
    const res = await explainPairs(cam, p, p.method, {
      batchSize: p.batchSize,
      signal: ctx.signal,
      onProgress: progressOf(ctx),
      maxChannels: p.maxChannels,
    });
    return { backend: computedOn(cam, backendInfo()?.name ?? null), pairs: res };
  },

  'explain.metrics': async (p: MetricsTaskPayload, ctx) => {
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
    return { backend: computedOn(cam, backendInfo()?.name ?? null), pairs: res };
  },

  'explain.faithfulness': async (p: FaithfulnessTaskPayload, ctx) => {
    const cam = await camIn(ctx, p);
    const res = await faithfulnessForPairs(cam, p, { ...p, signal: ctx.signal, onProgress: progressOf(ctx) });
    return { backend: computedOn(cam, backendInfo()?.name ?? null), pairs: res };
  },

  'explain.reliability': async (p: ReliabilityTaskPayload, ctx) => {
    const cam = await camIn(ctx, p);
    const images = await reliabilityOfPair(cam, p, p.maps, { ...p, signal: ctx.signal });
    return { backend: computedOn(cam, backendInfo()?.name ?? null), images };
  },

  /** The original model comes from the worker's cache; the randomised copy is loaded fresh and disposed. */
  'explain.sanity': async (p: SanityTaskPayload, ctx) => {
    const cam = await camIn(ctx, p);
    const res = await sanityForPair(cam, () => loadSiamese(p.modelDir), p.layer, p, {
      signal: ctx.signal,
      onProgress: (f) => ctx.progress(f),
    });
    return { backend: computedOn(cam, backendInfo()?.name ?? null), ...res };
  },
});

/** The table's type: what a TaskPool<ExplainTasks> may run. */
export type ExplainTasks = typeof explainTasks;
