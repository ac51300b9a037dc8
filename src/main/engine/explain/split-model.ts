// Splits a Siamese model at a target layer L for the explanation methods:
//   features: x -> A = L(x)      head: A -> e      score: (e1, e2) -> s
// Both sub-models are built ONCE per (loaded model, layer) and cached; they share
// the model's weights (no copies), so they follow it if it is trained further.
import * as tf from '@tensorflow/tfjs';
import type { CamModel } from './cam-model';
import { pairScore } from '../models/score';
import type { ST } from '../models/layers-util';
import { disposeWithNet, type SiameseModel } from '../models/siamese';

const cache = new WeakMap<tf.LayersModel, Map<string, CamModel>>();

interface NodeLike {
  inputTensors: ST[];
  callArgs?: Record<string, unknown>;
}

/**
 * Re-applies the layers after `target` on a new Input, giving the head A -> e (shares the weights
 * of `net`; also used by mask-guided training); with `output`, the part from `target` to that
 * tensor (frozen features to the map layer).
 */
export function buildHead(net: tf.LayersModel, target: tf.layers.Layer, output: ST = net.outputs[0]): tf.LayersModel {
  const targetOut = target.getOutputAt(0) as ST;
  const headInput = tf.input({ shape: targetOut.shape.slice(1) as number[], name: `${target.name}_cam_input` });
  const memo = new Map<number, ST>([[targetOut.id, headInput]]);
  const rebuild = (t: ST): ST => {
    const hit = memo.get(t.id);
    if (hit) return hit;
    const layer = t.sourceLayer;
    if (layer.getClassName() === 'InputLayer') {
      throw new Error(
        `Layer "${target.name}" is not a valid Grad-CAM target: the model input reaches the output without passing through it`,
      );
    }
    const node = (layer as unknown as { inboundNodes: NodeLike[] }).inboundNodes[t.nodeIndex];
    const inputs = node.inputTensors.map(rebuild);
    const out = layer.apply(inputs.length === 1 ? inputs[0] : inputs, node.callArgs ?? {}) as ST | ST[];
    const result = Array.isArray(out) ? out[t.tensorIndex] : out;
    memo.set(t.id, result);
    return result;
  };
  const rebuilt = rebuild(output);
  const to = output === net.outputs[0] ? '' : `_to_${output.sourceLayer.name}`;
  return tf.model({ inputs: headInput, outputs: rebuilt, name: `${net.name}_head_from_${target.name}${to}` });
}

/** The CamModel of a Siamese model at `layerName` (default: its last conv block). */
export function toCamModel(siamese: SiameseModel, layerName?: string): CamModel {
  const layer = layerName ?? siamese.defaultCamLayer();
  let perModel = cache.get(siamese.net);
  if (!perModel) {
    perModel = new Map();
    cache.set(siamese.net, perModel);
  }
  const hit = perModel.get(layer);
  if (hit) return hit;
  if (!siamese.camLayers().includes(layer)) {
    throw new Error(`"${layer}" cannot be a Grad-CAM target of this model; choose one of: ${siamese.camLayers().join(', ')}`);
  }
  const target = siamese.net.getLayer(layer);
  const featuresModel = tf.model({
    inputs: siamese.net.inputs,
    outputs: target.getOutputAt(0) as ST,
    name: `${siamese.net.name}_features_${layer}`,
  });
  const headModel = buildHead(siamese.net, target);
  disposeWithNet(siamese.net, headModel); // its symbolic apply referenced the head's layers once more
  const tau = siamese.tau;
  const cam: CamModel = {
    layer,
    features: (x) => featuresModel.apply(x, { training: false }) as tf.Tensor4D,
    head: (a) => headModel.apply(a, { training: false }) as tf.Tensor2D,
    score: (e1, e2) => pairScore(e1, e2, tau),
    // read at each use: the version's ONNX Runtime engine (loadForInference), if any
    get accelerator() {
      return siamese.accelerator;
    },
  };
  perModel.set(layer, cam);
  return cam;
}
