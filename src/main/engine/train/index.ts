// Training: the epoch loop (trainer.ts) with its loss and augmentation, the training job
// (run.ts), data-parallel training over the pool (data-parallel.ts, replica.ts), mask-guided
// retraining (retrain.ts, mask/) and the worker tasks (tasks.ts).
export * from './trainer';
export { trainTask, trainTaskParallel, type TrainOutcome, type TrainProgress, type TrainRequest, type TrainTaskHooks } from './run';
export { trainDataParallel, type DataParallelPool } from './data-parallel';
export { DEFAULT_AUGMENT, NO_AUGMENT } from './augment';
export type { TrainTasks } from './tasks';
export {
  retrainTask,
  retrainTaskParallel,
  RETRAIN_DEFAULTS,
  RETRAIN_LOSSES,
  type RetrainInfo,
  type RetrainLoss,
  type RetrainMethod,
  type RetrainOutcome,
  type RetrainRequest,
} from './retrain';
export { MASK_LOSS_KINDS, maskLossOf, type MaskLossKind } from './mask/loss';
export { DEFAULT_MASK_AUGMENT, MASK_AUGMENT_MODES, type MaskAugmentConfig, type MaskAugmentMode } from './mask/augment';
export type { MaskData } from './mask/plan';
export type { SecondDerivativeCheck } from './mask/check';
export type { MapTarget } from './mask/step';
export type { FrozenFeaturesInfo } from './frozen-features';
