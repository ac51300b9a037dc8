// Activations: the functions tfjs names in a layer's `activation` (as getConfig() gives them), and
// the activation layers (Activation, ReLU, LeakyReLU, ELU, ThresholdedReLU, PReLU, Softmax).
import { attr } from './graph-builder';
import { configOf, graphAxis, onlyInput, refuse, weight, type ConvertArgs, type LayerConverter } from './convert';
import { permuteAxes } from './permute';

/** softmax or log-softmax over tfjs axis `axis` of value `x` of rank `rank` (ONNX opset 13: one axis, the others independent). */
function softmaxOver(args: ConvertArgs, opType: 'Softmax' | 'LogSoftmax', x: string, rank: number, axis: unknown): string {
  return args.g.addNode(opType, [x], { axis: attr.int(graphAxis(args, axis, rank)) }, args.layer.name);
}

/**
 * Appends tfjs activation `identifier` to value `x` of rank `rank`. Softmax runs over tfjs' last
 * axis: the channels, which are ONNX axis 1 of a 4-D (NCHW) value.
 */
export function applyActivation(args: ConvertArgs, identifier: unknown, x: string, rank: number): string {
  const { g, layer } = args;
  const base = layer.name;
  const node = (opType: string, inputs: string[]) => g.addNode(opType, inputs, {}, base);
  const scalar = (name: string, value: number) => g.addScalar(`${base}/${name}`, value);
  switch (identifier) {
    case undefined:
    case null:
    case 'linear':
      return x;
    case 'relu':
      return node('Relu', [x]);
    case 'relu6':
      return node('Clip', [x, scalar('min', 0), scalar('max', 6)]);
    case 'sigmoid':
      return node('Sigmoid', [x]);
    case 'tanh':
      return node('Tanh', [x]);
    case 'elu':
      return g.addNode('Elu', [x], { alpha: attr.float(1) }, base);
    // ONNX's default alpha and gamma are the constants of tfjs' selu (Klambauer et al. 2017).
    case 'selu':
      return node('Selu', [x]);
    case 'softplus':
      return node('Softplus', [x]);
    case 'softsign':
      return node('Softsign', [x]);
    // tfjs: clip(0.2 x + 0.5, 0, 1), which is ONNX HardSigmoid with its default alpha 0.2 and beta 0.5.
    case 'hardSigmoid':
      return g.addNode('HardSigmoid', [x], { alpha: attr.float(0.2), beta: attr.float(0.5) }, base);
    case 'swish':
      return node('Mul', [x, node('Sigmoid', [x])]);
    case 'softmax':
      return softmaxOver(args, 'Softmax', x, rank, -1);
    case 'logSoftmax':
      return softmaxOver(args, 'LogSoftmax', x, rank, -1);
    // x Φ(x) = 0.5 x (1 + erf(x / √2)), as tfjs computes it.
    case 'gelu': {
      const cdf = node('Add', [node('Erf', [node('Div', [x, scalar('sqrt2', Math.SQRT2)])]), scalar('one', 1)]);
      return node('Mul', [node('Mul', [x, cdf]), scalar('half', 0.5)]);
    }
    // tfjs' tanh approximation: 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))).
    case 'gelu_new': {
      const cube = node('Mul', [node('Mul', [x, x]), x]);
      const inner = node('Mul', [node('Add', [x, node('Mul', [cube, scalar('c', 0.044715)])]), scalar('k', Math.sqrt(2 / Math.PI))]);
      return node('Mul', [node('Mul', [x, node('Add', [node('Tanh', [inner]), scalar('one', 1)])]), scalar('half', 0.5)]);
    }
    // x tanh(softplus(x))
    case 'mish':
      return node('Mul', [x, node('Tanh', [node('Softplus', [x])])]);
    default:
      throw refuse(args, `uses activation "${String(identifier)}", which the exporter does not convert`);
  }
}

export const activation: LayerConverter = (args) => {
  const x = onlyInput(args);
  return applyActivation(args, configOf(args.layer).activation, x.name, x.shape.length);
};

/** ReLU layer: max(x, 0), capped at maxValue if set (relu6 style). */
export const relu: LayerConverter = (args) => {
  const { g, layer } = args;
  const maxValue = configOf(layer).maxValue;
  const x = onlyInput(args);
  if (maxValue === undefined || maxValue === null) return g.addNode('Relu', [x.name], {}, layer.name);
  return g.addNode(
    'Clip',
    [x.name, g.addScalar(`${layer.name}/min`, 0), g.addScalar(`${layer.name}/max`, Number(maxValue))],
    {},
    layer.name,
  );
};

/** An activation layer that is one ONNX operator with one float attribute taken from the config. */
function withFloatAttribute(opType: string, onnxName: string, configName: string, fallback: number): LayerConverter {
  return (args) => {
    const value = Number(configOf(args.layer)[configName] ?? fallback);
    return args.g.addNode(opType, [onlyInput(args).name], { [onnxName]: attr.float(value) }, args.layer.name);
  };
}

/** LeakyReLU: x for x >= 0, alpha x below (tfjs' default alpha 0.3). */
export const leakyRelu = withFloatAttribute('LeakyRelu', 'alpha', 'alpha', 0.3);
/** ELU layer (tfjs accepts alpha = 1 only). */
export const eluLayer = withFloatAttribute('Elu', 'alpha', 'alpha', 1);
/** ThresholdedReLU: x where x > theta, else 0: ONNX ThresholdedRelu, whose alpha is tfjs' theta. */
export const thresholdedRelu = withFloatAttribute('ThresholdedRelu', 'alpha', 'theta', 1);

/**
 * PReLU: x for x >= 0, alpha x below, alpha a weight shaped like the input without the batch
 * (1 on the shared axes). A 4-D input's alpha [h, w, c] becomes [c, h, w], as the NCHW value.
 */
export const prelu: LayerConverter = (args) => {
  const { g, layer } = args;
  const x = onlyInput(args);
  const alpha = weight(args, 'alpha');
  const slope = x.shape.length === 4 ? permuteAxes(alpha.data, alpha.shape, [2, 0, 1]) : alpha;
  return g.addNode('PRelu', [x.name, g.addFloatInitializer(`${layer.name}/alpha`, slope.shape, slope.data)], {}, layer.name);
};

/**
 * Softmax layer over config.axis (tfjs' default is axis 1, not Keras' -1: getConfig() says which).
 * Over several axes at once: exp(x - logsumexp(x, axes)), as tfjs computes it.
 */
export const softmaxLayer: LayerConverter = (args) => {
  const { g, layer } = args;
  const x = onlyInput(args);
  const rank = x.shape.length;
  const axis = configOf(layer).axis ?? 1;
  if (!Array.isArray(axis)) return softmaxOver(args, 'Softmax', x.name, rank, axis);
  if (axis.length === 1) return softmaxOver(args, 'Softmax', x.name, rank, axis[0]);
  const axes = axis.map((a) => graphAxis(args, a, rank));
  const logSumExp = g.addNode('ReduceLogSumExp', [x.name], { axes: attr.ints(axes), keepdims: attr.int(1) }, layer.name);
  return g.addNode('Exp', [g.addNode('Sub', [x.name, logSumExp], {}, layer.name)], {}, layer.name);
};
