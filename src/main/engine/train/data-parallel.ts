// Data-parallel training over the engine worker pool (the coordinator; the workers' side is
// replica.ts, registered as the 'train.dp.*' tasks in tasks.ts).
//
// Every worker holds an identical replica (same config and seed, or the same saved version;
// checked by a checksum of the weights) and its own Adam. Each step the batch assembled by the
// shared epoch loop (trainer.ts: trainLoop) is split by ANCHORS into one share per worker (a share
// keeps its anchors with their positive and negative partners); each worker returns the gradients
// of its share's mean loss; here they are averaged weighted by the shares' pair counts (= the
// gradient of the whole batch's mean loss) and every worker applies that average. This side does
// no tensor work: it slices batches, averages arrays and moves them, so it can run on the thread
// that serves the UI.
import type { ImageSet, PairList } from '../data/dataset';
import { imageSize } from '../data/dataset';
import { pairScoresFrom } from '../evaluate/evaluate';
import type { ModelConfig } from '../models/config';
import type { TaskPool } from '../runtime/pool/pool';
import type { SecondDerivativeCheck } from './mask/check';
import type { MaskBatch, StepParts } from './mask/step';
import type { ReplicaInit } from './replica';
import { FeatureCache, frozenInTfjs, frozenNote, hasFrozenBlocks, scoreFromFeatures, type FrozenFeaturesInfo } from './frozen-features';
import type { trainTasks } from './tasks';
import {
  resolveTrainConfig,
  trainLoop,
  type StepBatch,
  type StepRunner,
  type TrainConfig,
  type TrainData,
  type TrainHooks,
  type TrainResult,
} from './trainer';

/** The pool the coordinator drives: workers that run training's tasks (tasks.ts). */
export type DataParallelPool = TaskPool<typeof trainTasks>;

/** Options of a data-parallel run. */
export interface DataParallelOptions {
  /** Shares per step (default: the pool's size; at most the pool's size). */
  workers?: number;
  /** Images per embedding call when scoring (default 256). */
  scoreBatch?: number;
  signal?: AbortSignal;
}

let runCounter = 0;

/** Splits k anchors into n shares, as evenly as possible, in order: [start, end) each. */
export function anchorShares(k: number, n: number): Array<[number, number]> {
  const parts = Math.max(1, Math.min(n, k));
  const out: Array<[number, number]> = [];
  let start = 0;
  for (let j = 0; j < parts; j++) {
    const end = start + Math.floor(k / parts) + (j < k % parts ? 1 : 0);
    out.push([start, end]);
    start = end;
  }
  return out;
}

/**
 * The share [s, e) of a batch's anchors: rows [anchors s..e; each partner block's s..e] and
 * the matching labels. Images [count, H, W, C] = anchors(k), then reps blocks of k partners.
 */
export function sliceShare(batch: StepBatch, size: number, s: number, e: number): StepBatch {
  const k = batch.anchors;
  const reps = batch.labels.length / k;
  const n = e - s;
  const images = new Float32Array((1 + reps) * n * size);
  const labels = new Float32Array(reps * n);
  for (let block = 0; block <= reps; block++)
    images.set(batch.images.subarray((block * k + s) * size, (block * k + e) * size), block * n * size);
  for (let r = 0; r < reps; r++) labels.set(batch.labels.subarray(r * k + s, r * k + e), r * n);
  const share: StepBatch = { images, count: (1 + reps) * n, anchors: n, labels };
  if (batch.mask) {
    if (reps !== 1) throw new Error('masks come with explicit-pair batches only');
    const mask = sliceMasks(batch.mask, k, s, e);
    if (mask) share.mask = mask;
  }
  return share;
}

/**
 * The masks of the share [s, e) of an explicit-pair batch of k pairs (slots [a(k); b(k)]),
 * re-indexed to the share's slots [a(s..e); b(s..e)]. The scale is multiplied by k / (e - s):
 * shares are averaged weighted by their pairs, (e - s) / k, so the batch's mask term keeps its
 * weight. Undefined when the share has no masked image.
 */
function sliceMasks(mask: MaskBatch, k: number, s: number, e: number): MaskBatch | undefined {
  const n = e - s;
  const per = mask.index.length > 0 ? mask.masks.length / mask.index.length : 0;
  const index: number[] = [];
  const rows: number[] = [];
  mask.index.forEach((slot, i) => {
    if (slot >= s && slot < e) index.push(slot - s);
    else if (slot >= k + s && slot < k + e) index.push(n + slot - k - s);
    else return;
    rows.push(i);
  });
  if (index.length === 0) return undefined;
  const masks = new Uint8Array(rows.length * per);
  rows.forEach((r, j) => masks.set(mask.masks.subarray(r * per, (r + 1) * per), j * per));
  return { index: Int32Array.from(index), masks, scale: (mask.scale * k) / n };
}

/** Weighted mean of arrays (weights summing to 1); elements equal in every part are kept exactly. */
function weightedMean(parts: Float32Array[], weights: number[]): Float32Array {
  const out = new Float32Array(parts[0].length);
  for (let i = 0; i < out.length; i++) {
    let acc = 0;
    for (let j = 0; j < parts.length; j++) acc += weights[j] * parts[j][i];
    out[i] = acc;
  }
  return out;
}

function stateMean(parts: Float32Array[], weights: number[]): Float32Array {
  const out = weightedMean(parts, weights);
  for (let i = 0; i < out.length; i++) if (parts.every((p) => p[i] === parts[0][i])) out[i] = parts[0][i];
  return out;
}

/** A StepRunner over the replicas of one run; also scores and saves with them (see trainDataParallel). */
export interface DataParallelRunner extends StepRunner {
  readonly runId: string;
  readonly workers: number;
  scorePairs(images: ImageSet, pairs: PairList, signal?: AbortSignal): Promise<{ score: Float32Array; distance: Float32Array }>;
  /** Saves the replicas' (current) weights as a version folder; resolves with their config and backend. */
  save(dir: string, extra: Record<string, unknown>): Promise<{ config: ModelConfig; backend: string }>;
  /** Mask-guided retraining: the second-derivative check on one replica's backend (mask/check.ts). */
  checkMask(batch: StepBatch & { mask: MaskBatch }, seed?: number, signal?: AbortSignal): Promise<SecondDerivativeCheck>;
}

/** Builds the run's replica in every worker and makes sure they are identical (else copies worker 0's weights). */
async function initReplicas(pool: DataParallelPool, runId: string, init: ReplicaInit, signal?: AbortSignal): Promise<void> {
  const sums = await pool.broadcast('train.dp.init', { runId, init }, { signal });
  if (new Set(sums.map((s) => s.checksum)).size === 1) return;
  // Not identical (should not happen: seeded initialisers): copy worker 0's weights everywhere.
  const weights = await pool.run('train.dp.getWeights', { runId });
  const again = await pool.broadcast('train.dp.setWeights', { runId, weights }, { signal });
  if (new Set(again).size !== 1) throw new Error(`Data-parallel replicas differ after a weight sync: ${again.join(', ')}`);
}

/**
 * Embeddings [used.length, dim] of the images `used` of `images`, in chunks of at most `chunk`
 * images on the replicas. At most 2 chunks per worker in flight: the rows of a chunk are copied
 * only when it is sent, so memory stays bounded for large images, and the signal does not collect
 * a listener per chunk.
 */
async function embedOnReplicas(
  pool: DataParallelPool,
  runId: string,
  images: ImageSet,
  used: number[],
  o: { workers: number; chunk: number; dim: number; signal?: AbortSignal },
): Promise<Float32Array> {
  const size = imageSize(images.shape);
  const out = new Float32Array(used.length * o.dim);
  const chunk = Math.max(1, Math.min(o.chunk, Math.ceil(used.length / o.workers)));
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (next < used.length && !failed) {
      const start = next;
      const n = Math.min(chunk, used.length - start);
      next += n;
      const rows = new Float32Array(n * size); // [n, H, W, C]
      for (let i = 0; i < n; i++) rows.set(images.pixels.subarray(used[start + i] * size, (used[start + i] + 1) * size), i * size);
      try {
        out.set(await pool.run('train.dp.embed', { runId, rows, count: n }, { signal: o.signal, transfer: [rows.buffer] }), start * o.dim);
      } catch (error) {
        failed = true; // the other lanes stop taking chunks
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: 2 * o.workers }, lane));
  return out;
}

/**
 * One training step over `workers` replicas: the batch split by anchors, each share's gradients
 * (and BatchNorm statistics) computed by a replica, their pair-weighted mean applied by every
 * replica. Resolves with the batch's mean loss.
 */
async function dataParallelStep(
  pool: DataParallelPool,
  runId: string,
  workers: number,
  size: number,
  batch: StepBatch,
  lr: number,
  signal?: AbortSignal,
  onParts?: (parts: StepParts | undefined) => void,
  features = false,
): Promise<number> {
  const shares = anchorShares(batch.anchors, workers);
  const parts = await Promise.all(
    shares.map(([s, e]) => {
      const share = sliceShare(batch, size, s, e);
      return pool.run(
        'train.dp.grads',
        { runId, ...share, ...(features ? { features } : {}) },
        { signal, transfer: [share.images.buffer as ArrayBuffer] },
      );
    }),
  );
  // pair-weighted: sum_j (pairs_j / pairs) * mean-loss gradient of share j = gradient of the
  // batch mean; a share of (e - s) anchors holds reps * (e - s) of the batch's reps * k pairs.
  const weights = shares.map(([s, e]) => (e - s) / batch.anchors);
  const grads = weightedMean(
    parts.map((p) => p.grads),
    weights,
  );
  const state = parts[0].state
    ? stateMean(
        parts.map((p) => p.state!),
        weights,
      )
    : undefined;
  await pool.broadcast('train.dp.apply', { runId, grads, lr, state }, { signal });
  onParts?.(
    parts.every((p) => p.parts)
      ? {
          contrastive: parts.reduce((acc, p, j) => acc + weights[j] * p.parts!.contrastive, 0),
          mask: parts.reduce((acc, p, j) => acc + weights[j] * p.parts!.mask, 0),
        }
      : undefined,
  );
  return parts.reduce((acc, p, j) => acc + weights[j] * p.loss, 0);
}

/**
 * Creates identical replicas in every worker of `pool` and returns the runner driving them.
 * Call dispose() at the end: it frees the replicas in the workers (also after a cancel).
 */
export async function createDataParallelRunner(
  pool: DataParallelPool,
  init: ReplicaInit,
  options: DataParallelOptions = {},
): Promise<DataParallelRunner> {
  const runId = `${process.pid}.${++runCounter}.${Date.now()}`;
  const workers = Math.max(1, Math.min(options.workers ?? pool.size, pool.size));
  const size = imageSize(init.model.inputShape);
  const dim = init.model.embeddingSize;
  let best: Float32Array | null = null;
  let lastParts: StepParts | undefined;
  const dispose = async () => {
    best = null;
    await pool.broadcast('train.dp.dispose', { runId });
  };
  try {
    await initReplicas(pool, runId, init, options.signal);
  } catch (error) {
    await dispose().catch(() => undefined);
    throw error;
  }

  const scorePairs = async (images: ImageSet, pairs: PairList, signal?: AbortSignal) => {
    const used = [...new Set([...pairs.a, ...pairs.b])].sort((x, y) => x - y);
    const slot = new Map(used.map((img, i) => [img, i]));
    const embeddings = await embedOnReplicas(pool, runId, images, used, { workers, chunk: options.scoreBatch ?? 256, dim, signal });
    return pairScoresFrom(embeddings, dim, slot, pairs, init.model.tau);
  };

  return {
    runId,
    workers,
    step: (batch, lr, signal) => dataParallelStep(pool, runId, workers, size, batch, lr, signal, (p) => (lastParts = p)),
    lastParts: () => lastParts,
    checkMask: (batch, seed, signal) =>
      pool.run('train.dp.checkMask', { runId, images: batch.images, count: batch.count, mask: batch.mask, seed }, { signal }),
    async scoreVal(images, pairs, signal) {
      return (await scorePairs(images, pairs, signal)).score;
    },
    scorePairs,
    async snapshot() {
      best = await pool.run('train.dp.getWeights', { runId });
    },
    async restore() {
      if (!best) return;
      const sums = await pool.broadcast('train.dp.setWeights', { runId, weights: best });
      if (new Set(sums).size !== 1) throw new Error('Data-parallel replicas differ after restoring the best weights');
    },
    save(dir, extra) {
      return pool.run('train.dp.save', { runId, dir, extra });
    },
    async exportState() {
      const { weights, adam } = await pool.run('train.dp.getState', { runId });
      return { weights, bestWeights: best, adam };
    },
    async importState(state) {
      const sums = await pool.broadcast('train.dp.setState', { runId, weights: state.weights, adam: state.adam });
      if (new Set(sums).size !== 1) throw new Error('Data-parallel replicas differ after restoring a checkpoint');
      best = state.bestWeights;
    },
    dispose,
  };
}

/**
 * `rows` [count, inPerRow] split into one contiguous part per worker, each part run by `run`
 * (a worker task), the results [count, outPerRow] joined in order.
 */
async function acrossWorkers(
  rows: Float32Array,
  count: number,
  workers: number,
  outPerRow: number,
  run: (part: Float32Array, n: number) => Promise<Float32Array>,
): Promise<Float32Array> {
  const inPerRow = rows.length / count;
  const shares = anchorShares(count, workers);
  const parts = await Promise.all(shares.map(([s, e]) => run(rows.slice(s * inPerRow, e * inPerRow), e - s)));
  const out = new Float32Array(count * outPerRow);
  shares.forEach(([s], j) => out.set(parts[j], s * outPerRow));
  return out;
}

/**
 * Frozen-feature training over the replicas (frozen-features.ts): each replica runs the frozen
 * part on ONNX Runtime (its own session, in its worker) and holds the head above the boundary.
 * Here, with no tensor work: the features are cached per image (FeatureCache) or computed per
 * batch, split over the workers; each batch's features are split by anchors like images, and the
 * replicas train the head on them; validation and evaluation scores come from features too.
 * Resolves with the runner to use, or why it does not apply (then the runner trains as before).
 */
async function frozenDataParallel(
  pool: DataParallelPool,
  runner: DataParallelRunner,
  model: ModelConfig,
  data: TrainData,
  cfg: TrainConfig,
  signal?: AbortSignal,
): Promise<{ runner: DataParallelRunner; info: FrozenFeaturesInfo } | { reason: string }> {
  const { runId, workers } = runner;
  let answers: Array<{ boundary: string; featureShape: number[] } | { reason: string }>;
  try {
    answers = await pool.broadcast('train.dp.frozen', { runId }, { signal });
  } catch (error) {
    if (signal?.aborted) throw error;
    return { reason: `the replicas could not set up the frozen part: ${error instanceof Error ? error.message : String(error)}` };
  }
  const refused = answers.find((a): a is { reason: string } => 'reason' in a);
  if (refused) return refused;
  const { boundary, featureShape } = answers[0] as { boundary: string; featureShape: number[] };
  const featureSize = featureShape.reduce((a, b) => a * b, 1);
  const cache: FeatureCache = new FeatureCache(data, cfg, boundary, featureSize, (images, count) =>
    acrossWorkers(images, count, workers, featureSize, (part, n) => {
      cache.info.ortRuns++;
      return pool.run('train.dp.features', { runId, rows: part, count: n }, { signal, transfer: [part.buffer as ArrayBuffer] });
    }),
  );
  const embed = (features: Float32Array, count: number) =>
    acrossWorkers(features, count, workers, model.embeddingSize, (part, n) =>
      pool.run('train.dp.embed', { runId, rows: part, count: n, features: true }, { signal, transfer: [part.buffer as ArrayBuffer] }),
    );
  const scorePairs = (images: ImageSet, pairs: PairList, scoreSignal?: AbortSignal) =>
    scoreFromFeatures(cache, images, pairs, embed, { dim: model.embeddingSize, tau: model.tau, signal: scoreSignal });
  let lastParts: StepParts | undefined;
  return {
    info: cache.info,
    runner: {
      ...runner,
      step: async (batch, lr, stepSignal) => {
        const features = await cache.ofBatch(batch);
        const rows: StepBatch = {
          images: features,
          count: batch.count,
          anchors: batch.anchors,
          labels: batch.labels,
          ...(batch.mask ? { mask: batch.mask } : {}),
        };
        return dataParallelStep(pool, runId, workers, featureSize, rows, lr, stepSignal, (p) => (lastParts = p), true);
      },
      lastParts: () => lastParts,
      scoreVal: async (images, pairs, scoreSignal) => (await scorePairs(images, pairs, scoreSignal)).score,
      scorePairs,
    },
  };
}

/** Checksums of the replicas' weights (all equal while the run is healthy): for tests and checks. */
export function replicaChecksums(pool: DataParallelPool, runId: string): Promise<string[]> {
  return pool.broadcast('train.dp.checksum', { runId });
}

/**
 * trainSiamese's counterpart over a worker pool: builds (or loads) the replicas, runs the shared
 * epoch loop, leaves the best epoch's weights in the replicas, then `after` may score/save with
 * them; the replicas are freed at the end whatever happens.
 */
export async function trainDataParallel<T = void>(
  pool: DataParallelPool,
  init: Omit<ReplicaInit, 'learningRate' | 'margin'>,
  data: TrainData,
  config: Partial<TrainConfig>,
  hooks: TrainHooks & Omit<DataParallelOptions, 'signal'> = {},
  after?: (runner: DataParallelRunner, result: TrainResult) => Promise<T>,
  before?: (runner: DataParallelRunner) => Promise<TrainHooks | void>,
): Promise<{ training: TrainResult; after: T | undefined }> {
  const cfg = resolveTrainConfig(data, config);
  const runner = await createDataParallelRunner(
    pool,
    { ...init, learningRate: cfg.learningRate, margin: cfg.margin ?? init.model.margin },
    { workers: hooks.workers, scoreBatch: hooks.scoreBatch, signal: hooks.signal },
  );
  try {
    // `before` may check the replicas and adjust the hooks (e.g. the epoch planner) before training
    const adjusted = before ? await before(runner) : undefined;
    // A model with frozen blocks: its frozen part on ONNX Runtime (also for mask-guided retraining: replica.ts)
    let used: DataParallelRunner = runner;
    let frozenInfo: FrozenFeaturesInfo | undefined;
    if (hasFrozenBlocks(init.model)) {
      const frozen = await frozenDataParallel(pool, runner, init.model, data, cfg, hooks.signal);
      if ('reason' in frozen) frozenInfo = frozenInTfjs(frozen.reason);
      else ({ runner: used, info: frozenInfo } = frozen);
      hooks.onNote?.(frozenNote(frozenInfo));
    }
    const trained = await trainLoop(used, data, cfg, { ...hooks, ...(adjusted ?? {}) });
    const training = frozenInfo ? { ...trained, frozenFeatures: frozenInfo } : trained;
    return { training, after: after ? await after(used, training) : undefined };
  } finally {
    // Frees the replicas (waits for cancelled worker tasks to stop); never masks the run's error.
    await runner.dispose().catch(() => undefined);
  }
}
