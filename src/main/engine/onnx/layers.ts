// One converter per tfjs layer class: appends the layer's ONNX nodes and weights to the graph.
//
// Layout: tfjs is NHWC; ONNX's Conv, MaxPool, BatchNormalization... are NCHW. Every 4-D value
// (a feature map) is held NCHW in the graph: export.ts transposes the NHWC input once, the
// kernels are permuted here at export time, and a 4-D value is transposed back to NHWC only
// where tfjs' layout shows (before Flatten, whose feature order is h, w, c; and for the
// activations exposed as graph outputs). ONNX Runtime's CPU convolutions run NCHW, so this
// puts no transpose between layers. Values of other ranks are held as in tfjs.
import type * as tf from '@tensorflow/tfjs';
import { CAFFE_MEAN_BGR, IMAGENET_MEAN_RGB, IMAGENET_STD_RGB, InputPreprocessing } from '../models/preprocess';
import { unsupported } from './errors';
import { attr, type OnnxAttribute, type OnnxGraphBuilder } from './graph-builder';
import { permuteAxes } from './permute';

/** A tensor of the ONNX graph standing for one tfjs tensor. */
export interface OnnxValue {
  /** Its name in the ONNX graph. */
  name: string;
  /** Its tfjs shape, batch first (null: any). For a 4-D value this is NHWC as in tfjs, though the graph holds it NCHW. */
  shape: readonly (number | null)[];
}

/** A layer weight read from tfjs: row-major data in tfjs' layout. */
export interface WeightValue {
  data: Float32Array;
  shape: number[];
}

export interface ConvertArgs {
  g: OnnxGraphBuilder;
  layer: tf.layers.Layer;
  inputs: OnnxValue[];
  /** The layer's weights by their short name ('kernel', 'bias', 'gamma', 'moving_mean', ...). */
  weights: ReadonlyMap<string, WeightValue>;
}

/** Returns the name of the value holding the layer's output. */
export type LayerConverter = (args: ConvertArgs) => string;

/** NHWC -> NCHW, and back. */
export const TO_NCHW = [0, 3, 1, 2] as const;
export const TO_NHWC = [0, 2, 3, 1] as const;

type Config = Record<string, unknown>;

function configOf(layer: tf.layers.Layer): Config {
  return layer.getConfig() as Config;
}

function className(layer: tf.layers.Layer): string {
  return layer.getClassName();
}

function onlyInput(args: ConvertArgs): OnnxValue {
  if (args.inputs.length !== 1) throw unsupported(args.layer.name, className(args.layer), `has ${args.inputs.length} inputs, expected 1`);
  return args.inputs[0];
}

function weight(args: ConvertArgs, shortName: string): WeightValue {
  const w = args.weights.get(shortName);
  if (!w)
    throw unsupported(
      args.layer.name,
      className(args.layer),
      `has no weight "${shortName}" (has: ${[...args.weights.keys()].join(', ') || 'none'})`,
    );
  return w;
}

function requireRank(args: ConvertArgs, x: OnnxValue, rank: number): void {
  if (x.shape.length !== rank)
    throw unsupported(
      args.layer.name,
      className(args.layer),
      `has an input of rank ${x.shape.length} ([${x.shape.join(', ')}]); the exporter supports rank ${rank} here`,
    );
}

function requireChannelsLast(args: ConvertArgs, config: Config): void {
  const format = config.dataFormat;
  if (format !== undefined && format !== 'channelsLast')
    throw unsupported(args.layer.name, className(args.layer), `uses dataFormat "${String(format)}"; only channelsLast is supported`);
}

/** [h, w] of a 4-D NHWC shape; static sizes are needed to compute 'same' padding. */
function spatialSize(args: ConvertArgs, x: OnnxValue): [number, number] {
  const [, h, w] = x.shape;
  if (typeof h !== 'number' || typeof w !== 'number')
    throw unsupported(
      args.layer.name,
      className(args.layer),
      `has an input of unknown spatial size [${x.shape.join(', ')}]; the exporter needs a fixed input size`,
    );
  return [h, w];
}

const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [Number(v[0]), Number(v[1])] : [Number(v), Number(v)]);

/**
 * ONNX `pads` ([top, left, bottom, right]) for tfjs' padding mode. 'same' pads so that
 * out = ceil(in / stride), the odd pixel at the bottom/right as in TensorFlow (explicit pads rather
 * than auto_pad SAME_UPPER: the input size is known and the graph then says what it does).
 */
function padsFor(
  args: ConvertArgs,
  padding: unknown,
  size: [number, number],
  kernel: [number, number],
  strides: [number, number],
  dilations: [number, number],
): number[] {
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding !== 'same')
    throw unsupported(args.layer.name, className(args.layer), `uses padding "${String(padding)}"; only "same" and "valid" are supported`);
  const begin: number[] = [];
  const end: number[] = [];
  for (let i = 0; i < 2; i++) {
    const out = Math.ceil(size[i] / strides[i]);
    const span = (kernel[i] - 1) * dilations[i] + 1;
    const total = Math.max((out - 1) * strides[i] + span - size[i], 0);
    begin.push(Math.floor(total / 2));
    end.push(total - Math.floor(total / 2));
  }
  return [...begin, ...end];
}

/**
 * Appends tfjs activation `identifier` (as getConfig() names it) to value `x` of rank `rank`.
 * Softmax runs over tfjs' last axis: the channels, which are ONNX axis 1 of a 4-D (NCHW) value.
 */
function applyActivation(args: ConvertArgs, identifier: unknown, x: string, rank: number): string {
  const { g, layer } = args;
  const base = layer.name;
  switch (identifier) {
    case undefined:
    case null:
    case 'linear':
      return x;
    case 'relu':
      return g.addNode('Relu', [x], {}, base);
    case 'relu6':
      return g.addNode('Clip', [x, g.addScalar(`${base}/min`, 0), g.addScalar(`${base}/max`, 6)], {}, base);
    case 'sigmoid':
      return g.addNode('Sigmoid', [x], {}, base);
    case 'tanh':
      return g.addNode('Tanh', [x], {}, base);
    case 'elu':
      return g.addNode('Elu', [x], { alpha: attr.float(1) }, base);
    // ONNX's default alpha and gamma are the constants of tfjs' selu (Klambauer et al. 2017).
    case 'selu':
      return g.addNode('Selu', [x], {}, base);
    case 'softplus':
      return g.addNode('Softplus', [x], {}, base);
    case 'softsign':
      return g.addNode('Softsign', [x], {}, base);
    // tfjs: clip(0.2 x + 0.5, 0, 1), which is ONNX HardSigmoid with its default alpha 0.2 and beta 0.5.
    case 'hardSigmoid':
      return g.addNode('HardSigmoid', [x], { alpha: attr.float(0.2), beta: attr.float(0.5) }, base);
    case 'swish':
      return g.addNode('Mul', [x, g.addNode('Sigmoid', [x], {}, base)], {}, base);
    case 'softmax':
      return g.addNode('Softmax', [x], { axis: attr.int(rank === 4 ? 1 : -1) }, base);
    default:
      throw unsupported(layer.name, className(layer), `uses activation "${String(identifier)}", which the exporter does not convert`);
  }
}

/** Conv2D: kernel [kh, kw, cin, cout] -> ONNX W [cout, cin, kh, kw]; bias [cout]. */
const conv2d: LayerConverter = (args) => {
  const { g, layer } = args;
  const config = configOf(layer);
  requireChannelsLast(args, config);
  const x = onlyInput(args);
  requireRank(args, x, 4);
  const kernel = pair(config.kernelSize);
  const strides = pair(config.strides ?? 1);
  const dilations = pair(config.dilationRate ?? 1);
  const k = weight(args, 'kernel');
  const w = permuteAxes(k.data, k.shape, [3, 2, 0, 1]);
  const inputs = [x.name, g.addFloatInitializer(`${layer.name}/W`, w.shape, w.data)];
  if (config.useBias) inputs.push(g.addFloatInitializer(`${layer.name}/B`, [k.shape[3]], weight(args, 'bias').data));
  const attrs: Record<string, OnnxAttribute> = {
    kernel_shape: attr.ints(kernel),
    strides: attr.ints(strides),
    dilations: attr.ints(dilations),
    pads: attr.ints(padsFor(args, config.padding, spatialSize(args, x), kernel, strides, dilations)),
  };
  return applyActivation(args, config.activation, g.addNode('Conv', inputs, attrs, layer.name), 4);
};

/**
 * DepthwiseConv2D: kernel [kh, kw, cin, m] -> a grouped Conv (group = cin) with W [cin * m, 1, kh, kw].
 * Both order the output channels c * m + j (input channel c, multiplier j), so the kernel's axes
 * only move: [cin, m, kh, kw] read as [cin * m, 1, kh, kw].
 */
const depthwiseConv2d: LayerConverter = (args) => {
  const { g, layer } = args;
  const config = configOf(layer);
  requireChannelsLast(args, config);
  const x = onlyInput(args);
  requireRank(args, x, 4);
  const kernel = pair(config.kernelSize);
  const strides = pair(config.strides ?? 1);
  const dilations = pair(config.dilationRate ?? 1);
  const k = weight(args, 'depthwise_kernel');
  const [kh, kw, cin, multiplier] = k.shape;
  const w = permuteAxes(k.data, k.shape, [2, 3, 0, 1]);
  const inputs = [x.name, g.addFloatInitializer(`${layer.name}/W`, [cin * multiplier, 1, kh, kw], w.data)];
  if (config.useBias) inputs.push(g.addFloatInitializer(`${layer.name}/B`, [cin * multiplier], weight(args, 'bias').data));
  const attrs: Record<string, OnnxAttribute> = {
    group: attr.int(cin),
    kernel_shape: attr.ints(kernel),
    strides: attr.ints(strides),
    dilations: attr.ints(dilations),
    pads: attr.ints(padsFor(args, config.padding, spatialSize(args, x), kernel, strides, dilations)),
  };
  return applyActivation(args, config.activation, g.addNode('Conv', inputs, attrs, layer.name), 4);
};

/**
 * MaxPooling2D and AveragePooling2D. ONNX MaxPool ignores padded cells, and AveragePool with
 * count_include_pad = 0 divides by the cells inside the image: both as TensorFlow's 'same' pooling.
 */
function pooling(opType: 'MaxPool' | 'AveragePool'): LayerConverter {
  return (args) => {
    const { g, layer } = args;
    const config = configOf(layer);
    requireChannelsLast(args, config);
    const x = onlyInput(args);
    requireRank(args, x, 4);
    const kernel = pair(config.poolSize);
    const strides = pair(config.strides ?? config.poolSize);
    const attrs: Record<string, OnnxAttribute> = {
      kernel_shape: attr.ints(kernel),
      strides: attr.ints(strides),
      pads: attr.ints(padsFor(args, config.padding, spatialSize(args, x), kernel, strides, [1, 1])),
    };
    if (opType === 'AveragePool') attrs.count_include_pad = attr.int(0);
    return g.addNode(opType, [x.name], attrs, layer.name);
  };
}

/** GlobalAveragePooling2D / GlobalMaxPooling2D: [b, c, h, w] -> [b, c, 1, 1] -> [b, c]. */
function globalPooling(opType: 'GlobalAveragePool' | 'GlobalMaxPool'): LayerConverter {
  return (args) => {
    const { g, layer } = args;
    requireChannelsLast(args, configOf(layer));
    const x = onlyInput(args);
    requireRank(args, x, 4);
    return g.addNode('Flatten', [g.addNode(opType, [x.name], {}, layer.name)], { axis: attr.int(1) }, layer.name);
  };
}

/** Flatten: tfjs orders the features h, w, c, so a feature map goes back to NHWC first. */
const flatten: LayerConverter = (args) => {
  const { g, layer } = args;
  const x = onlyInput(args);
  if (x.shape.length === 2) return x.name;
  const source = x.shape.length === 4 ? g.addNode('Transpose', [x.name], { perm: attr.ints(TO_NHWC) }, layer.name) : x.name;
  return g.addNode('Flatten', [source], { axis: attr.int(1) }, layer.name);
};

/** Dense on [b, in]: Gemm with B = kernel [in, out] and C = bias [out]. */
const dense: LayerConverter = (args) => {
  const { g, layer } = args;
  const config = configOf(layer);
  const x = onlyInput(args);
  requireRank(args, x, 2);
  const k = weight(args, 'kernel');
  const inputs = [x.name, g.addFloatInitializer(`${layer.name}/kernel`, k.shape, k.data)];
  if (config.useBias) inputs.push(g.addFloatInitializer(`${layer.name}/bias`, [k.shape[1]], weight(args, 'bias').data));
  return applyActivation(args, config.activation, g.addNode('Gemm', inputs, {}, layer.name), 2);
};

const activation: LayerConverter = (args) => {
  const x = onlyInput(args);
  return applyActivation(args, configOf(args.layer).activation, x.name, x.shape.length);
};

/** ReLU layer: max(x, 0), capped at maxValue if set (relu6 style); negativeSlope/threshold are not converted. */
const relu: LayerConverter = (args) => {
  const { g, layer } = args;
  const config = configOf(layer);
  const x = onlyInput(args);
  if (config.maxValue === undefined || config.maxValue === null) return g.addNode('Relu', [x.name], {}, layer.name);
  return g.addNode(
    'Clip',
    [x.name, g.addScalar(`${layer.name}/min`, 0), g.addScalar(`${layer.name}/max`, Number(config.maxValue))],
    {},
    layer.name,
  );
};

/** Add of same-shape values (the residual connections): a chain of ONNX Adds. */
const add: LayerConverter = (args) => {
  const { g, layer, inputs } = args;
  if (inputs.length < 2) throw unsupported(layer.name, className(layer), `has ${inputs.length} input, expected at least 2`);
  return inputs.slice(1).reduce((sum, v) => g.addNode('Add', [sum, v.name], {}, layer.name), inputs[0].name);
};

/**
 * BatchNormalization over the channels (tfjs axis -1): ONNX BatchNormalization in inference mode,
 * y = gamma (x - moving_mean) / sqrt(moving_variance + epsilon) + beta; ONNX Runtime folds it
 * into the preceding Conv. A layer without scale (center) gets gamma = 1 (beta = 0).
 */
const batchNormalization: LayerConverter = (args) => {
  const { g, layer } = args;
  const config = configOf(layer);
  const x = onlyInput(args);
  const rank = x.shape.length;
  const axis = Number(config.axis ?? -1);
  if (axis !== -1 && axis !== rank - 1)
    throw unsupported(
      layer.name,
      className(layer),
      `normalises axis ${axis} of a rank-${rank} input; only the channel axis (-1) is supported`,
    );
  if (rank !== 2 && rank !== 4) requireRank(args, x, 4);
  const mean = weight(args, 'moving_mean');
  const channels = mean.shape[0];
  const gamma = config.scale === false ? new Float32Array(channels).fill(1) : weight(args, 'gamma').data;
  const beta = config.center === false ? new Float32Array(channels) : weight(args, 'beta').data;
  const inputs = [
    x.name,
    g.addFloatInitializer(`${layer.name}/gamma`, [channels], gamma),
    g.addFloatInitializer(`${layer.name}/beta`, [channels], beta),
    g.addFloatInitializer(`${layer.name}/moving_mean`, [channels], mean.data),
    g.addFloatInitializer(`${layer.name}/moving_variance`, [channels], weight(args, 'moving_variance').data),
  ];
  return g.addNode('BatchNormalization', inputs, { epsilon: attr.float(Number(config.epsilon ?? 1e-3)) }, layer.name);
};

/** ZeroPadding2D: padding [[top, bottom], [left, right]] -> ONNX Pad on NCHW. */
const zeroPadding2d: LayerConverter = (args) => {
  const { g, layer } = args;
  const config = configOf(layer);
  requireChannelsLast(args, config);
  const x = onlyInput(args);
  requireRank(args, x, 4);
  const p = config.padding as [[number, number], [number, number]];
  const pads = g.addInt64Initializer(`${layer.name}/pads`, [8], [0, 0, p[0][0], p[1][0], 0, 0, p[0][1], p[1][1]]);
  return g.addNode('Pad', [x.name, pads], {}, layer.name);
};

/** Dropout at inference: the identity. */
const identity: LayerConverter = (args) => onlyInput(args).name;

/**
 * SimLens' input preprocessing (models/preprocess.ts) on the NCHW input, constants shaped [c, 1, 1]:
 * tf: 2x - 1; torch: (x - mean) / std; caffe: RGB -> BGR, x 255, - mean.
 */
const inputPreprocessing: LayerConverter = (args) => {
  const { g, layer } = args;
  const x = onlyInput(args);
  requireRank(args, x, 4);
  const mode = (layer as InputPreprocessing).mode;
  const perChannel = (name: string, values: readonly number[]) =>
    g.addFloatInitializer(`${layer.name}/${name}`, [values.length, 1, 1], Float32Array.from(values));
  switch (mode) {
    case 'tf':
      return g.addNode(
        'Sub',
        [g.addNode('Mul', [x.name, g.addScalar(`${layer.name}/two`, 2)], {}, layer.name), g.addScalar(`${layer.name}/one`, 1)],
        {},
        layer.name,
      );
    case 'torch':
      return g.addNode(
        'Div',
        [g.addNode('Sub', [x.name, perChannel('mean', IMAGENET_MEAN_RGB)], {}, layer.name), perChannel('std', IMAGENET_STD_RGB)],
        {},
        layer.name,
      );
    case 'caffe': {
      const bgr = g.addNode(
        'Gather',
        [x.name, g.addInt64Initializer(`${layer.name}/bgr`, [3], [2, 1, 0])],
        { axis: attr.int(1) },
        layer.name,
      );
      const scaled = g.addNode('Mul', [bgr, g.addScalar(`${layer.name}/scale`, 255)], {}, layer.name);
      return g.addNode('Sub', [scaled, perChannel('mean', CAFFE_MEAN_BGR)], {}, layer.name);
    }
    default:
      throw unsupported(layer.name, className(layer), `uses preprocessing mode "${String(mode)}"`);
  }
};

/** The tfjs layer classes the exporter converts, by getClassName(). */
export const LAYER_CONVERTERS: ReadonlyMap<string, LayerConverter> = new Map<string, LayerConverter>([
  ['Conv2D', conv2d],
  ['DepthwiseConv2D', depthwiseConv2d],
  ['MaxPooling2D', pooling('MaxPool')],
  ['AveragePooling2D', pooling('AveragePool')],
  ['GlobalAveragePooling2D', globalPooling('GlobalAveragePool')],
  ['GlobalMaxPooling2D', globalPooling('GlobalMaxPool')],
  ['Flatten', flatten],
  ['Dense', dense],
  ['Activation', activation],
  ['ReLU', relu],
  ['Add', add],
  ['BatchNormalization', batchNormalization],
  ['ZeroPadding2D', zeroPadding2d],
  ['Dropout', identity],
  [InputPreprocessing.className, inputPreprocessing],
]);
