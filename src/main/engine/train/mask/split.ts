// A Siamese network split for mask-guided training (the training twin of explain/split-model.ts):
//
//   x --features--> A = L(x) [n, h, w, K] --pool--> G --head--> e [n, D],   s = exp(-d²/τ)
//
// L is the map layer (default: the model's default Grad-CAM target, the last conv block). The
// Grad-CAM weights are alpha_k = mean_uv ds/dA[u,v,k]. When L feeds a single pooling layer (the
// small CNN's pool2 after conv4, or the global average pool of the 'gap' head, ResNets,
// MobileNetV2 and pretrained backbones), ds/dA never needs to be formed: max pooling routes each
// pooled gradient to exactly one position and average pooling spreads it evenly, so in both cases
//
//   sum_uv ds/dA[u,v,k] = sum over G's positions of ds/dG[.,k]   =>   alpha_k = sum_G ds/dG / (h w)
//
// and the gradient of the score is taken w.r.t. G instead. The part differentiated twice (the
// map's gradient w.r.t. the weights goes through ds/dG) is then the head above G: flatten/dense/
// ReLU/matMul/exp, ops whose gradients are themselves differentiable on every tfjs backend. Without
// such a pooling layer, G = L and the second derivative goes through whatever follows L (the
// finite-difference check, check.ts, tells whether the backend can).
import * as tf from '@tensorflow/tfjs';
import { buildHead } from '../../explain/split-model';
import { inboundLayers, type ST } from '../../models/layers-util';
import type { SiameseModel } from '../../models/siamese';

const POOLINGS = new Set(['MaxPooling2D', 'AveragePooling2D', 'GlobalAveragePooling2D', 'GlobalMaxPooling2D']);

export interface MapSplit {
  /** the map layer L */
  readonly layer: string;
  /** the layer whose output G the score is differentiated against (L, or the pooling right after it) */
  readonly gradLayer: string;
  /** [h, w, K] of A */
  readonly mapShape: [number, number, number];
  /** x [n, H, W, C] -> A [n, h, w, K] */
  features(x: tf.Tensor4D, training: boolean): tf.Tensor4D;
  /** A -> G (the pooling; identity when G = L) */
  pool(a: tf.Tensor4D): tf.Tensor;
  /** G -> e [n, D] */
  head(g: tf.Tensor, training: boolean): tf.Tensor2D;
  /** ds/dG -> the Grad-CAM weights alpha [n, K] of L */
  alpha(gradG: tf.Tensor): tf.Tensor2D;
  /** the trainable weights above G (those the map's gradient reaches only through the second derivative), and above L */
  readonly headVariables: tf.Variable[];
  /** class names of the layers differentiated twice (above G), input to output */
  readonly doubleDiffLayers: string[];
}

const cache = new WeakMap<tf.LayersModel, Map<string, MapSplit>>();

/** The split of `model` at `layerName` (default: its default Grad-CAM layer); built once per network and layer. */
export function mapSplit(model: SiameseModel, layerName?: string): MapSplit {
  const layer = layerName ?? model.defaultCamLayer();
  let perNet = cache.get(model.net);
  if (!perNet) {
    perNet = new Map();
    cache.set(model.net, perNet);
  }
  const hit = perNet.get(layer);
  if (hit) return hit;
  if (!model.camLayers().includes(layer))
    throw new Error(`"${layer}" cannot be the map layer of mask-guided training; choose one of: ${model.camLayers().join(', ')}`);
  const net = model.net;
  const target = net.getLayer(layer);
  const consumers = net.layers.filter((l) => inboundLayers(l).includes(target));
  const pooling = consumers.length === 1 && POOLINGS.has(consumers[0].getClassName()) ? consumers[0] : null;
  const gradTarget = pooling ?? target;
  const featuresModel = tf.model({ inputs: net.inputs, outputs: target.getOutputAt(0) as ST, name: `${net.name}_mask_features_${layer}` });
  const headModel = buildHead(net, gradTarget);
  const [, h, w, K] = (target.getOutputAt(0) as ST).shape as number[];
  const headLayers = headModel.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const split: MapSplit = {
    layer,
    gradLayer: gradTarget.name,
    mapShape: [h, w, K],
    features: (x, training) => featuresModel.apply(x, { training }) as tf.Tensor4D,
    pool: (a) => (pooling ? (pooling.apply(a) as tf.Tensor) : a),
    head: (g, training) => headModel.apply(g, { training }) as tf.Tensor2D,
    alpha: (gradG) =>
      tf.tidy(() => {
        const n = gradG.shape[0];
        // [n, K]: the sum over G's positions (none for a global pool), over L's h*w positions
        const summed = gradG.rank === 4 ? tf.sum(gradG, [1, 2]) : gradG;
        return tf.reshape(tf.div(summed, h * w), [n, K]) as tf.Tensor2D;
      }),
    headVariables: headLayers.flatMap((l) => l.trainableWeights.map((v) => v.read() as tf.Variable)),
    doubleDiffLayers: headLayers.map((l) => l.getClassName()),
  };
  perNet.set(layer, split);
  return split;
}
