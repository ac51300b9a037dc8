// Embedding images with a saved model version across the engine worker pool (the coordinator;
// the workers' side is the 'models.embed' / 'models.embed.release' tasks of tasks.ts).
// Used by the evaluation job when the pool has several workers (run.ts: evaluateTaskParallel): wasm and cpu run on ONE thread per worker, so N workers use N cores.
//
// The images are sent in chunks (copied out of the image set, moved to a worker, not copied
// again), at most `inFlight` chunks at a time, so a large image set is never duplicated whole;
// any free worker takes the next chunk, so a busier or slower worker simply takes fewer.
//
// The loaded model. Each worker loads the version once per evaluation and caches it (ctx.cache)
// under a key unique to the evaluation ('models.embed:run:<id>|<folder>'); the coordinator
// releases it at the end, also after a cancel or a failure ('models.embed.release', broadcast at
// interactive priority: it only waits for the task each worker is running). So nothing stays
// allocated in the workers between evaluations, two evaluations never share or free each other's
// model, and a version folder replaced between two evaluations is always read afresh. The price is
// one model load per worker and evaluation, small next to embedding thousands of images.
import { setMaxListeners } from 'node:events';
import type { ImageSet, Shape3 } from '../data/dataset';
import { imageSize } from '../data/dataset';
import type { TaskPool } from '../runtime/pool/pool';
import { TaskCancelledError } from '../runtime/pool/registry';
import type { evaluateTasks } from './tasks';

/** The pool this drives: workers that run the evaluation's tasks (tasks.ts). */
export type EmbedPool = TaskPool<typeof evaluateTasks>;

/** The payload of the 'models.embed' task: embeddings [count, D] of rows [count, H, W, C]. */
export interface EmbedChunkRequest {
  /** the version folder (saveSiamese) */
  modelDir: string;
  /** cache key of the loaded model in the worker; default: the folder + a stamp of its model.json */
  modelKey?: string;
  shape: Shape3;
  /** [count, H, W, C] floats in [0, 1] */
  rows: Float32Array;
  count: number;
  /** images per forward pass in the worker (default: engine/evaluate embedImages') */
  batchSize?: number;
}

export interface ParallelEmbedOptions {
  signal?: AbortSignal;
  /** Images per task (default: about 4 tasks per worker, at most 1024 images or 32 MB of floats). */
  chunkSize?: number;
  /** Chunks sent at a time (default: 2 per worker, so no worker waits for its next chunk). */
  inFlight?: number;
  /** Images per forward pass in the workers. */
  batchSize?: number;
  /** After each chunk: images embedded so far, of the total. */
  onProgress?: (done: number, total: number) => void;
}

const MAX_CHUNK_IMAGES = 1024;
const MAX_CHUNK_FLOATS = 8 * 1024 * 1024;
let runCounter = 0;

/** Images per 'models.embed' task for n images of `size` floats over `workers` workers. */
export function embedChunkSize(n: number, size: number, workers: number): number {
  return Math.max(
    1,
    Math.min(Math.ceil(n / (4 * Math.max(1, workers))), MAX_CHUNK_IMAGES, Math.floor(MAX_CHUNK_FLOATS / Math.max(1, size))),
  );
}

/**
 * Embeds the images `indices` of `images` with the version saved in `modelDir`, across the
 * workers of `pool`: rows [indices.length, D] in the order of `indices`. Aborting `signal` cancels
 * the chunks queued and running and rejects with an AbortError ('cancelled'); the first failing
 * chunk cancels the others and rejects with its error. The workers' copies of the model are
 * freed before this settles.
 */
export async function embedImagesParallel(
  pool: EmbedPool,
  modelDir: string,
  images: ImageSet,
  indices: ArrayLike<number>,
  options: ParallelEmbedOptions = {},
): Promise<{ embeddings: Float32Array; dim: number }> {
  const n = indices.length;
  if (options.signal?.aborted) throw new TaskCancelledError();
  if (n === 0) return { embeddings: new Float32Array(0), dim: 0 };
  const size = imageSize(images.shape);
  const chunk = Math.max(1, Math.floor(options.chunkSize ?? embedChunkSize(n, size, pool.size)));
  const chunks = Math.ceil(n / chunk);
  const lanes = Math.max(1, Math.min(chunks, options.inFlight ?? 2 * pool.size));
  const modelKey = `run:${process.pid}.${++runCounter}.${Date.now()}|${modelDir}`;

  const inner = new AbortController();
  setMaxListeners(0, inner.signal); // one listener per chunk in flight
  const onAbort = () => inner.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });

  let out: Float32Array | null = null;
  let dim = 0;
  let next = 0;
  let done = 0;
  // One lane = one chunk in flight at a time; each takes the next chunk when its previous is back.
  const lane = async (): Promise<void> => {
    while (next < n && !inner.signal.aborted) {
      const start = next;
      const count = Math.min(chunk, n - start);
      next += count;
      const rows = new Float32Array(count * size); // [count, H, W, C], its own buffer: transferable
      for (let i = 0; i < count; i++)
        rows.set(images.pixels.subarray(indices[start + i] * size, (indices[start + i] + 1) * size), i * size);
      const payload: EmbedChunkRequest = {
        modelDir,
        modelKey,
        shape: images.shape,
        rows,
        count,
        ...(options.batchSize ? { batchSize: options.batchSize } : {}),
      };
      const e = await pool.run('models.embed', payload, { signal: inner.signal, transfer: [rows.buffer] });
      if (!(e instanceof Float32Array) || e.length === 0 || e.length % count !== 0 || (out && e.length !== count * dim)) {
        throw new Error(
          `'models.embed' returned ${e instanceof Float32Array ? `${e.length} values` : typeof e} for ${count} images${out ? `, expected ${count} x ${dim}` : ''}`,
        );
      }
      if (!out) {
        dim = e.length / count;
        out = new Float32Array(n * dim);
      }
      out.set(e, start * dim);
      done += count;
      options.onProgress?.(done, n);
    }
  };
  let failure: { error: unknown } | undefined;
  try {
    // every lane has stopped sending chunks before the release below (lanes never reject)
    await Promise.all(
      Array.from({ length: lanes }, () =>
        lane().catch((error: unknown) => {
          failure ??= { error }; // the first failure, not the cancels it causes
          inner.abort(); // stop the other chunks
        }),
      ),
    );
    if (options.signal?.aborted) throw new TaskCancelledError();
    if (failure) throw failure.error;
    return { embeddings: out!, dim };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    // Runs once each worker's current task has stopped (a cancelled chunk included).
    await pool.broadcast('models.embed.release', { modelKey }, { priority: 'interactive' }).catch(() => undefined);
  }
}
