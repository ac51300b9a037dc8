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
//
// How ds/dG is formed matters for the second derivative. tfjs's higher-order gradients are wrong
// through ops whose gradient reuses their OUTPUT (exp, sqrt, sigmoid, tanh, max...): the engine
// saves a copy of the output whose tape node precedes the op's own, so the outer backward pass
// visits them in the wrong order and drops that term (a tf.grad of sum(exp(th * g)) differentiated
// again w.r.t. th misses exp'(th g) g; found by check.ts, whose finite differences disagreed). So:
//   ds/de is formed in closed form, ds/de1 = -2 s (e1 - e2) / tau = -ds/de2, with s = exp(-d²/tau)
//   computed in the forward pass (first derivatives of exp only); and ds/dG = (ds/de)^T J_head(G)
//   is the head's vector-Jacobian product: written out for a chain of Flatten and Dense (ReLU or
//   linear) layers, z_l = x_{l-1} W_l + b_l, x_l = act(z_l), backwards d_{l-1} = (d_l * act'(z_l)) W_l^T
//   (every SimLens head above G is such a chain), else an inner tf.grad of sum(head(G) * ds/de).
// Either way the outer tf.variableGrads sees plain first-order ops (matMul, mul, step, reshape):
// the same numbers on every backend.

import * as tf from '@tensorflow/tfjs';
import { buildHead } from '../../explain/split-model';
import { inboundLayers, type ST } from '../../models/layers-util';
import { disposeWithNet, type SiameseModel } from '../../models/siamese';

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
  /** The head's vector-Jacobian product: c [n, D] (a cotangent of e) -> c^T de/dG, shaped as G */
  vjp(g: tf.Tensor, c: tf.Tensor2D, training: boolean): tf.Tensor;
  /** how vjp is computed: 'explicit' (a chain of Flatten / Dense layers, written out) or 'autodiff' (an inner tf.grad) */
  readonly vjpKind: 'explicit' | 'autodiff';
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
  disposeWithNet(net, headModel); // its symbolic apply referenced the head's layers once more
  const [, h, w, K] = (target.getOutputAt(0) as ST).shape as number[];
  const headLayers = headModel.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const chain = isChain(gradTarget, headLayers) ? headLayers : null;
  const explicit = chain !== null && chain.every(isPlainLayer);
  const split: MapSplit = {
    layer,
    gradLayer: gradTarget.name,
    mapShape: [h, w, K],
    features: (x, training) => featuresModel.apply(x, { training }) as tf.Tensor4D,
    pool: (a) => (pooling ? (pooling.apply(a) as tf.Tensor) : a),
    head: (g, training) =>
      chain
        ? (tf.tidy(() => chain.reduce((x, l) => plainApply(l, x, training), g)) as tf.Tensor2D)
        : (headModel.apply(g, { training }) as tf.Tensor2D),
    vjp: (g, c, training) =>
      explicit
        ? chainVjp(chain!, g, c)
        : tf.grad((gg: tf.Tensor) => tf.sum(tf.mul(headModel.apply(gg, { training }) as tf.Tensor2D, c)))(g),
    vjpKind: explicit ? 'explicit' : 'autodiff',
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

/** Whether `layers` form one chain after `from` in the network (each fed by the one before it), as every SimLens head above G does. */
function isChain(from: tf.layers.Layer, layers: tf.layers.Layer[]): boolean {
  return layers.every((l, i) => {
    const inbound = inboundLayers(l);
    return inbound.length === 1 && inbound[0] === (i === 0 ? from : layers[i - 1]);
  });
}

interface DenseLike {
  kernel: { read(): tf.Tensor };
  bias: { read(): tf.Tensor } | null;
  activation: { apply(t: tf.Tensor): tf.Tensor; getClassName(): string } | null;
}

const PLAIN_ACTIVATIONS = new Set(['linear', 'relu', 'Linear', 'Relu']);

/** Flatten, or Dense with a ReLU or linear activation: layers chainVjp writes out. */
function isPlainLayer(l: tf.layers.Layer): boolean {
  if (l.getClassName() === 'Flatten') return true;
  if (l.getClassName() !== 'Dense') return false;
  const act = (l as unknown as DenseLike).activation;
  return act === null || PLAIN_ACTIVATIONS.has(act.getClassName());
}

/** The vector-Jacobian product of a chain of Flatten / Dense(ReLU | linear) layers at g, with cotangent c [n, D]. */
function chainVjp(chain: tf.layers.Layer[], g: tf.Tensor, c: tf.Tensor2D): tf.Tensor {
  return tf.tidy(() => {
    // forward, keeping what the backward pass needs: each Dense layer's input and its ReLU mask
    const record: ({ kind: 'flatten'; shape: number[] } | { kind: 'dense'; kernel: tf.Tensor2D; relu: tf.Tensor | null })[] = [];
    let x = g;
    for (const l of chain) {
      if (l.getClassName() === 'Flatten') {
        record.push({ kind: 'flatten', shape: x.shape });
        x = tf.reshape(x, [x.shape[0], -1]);
        continue;
      }
      const d = l as unknown as DenseLike;
      const kernel = d.kernel.read() as tf.Tensor2D;
      let z = tf.matMul(x as tf.Tensor2D, kernel);
      if (d.bias) z = tf.add(z, d.bias.read());
      const isRelu = d.activation !== null && d.activation.getClassName().toLowerCase() === 'relu';
      const relu = isRelu ? tf.step(z) : null; // act'(z): 1 where z > 0 (zero gradient)
      record.push({ kind: 'dense', kernel, relu });
      x = isRelu ? tf.relu(z) : z;
    }
    // backward: d_{l-1} = (d_l * act'(z_l)) W_l^T
    let d: tf.Tensor = c;
    for (let i = record.length - 1; i >= 0; i--) {
      const r = record[i];
      if (r.kind === 'flatten') {
        d = tf.reshape(d, r.shape);
        continue;
      }
      const dz = r.relu ? tf.mul(d, r.relu) : d;
      d = tf.matMul(dz as tf.Tensor2D, r.kernel, false, true);
    }
    return d;
  });
}

/** A layer applied with plain ops where tfjs-layers would fuse them (Dense, Flatten); else layer.apply. */
function plainApply(layer: tf.layers.Layer, x: tf.Tensor, training: boolean): tf.Tensor {
  const name = layer.getClassName();
  if (name === 'Flatten') return tf.reshape(x, [x.shape[0], -1]);
  if (name === 'Dense' && x.rank === 2) {
    const dense = layer as unknown as {
      kernel: { read(): tf.Tensor };
      bias: { read(): tf.Tensor } | null;
      activation: { apply(t: tf.Tensor): tf.Tensor } | null;
    };
    let y = tf.matMul(x as tf.Tensor2D, dense.kernel.read() as tf.Tensor2D);
    if (dense.bias) y = tf.add(y, dense.bias.read());
    return dense.activation ? dense.activation.apply(y) : y;
  }
  return layer.apply(x, { training }) as tf.Tensor;
}
