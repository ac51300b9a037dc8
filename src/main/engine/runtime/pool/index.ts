// The engine's worker pool: pool.ts (main side), worker.ts (worker entry, built as
// out/main/engine-worker.js), tasks.ts (the registry tasks are written against).
//
// Writing a task (runs in a worker, whose backend is already initialised):
//   // src/main/engine/embed-task.ts
//   registerTask('embed', async (p: { modelDir: string; rows: Float32Array; count: number }, ctx) => {
//     const model = await ctx.cache(`model:${p.modelDir}`, () => loadSiamese(p.modelDir));
//     ctx.throwIfCancelled();
//     return embedRows(model, p.rows, p.count);   // a Float32Array: moved back, not copied
//   });
//   // and add `import '../../embed-task';` to pool/registered-tasks.ts
//
// Calling it (main thread / services):
//   const pool = new WorkerPool();                    // SIMLENS_WORKERS or one per core
//   const { data } = await parallelMapRows(pool, 'embed', images, H * W * C,
//     { chunkSize: 32, extra: { modelDir }, signal: ctx.signal, onProgress: (d, n) => ctx.progress(d / n) });
//   const map = await pool.run('explain.pairs', onePair, { priority: 'interactive' }); // a user waits: ahead of queued background calls
//   await pool.broadcast('engine.clearCache', { prefix: `model:${modelDir}` }); // every worker, e.g. after deleting a version
//   await pool.close();                               // on shutdown (idle workers never block exit)
export { WorkerPool, WorkerTaskError, PoolAbortError, defaultPoolSize, resolveWorkerScript } from './pool';
export type { WorkerPoolOptions, RunOptions, TaskPriority } from './pool';
export { parallelMap, parallelMapRows } from './parallel-map';
export type { ParallelMapOptions, RowsResult } from './parallel-map';
export { registerTask, TaskCancelledError } from './registry';
export type { TaskContext, TaskFn } from './registry';
