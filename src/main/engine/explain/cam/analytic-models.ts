// Tiny CamModels built from tf ops with fixed weights, whose right explanation is known
// in closed form. Used by the tests (as ground truth) and by the benchmark. Each
// returns a CamModel plus dispose() for its constant tensors.
import * as tf from '@tensorflow/tfjs';
import type { CamModel } from '../cam-model';
import { createRng } from '../../../pairs/rng';

export type DisposableCamModel = CamModel & { dispose(): void };

export type AnalyticScore = { kind: 'dot'; beta: number; gamma: number } | { kind: 'exp'; tau: number };

/** s = sigmoid(beta <e1, e2> + gamma) or exp(-||e1 - e2||^2 / tau), per row. */
export function analyticScore(e1: tf.Tensor2D, e2: tf.Tensor2D, score: AnalyticScore): tf.Tensor1D {
  return tf.tidy(() => {
    if (score.kind === 'dot') return tf.sigmoid(tf.add(tf.mul(tf.sum(tf.mul(e1, e2), 1), score.beta), score.gamma)) as tf.Tensor1D;
    return tf.exp(tf.mul(tf.sum(tf.square(tf.sub(e1, e2)), 1), -1 / score.tau)) as tf.Tensor1D;
  });
}

export interface Region {
  top: number;
  left: number;
  height: number;
  width: number;
}

export interface PointwiseRegionParams {
  /** 1x1 convolution weights [C][K] and bias [K]: A = ReLU(x F + bias). */
  filters: number[][];
  bias: number[];
  /** The head reads ONLY this region of A: e = mean_{(u,v) in region} A[u,v,:] · W. */
  region: Region;
  /** Dense head weights [K][D]. */
  dense: number[][];
  score: AnalyticScore;
}

/**
 * features: A[u,v,k] = ReLU(sum_c x[u,v,c] F[c,k] + bias[k])   (h = H, w = W)
 * head:     e_d = sum_k (mean_{(u,v) in region} A[u,v,k]) W[k,d]
 * score:    analyticScore(e1, e2)
 * So ds/dA_i[u,v,k] = 1[(u,v) in region] / |region| * sum_d W[k,d] ds/de_i,d, which the
 * tests recompute with plain loops.
 */
export function pointwiseRegionModel(p: PointwiseRegionParams): DisposableCamModel {
  const f = tf.tensor4d(p.filters.flat(), [1, 1, p.filters.length, p.bias.length]);
  const bias = tf.tensor1d(p.bias);
  const dense = tf.tensor2d(p.dense);
  const { top, left, height, width } = p.region;
  return {
    layer: 'pointwise',
    features: (x) => tf.tidy(() => tf.relu(tf.add(tf.conv2d(x, f, 1, 'valid'), bias)) as tf.Tensor4D),
    head: (a) =>
      tf.tidy(() => {
        const crop = tf.slice(a, [0, top, left, 0], [-1, height, width, -1]);
        return tf.matMul(tf.mean(crop, [1, 2]) as tf.Tensor2D, dense);
      }),
    score: (e1, e2) => analyticScore(e1, e2, p.score),
    dispose: () => tf.dispose([f, bias, dense]),
  };
}

/**
 * Quadrant model: A[u,v,k] = x[u,v,0] * Q_k[u,v], Q_k the indicator of quadrant k
 * (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right) — a fixed locally-connected
 * layer whose channels are spatially disjoint. The head reads channel 0 only:
 * e = [sum_uv A[u,v,0] / |Q_0|], score = sigmoid(beta e1 e2 + gamma) by default.
 * Everything that matters for s lies in the top-left quadrant of each image; with
 * non-negative inputs every method's factual map must live there.
 */
export function quadrantModel(H: number, W: number, score: AnalyticScore = { kind: 'dot', beta: 4, gamma: -1 }): DisposableCamModel {
  const q = new Float32Array(H * W * 4);
  const h2 = Math.floor(H / 2);
  const w2 = Math.floor(W / 2);
  for (let u = 0; u < H; u++) for (let v = 0; v < W; v++) q[(u * W + v) * 4 + (u < h2 ? 0 : 2) + (v < w2 ? 0 : 1)] = 1;
  const qt = tf.tensor4d(q, [1, H, W, 4]);
  const readout = tf.tensor2d([[1 / (h2 * w2)], [0], [0], [0]]);
  return {
    layer: 'quadrants',
    features: (x) => tf.tidy(() => tf.mul(tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, 1]), qt) as tf.Tensor4D),
    head: (a) => tf.tidy(() => tf.matMul(tf.sum(a, [1, 2]) as tf.Tensor2D, readout)),
    score: (e1, e2) => analyticScore(e1, e2, score),
    dispose: () => tf.dispose([qt, readout]),
  };
}

export interface TinyCnnParams {
  inputChannels?: number;
  /** channels of the target layer */
  k?: number;
  embedding?: number;
  seed?: number;
  tau?: number;
}

/**
 * A small CNN with seeded random weights (not trained): conv3x3(K)+ReLU -> [target layer]
 * -> conv3x3(K)+tanh -> global average pool -> dense(D). Smooth head (tanh), so finite
 * differences of ds/dA are well-behaved. Score exp(-d^2 / tau).
 */
export function tinyCnnModel(p: TinyCnnParams = {}): DisposableCamModel {
  const c = p.inputChannels ?? 1;
  const k = p.k ?? 6;
  const d = p.embedding ?? 4;
  const rng = createRng(p.seed ?? 1, 7);
  const normal = (n: number, sd: number) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const u = Math.max(rng.next(), 1e-12);
      out[i] = sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
    }
    return out;
  };
  const w1 = tf.tensor4d(normal(9 * c * k, Math.sqrt(2 / (9 * c))), [3, 3, c, k]);
  const b1 = tf.tensor1d(normal(k, 0.1));
  const w2 = tf.tensor4d(normal(9 * k * k, Math.sqrt(1 / (9 * k))), [3, 3, k, k]);
  const w3 = tf.tensor2d(normal(k * d, Math.sqrt(1 / k)), [k, d]);
  const tau = p.tau ?? 1;
  return {
    layer: 'conv1',
    features: (x) => tf.tidy(() => tf.relu(tf.add(tf.conv2d(x, w1, 1, 'same'), b1)) as tf.Tensor4D),
    head: (a) => tf.tidy(() => tf.matMul(tf.mean(tf.tanh(tf.conv2d(a, w2, 1, 'same')), [1, 2]) as tf.Tensor2D, w3)),
    score: (e1, e2) => analyticScore(e1, e2, { kind: 'exp', tau }),
    dispose: () => tf.dispose([w1, b1, w2, w3]),
  };
}
