// The engine's worker pool: see pool.ts (main side), worker.ts (worker entry), tasks.ts (registry).
export { WorkerPool, WorkerTaskError, PoolAbortError, defaultPoolSize, resolveWorkerScript } from './pool';
export type { WorkerPoolOptions, RunOptions } from './pool';
export { parallelMap, parallelMapRows } from './parallel-map';
export type { ParallelMapOptions, RowsResult } from './parallel-map';
export { registerTask, TaskCancelledError } from './tasks';
export type { TaskContext, TaskFn } from './tasks';
