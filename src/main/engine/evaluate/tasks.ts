// The evaluation's worker tasks, registered by every engine worker (engine/worker.ts):
// 'models.evaluate' (a whole evaluation in one worker) and 'models.embed' / 'models.embed.release'
// (the worker side of a parallel evaluation, driven by embed-parallel.ts).
import { loadForInference } from '../onnx/accelerator';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { MODEL_JSON } from '../runtime/model-io';
import { clearCache, defineTasks } from '../runtime/pool/registry';
import type { EmbedChunkRequest } from './embed-parallel';
import { embedImages } from './evaluate';
import { evaluateTask, type EvaluateRequest } from './run';

// 'models.embed': the loaded version stays cached under `models.embed:<modelKey>` for the
// evaluation's next chunks, until 'models.embed.release'. Without a modelKey the key is the folder
// plus a stamp of its model.json (inode, mtime, size): a folder replaced since (saveLayersModel
// writes a new one and renames it) is loaded afresh; such entries stay until released or
// 'engine.clearCache'.
const embedCacheKey = (modelKey: string) => `models.embed:${modelKey}`;

function folderStamp(dir: string): string {
  const s = statSync(join(dir, MODEL_JSON));
  return `${s.ino}.${s.mtimeMs}.${s.size}`;
}

export const evaluateTasks = defineTasks({
  'models.evaluate': (req: EvaluateRequest, ctx) => evaluateTask(req, { signal: ctx.signal, progress: (f, m, d) => ctx.progress(f, m, d) }),

  /** Embeddings [count, D] of rows [count, H, W, C], with the version saved in modelDir. */
  'models.embed': async (p: EmbedChunkRequest, ctx) => {
    const key = embedCacheKey(p.modelKey ?? `${p.modelDir}@${folderStamp(p.modelDir)}`);
    const model = await ctx.cache(key, () => loadForInference(p.modelDir));
    ctx.throwIfCancelled();
    const { embeddings } = await embedImages(model, { shape: p.shape, count: p.count, pixels: p.rows }, undefined, p.batchSize, ctx.signal);
    return embeddings;
  },

  /** Frees the model(s) cached under `models.embed:<modelKey>` (a prefix); idempotent. */
  'models.embed.release': (p: { modelKey: string }) => clearCache(embedCacheKey(p.modelKey)),
});

/** The table's type: what a TaskPool<EvaluateTasks> may run. */
export type EvaluateTasks = typeof evaluateTasks;
