// Export of a SimLens embedding network (a tfjs functional LayersModel) to an ONNX model
// (opset 13), by walking its layer graph from the output back to the input and converting
// each layer (layers.ts). Nothing is traced or run: the ONNX graph mirrors the layer graph.
//
// The ONNX model's interface is the tfjs network's: input 'input' [batch, H, W, C] in [0, 1]
// (NHWC, the network's own preprocessing included), output 'embedding' [batch, D]; optional
// extra outputs expose named layers' activations ('activations:<layer>', NHWC as tfjs gives
// them: what a CAM method needs from the backbone). Inside, feature maps are NCHW (convert.ts).
import type * as tf from '@tensorflow/tfjs';
import { OnnxExportError, unsupported } from './errors';
import { attr, OnnxGraphBuilder } from './graph-builder';
import { LAYER_CONVERTERS, TO_NCHW, TO_NHWC, type OnnxValue, type WeightValue } from './layers';

export const ONNX_INPUT = 'input';
export const ONNX_EMBEDDING = 'embedding';
/** The graph output exposing layer `layerName`'s activations. */
export const activationsOutput = (layerName: string): string => `activations:${layerName}`;

export interface OnnxExportOptions {
  /** Layers whose activations become extra outputs (e.g. the Grad-CAM target layer). */
  activationLayers?: readonly string[];
  /** Written into the model as producer_version. */
  producerVersion?: string;
  /** Written into the model's metadata_props (e.g. tau, preprocessing). */
  metadata?: Record<string, string>;
}

export interface OnnxExport {
  /** The .onnx file's bytes (a serialised ModelProto). */
  bytes: Uint8Array;
  /** The input's shape without the batch: [H, W, C]. */
  inputShape: number[];
  /** The graph outputs: 'embedding' first, then one per activation layer, in the order asked. */
  outputs: { name: string; shape: number[] }[];
}

/** What tfjs' SymbolicTensor carries beyond its public type: the call that produced it. */
interface GraphTensor {
  id: number;
  shape: (number | null)[];
  sourceLayer: tf.layers.Layer;
  inputs: GraphTensor[];
}

const asGraphTensor = (t: tf.SymbolicTensor): GraphTensor => t as unknown as GraphTensor;

/** The tensors `output` depends on, inputs first (depth-first post-order). */
function topologicalOrder(roots: GraphTensor[]): GraphTensor[] {
  const order: GraphTensor[] = [];
  const seen = new Set<number>();
  // Iterative, so a deep network (ResNet50: ~180 layers) never meets the stack limit.
  const stack: { t: GraphTensor; expanded: boolean }[] = roots.map((t) => ({ t, expanded: false })).reverse();
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (seen.has(top.t.id)) continue;
    if (top.expanded) {
      seen.add(top.t.id);
      order.push(top.t);
      continue;
    }
    stack.push({ t: top.t, expanded: true });
    for (const input of [...top.t.inputs].reverse()) if (!seen.has(input.id)) stack.push({ t: input, expanded: false });
  }
  return order;
}

/** The layer's weights by short name ('conv1/kernel' -> 'kernel'), read from the backend. */
async function readWeights(layer: tf.layers.Layer): Promise<Map<string, WeightValue>> {
  const weights = new Map<string, WeightValue>();
  for (const w of layer.weights) {
    const shortName = w.originalName.slice(w.originalName.lastIndexOf('/') + 1);
    // read() returns the variable itself (not a copy): read its data, never dispose it.
    const data = (await w.read().data()) as Float32Array;
    weights.set(shortName, { data, shape: [...w.shape] as number[] });
  }
  return weights;
}

/**
 * The shape of `t`, with the sizes tfjs' symbolic shape leaves unknown though the inputs' are known:
 * tfjs' Reshape resolves a -1 only for a known batch size, so the layer's output shape is asked
 * for a batch of 1. The batch stays null.
 */
function staticOutputShape(t: GraphTensor, inputs: OnnxValue[]): readonly (number | null)[] {
  const known = (shape: readonly (number | null)[]) => shape.slice(1).every((d) => typeof d === 'number');
  if (known(t.shape) || !inputs.every((v) => known(v.shape))) return t.shape;
  const batchOfOne = inputs.map((v) => [1, ...v.shape.slice(1)] as number[]);
  try {
    const shape = t.sourceLayer.computeOutputShape(batchOfOne.length === 1 ? batchOfOne[0] : batchOfOne) as (number | null)[];
    return shape.length === t.shape.length && known(shape) ? [null, ...shape.slice(1)] : t.shape;
  } catch {
    return t.shape; // a converter that needs the sizes says so, naming the layer
  }
}

const staticDims = (shape: readonly (number | null)[], what: string): number[] =>
  shape.slice(1).map((d) => {
    if (typeof d !== 'number')
      throw new OnnxExportError(`ONNX export: ${what} has an unknown size [${shape.join(', ')}]; the exporter needs fixed sizes`);
    return d;
  });

/**
 * Exports `net` ([b, H, W, C] -> [b, D]) to ONNX. Throws OnnxExportError naming the layer and
 * its class when a layer (or a setting of one) cannot be converted.
 */
export async function exportToOnnx(net: tf.LayersModel, options: OnnxExportOptions = {}): Promise<OnnxExport> {
  if (net.inputs.length !== 1 || net.outputs.length !== 1)
    throw new OnnxExportError(
      `ONNX export: the network has ${net.inputs.length} inputs and ${net.outputs.length} outputs; an embedding network has one of each`,
    );
  const activationLayers = options.activationLayers ?? [];
  const input = asGraphTensor(net.inputs[0]);
  const output = asGraphTensor(net.outputs[0]);
  const inputShape = staticDims(input.shape, 'the input');
  if (inputShape.length !== 3)
    throw new OnnxExportError(`ONNX export: the input has shape [${input.shape.join(', ')}]; expected [batch, H, W, C]`);

  const g = new OnnxGraphBuilder([ONNX_INPUT, ONNX_EMBEDDING, ...activationLayers.map(activationsOutput)]);
  g.addGraphInput(ONNX_INPUT, ['batch', ...inputShape]);
  const values = new Map<number, OnnxValue>();
  // The input as NCHW: [b, H, W, C] -> [b, C, H, W].
  values.set(input.id, { name: g.addNode('Transpose', [ONNX_INPUT], { perm: attr.ints(TO_NCHW) }, 'input_nchw'), shape: input.shape });
  const byLayer = new Map<string, GraphTensor>();

  for (const t of topologicalOrder([output])) {
    if (values.has(t.id)) continue;
    const layer = t.sourceLayer;
    const cls = layer.getClassName();
    if (t.inputs.length === 0) throw unsupported(layer.name, cls, 'is a second input of the network; an embedding network has one input');
    const convert = LAYER_CONVERTERS.get(cls);
    if (!convert)
      throw unsupported(layer.name, cls, `is not supported by the ONNX exporter (supported: ${[...LAYER_CONVERTERS.keys()].join(', ')})`);
    const inputs = t.inputs.map((i) => values.get(i.id)!);
    const shape = staticOutputShape(t, inputs);
    const name = convert({ g, layer, inputs, outputShape: shape, weights: await readWeights(layer) });
    values.set(t.id, { name, shape });
    byLayer.set(layer.name, t);
  }

  const embedding = values.get(output.id)!;
  const embeddingDims = staticDims(embedding.shape, 'the embedding');
  if (embeddingDims.length !== 1)
    throw new OnnxExportError(`ONNX export: the network's output has shape [${embedding.shape.join(', ')}]; expected [batch, D]`);
  g.addNode('Identity', [embedding.name], {}, 'embedding', ONNX_EMBEDDING);
  g.addGraphOutput(ONNX_EMBEDDING, ['batch', ...embeddingDims]);
  const outputs = [{ name: ONNX_EMBEDDING, shape: embeddingDims }];

  for (const layerName of activationLayers) {
    const t = byLayer.get(layerName);
    if (!t) throw new OnnxExportError(`ONNX export: no layer "${layerName}" on the path from the input to the embedding`, layerName);
    const value = values.get(t.id)!;
    const dims = staticDims(value.shape, `layer "${layerName}"'s output`);
    const name = activationsOutput(layerName);
    // A feature map is held NCHW in the graph; the output is NHWC as tfjs gives it.
    if (dims.length === 3) g.addNode('Transpose', [value.name], { perm: attr.ints(TO_NHWC) }, name, name);
    else g.addNode('Identity', [value.name], {}, name, name);
    g.addGraphOutput(name, ['batch', ...dims]);
    outputs.push({ name, shape: dims });
  }

  const bytes = g.encodeModel({
    graphName: net.name,
    producerVersion: options.producerVersion ?? '',
    docString: `SimLens embedding network "${net.name}": input [batch, ${inputShape.join(', ')}] NHWC in [0, 1] -> embedding [batch, ${embeddingDims[0]}]`,
    metadata: options.metadata,
  });
  return { bytes, inputShape, outputs };
}
