// Layers over feature maps (NCHW in the graph): convolutions (Conv2D, DepthwiseConv2D,
// SeparableConv2D), pooling, global pooling, zero padding and cropping.
import { attr, type OnnxAttribute } from './graph-builder';
import { applyActivation } from './activations';
import {
  biasOf,
  featureMapInput,
  pair,
  spatialSize,
  weight,
  windowAttributes,
  type Config,
  type ConvertArgs,
  type LayerConverter,
  type OnnxValue,
  type WeightValue,
} from './convert';
import { permuteAxes } from './permute';

/** ONNX Conv weights: W [cout, cin / group, kh, kw] and the group count. */
interface ConvWeights {
  data: Float32Array;
  shape: number[];
  group: number;
}

/** A Conv2D kernel [kh, kw, cin, cout] as W [cout, cin, kh, kw]. */
function convWeights(kernel: WeightValue): ConvWeights {
  return { ...permuteAxes(kernel.data, kernel.shape, [3, 2, 0, 1]), group: 1 };
}

/**
 * A depthwise kernel [kh, kw, cin, m] as a grouped Conv's (group = cin) W [cin * m, 1, kh, kw].
 * Both order the output channels c * m + j (input channel c, multiplier j), so the kernel's axes
 * only move: [cin, m, kh, kw] read as [cin * m, 1, kh, kw].
 */
function depthwiseWeights(kernel: WeightValue): ConvWeights {
  const [kh, kw, cin, multiplier] = kernel.shape;
  return { data: permuteAxes(kernel.data, kernel.shape, [2, 3, 0, 1]).data, shape: [cin * multiplier, 1, kh, kw], group: cin };
}

/** The window of a convolution layer: its kernel, strides, dilations and padding over input `x`. */
function convWindow(args: ConvertArgs, x: OnnxValue, config: Config): Record<string, OnnxAttribute> {
  const dilations = pair(config.dilationRate ?? 1);
  return windowAttributes(args, x, config.padding, pair(config.kernelSize), pair(config.strides ?? 1), dilations);
}

/** Appends a Conv of `x` with weights `w` (named `<layer><part>/W`, `/B`) and returns its output. */
function addConv(
  args: ConvertArgs,
  x: string,
  w: ConvWeights,
  bias: Float32Array | undefined,
  window: Record<string, OnnxAttribute>,
  part = '',
): string {
  const { g, layer } = args;
  const inputs = [x, g.addFloatInitializer(`${layer.name}${part}/W`, w.shape, w.data)];
  if (bias) inputs.push(g.addFloatInitializer(`${layer.name}${part}/B`, [w.shape[0]], bias));
  return g.addNode('Conv', inputs, { ...window, group: attr.int(w.group) }, layer.name);
}

/** Conv2D: kernel [kh, kw, cin, cout] -> ONNX W [cout, cin, kh, kw]; bias [cout]. */
const conv2d: LayerConverter = (args) => {
  const { config, x } = featureMapInput(args);
  const y = addConv(args, x.name, convWeights(weight(args, 'kernel')), biasOf(args, config), convWindow(args, x, config));
  return applyActivation(args, config.activation, y, 4);
};

const depthwiseConv2d: LayerConverter = (args) => {
  const { config, x } = featureMapInput(args);
  const w = depthwiseWeights(weight(args, 'depthwise_kernel'));
  return applyActivation(args, config.activation, addConv(args, x.name, w, biasOf(args, config), convWindow(args, x, config)), 4);
};

/**
 * SeparableConv2D: the depthwise convolution (its strides, dilations and padding, depth multiplier
 * m: cin * m channels), then the pointwise one (kernel [1, 1, cin * m, cout], stride 1), the bias
 * and the activation, as tfjs' separableConv2d.
 */
const separableConv2d: LayerConverter = (args) => {
  const { config, x } = featureMapInput(args);
  const depthwise = addConv(
    args,
    x.name,
    depthwiseWeights(weight(args, 'depthwise_kernel')),
    undefined,
    convWindow(args, x, config),
    '/depthwise',
  );
  const pointwise = convWeights(weight(args, 'pointwise_kernel'));
  const unit = { kernel_shape: attr.ints([1, 1]) };
  return applyActivation(args, config.activation, addConv(args, depthwise, pointwise, biasOf(args, config), unit, '/pointwise'), 4);
};

/**
 * MaxPooling2D and AveragePooling2D. ONNX MaxPool ignores padded cells, and AveragePool with
 * count_include_pad = 0 divides by the cells inside the image: both as TensorFlow's 'same' pooling.
 */
function pooling(opType: 'MaxPool' | 'AveragePool'): LayerConverter {
  return (args) => {
    const { config, x } = featureMapInput(args);
    const kernel = pair(config.poolSize);
    const attrs = windowAttributes(args, x, config.padding, kernel, pair(config.strides ?? config.poolSize), null);
    if (opType === 'AveragePool') attrs.count_include_pad = attr.int(0);
    return args.g.addNode(opType, [x.name], attrs, args.layer.name);
  };
}

/**
 * GlobalAveragePooling2D / GlobalMaxPooling2D: [b, c, h, w] -> [b, c, 1, 1], then [b, c] unless
 * the layer keeps the dimensions (Keras' keepdims, a 4-D output; tfjs 4.22's layers have no
 * keepDims, but the exporter follows the output shape the layer declares).
 */
function globalPooling(opType: 'GlobalAveragePool' | 'GlobalMaxPool'): LayerConverter {
  return (args) => {
    const { g, layer } = args;
    const pooled = g.addNode(opType, [featureMapInput(args).x.name], {}, layer.name);
    return args.outputShape.length === 4 ? pooled : g.addNode('Flatten', [pooled], { axis: attr.int(1) }, layer.name);
  };
}

/** [[top, bottom], [left, right]] of ZeroPadding2D's padding or Cropping2D's cropping (tfjs normalises both to this form). */
const edges = (v: unknown) => v as [[number, number], [number, number]];

/** ZeroPadding2D: padding [[top, bottom], [left, right]] -> ONNX Pad on NCHW. */
const zeroPadding2d: LayerConverter = (args) => {
  const { g, layer } = args;
  const { config, x } = featureMapInput(args);
  const [[top, bottom], [left, right]] = edges(config.padding);
  const pads = g.addInt64Initializer(`${layer.name}/pads`, [8], [0, 0, top, left, 0, 0, bottom, right]);
  return g.addNode('Pad', [x.name, pads], {}, layer.name);
};

/** Cropping2D: cropping [[top, bottom], [left, right]] -> ONNX Slice of the NCHW axes 2 and 3. */
const cropping2d: LayerConverter = (args) => {
  const { g, layer } = args;
  const { config, x } = featureMapInput(args);
  const [h, w] = spatialSize(args, x);
  const [[top, bottom], [left, right]] = edges(config.cropping);
  const ints = (name: string, values: number[]) => g.addInt64Initializer(`${layer.name}/${name}`, [2], values);
  const inputs = [x.name, ints('starts', [top, left]), ints('ends', [h - bottom, w - right]), ints('axes', [2, 3])];
  return g.addNode('Slice', inputs, {}, layer.name);
};

export const CONV_CONVERTERS: [string, LayerConverter][] = [
  ['Conv2D', conv2d],
  ['DepthwiseConv2D', depthwiseConv2d],
  ['SeparableConv2D', separableConv2d],
  ['MaxPooling2D', pooling('MaxPool')],
  ['AveragePooling2D', pooling('AveragePool')],
  ['GlobalAveragePooling2D', globalPooling('GlobalAveragePool')],
  ['GlobalMaxPooling2D', globalPooling('GlobalMaxPool')],
  ['ZeroPadding2D', zeroPadding2d],
  ['Cropping2D', cropping2d],
];
