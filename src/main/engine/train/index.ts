// Training: the epoch loop (trainer.ts) with its loss and augmentation, the training job
// (run.ts), data-parallel training over the pool (data-parallel.ts, replica.ts) and the worker
// tasks (tasks.ts).
export * from './trainer';
export { trainTask, trainTaskParallel, type TrainOutcome, type TrainProgress, type TrainRequest, type TrainTaskHooks } from './run';
export { trainDataParallel, type DataParallelPool } from './data-parallel';
export { DEFAULT_AUGMENT, NO_AUGMENT } from './augment';
export type { TrainTasks } from './tasks';
