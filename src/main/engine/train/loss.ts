// Contrastive loss (Hadsell, Chopra, LeCun 2006), label y = 1 for "same":
//   L = y · d² + (1 − y) · max(0, m − d)²,   averaged over the batch.
// d = sqrt(d² + ε) in the hinge term only: the sqrt's gradient 1/(2d) is infinite at
// d = 0 (two identical embeddings of a negative pair), ε keeps it finite. The positive
// term uses d² directly, so it is exact.
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_MARGIN, squaredDistance } from '../models/score';

export const DISTANCE_EPSILON = 1e-9;

/** Per-pair loss from squared distances d² [b] and labels y [b] (1 = same, 0 = different). */
export function contrastiveLossPerPair(d2: tf.Tensor1D, y: tf.Tensor1D, margin = DEFAULT_MARGIN, eps = DISTANCE_EPSILON): tf.Tensor1D {
  return tf.tidy(() => {
    const yf = tf.cast(y, 'float32');
    const d = tf.sqrt(tf.add(d2, eps));
    const hinge = tf.relu(tf.sub(margin, d));
    const pos = tf.mul(yf, d2);
    const neg = tf.mul(tf.sub(1, yf), tf.square(hinge));
    return tf.add(pos, neg) as tf.Tensor1D;
  });
}

/** Mean contrastive loss over a batch of embedding pairs e1, e2 [b, D]. */
export function contrastiveLoss(
  e1: tf.Tensor2D,
  e2: tf.Tensor2D,
  y: tf.Tensor1D,
  margin = DEFAULT_MARGIN,
  eps = DISTANCE_EPSILON,
): tf.Scalar {
  return tf.tidy(() => tf.mean(contrastiveLossPerPair(squaredDistance(e1, e2), y, margin, eps)) as tf.Scalar);
}
