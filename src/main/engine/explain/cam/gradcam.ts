// The gradient CAM family for a pair, from ONE forward pass of both images and ONE
// backward pass of the score s = score(head(A1), head(A2)) w.r.t. BOTH activations.
//
// Each image's map uses the gradient of ITS OWN activations, g_i = ds/dA_i (the paper's
// public code reused image 1's weights for image 2). With A = A_i [h, w, K], g = g_i:
//
//   Grad-CAM    alpha_k = mean_uv g[u,v,k]               R = sum_k alpha_k A_k
//   XGrad-CAM   alpha_k = sum_uv A_k g_k / (sum_uv A_k + eps)                    (Fu 2020)
//   HiResCAM    R[u,v]  = sum_k g[u,v,k] A[u,v,k]        (no spatial averaging; Draelos 2020)
//   Grad-CAM++  a[u,v,k] = g^2 / (2 g^2 + (sum_ab A_k[a,b]) g^3 + eps), 0 where g = 0,
//               alpha_k = sum_uv a[u,v,k] ReLU(g[u,v,k])  (Chattopadhyay 2018, closed form
//               of the exp(score) trick with first-order gradients, as pytorch-grad-cam)
//   LayerCAM    R[u,v]  = sum_k ReLU(g[u,v,k]) A[u,v,k]  (Jiang 2021)
//
// factual = ReLU(R) with the weights for target s; counterfactual = the same with the
// target 1 - s, i.e. with -g: for the methods linear in g (Grad-CAM, XGrad-CAM,
// HiResCAM) the raw counterfactual is exactly -R; for Grad-CAM++ and LayerCAM it is the
// method applied to -g (ReLU(-g) etc.). No second backward pass either way.
//
// Batches: x1, x2 may hold b > 1 pairs, and the two images of a pair go through
// features() (and head()) as ONE batch of 2b; the backward pass uses ds = ones([b]). Both
// are exact as long as the model does not mix the samples of a batch (inference-mode
// batch norm is fine; training-mode batch norm is not — CamModel wrappers must apply
// their layers with training = false).
import * as tf from '@tensorflow/tfjs';
import { acceleratedPairActivations, featuresOf, pairTensors, type CamModel, type PairImages } from '../cam-model';
import { imageExplanation } from './normalize';
import type { ExplainOptions, GradientCamMethod, PairExplanation } from './types';

export const XGRADCAM_EPS = 1e-7;
export const GRADCAMPP_EPS = 1e-7;

interface ForwardBackward {
  s: tf.Tensor1D; // [b]
  /** activations of both images, image 1 of pair i in row i, image 2 in row b + i: [2b, h, w, K] */
  a: tf.Tensor4D;
  /** ds/dA, rows as in `a`: [2b, h, w, K] */
  g: tf.Tensor4D;
}

function checkPairInputs(x1: tf.Tensor4D, x2: tf.Tensor4D): void {
  if (x1.rank !== 4 || x2.rank !== 4) throw new Error(`expected [b, H, W, C] inputs, got ranks ${x1.rank} and ${x2.rank}`);
  if (x1.shape[0] !== x2.shape[0])
    throw new Error(`the two images of a pair need the same batch size, got ${x1.shape[0]} and ${x2.shape[0]}`);
}

/**
 * A [2b, h, w, K] of both images of b pairs (image 1 of pair i in row i, image 2 in row b + i);
 * the caller disposes it. The forward to A needs no gradient, so it may run on ONNX Runtime
 * (featuresOf).
 */
async function pairActivations(model: CamModel, x1: tf.Tensor4D, x2: tf.Tensor4D): Promise<tf.Tensor4D> {
  checkPairInputs(x1, x2);
  if (x1.shape.every((d, i) => d === x2.shape[i])) {
    // both images through the backbone in ONE batched call (one forward of the pair)
    const both = tf.concat([x1, x2], 0);
    const a = await featuresOf(model, both).finally(() => both.dispose());
    if (a.rank !== 4) {
      a.dispose();
      throw new Error(`features() must return [b, h, w, K], got rank ${a.rank}`);
    }
    return a;
  }
  const a1 = await featuresOf(model, x1);
  const a2 = await featuresOf(model, x2).catch((error: unknown) => {
    a1.dispose();
    throw error;
  });
  try {
    if (a1.rank !== 4 || a2.rank !== 4) throw new Error(`features() must return [b, h, w, K], got ranks ${a1.rank} and ${a2.rank}`);
    if (a1.shape.some((d, i) => d !== a2.shape[i]))
      throw new Error(`the two images give activations of different shapes [${a1.shape}] and [${a2.shape}]`);
    return tf.concat([a1, a2], 0);
  } finally {
    tf.dispose([a1, a2]);
  }
}

/**
 * One backward of s w.r.t. the activations `a` [2b, h, w, K] of b pairs (rows as pairActivations
 * gives them), which it takes over: the result holds them, the caller disposes the result. They
 * stay ONE tensor through the head, the gradient and the maps: only the embeddings are split.
 * (Splitting and re-joining the activations cost more than the head and its gradient on wasm:
 * 10 ms of SplitV for 4 ResNet50 pairs.)
 */
function headBackward(model: CamModel, a: tf.Tensor4D): ForwardBackward {
  const b = a.shape[0] / 2;
  try {
    return tf.tidy(() => {
      const f = (all: tf.Tensor) => {
        const [e1, e2] = tf.split(model.head(all as tf.Tensor4D), [b, b], 0) as [tf.Tensor2D, tf.Tensor2D];
        return model.score(e1, e2);
      };
      const dy = tf.ones([b]) as tf.Tensor1D;
      const { value, grad } = tf.valueAndGrad(f)(a, dy);
      return { s: value as tf.Tensor1D, a: tf.keep(a), g: grad as tf.Tensor4D };
    });
  } catch (error) {
    a.dispose();
    throw error;
  }
}

/** One forward of both images and one backward of s w.r.t. both activations; the caller disposes the result. */
async function forwardBackward(model: CamModel, x1: tf.Tensor4D, x2: tf.Tensor4D): Promise<ForwardBackward> {
  return headBackward(model, await pairActivations(model, x1, x2));
}

const disposeForwardBackward = (fb: ForwardBackward) => tf.dispose([fb.s, fb.a, fb.g]);

/** Raw (pre-ReLU) factual and counterfactual maps [b, h, w] of one image. Call inside tf.tidy. */
export function rawGradientMaps(method: GradientCamMethod, a: tf.Tensor4D, g: tf.Tensor4D): [tf.Tensor3D, tf.Tensor3D] {
  const channelSum = (t: tf.Tensor) => tf.sum(t, -1) as tf.Tensor3D;
  switch (method) {
    case 'gradcam': {
      const alpha = tf.mean(g, [1, 2], true); // [b, 1, 1, K]
      const r = channelSum(tf.mul(alpha, a));
      return [r, tf.neg(r)];
    }
    case 'xgradcam': {
      const sumA = tf.sum(a, [1, 2], true); // [b, 1, 1, K]
      const alpha = tf.sum(tf.div(tf.mul(a, g), tf.add(sumA, XGRADCAM_EPS)), [1, 2], true);
      const r = channelSum(tf.mul(alpha, a));
      return [r, tf.neg(r)];
    }
    case 'hirescam': {
      const r = channelSum(tf.mul(g, a));
      return [r, tf.neg(r)];
    }
    case 'gradcampp': {
      const sumA = tf.sum(a, [1, 2], true); // [b, 1, 1, K]
      const weights = (gg: tf.Tensor) => {
        const g2 = tf.square(gg);
        const g3 = tf.mul(g2, gg);
        const aij = tf.div(g2, tf.add(tf.add(tf.mul(g2, 2), tf.mul(sumA, g3)), GRADCAMPP_EPS));
        const aijMasked = tf.where(tf.notEqual(gg, 0), aij, tf.zerosLike(aij));
        return tf.sum(tf.mul(aijMasked, tf.relu(gg)), [1, 2], true); // [b, 1, 1, K]
      };
      return [channelSum(tf.mul(weights(g), a)), channelSum(tf.mul(weights(tf.neg(g)), a))];
    }
    case 'layercam':
      return [channelSum(tf.mul(tf.relu(g), a)), channelSum(tf.mul(tf.relu(tf.neg(g)), a))];
    default: {
      const never: never = method;
      throw new Error(`unknown gradient CAM method ${String(never)}`);
    }
  }
}

/**
 * Several gradient CAM methods for b pairs from a single forward + backward pass.
 * Returns, per method, one PairExplanation per pair of the batch.
 */
export async function gradientCams(
  model: CamModel,
  x1: tf.Tensor4D,
  x2: tf.Tensor4D,
  methods: readonly GradientCamMethod[],
  opts: Pick<ExplainOptions, 'keepRaw'> = {},
): Promise<Record<GradientCamMethod, PairExplanation[]>> {
  if (methods.length === 0) throw new Error('no CAM method given');
  return camsOf(model, await forwardBackward(model, x1, x2), methods, opts);
}

/**
 * gradientCams of pairs given as indices into an image set: on the model's accelerator straight
 * from the pixels, each distinct image forwarded once (cam-model.ts acceleratedPairActivations);
 * else through tensors of the pairs' images, as gradientCams.
 */
export async function gradientCamsOfImages(
  model: CamModel,
  images: PairImages,
  methods: readonly GradientCamMethod[],
  opts: Pick<ExplainOptions, 'keepRaw'> = {},
): Promise<Record<GradientCamMethod, PairExplanation[]>> {
  if (methods.length === 0) throw new Error('no CAM method given');
  const a = await acceleratedPairActivations(model, images);
  if (a) return camsOf(model, headBackward(model, a), methods, opts);
  const [x1, x2] = pairTensors(images, 0, images.a.length);
  try {
    return await gradientCams(model, x1, x2, methods, opts);
  } finally {
    tf.dispose([x1, x2]);
  }
}

/** The maps of `methods` from one forward + backward, which it disposes. */
async function camsOf(
  model: CamModel,
  fb: ForwardBackward,
  methods: readonly GradientCamMethod[],
  opts: Pick<ExplainOptions, 'keepRaw'>,
): Promise<Record<GradientCamMethod, PairExplanation[]>> {
  let h = 0;
  let w = 0;
  let computed: { packed: tf.Tensor; s: tf.Tensor1D };
  try {
    computed = tf.tidy(() => {
      [, h, w] = fb.a.shape;
      // per method: factual and counterfactual [2b, h, w] (rows as in fb.a) -> [methods * 2 directions, 2b, h, w]
      return { packed: tf.stack(methods.flatMap((m) => rawGradientMaps(m, fb.a, fb.g))), s: tf.clone(fb.s) };
    });
  } finally {
    disposeForwardBackward(fb);
  }
  const { packed, s } = computed;
  let data: Float32Array;
  let scores: Float32Array;
  try {
    [data, scores] = (await Promise.all([packed.data(), s.data()])) as [Float32Array, Float32Array];
  } finally {
    packed.dispose();
    s.dispose();
  }
  const b = scores.length;
  const hw = h * w;
  /** method mi, image img (0, 1) of pair bi, direction dir (0 factual, 1 counterfactual) */
  const slice = (mi: number, img: number, dir: number, bi: number) => {
    const off = ((mi * 2 + dir) * 2 * b + img * b + bi) * hw;
    return data.slice(off, off + hw);
  };
  const out = {} as Record<GradientCamMethod, PairExplanation[]>;
  methods.forEach((m, mi) => {
    const perPair: PairExplanation[] = [];
    for (let bi = 0; bi < b; bi++) {
      perPair.push({
        method: m,
        layer: model.layer,
        score: scores[bi],
        counterfactualDefined: true,
        images: [
          imageExplanation(slice(mi, 0, 0, bi), slice(mi, 0, 1, bi), h, w, opts.keepRaw ?? false),
          imageExplanation(slice(mi, 1, 0, bi), slice(mi, 1, 1, bi), h, w, opts.keepRaw ?? false),
        ],
      });
    }
    out[m] = perPair;
  });
  return out;
}

/** Factual + counterfactual Grad-CAM (or another gradient method) of one pair [1, H, W, C]. */
export async function gradCamPair(
  model: CamModel,
  x1: tf.Tensor4D,
  x2: tf.Tensor4D,
  opts: Pick<ExplainOptions, 'keepRaw'> & { method?: GradientCamMethod } = {},
): Promise<PairExplanation> {
  const method = opts.method ?? 'gradcam';
  const res = await gradientCams(model, x1, x2, [method], opts);
  return res[method][0];
}

export interface PairGradients {
  /** s per pair [b] */
  score: Float32Array;
  /** [b, h, w, K] each, row-major */
  a1: Float32Array;
  a2: Float32Array;
  g1: Float32Array;
  g2: Float32Array;
  shape: [number, number, number, number];
}

/** The activations and ds/dA of both images as plain arrays (finite-difference checks, exports). */
export async function pairGradients(model: CamModel, x1: tf.Tensor4D, x2: tf.Tensor4D): Promise<PairGradients> {
  const r = await forwardBackward(model, x1, x2);
  try {
    const [score, a, g] = (await Promise.all([r.s.data(), r.a.data(), r.g.data()])) as Float32Array[];
    const [twoB, h, w, k] = r.a.shape;
    const half = (twoB / 2) * h * w * k;
    return {
      score,
      a1: a.slice(0, half),
      a2: a.slice(half),
      g1: g.slice(0, half),
      g2: g.slice(half),
      shape: [twoB / 2, h, w, k],
    };
  } finally {
    disposeForwardBackward(r);
  }
}
