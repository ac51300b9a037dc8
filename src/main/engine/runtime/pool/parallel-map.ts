// Splitting batch work (embedding a split, scoring pairs, explaining) across the pool's workers and
// putting the results back in order.
import { setMaxListeners } from 'node:events';
import type { TaskPool, TaskPriority } from './pool';
import type { TaskPayload, TaskResult, TaskTable } from './registry';

export interface ParallelMapOptions {
  signal?: AbortSignal;
  /** Items per call; default: about 4 calls per worker, so faster workers take more. */
  chunkSize?: number;
  /** Priority of the chunks' calls (default 'background'; see pool.ts). */
  priority?: TaskPriority;
  /** Called after each chunk with the number of items done and the total. */
  onProgress?: (done: number, total: number) => void;
}

function chunkBounds(n: number, workers: number, chunkSize?: number): Array<[number, number]> {
  const size = Math.max(1, Math.floor(chunkSize ?? Math.ceil(n / (workers * 4))));
  const out: Array<[number, number]> = [];
  for (let start = 0; start < n; start += size) out.push([start, Math.min(n, start + size)]);
  return out;
}

/**
 * Runs `task` on the chunks [start, end) of [0, n), the payload of each built by `makePayload`,
 * and resolves with the results in chunk order. The first failure cancels the other chunks and
 * rejects with its error; aborting `signal` rejects with an AbortError.
 */
export async function parallelMap<T extends TaskTable, K extends keyof T & string>(
  pool: TaskPool<T>,
  task: K,
  n: number,
  makePayload: (start: number, end: number) => { payload: TaskPayload<T[K]>; transfer?: ArrayBuffer[] },
  options: ParallelMapOptions = {},
): Promise<Array<{ start: number; end: number; result: TaskResult<T[K]> }>> {
  const chunks = chunkBounds(n, pool.size, options.chunkSize);
  const inner = new AbortController();
  setMaxListeners(0, inner.signal); // one listener per chunk in flight
  const onAbort = () => inner.abort();
  if (options.signal?.aborted) inner.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let done = 0;
  try {
    return await Promise.all(
      chunks.map(async ([start, end]) => {
        const { payload, transfer } = makePayload(start, end);
        try {
          const result = await pool.run(task, payload, {
            signal: inner.signal,
            transfer,
            ...(options.priority ? { priority: options.priority } : {}),
          });
          done += end - start;
          options.onProgress?.(done, n);
          return { start, end, result };
        } catch (error) {
          inner.abort(); // stop the other chunks
          throw error;
        }
      }),
    );
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Row-wise map of a matrix [n, rowSize] (e.g. n images of H*W*C floats) through `task`, which gets
 * `{ ...extra, rows, count, rowSize, start }` (rows: a Float32Array of count*rowSize values, moved
 * to the worker, not copied twice) and must return a Float32Array of count*outSize values
 * (e.g. embeddings). Resolves with the outputs of all rows, in order: [n, outSize].
 */
export async function parallelMapRows<T extends TaskTable, K extends RowTaskName<T>>(
  pool: TaskPool<T>,
  task: K,
  rows: Float32Array,
  rowSize: number,
  options: ParallelMapOptions & { extra?: Omit<TaskPayload<T[K]>, keyof RowsChunk> } = {},
): Promise<RowsResult> {
  if (rowSize <= 0 || rows.length % rowSize !== 0) throw new Error(`parallelMapRows: ${rows.length} values are not rows of ${rowSize}`);
  const n = rows.length / rowSize;
  if (n === 0) return { data: new Float32Array(0), rows: 0, outSize: 0 };
  const parts = await parallelMap(
    pool,
    task,
    n,
    (start, end) => {
      const chunk = rows.slice(start * rowSize, end * rowSize); // own buffer: transferable
      const payload: RowsChunk = { ...options.extra, rows: chunk, count: end - start, rowSize, start };
      // extra + the chunk is the task's payload (RowTaskName checks the chunk's part; `extra` is typed as the rest)
      return { payload: payload as TaskPayload<T[K]>, transfer: [chunk.buffer] };
    },
    options,
  );
  const first = parts[0].result as Float32Array;
  const outSize = first.length / (parts[0].end - parts[0].start);
  const data = new Float32Array(n * outSize);
  for (const { start, end, result } of parts) {
    if (!(result instanceof Float32Array) || result.length !== (end - start) * outSize) {
      throw new Error(
        `parallelMapRows: task '${task}' returned ${describe(result)} for rows ${start}..${end}, expected a Float32Array of ${(end - start) * outSize}`,
      );
    }
    data.set(result, start * outSize);
  }
  return { data, rows: n, outSize };
}

/** The part of a row task's payload that parallelMapRows fills in. */
export interface RowsChunk {
  /** [count, rowSize] */
  rows: Float32Array;
  count: number;
  rowSize: number;
  /** index of the chunk's first row */
  start: number;
}

/** The tasks of T that take a chunk of rows (and may take more) and return a Float32Array. */
export type RowTaskName<T extends TaskTable> = {
  [K in keyof T & string]: RowsChunk extends Pick<TaskPayload<T[K]>, keyof RowsChunk & keyof TaskPayload<T[K]>>
    ? TaskResult<T[K]> extends Float32Array
      ? K
      : never
    : never;
}[keyof T & string];

export interface RowsResult {
  /** [rows, outSize], row-major. */
  data: Float32Array;
  rows: number;
  outSize: number;
}

function describe(v: unknown): string {
  if (v instanceof Float32Array) return `a Float32Array of ${v.length}`;
  return v === null ? 'null' : typeof v;
}
