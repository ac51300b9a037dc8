// Evaluation: pair scores, ROC AUC and the threshold metrics (evaluate.ts, roc.ts), the
// evaluation job (run.ts), its parallel embedding over the pool (embed-parallel.ts) and its
// worker tasks (tasks.ts).
export * from './evaluate';
export {
  evaluateTask,
  evaluateTaskParallel,
  type EvaluateHooks,
  type EvaluateOutcome,
  type EvaluateProgress,
  type EvaluateRequest,
} from './run';
export { embedChunkSize, embedImagesParallel, type EmbedChunkRequest, type EmbedPool, type ParallelEmbedOptions } from './embed-parallel';
export * from './roc';
export type { EvaluateTasks } from './tasks';
