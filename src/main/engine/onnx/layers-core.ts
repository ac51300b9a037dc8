// Core layers: Dense, Flatten, Reshape, BatchNormalization, Dropout, Rescaling, and SimLens' own
// input preprocessing.
import { CAFFE_MEAN_BGR, IMAGENET_MEAN_RGB, IMAGENET_STD_RGB, InputPreprocessing } from '../models/preprocess';
import { attr } from './graph-builder';
import { applyActivation } from './activations';
import {
  biasOf,
  configOf,
  inTfjsOrder,
  onlyInput,
  refuse,
  requireRank,
  reshapeToGraphLayout,
  weight,
  type LayerConverter,
} from './convert';
import { permuteAxes } from './permute';

/** Flatten: tfjs orders the features h, w, c, so a feature map goes back to NHWC order first. */
const flatten: LayerConverter = (args) => {
  const { g, layer } = args;
  const x = onlyInput(args);
  if (x.shape.length === 2) return x.name;
  return g.addNode('Flatten', [inTfjsOrder(g, x, layer.name)], { axis: attr.int(1) }, layer.name);
};

/** Reshape to the output shape tfjs infers (targetShape with its -1 resolved), in tfjs' element order. */
const reshape: LayerConverter = (args) =>
  reshapeToGraphLayout(args, inTfjsOrder(args.g, onlyInput(args), args.layer.name), args.outputShape);

/**
 * Dense over tfjs' last axis, kernel [in, out], bias [out]. On [b, in]: Gemm. On a feature map
 * the last axis is the channels: a 1x1 Conv with W [out, in, 1, 1] on the NCHW value. On other
 * ranks (held as in tfjs): MatMul, then Add of the bias.
 */
const dense: LayerConverter = (args) => {
  const { g, layer } = args;
  const config = configOf(layer);
  const x = onlyInput(args);
  const rank = x.shape.length;
  const k = weight(args, 'kernel');
  const [units] = k.shape.slice(1);
  const bias = biasOf(args, config);
  const biasName = () => g.addFloatInitializer(`${layer.name}/bias`, [units], bias!);
  let y: string;
  if (rank === 2) {
    const inputs = [x.name, g.addFloatInitializer(`${layer.name}/kernel`, k.shape, k.data)];
    if (bias) inputs.push(biasName());
    y = g.addNode('Gemm', inputs, {}, layer.name);
  } else if (rank === 4) {
    const w = permuteAxes(k.data, k.shape, [1, 0]);
    const inputs = [x.name, g.addFloatInitializer(`${layer.name}/W`, [units, k.shape[0], 1, 1], w.data)];
    if (bias) inputs.push(biasName());
    y = g.addNode('Conv', inputs, { kernel_shape: attr.ints([1, 1]) }, layer.name);
  } else {
    y = g.addNode('MatMul', [x.name, g.addFloatInitializer(`${layer.name}/kernel`, k.shape, k.data)], {}, layer.name);
    if (bias) y = g.addNode('Add', [y, biasName()], {}, layer.name);
  }
  return applyActivation(args, config.activation, y, rank);
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
    throw refuse(args, `normalises axis ${axis} of a rank-${rank} input; only the channel axis (-1) is supported`);
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

/** Dropout at inference: the identity. */
const identity: LayerConverter = (args) => onlyInput(args).name;

/** Rescaling: x scale + offset (numbers; the Keras layer's per-channel arrays are refused). */
const rescaling: LayerConverter = (args) => {
  const { g, layer } = args;
  const { scale, offset } = configOf(layer);
  if (typeof scale !== 'number' || (offset !== undefined && typeof offset !== 'number'))
    throw refuse(args, `has scale ${JSON.stringify(scale)} and offset ${JSON.stringify(offset)}; the exporter converts numbers`);
  const scaled = g.addNode('Mul', [onlyInput(args).name, g.addScalar(`${layer.name}/scale`, scale)], {}, layer.name);
  return g.addNode('Add', [scaled, g.addScalar(`${layer.name}/offset`, offset ?? 0)], {}, layer.name);
};

/**
 * SimLens' input preprocessing (models/preprocess.ts) on the NCHW input, constants shaped [c, 1, 1]:
 * tf: 2x - 1; torch: (x - mean) / std; caffe: RGB -> BGR, x 255, - mean.
 */
const inputPreprocessing: LayerConverter = (args) => {
  const { g, layer } = args;
  const x = onlyInput(args);
  requireRank(args, x, 4);
  const mode = (layer as InputPreprocessing).mode;
  const node = (opType: string, inputs: string[]) => g.addNode(opType, inputs, {}, layer.name);
  const perChannel = (name: string, values: readonly number[]) =>
    g.addFloatInitializer(`${layer.name}/${name}`, [values.length, 1, 1], Float32Array.from(values));
  switch (mode) {
    case 'tf':
      return node('Sub', [node('Mul', [x.name, g.addScalar(`${layer.name}/two`, 2)]), g.addScalar(`${layer.name}/one`, 1)]);
    case 'torch':
      return node('Div', [node('Sub', [x.name, perChannel('mean', IMAGENET_MEAN_RGB)]), perChannel('std', IMAGENET_STD_RGB)]);
    case 'caffe': {
      const bgrIndices = g.addInt64Initializer(`${layer.name}/bgr`, [3], [2, 1, 0]);
      const bgr = g.addNode('Gather', [x.name, bgrIndices], { axis: attr.int(1) }, layer.name);
      return node('Sub', [node('Mul', [bgr, g.addScalar(`${layer.name}/scale`, 255)]), perChannel('mean', CAFFE_MEAN_BGR)]);
    }
    default:
      throw refuse(args, `uses preprocessing mode "${String(mode)}"`);
  }
};

export const CORE_CONVERTERS: [string, LayerConverter][] = [
  ['Dense', dense],
  ['Flatten', flatten],
  ['Reshape', reshape],
  ['BatchNormalization', batchNormalization],
  ['Dropout', identity],
  ['Rescaling', rescaling],
  [InputPreprocessing.className, inputPreprocessing],
];
