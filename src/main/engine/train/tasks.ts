// Registers the model tasks in an engine worker. To run training/evaluation in the
// worker pool, import this module from engine/pool/registered-tasks.ts and give the
// ModelService a pool engine (services/models.ts: poolModelEngine).
//
// 'train.dp.*': the worker side of data-parallel training (engine/train-parallel.ts drives
// them): one replica per worker and run, cached under `train.dp:<runId>` until 'train.dp.dispose'.
// 'models.embed' / 'models.embed.release': the worker side of a parallel evaluation
// (engine/evaluate-parallel.ts, models/tasks.ts: evaluateTaskParallel).
import { statSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { embedImages } from '../evaluate/evaluate';
import type { EmbedChunkRequest } from '../evaluate/embed-parallel';
import { MODEL_JSON } from '../runtime/model-io';
import { clearCache, registerTask, type TaskContext } from '../runtime/pool/registry';
import { checksum, Replica, type ReplicaInit } from './replica';
import { loadSiamese } from '../models/siamese';
import { evaluateTask, trainTask, type EvaluateRequest, type TrainRequest } from './run';

registerTask('models.train', (req: TrainRequest, ctx) => trainTask(req, { signal: ctx.signal, progress: (f, m, d) => ctx.progress(f, m, d) }));
registerTask('models.evaluate', (req: EvaluateRequest, ctx) => evaluateTask(req, { signal: ctx.signal, progress: (f, m, d) => ctx.progress(f, m, d) }));

// 'models.embed': one chunk of a parallel evaluation (engine/evaluate-parallel.ts drives it). The
// loaded version stays cached under `models.embed:<modelKey>` for the evaluation's next chunks,
// until 'models.embed.release'. Without a modelKey the key is the folder plus a stamp of its
// model.json (inode, mtime, size): a folder replaced since (saveLayersModel writes a new one and
// renames it) is loaded afresh; such entries stay until released or 'engine.clearCache'.
const embedCacheKey = (modelKey: string) => `models.embed:${modelKey}`;

function folderStamp(dir: string): string {
  const s = statSync(join(dir, MODEL_JSON));
  return `${s.ino}.${s.mtimeMs}.${s.size}`;
}

/** Embeddings [count, D] of rows [count, H, W, C], with the version saved in modelDir. */
registerTask('models.embed', async (p: EmbedChunkRequest, ctx) => {
  const key = embedCacheKey(p.modelKey ?? `${p.modelDir}@${folderStamp(p.modelDir)}`);
  const model = await ctx.cache(key, () => loadSiamese(p.modelDir));
  ctx.throwIfCancelled();
  const { embeddings } = await embedImages(model, { shape: p.shape, count: p.count, pixels: p.rows }, undefined, p.batchSize, ctx.signal);
  return embeddings;
});

/** Frees the model(s) cached under `models.embed:<modelKey>` (a prefix); idempotent. */
registerTask('models.embed.release', (p: { modelKey: string }) => clearCache(embedCacheKey(p.modelKey)));

const replicaKey = (runId: string) => `train.dp:${runId}`;

function replica(ctx: TaskContext, runId: string): Promise<Replica> {
  return ctx.cache<Replica>(replicaKey(runId), () => {
    throw new Error(`No data-parallel replica of run ${runId} in engine worker ${ctx.workerIndex} (was the worker restarted?)`);
  });
}

/** Builds (or loads) this worker's replica; returns the checksum of its weights. */
registerTask('train.dp.init', async (p: { runId: string; init: ReplicaInit }, ctx) => {
  const r = await ctx.cache(replicaKey(p.runId), () => Replica.create(p.init));
  return { checksum: checksum(r.getWeights()), parameters: r.parameterCount };
});

/** Gradients of one share: rows [count, H, W, C] = anchors(k); partner blocks; labels [pairs]. */
registerTask('train.dp.grads', async (p: { runId: string; images: Float32Array; count: number; anchors: number; labels: Float32Array }, ctx) => {
  const r = await replica(ctx, p.runId);
  ctx.throwIfCancelled();
  return r.gradients(p.images, p.count, p.anchors, p.labels);
});

registerTask('train.dp.apply', async (p: { runId: string; grads: Float32Array; lr: number; state?: Float32Array }, ctx) => {
  (await replica(ctx, p.runId)).apply(p.grads, p.lr, p.state);
  return null;
});

/** Embeddings [count, D] of rows [count, H, W, C]. */
registerTask('train.dp.embed', async (p: { runId: string; rows: Float32Array; count: number }, ctx) => {
  const r = await replica(ctx, p.runId);
  ctx.throwIfCancelled();
  return r.embed(p.rows, p.count);
});

registerTask('train.dp.getWeights', async (p: { runId: string }, ctx) => (await replica(ctx, p.runId)).getWeights());

/** Sets the weights (flat, net.getWeights() order); returns their checksum as read back. */
registerTask('train.dp.setWeights', async (p: { runId: string; weights: Float32Array }, ctx) => {
  const r = await replica(ctx, p.runId);
  r.setWeights(p.weights);
  return checksum(r.getWeights());
});

registerTask('train.dp.checksum', async (p: { runId: string }, ctx) => checksum((await replica(ctx, p.runId)).getWeights()));

registerTask('train.dp.save', async (p: { runId: string; dir: string; extra: Record<string, unknown> }, ctx) => {
  const r = await replica(ctx, p.runId);
  await r.save(p.dir, p.extra);
  return { config: r.model.config, backend: tf.getBackend() };
});

/** Frees the run's replica (model + optimizer); idempotent. */
registerTask('train.dp.dispose', async (p: { runId: string }) => clearCache(replicaKey(p.runId)));
