// Merge layers: the element-wise ones (Add, Multiply, Maximum, Minimum, Average) with tfjs'
// broadcasting, and Concatenate. tfjs' Subtract is not among them: tfjs 4.22 has no such layer.
import { attr } from './graph-builder';
import { configOf, graphAxis, inTfjsOrder, refuse, reshapeToGraphLayout, type ConvertArgs, type LayerConverter } from './convert';

function atLeastTwoInputs(args: ConvertArgs): void {
  if (args.inputs.length < 2) throw refuse(args, `has ${args.inputs.length} input, expected at least 2`);
}

/**
 * The inputs of an element-wise merge, broadcastable in ONNX as tfjs broadcasts them. Inputs of
 * one rank broadcast axis by axis, which the NCHW order of 4-D values does not change (a
 * squeeze-excitation's [b, 1, 1, c] scale is [b, c, 1, 1] beside the [b, c, h, w] map). tfjs gives
 * an input of lower rank axes of size 1 after the batch ([b, c] beside [b, h, w, c] is [b, 1, 1, c]):
 * the same reshape here, to the graph's layout.
 */
function broadcastInputs(args: ConvertArgs): string[] {
  atLeastTwoInputs(args);
  const rank = Math.max(...args.inputs.map((v) => v.shape.length));
  return args.inputs.map((v) => {
    if (v.shape.length === rank) return v.name;
    const expanded = [v.shape[0], ...new Array<number>(rank - v.shape.length).fill(1), ...v.shape.slice(1)];
    return reshapeToGraphLayout(args, inTfjsOrder(args.g, v, args.layer.name), expanded);
  });
}

/** An element-wise merge: ONNX's Add and Mul take two inputs (a chain of them), Max, Min and Mean any number. */
function elementwise(opType: 'Add' | 'Mul' | 'Max' | 'Min' | 'Mean'): LayerConverter {
  return (args) => {
    const { g, layer } = args;
    const names = broadcastInputs(args);
    if (opType === 'Add' || opType === 'Mul')
      return names.slice(1).reduce((acc, n) => g.addNode(opType, [acc, n], {}, layer.name), names[0]);
    return g.addNode(opType, names, {}, layer.name);
  };
}

/** Concatenate along config.axis (default -1: the channels, NCHW axis 1 of feature maps; 1 and 2 are NCHW's 2 and 3). */
const concatenate: LayerConverter = (args) => {
  const { g, layer, inputs } = args;
  atLeastTwoInputs(args);
  const rank = inputs[0].shape.length;
  if (inputs.some((v) => v.shape.length !== rank))
    throw refuse(args, `has inputs of different ranks (${inputs.map((v) => `[${v.shape.join(', ')}]`).join(', ')})`);
  const configured = Number(configOf(layer).axis ?? -1);
  // tfjs 4.22's Concatenate declares the output shape for the axis asked, but runs every negative axis as -1.
  if (configured < -1)
    throw refuse(
      args,
      `concatenates along axis ${configured}, which tfjs runs as axis -1 (the last); give the axis as ${configured + rank}`,
    );
  const axis = graphAxis(args, configured, rank);
  return g.addNode(
    'Concat',
    inputs.map((v) => v.name),
    { axis: attr.int(axis) },
    layer.name,
  );
};

export const MERGE_CONVERTERS: [string, LayerConverter][] = [
  ['Add', elementwise('Add')],
  ['Multiply', elementwise('Mul')],
  ['Maximum', elementwise('Max')],
  ['Minimum', elementwise('Min')],
  ['Average', elementwise('Mean')],
  ['Concatenate', concatenate],
];
