// The tfjs layer classes the exporter converts, each with its converter (by getClassName()):
// convolutions, pooling, padding and cropping in layers-conv.ts, merges in layers-merge.ts,
// Dense, Flatten, Reshape, normalisation and preprocessing in layers-core.ts, activations in
// activations.ts. convert.ts has what they share, and the layout rule: 4-D values are NCHW in the graph.
import { activation, eluLayer, leakyRelu, prelu, relu, softmaxLayer, thresholdedRelu } from './activations';
import type { LayerConverter } from './convert';
import { CONV_CONVERTERS } from './layers-conv';
import { CORE_CONVERTERS } from './layers-core';
import { MERGE_CONVERTERS } from './layers-merge';

export { TO_NCHW, TO_NHWC, type ConvertArgs, type LayerConverter, type OnnxValue, type WeightValue } from './convert';

const ACTIVATION_CONVERTERS: [string, LayerConverter][] = [
  ['Activation', activation],
  ['ReLU', relu],
  ['LeakyReLU', leakyRelu],
  ['ELU', eluLayer],
  ['ThresholdedReLU', thresholdedRelu],
  ['PReLU', prelu],
  ['Softmax', softmaxLayer],
];

export const LAYER_CONVERTERS: ReadonlyMap<string, LayerConverter> = new Map<string, LayerConverter>([
  ...CONV_CONVERTERS,
  ...CORE_CONVERTERS,
  ...ACTIVATION_CONVERTERS,
  ...MERGE_CONVERTERS,
]);
