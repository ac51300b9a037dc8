// The explanation engine: where the tensor work of explanations runs. The explanation service
// (services/explain.ts) orchestrates (store, jobs, overlay cache) and hands every computation to
// one ExplainEngine, which goes down once and comes back once:
// - inProcessExplainEngine: in the calling thread (tests, scripts, the CLI's in-process app);
// - poolExplainEngine: on the engine worker pool (the explain tasks of tasks.ts), so the thread
//   that serves the UI never loads a model nor runs tensor work; batches are split into chunks
//   across the workers, and single-pair work a user waits for goes ahead of queued batch and
//   training tasks.
// Both give the same results (tested); the pool engine falls back to its in-process twin when no
// pool can start here (e.g. no worker script).
import { loadForInference } from '../onnx/accelerator';
import * as tf from '@tensorflow/tfjs';
import type { SiameseModel } from '../models/siamese';
import { loadSiamese } from '../models/siamese';
import { backendInfo } from '../runtime/backend';
import { parallelMap } from '../runtime/pool/parallel-map';
import type { TaskPool } from '../runtime/pool/pool';
import type { CamMethod } from './cam';
import { computedOn, type CamModel } from './cam-model';
import { describeModel, type ModelDescription } from './describe';
import { faithfulnessForPairs, type FaithfulnessOptions, type PairFaithfulness } from './faithfulness';
import { reliabilityOfPair, type ImageReliability, type ReliabilityOptions } from './reliability';
import { metricsForPairs, type PairMetrics } from './measure';
import type { Grid } from './metrics';
import { explainPairs, subBatch, type ExplainedPair, type PairBatch } from './pairs';
import { sanityForPair, type SanityInput, type SanityResult } from './sanity-pair';
import type { ExplainTaskPayload, explainTasks } from './tasks';
import { toCamModel } from './split-model';

/** The model-and-method fields every explain task payload carries. */
type ModelFields = Pick<ExplainTaskPayload, 'modelDir' | 'modelKey' | 'layer' | 'method' | 'maxChannels'>;

/** A saved model version as the engine addresses it. */
export interface ModelRef {
  /** the version's folder (saveSiamese) */
  modelDir: string;
  /** identifies the version for caches (folder + creation stamp: versions are immutable) */
  modelKey: string;
}

/** A version at a target layer (resolved by the caller). */
export interface LayerTarget extends ModelRef {
  layer: string;
}

/** What to explain with: a version, its target layer and a method. */
export interface CamTarget extends LayerTarget {
  method: CamMethod;
  /** Score-CAM channel cap (undefined: the method's default) */
  maxChannels?: number;
}

export interface EngineCallOptions {
  signal?: AbortSignal;
  /** pairs done of the total (batch work) */
  onProgress?: (done: number, total: number) => void;
  /** A user waits for this call: on the pool, ahead of queued batch and training tasks. */
  interactive?: boolean;
}

export interface MeasureOptions extends EngineCallOptions {
  steps: number;
  seed: number;
  iouThreshold?: number;
  /** masks by IMAGE index of the batch (row-major grids, inside > 0.5) */
  masks?: Record<number, Grid>;
  /** index of the batch's first pair in the whole job (seeds depend on it, not on the chunking) */
  indexOffset?: number;
}

export type FaithfulnessJobOptions = Omit<FaithfulnessOptions, 'signal' | 'onProgress'> & EngineCallOptions;

/** A result and the tfjs backend it was computed on (stored with explanations). */
export interface Computed<R> {
  result: R;
  backend: string | null;
}

export interface ExplainEngine {
  /** Workers batch work is spread over; 0: it runs in this thread. Batch jobs size their groups by it. */
  readonly workers: number;
  /** The version's target layers, input shape and randomisable layers. */
  describe(model: ModelRef): Promise<ModelDescription>;
  /** Both images' factual and counterfactual maps of every pair of the batch, in pair order. */
  explain(target: CamTarget, batch: PairBatch, options?: EngineCallOptions): Promise<Computed<ExplainedPair[]>>;
  /** Each pair explained, then its maps measured (deletion / insertion, mask agreement). */
  measure(target: CamTarget, batch: PairBatch, options: MeasureOptions): Promise<Computed<PairMetrics[]>>;
  /** Each pair explained with every method of `options`, its maps scored under every baseline (faithfulness.ts). */
  faithfulness(target: LayerTarget, batch: PairBatch, options: FaithfulnessJobOptions): Promise<Computed<PairFaithfulness[]>>;
  /** Each image's deletion under its stored map against a random map's, on the pair (reliability.ts). */
  reliability(
    target: LayerTarget,
    batch: PairBatch,
    maps: [Grid | null, Grid | null],
    options: Omit<ReliabilityOptions, 'signal'> & EngineCallOptions,
  ): Promise<Computed<[ImageReliability | null, ImageReliability | null]>>;
  /** The model-randomisation sanity check of one pair. */
  sanity(
    target: CamTarget,
    input: Omit<SanityInput, 'method' | 'maxChannels'>,
    options?: EngineCallOptions,
  ): Promise<Computed<SanityResult>>;
  /** Frees what is held for a version (its loaded model): call when it is deleted. */
  release(model: ModelRef): Promise<void>;
}

const thisThreadBackend = () => backendInfo()?.name ?? tf.getBackend() ?? null;

/**
 * Explanations in this thread, after `ready` (e.g. initBackend). Loaded versions are kept (one
 * per key) until released.
 */
export function inProcessExplainEngine(ready: () => Promise<unknown> = async () => undefined): ExplainEngine {
  const loaded = new Map<string, Promise<SiameseModel>>();
  const load = async (m: ModelRef): Promise<SiameseModel> => {
    await ready();
    let p = loaded.get(m.modelKey);
    if (!p) {
      p = loadForInference(m.modelDir);
      loaded.set(m.modelKey, p);
      p.catch(() => loaded.delete(m.modelKey));
    }
    return p;
  };
  const cam = async (t: CamTarget): Promise<CamModel> => toCamModel(await load(t), t.layer);
  const cap = (t: CamTarget) => (t.maxChannels !== undefined ? { maxChannels: t.maxChannels } : {});
  return {
    workers: 0,
    describe: async (m) => describeModel(await load(m)),
    explain: async (t, batch, o = {}) => {
      const model = await cam(t);
      const result = await explainPairs(model, batch, t.method, { signal: o.signal, onProgress: o.onProgress, ...cap(t) });
      return { result, backend: computedOn(model, thisThreadBackend()) };
    },
    measure: async (t, batch, o) => ({
      result: await metricsForPairs(await cam(t), batch, t.method, {
        steps: o.steps,
        seed: o.seed,
        iouThreshold: o.iouThreshold,
        masks: o.masks,
        indexOffset: o.indexOffset,
        signal: o.signal,
        onProgress: o.onProgress,
        ...cap(t),
      }),
      backend: thisThreadBackend(),
    }),
    faithfulness: async (t, batch, o) => {
      const { signal, onProgress, interactive: _interactive, ...options } = o;
      const camModel = toCamModel(await load(t), t.layer);
      return { result: await faithfulnessForPairs(camModel, batch, { ...options, signal, onProgress }), backend: thisThreadBackend() };
    },
    reliability: async (t, batch, maps, o) => {
      const { interactive: _i, onProgress: _p, ...options } = o;
      return { result: await reliabilityOfPair(toCamModel(await load(t), t.layer), batch, maps, options), backend: thisThreadBackend() };
    },
    sanity: async (t, input, o = {}) => ({
      // the randomised copy is loaded fresh (and disposed by sanityForPair)
      result: await sanityForPair(
        await cam(t),
        () => loadSiamese(t.modelDir),
        t.layer,
        { ...input, method: t.method, ...cap(t) },
        { signal: o.signal },
      ),
      backend: thisThreadBackend(),
    }),
    release: async (m) => {
      const p = loaded.get(m.modelKey);
      loaded.delete(m.modelKey);
      await p?.then((model) => model.dispose()).catch(() => undefined);
    },
  };
}

/** The pool an explanation engine drives: workers that run the explain tasks. */
export type ExplainPool = TaskPool<typeof explainTasks>;

/**
 * Explanations on an engine worker pool (`pool`, or a function giving it, called at each use so
 * a lazily created pool starts on first use). When the pool cannot be created here, `local`
 * does the work.
 */
export function poolExplainEngine(pool: ExplainPool | (() => ExplainPool), local: ExplainEngine = inProcessExplainEngine()): ExplainEngine {
  const get = (): ExplainPool | null => {
    try {
      return typeof pool === 'function' ? pool() : pool;
    } catch {
      return null; // no pool can start here (e.g. no worker script): this thread does the work
    }
  };
  // Typed by the task's payload (not inferred), so renaming a payload field fails to compile here
  // instead of silently dropping the field (a conditional spread escapes excess-property checks).
  const modelOf = (t: CamTarget): ModelFields => {
    const fields: ModelFields = {
      modelDir: t.modelDir,
      modelKey: t.modelKey,
      layer: t.layer,
      method: t.method,
    };
    if (t.maxChannels !== undefined) fields.maxChannels = t.maxChannels;
    return fields;
  };

  /** Chunks of a batch's pairs across the workers: one per worker and a half, so a faster worker takes more. */
  const chunking = (p: ExplainPool, n: number, o: EngineCallOptions) => ({
    signal: o.signal,
    chunkSize: Math.max(1, Math.ceil(n / (2 * p.size))),
    onProgress: o.onProgress,
    ...(o.interactive ? { priority: 'interactive' as const } : {}),
  });
  const joined = <R>(parts: Array<{ result: { pairs: R[]; backend: string | null } }>): Computed<R[]> => ({
    result: parts.flatMap((part) => part.result.pairs),
    backend: parts.length > 0 ? parts[0].result.backend : null,
  });

  return {
    get workers() {
      return get()?.size ?? local.workers;
    },
    describe: async (m) => {
      const p = get();
      if (!p) return local.describe(m);
      return p.run('explain.describe', { modelDir: m.modelDir, modelKey: m.modelKey }, { priority: 'interactive' });
    },
    explain: async (t, batch, o = {}) => {
      const p = get();
      if (!p) return local.explain(t, batch, o);
      const n = batch.a.length;
      // a lone pair a user waits for, on an otherwise idle pool: its worker may use every core
      const lone = o.interactive === true && n === 1 && p.size > 1 && p.busy === 0 && p.pending === 0;
      const parts = await parallelMap(
        p,
        'explain.pairs',
        n,
        (start, end) => {
          const sub = subBatch(batch, start, end).batch;
          const payload: ExplainTaskPayload = { ...sub, ...modelOf(t), ...(lone ? { ortThreads: p.size } : {}) };
          return { payload, transfer: [sub.pixels.buffer as ArrayBuffer] };
        },
        chunking(p, n, o),
      );
      return joined(parts);
    },
    measure: async (t, batch, o) => {
      const p = get();
      if (!p) return local.measure(t, batch, o);
      const common = { steps: o.steps, seed: o.seed, iouThreshold: o.iouThreshold };
      const offset = o.indexOffset ?? 0;
      const n = batch.a.length;
      const parts = await parallelMap(
        p,
        'explain.metrics',
        n,
        (start, end) => {
          const sub = subBatch(batch, start, end, o.masks);
          return {
            payload: { ...sub.batch, ...modelOf(t), ...common, masks: sub.masks, indexOffset: offset + start },
            transfer: [sub.batch.pixels.buffer as ArrayBuffer],
          };
        },
        chunking(p, n, o),
      );
      return joined(parts);
    },
    faithfulness: async (t, batch, o) => {
      const p = get();
      if (!p) return local.faithfulness(t, batch, o);
      const { signal: _s, onProgress: _p, interactive: _i, ...options } = o;
      const offset = o.indexOffset ?? 0;
      const n = batch.a.length;
      const parts = await parallelMap(
        p,
        'explain.faithfulness',
        n,
        (start, end) => {
          const sub = subBatch(batch, start, end).batch;
          return {
            payload: { ...sub, ...options, modelDir: t.modelDir, modelKey: t.modelKey, layer: t.layer, indexOffset: offset + start },
            transfer: [sub.pixels.buffer as ArrayBuffer],
          };
        },
        // one pair per task: a pair is seconds of work (every method, every baseline), and a map a
        // user asks for meanwhile waits for the task a worker is running, never longer
        { ...chunking(p, n, o), chunkSize: 1 },
      );
      return joined(parts);
    },
    reliability: async (t, batch, maps, o) => {
      const p = get();
      if (!p) return local.reliability(t, batch, maps, o);
      const { signal, interactive: _i, onProgress: _p, ...options } = o;
      const { backend, images } = await p.run(
        'explain.reliability',
        { ...batch, ...options, modelDir: t.modelDir, modelKey: t.modelKey, layer: t.layer, maps },
        { signal, transfer: [batch.pixels.buffer as ArrayBuffer], priority: 'interactive' },
      );
      return { result: images, backend };
    },
    sanity: async (t, input, o = {}) => {
      const p = get();
      if (!p) return local.sanity(t, input, o);
      const { backend, ...result } = await p.run(
        'explain.sanity',
        { ...input, ...modelOf(t), layer: t.layer },
        { signal: o.signal, transfer: [input.pixels.buffer as ArrayBuffer], priority: 'interactive' },
      );
      return { result, backend };
    },
    // a worker keeps a version it loaded in its cache (tasks.ts); only this thread's copy is freed
    release: (m) => local.release(m),
  };
}
