// Training's worker tasks, registered by every engine worker (engine/worker.ts): 'models.train'
// (a whole training run in one worker) and 'train.dp.*', the worker side of data-parallel
// training (data-parallel.ts drives them): one replica (replica.ts) per worker and run, cached
// under `train.dp:<runId>` until 'train.dp.dispose'.
import * as tf from '@tensorflow/tfjs';
import { clearCache, defineTasks, type TaskContext } from '../runtime/pool/registry';
import type { MaskBatch } from './mask/step';
import type { AdamState } from './checkpoint';
import { checksum, Replica, type ReplicaInit } from './replica';
import { trainTask, type TrainRequest } from './run';
import { retrainTask, type RetrainRequest } from './retrain';

const replicaKey = (runId: string) => `train.dp:${runId}`;

function replica(ctx: TaskContext, runId: string): Promise<Replica> {
  return ctx.cache<Replica>(replicaKey(runId), () => {
    throw new Error(`No data-parallel replica of run ${runId} in engine worker ${ctx.workerIndex} (was the worker restarted?)`);
  });
}

export const trainTasks = defineTasks({
  'models.train': (req: TrainRequest, ctx) => trainTask(req, { signal: ctx.signal, progress: (f, m, d) => ctx.progress(f, m, d) }),

  /** Builds (or loads) this worker's replica; returns the checksum of its weights. */
  'train.dp.init': async (p: { runId: string; init: ReplicaInit }, ctx) => {
    const r = await ctx.cache(replicaKey(p.runId), () => Replica.create(p.init));
    return { checksum: checksum(r.getWeights()), parameters: r.parameterCount };
  },

  /**
   * Gradients of one share: rows [count, H, W, C] = anchors(k); partner blocks; labels [pairs]; the
   * masks of some rows (retraining); `features`: the rows are frozen features (train.dp.frozen).
   */
  'train.dp.grads': async (
    p: { runId: string; images: Float32Array; count: number; anchors: number; labels: Float32Array; mask?: MaskBatch; features?: boolean },
    ctx,
  ) => {
    const r = await replica(ctx, p.runId);
    ctx.throwIfCancelled();
    return r.gradients(p.images, p.count, p.anchors, p.labels, p.mask, p.features ?? false);
  },

  /** Frozen-feature training (frozen-features.ts): the frozen part on ONNX Runtime in this worker; its boundary, or why not. */
  'train.dp.frozen': async (p: { runId: string }, ctx) => (await replica(ctx, p.runId)).enableFrozen(),

  /** The frozen part's features [count, featureSize] of rows [count, H, W, C]. */
  'train.dp.features': async (p: { runId: string; rows: Float32Array; count: number }, ctx) => {
    const r = await replica(ctx, p.runId);
    ctx.throwIfCancelled();
    return r.features(p.rows, p.count);
  },

  /** Mask-guided retraining: the mask loss's second derivative against finite differences, on this worker's backend. */
  'train.dp.checkMask': async (p: { runId: string; images: Float32Array; count: number; mask: MaskBatch; seed?: number }, ctx) =>
    (await replica(ctx, p.runId)).checkMask(p.images, p.count, p.mask, p.seed),

  /** A whole mask-guided retraining in one worker (retrain.ts). */
  'models.retrain': (req: RetrainRequest, ctx) => retrainTask(req, { signal: ctx.signal, progress: (f, m, d) => ctx.progress(f, m, d) }),

  'train.dp.apply': async (p: { runId: string; grads: Float32Array; lr: number; state?: Float32Array }, ctx) => {
    (await replica(ctx, p.runId)).apply(p.grads, p.lr, p.state);
    return null;
  },

  /** Embeddings [count, D] of rows [count, H, W, C] (`features`: of frozen features). */
  'train.dp.embed': async (p: { runId: string; rows: Float32Array; count: number; features?: boolean }, ctx) => {
    const r = await replica(ctx, p.runId);
    ctx.throwIfCancelled();
    return r.embed(p.rows, p.count, p.features ?? false);
  },

  'train.dp.getWeights': async (p: { runId: string }, ctx) => (await replica(ctx, p.runId)).getWeights(),

  /** Sets the weights (flat, net.getWeights() order); returns their checksum as read back. */
  'train.dp.setWeights': async (p: { runId: string; weights: Float32Array }, ctx) => {
    const r = await replica(ctx, p.runId);
    r.setWeights(p.weights);
    return checksum(r.getWeights());
  },

  /** This replica's weights and Adam state, for a checkpoint (the coordinator keeps the best snapshot). */
  'train.dp.getState': async (p: { runId: string }, ctx) => {
    const r = await replica(ctx, p.runId);
    return { weights: r.getWeights(), adam: r.adamState() };
  },

  /** Puts a checkpoint's weights and Adam state into this replica; returns the weights' checksum as read back. */
  'train.dp.setState': async (p: { runId: string; weights: Float32Array; adam: AdamState }, ctx) => {
    const r = await replica(ctx, p.runId);
    r.setWeights(p.weights);
    r.setAdamState(p.adam);
    return checksum(r.getWeights());
  },

  'train.dp.checksum': async (p: { runId: string }, ctx) => checksum((await replica(ctx, p.runId)).getWeights()),

  'train.dp.save': async (p: { runId: string; dir: string; extra: Record<string, unknown> }, ctx) => {
    const r = await replica(ctx, p.runId);
    await r.save(p.dir, p.extra);
    return { config: r.model.config, backend: tf.getBackend() };
  },

  /** Frees the run's replica (model + optimizer); idempotent. */
  'train.dp.dispose': async (p: { runId: string }) => clearCache(replicaKey(p.runId)),
});

/** The table's type: what a TaskPool<TrainTasks> may run. */
export type TrainTasks = typeof trainTasks;
