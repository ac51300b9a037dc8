// What every layer converter shares: the value and argument types, reading a layer's config and
// weights, refusing a setting with the layer named, and the NHWC (tfjs) / NCHW (graph) layout of
// 4-D values. The converters are in layers-*.ts and activations.ts; layers.ts lists them.
//
// Layout: tfjs is NHWC; ONNX's Conv, MaxPool, BatchNormalization... are NCHW. Every 4-D value
// (a feature map) is held NCHW in the graph: export.ts transposes the NHWC input once, the
// kernels are permuted at export time, and a 4-D value goes back to NHWC order only where tfjs'
// layout shows (Flatten and Reshape, whose element order is h, w, c; and the activations exposed
// as graph outputs). ONNX Runtime's CPU convolutions run NCHW, so this puts no transpose between
// layers. Values of other ranks are held as in tfjs.
import type * as tf from '@tensorflow/tfjs';
import { unsupported, type OnnxExportError } from './errors';
import { attr, type OnnxAttribute, type OnnxGraphBuilder } from './graph-builder';

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
  /** The layer's output shape as tfjs infers it (NHWC for a 4-D output), batch first. */
  outputShape: readonly (number | null)[];
  /** The layer's weights by their short name ('kernel', 'bias', 'gamma', 'moving_mean', ...). */
  weights: ReadonlyMap<string, WeightValue>;
}

/** Returns the name of the value holding the layer's output. */
export type LayerConverter = (args: ConvertArgs) => string;

/** NHWC -> NCHW, and back. */
export const TO_NCHW = [0, 3, 1, 2] as const;
export const TO_NHWC = [0, 2, 3, 1] as const;

export type Config = Record<string, unknown>;

export function configOf(layer: tf.layers.Layer): Config {
  return layer.getConfig() as Config;
}

/** The OnnxExportError for a setting of this layer the exporter does not convert. */
export function refuse(args: ConvertArgs, what: string): OnnxExportError {
  return unsupported(args.layer.name, args.layer.getClassName(), what);
}

export function onlyInput(args: ConvertArgs): OnnxValue {
  if (args.inputs.length !== 1) throw refuse(args, `has ${args.inputs.length} inputs, expected 1`);
  return args.inputs[0];
}

export function weight(args: ConvertArgs, shortName: string): WeightValue {
  const w = args.weights.get(shortName);
  if (!w) throw refuse(args, `has no weight "${shortName}" (has: ${[...args.weights.keys()].join(', ') || 'none'})`);
  return w;
}

/** The bias if the layer uses one (config.useBias), else undefined. */
export function biasOf(args: ConvertArgs, config: Config): Float32Array | undefined {
  return config.useBias ? weight(args, 'bias').data : undefined;
}

export function requireRank(args: ConvertArgs, x: OnnxValue, rank: number): void {
  if (x.shape.length !== rank)
    throw refuse(args, `has an input of rank ${x.shape.length} ([${x.shape.join(', ')}]); the exporter supports rank ${rank} here`);
}

function requireChannelsLast(args: ConvertArgs, config: Config): void {
  const format = config.dataFormat;
  if (format !== undefined && format !== 'channelsLast')
    throw refuse(args, `uses dataFormat "${String(format)}"; only channelsLast is supported`);
}

/** The config and the one input of a layer over feature maps: channelsLast, rank 4. */
export function featureMapInput(args: ConvertArgs): { config: Config; x: OnnxValue } {
  const config = configOf(args.layer);
  requireChannelsLast(args, config);
  const x = onlyInput(args);
  requireRank(args, x, 4);
  return { config, x };
}

/** [h, w] of a 4-D NHWC shape; static sizes are needed to compute 'same' padding and crops. */
export function spatialSize(args: ConvertArgs, x: OnnxValue): [number, number] {
  const [, h, w] = x.shape;
  if (typeof h !== 'number' || typeof w !== 'number')
    throw refuse(args, `has an input of unknown spatial size [${x.shape.join(', ')}]; the exporter needs a fixed input size`);
  return [h, w];
}

export const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [Number(v[0]), Number(v[1])] : [Number(v), Number(v)]);

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
  if (padding !== 'same') throw refuse(args, `uses padding "${String(padding)}"; only "same" and "valid" are supported`);
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
 * The attributes of a 2-D window (a convolution's or a pooling's) over NHWC input `x`:
 * kernel_shape, strides, pads, and dilations unless null (ONNX AveragePool has none in opset 13).
 */
export function windowAttributes(
  args: ConvertArgs,
  x: OnnxValue,
  padding: unknown,
  kernel: [number, number],
  strides: [number, number],
  dilations: [number, number] | null,
): Record<string, OnnxAttribute> {
  const attrs: Record<string, OnnxAttribute> = { kernel_shape: attr.ints(kernel), strides: attr.ints(strides) };
  if (dilations) attrs.dilations = attr.ints(dilations);
  attrs.pads = attr.ints(padsFor(args, padding, spatialSize(args, x), kernel, strides, dilations ?? [1, 1]));
  return attrs;
}

/**
 * The graph's axis for tfjs axis `axis` (negative: from the end) of a rank-`rank` value: the
 * NHWC axes h, w, c of a 4-D value are NCHW's 2, 3, 1; other ranks are held as in tfjs. The batch
 * axis is refused (a layer working across the batch would mix the images of a batch).
 */
export function graphAxis(args: ConvertArgs, axis: unknown, rank: number): number {
  const a = Number(axis) < 0 ? Number(axis) + rank : Number(axis);
  if (!Number.isInteger(a) || a <= 0 || a >= rank)
    throw refuse(args, `works along axis ${String(axis)} of a rank-${rank} value; the exporter supports the axes after the batch axis`);
  // NHWC axis i is NCHW axis TO_NHWC[i].
  return rank === 4 ? TO_NHWC[a] : a;
}

/** Whether NCHW and NHWC order a 4-D shape's elements alike: only axes of size 1 move (h = w = 1, or c = 1). */
function sameOrderInBothLayouts(shape: readonly (number | null)[]): boolean {
  const [, h, w, c] = shape;
  return (h === 1 && w === 1) || c === 1;
}

/**
 * A value whose elements, in row-major order, are those of `x` in tfjs' order: `x` itself
 * unless it is a 4-D value whose NCHW and NHWC orders differ (then a Transpose to NHWC). Its shape
 * may stay NCHW, so it is for a Flatten or Reshape that reads the elements in order.
 */
export function inTfjsOrder(g: OnnxGraphBuilder, x: OnnxValue, base: string): string {
  if (x.shape.length !== 4 || sameOrderInBothLayouts(x.shape)) return x.name;
  return g.addNode('Transpose', [x.name], { perm: attr.ints(TO_NHWC) }, base);
}

/**
 * Reshapes `source`, whose elements are in tfjs' row-major order (see inTfjsOrder), to the tfjs
 * shape `shape` (batch first, other sizes static) as the graph holds it: NCHW if 4-D (a Reshape
 * straight to NCHW where the two orders agree, else to NHWC and a Transpose).
 */
export function reshapeToGraphLayout(args: ConvertArgs, source: string, shape: readonly (number | null)[]): string {
  const { g, layer } = args;
  const dims = shape.slice(1).map((d) => {
    if (typeof d !== 'number') throw refuse(args, `has an output of unknown size [${shape.join(', ')}]; the exporter needs fixed sizes`);
    return d;
  });
  // 0: the batch size, copied from the source's first axis.
  const reshape = (target: number[]) =>
    g.addNode('Reshape', [source, g.addInt64Initializer(`${layer.name}/shape`, [target.length + 1], [0, ...target])], {}, layer.name);
  if (shape.length !== 4) return reshape(dims);
  const [h, w, c] = dims;
  if (sameOrderInBothLayouts(shape)) return reshape([c, h, w]);
  return g.addNode('Transpose', [reshape(dims)], { perm: attr.ints(TO_NCHW) }, layer.name);
}
