// Explanations: the CAM family for pairs (cam/), faithfulness and mask-agreement metrics
// (metrics/), the units of batch work (pairs.ts, measure.ts, sanity-pair.ts), the worker tasks
// (tasks.ts) and the seam the explanation service uses (engine.ts).
export {
  inProcessExplainEngine,
  poolExplainEngine,
  type CamTarget,
  type Computed,
  type EngineCallOptions,
  type ExplainEngine,
  type ExplainPool,
  type FaithfulnessJobOptions,
  type LayerTarget,
  type MeasureOptions,
  type ModelRef,
} from './engine';
export { faithfulnessScore, mostFaithfulMethod, summariseFaithfulness, SCORED_BASELINES, type PairFaithfulness } from './faithfulness';
export type { ImageReliability } from './reliability';
export { describeModel, type ModelDescription } from './describe';
export { aggregateMetrics, type ImageMetrics, type MetricsHead, type PairMetrics } from './measure';
export { explainPairs, subBatch, type ExplainedPair, type PairBatch } from './pairs';
export { toCamModel } from './split-model';
export type { SanityResult } from './sanity-pair';
export {
  decodeMap,
  encodeMap,
  isCamMethod,
  METHOD_INFO,
  summariseExplanation,
  type CamMethod,
  type ImageExplanation,
  type MapSummary,
  type PairExplanation,
} from './cam';
export { energyPointingGame, type Grid } from './metrics';
export type { ExplainTasks } from './tasks';
