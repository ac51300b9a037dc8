// The seam between the Siamese models (engine/models) and the explanation methods
// (engine/explain/cam). A Siamese model split at a target layer L of its shared backbone:
//   x --features--> A = L(x) --head--> e,   s = score(e1, e2)
// CAM methods only need these three functions, so they work the same for the small
// CNN, ResNets, MobileNetV2, a pretrained backbone, and the analytic test models.
import type * as tf from '@tensorflow/tfjs';

export interface CamModel {
  /** Name of the target layer L. */
  readonly layer: string;
  /** Input [b, H, W, C] in the model's input range -> activations A [b, h, w, K]. */
  features(x: tf.Tensor4D): tf.Tensor4D;
  /** Activations A [b, h, w, K] -> embeddings e [b, D]. Must be differentiable w.r.t. A. */
  head(a: tf.Tensor4D): tf.Tensor2D;
  /** Embeddings e1, e2 [b, D] -> similarity s [b] in [0, 1], differentiable. */
  score(e1: tf.Tensor2D, e2: tf.Tensor2D): tf.Tensor1D;
}
