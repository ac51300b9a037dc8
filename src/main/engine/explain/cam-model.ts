// The seam between the Siamese models (engine/models) and the explanation methods
// (engine/explain/cam). A Siamese model split at a target layer L of its shared backbone:
//   x --features--> A = L(x) --head--> e,   s = score(e1, e2)
// CAM methods only need these three functions, so they work the same for the small
// CNN, ResNets, MobileNetV2, a pretrained backbone, and the analytic test models.
//
// The forwards that need no gradient w.r.t. the input (x -> A, x -> e) go through featuresOf,
// forwardOf and embedOf below: on ONNX Runtime when the model has an accelerator (a saved
// version loaded by loadForInference), else features/head in tfjs. The gradient w.r.t. A only
// needs head and score, which always run in tfjs.
import * as tf from '@tensorflow/tfjs';
import type { InferenceAccelerator } from '../models/siamese';

export interface CamModel {
  /** Name of the target layer L. */
  readonly layer: string;
  /** Input [b, H, W, C] in the model's input range -> activations A [b, h, w, K]. */
  features(x: tf.Tensor4D): tf.Tensor4D;
  /** Activations A [b, h, w, K] -> embeddings e [b, D]. Must be differentiable w.r.t. A. */
  head(a: tf.Tensor4D): tf.Tensor2D;
  /** Embeddings e1, e2 [b, D] -> similarity s [b] in [0, 1], differentiable. */
  score(e1: tf.Tensor2D, e2: tf.Tensor2D): tf.Tensor1D;
  /** Runs features(x) and head(features(x)) elsewhere (ONNX Runtime), with the same values. */
  readonly accelerator?: InferenceAccelerator | null;
  /** The accelerator's threads for these calls (default: the thread's, runtime/inference.ts ortThreads()). */
  readonly acceleratorThreads?: number;
}

const callOptions = (model: CamModel) => (model.acceleratorThreads === undefined ? undefined : { threads: model.acceleratorThreads });

/** `model` whose accelerated forwards use `threads` ONNX Runtime threads (same layer, head, score and accelerator). */
export function withAcceleratorThreads(model: CamModel, threads: number): CamModel {
  return {
    layer: model.layer,
    features: (x) => model.features(x),
    head: (a) => model.head(a),
    score: (e1, e2) => model.score(e1, e2),
    get accelerator() {
      return model.accelerator;
    },
    acceleratorThreads: threads,
  };
}

/** A = features(x) [b, h, w, K]; the caller disposes it. */
export async function featuresOf(model: CamModel, x: tf.Tensor4D): Promise<tf.Tensor4D> {
  return (await forwardOf(model, x)).a;
}

/** A = features(x) [b, h, w, K] and e = head(A) [b, D] of one forward; the caller disposes both. */
export async function forwardOf(model: CamModel, x: tf.Tensor4D, withEmbedding = false): Promise<{ a: tf.Tensor4D; e?: tf.Tensor2D }> {
  if (model.accelerator) {
    const out = await model.accelerator.forward(model.layer, (await x.data()) as Float32Array, x.shape, callOptions(model));
    if (out) {
      const a = tf.tensor4d(out.activations.data, out.activations.dims as [number, number, number, number]); // [b, h, w, K]
      if (!withEmbedding) return { a };
      return { a, e: tf.tensor2d(out.embedding, [x.shape[0], out.embedding.length / x.shape[0]]) };
    }
  }
  return tf.tidy(() => {
    const a = model.features(x);
    return withEmbedding ? { a, e: model.head(a) } : { a };
  });
}

/** e = head(features(x)) [b, D]; the caller disposes it. */
export async function embedOf(model: CamModel, x: tf.Tensor4D): Promise<tf.Tensor2D> {
  if (model.accelerator) {
    const e = await model.accelerator.embed((await x.data()) as Float32Array, x.shape, callOptions(model));
    if (e) return tf.tensor2d(e, [x.shape[0], e.length / x.shape[0]]);
  }
  return tf.tidy(() => model.head(model.features(x)));
}

/**
 * What computed a result with `model`: the thread's tfjs backend, "+ort" when its forwards ran
 * on ONNX Runtime (stored with explanations, as the backend was before).
 */
export function computedOn(model: CamModel, tfjsBackend: string | null): string | null {
  return model.accelerator && model.accelerator.fallbackReason === null && tfjsBackend ? `${tfjsBackend}+ort` : tfjsBackend;
}
