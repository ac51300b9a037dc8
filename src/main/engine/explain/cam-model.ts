// The seam between the Siamese models (engine/models) and the explanation methods
// (engine/explain/cam). A Siamese model split at a target layer L of its shared backbone:
//   x --features--> A = L(x) --head--> e,   s = score(e1, e2)
// CAM methods only need these three functions, so they work the same for the small
// CNN, ResNets, MobileNetV2, a pretrained backbone, and the analytic test models.
//
// The forwards that need no gradient w.r.t. the input (x -> A, x -> e) go through featuresOf,
// forwardOf, embedOf and acceleratedPairActivations below: on ONNX Runtime when the model has an accelerator (a saved
// version loaded by loadForInference), else features/head in tfjs. The gradient w.r.t. A only
// needs head and score, which always run in tfjs.
import * as tf from '@tensorflow/tfjs';
import type { Shape3 } from '../data/dataset';
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

/** Pairs as indices into a set of images: the input of every pair explanation. */
export interface PairImages {
  shape: Shape3;
  /** [count, H, W, C] floats in [0, 1], image after image */
  pixels: Float32Array;
  /** pairs: indices into the images */
  a: Int32Array;
  b: Int32Array;
}

/** `count` rows of `size` floats of `from`, row `rows[k]` of it in row k. */
function gatherRows(from: Float32Array, rows: readonly number[], size: number): Float32Array {
  const out = new Float32Array(rows.length * size);
  rows.forEach((r, k) => out.set(from.subarray(r * size, (r + 1) * size), k * size));
  return out;
}

/** The images of pairs [start, end) as two [end - start, H, W, C] tensors. Dispose them. */
export function pairTensors(batch: PairImages, start: number, end: number): [tf.Tensor4D, tf.Tensor4D] {
  const [H, W, C] = batch.shape;
  const size = H * W * C;
  const n = end - start;
  const x1 = gatherRows(batch.pixels, Array.from(batch.a.subarray(start, end)), size);
  const x2 = gatherRows(batch.pixels, Array.from(batch.b.subarray(start, end)), size);
  return [tf.tensor4d(x1, [n, H, W, C]), tf.tensor4d(x2, [n, H, W, C])];
}

/**
 * The activations A [2b, h, w, K] of b pairs' images on the model's accelerator: image 1 of pair
 * i in row i, image 2 in row b + i. Each distinct image goes through the network once, straight
 * from the pixel rows, with no pixel tensor made and read back. (For 4 ResNet50 pairs that was
 * 9.6 MB of copies whose garbage had V8 mark its heap after every batch: V8's helper threads
 * spent 25-30 ms of CPU per batch, 12-15 without them, on a machine whose cores ONNX Runtime
 * keeps busy.) The pixels themselves are the input when they are the distinct images in order
 * of first use, as subBatch makes them.
 * null when the model has no accelerator or it declines (the caller runs features() in tfjs).
 */
export async function acceleratedPairActivations(model: CamModel, images: PairImages): Promise<tf.Tensor4D | null> {
  if (!model.accelerator) return null;
  const { shape, pixels, a, b } = images;
  const size = shape[0] * shape[1] * shape[2];
  const rows = [...a, ...b]; // the image of each activation row
  const slot = new Map<number, number>(); // image -> its row in the accelerator's input
  const distinct: number[] = [];
  for (const image of rows) {
    if (slot.has(image)) continue;
    slot.set(image, distinct.length);
    distinct.push(image);
  }
  const asGiven = distinct.length * size === pixels.length && distinct.every((image, k) => image === k);
  const input = asGiven ? pixels : gatherRows(pixels, distinct, size);
  const out = await model.accelerator.forward(model.layer, input, [distinct.length, ...shape], callOptions(model));
  if (!out) return null;
  const [, h, w, k] = out.activations.dims;
  // no image repeated: `distinct` is `rows`, so the output rows are already the pairs' rows
  const data =
    distinct.length === rows.length
      ? out.activations.data
      : gatherRows(
          out.activations.data,
          rows.map((image) => slot.get(image)!),
          h * w * k,
        );
  return tf.tensor4d(data, [rows.length, h, w, k]);
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
