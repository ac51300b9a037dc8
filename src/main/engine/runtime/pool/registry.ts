// The task registry of an engine worker, and the types that make a pool's calls checked against
// the tasks it runs. A capability declares its worker tasks as ONE table (name -> function):
//
//   export const embedTasks = defineTasks({
//     embed: async (p: { modelDir: string; images: Float32Array; shape: number[] }, ctx) => {
//       const model = await ctx.cache(`model:${p.modelDir}`, () => loadSiamese(p.modelDir));
//       ... ctx.throwIfCancelled(); ctx.progress(0.5); ...
//       return embeddings; // Float32Array: transferred back, not copied
//     },
//   });
//
// The worker registers the table (engine/worker.ts does for every capability; test and bench
// modules call registerTasks themselves); callers hold a TaskPool<typeof embedTasks>, whose
// run('embed', payload) takes the payload type and gives the result type from the table, so a
// renamed task or a changed payload field fails to compile at every caller.
// The backend is initialised before any task runs. A task runs alone in its worker.

export class TaskCancelledError extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'AbortError';
  }
}

export interface TaskContext {
  /** Aborted when the caller cancels (once the worker's event loop has seen the message). */
  readonly signal: AbortSignal;
  /** True as soon as the caller cancelled: read synchronously, no need to yield first. */
  readonly cancelled: boolean;
  /** Throws TaskCancelledError if cancelled; call between units of work. */
  throwIfCancelled(): void;
  /** Reports progress in [0, 1] (and optional data) to the caller's onProgress. */
  progress(fraction: number, message?: string, data?: unknown): void;
  /** A per-worker cache (models, datasets): created once per key, kept for later tasks. */
  cache<T>(key: string, create: () => T | Promise<T>): Promise<T>;
  /** Index of this worker in its pool. */
  readonly workerIndex: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tasks have their own payload types
export type TaskFn<P = any, R = unknown> = (payload: P, ctx: TaskContext) => R | Promise<R>;

/** Worker tasks by name. */
export type TaskTable = Record<string, TaskFn>;

/** The payload a task of a table takes. */
export type TaskPayload<F> = F extends (payload: infer P, ctx: TaskContext) => unknown ? P : never;

/** What a task of a table resolves with (structured-cloned back to the caller). */
export type TaskResult<F> = F extends (payload: never, ctx: TaskContext) => infer R ? Awaited<R> : never;

/** A table of tasks, checked and typed as written (ctx is typed from the context). */
export function defineTasks<T extends TaskTable>(table: T): T {
  return table;
}

const registry = new Map<string, TaskFn>();

/** Registers every task of a table (a module may be imported twice: the last registration wins). */
export function registerTasks(table: TaskTable): void {
  for (const [name, fn] of Object.entries(table)) registry.set(name, fn);
}

export function getTask(name: string): TaskFn | undefined {
  return registry.get(name);
}

export function taskNames(): string[] {
  return [...registry.keys()].sort();
}

const cache = new Map<string, Promise<unknown>>();

/** The worker-wide cache behind TaskContext.cache. */
export function cached<T>(key: string, create: () => T | Promise<T>): Promise<T> {
  let p = cache.get(key) as Promise<T> | undefined;
  if (!p) {
    p = Promise.resolve().then(create);
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

/** Drops cached entries (all, or those whose key starts with `prefix`); disposes values that have dispose(). */
export async function clearCache(prefix = ''): Promise<number> {
  let n = 0;
  for (const [key, p] of [...cache]) {
    if (!key.startsWith(prefix)) continue;
    cache.delete(key);
    n++;
    const v = (await p.catch(() => null)) as { dispose?: () => void } | null;
    if (v && typeof v.dispose === 'function') v.dispose();
  }
  return n;
}
