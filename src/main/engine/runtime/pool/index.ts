// The engine's worker pool: pool.ts (main side: WorkerPool, the TaskPool interface), worker-loop.ts
// (a worker's message loop; the entry is engine/worker.ts, built as out/main/engine-worker.js),
// registry.ts (task tables and the worker's registry), parallel-map.ts (batch work split across
// the workers).
//
// Writing tasks (they run in a worker, whose backend is already initialised): a capability
// declares them as one table in its tasks.ts, and engine/tasks.ts adds that table to the engine's:
//   export const embedTasks = defineTasks({
//     embed: async (p: { modelDir: string; rows: Float32Array; count: number }, ctx) => {
//       const model = await ctx.cache(`model:${p.modelDir}`, () => loadSiamese(p.modelDir));
//       ctx.throwIfCancelled();
//       return embedRows(model, p.rows, p.count);   // a Float32Array: moved back, not copied
//     },
//   });
//
// Calling them (main thread / services), checked against the table:
//   const pool = new WorkerPool<EngineTasks>();      // SIMLENS_WORKERS or one per core
//   const map = await pool.run('explain.pairs', onePair, { priority: 'interactive' }); // a user waits: ahead of queued background calls
//   await pool.broadcast('engine.clearCache', { prefix: `model:${modelDir}` }); // every worker, e.g. after deleting a version
//   await pool.close();                               // on shutdown (idle workers never block exit)
export { WorkerPool, WorkerTaskError, PoolAbortError, defaultPoolSize, resolveWorkerScript } from './pool';
export type { WorkerPoolOptions, RunOptions, TaskPool, TaskPriority } from './pool';
export { parallelMap, parallelMapRows } from './parallel-map';
export type { ParallelMapOptions, RowsChunk, RowsResult, RowTaskName } from './parallel-map';
export { defineTasks, registerTasks, TaskCancelledError } from './registry';
export type { TaskContext, TaskFn, TaskPayload, TaskResult, TaskTable } from './registry';
