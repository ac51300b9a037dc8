// Explanation methods for pairs (see types.ts for the conventions, registry.ts for explainPair).
export { explainPair, isCamMethod, isGradientMethod } from './registry';
export * from './types';
export { gradientCams, gradCamPair, pairGradients } from './gradcam';
export { scoreCamPair } from './scorecam';
export { occlusionPair, risePair } from './occlusion';
export { explainMany, type ExplainManyOptions, type PairSource } from './batch';
export { encodeMap, decodeMap, summariseExplanation, type ExplanationSummary, type ImageSummary, type MapSummary } from './serialize';
