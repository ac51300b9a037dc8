// One training step of mask-guided retraining on EXPLICIT pairs (images [a(k); b(k)], pair i =
// (i, k + i)): each image belongs to one pair only, so its Grad-CAM map is that of ITS OWN pair's
// score. The loss
//
//   L = mean_pairs contrastive(e_a, e_b, y)  +  scale * sum over the masked images of maskLoss(M_i, mask_i)
//
// with scale = lambda / (masked images of the whole batch) (a data-parallel share rescales it, see
// data-parallel.ts sliceShare), so pairs whose images have no mask keep the contrastive loss only.
// M_i is the factual Grad-CAM map at the map layer L (what the review view shows):
//
//   g = ds/dG (closed-form ds/de through the head's vector-Jacobian product, split.ts),  alpha = split.alpha(g)  [n, K],
//   M = ReLU(sum_k alpha_k A_k)  [m, h, w]   (maps: 'both' adds the counterfactual ReLU(-sum ...))
//
// and tf.variableGrads differentiates L through M: through A (first derivatives of the layers up
// to L) and through alpha (the second derivative of the head above G; split.ts). Only the masked
// images' rows are taken, by a product with a constant one-hot matrix (its gradient is a matMul on
// every backend, unlike gather's).
import * as tf from '@tensorflow/tfjs';
import { contrastiveLoss } from '../loss';
import type { SiameseModel } from '../../models/siamese';
import { maskLossPerImage, type MaskLossKind } from './loss';
import type { MapSplit } from './split';

/** The masks of a batch's images (only those that have one). */
export interface MaskBatch {
  /** [m] slot of each masked image in the batch's images */
  index: Int32Array;
  /** [m, H, W] the masks at the input's size, 0..255 (255 = inside) */
  masks: Uint8Array;
  /** factor of the SUM of the masked images' losses in the step's loss */
  scale: number;
}

/** What the mask term looks at. */
export type MapTarget = 'factual' | 'both';

export interface MaskLossOptions {
  kind: MaskLossKind;
  /** 'factual': the map of s (default); 'both': also the counterfactual map (of 1 - s) */
  maps: MapTarget;
  margin: number;
}

/** A step's loss and its parts. */
export interface StepParts {
  contrastive: number;
  /** the scaled mask term (0 without masked images) */
  mask: number;
}

/** Masks [m, H, W] as floats in [0, 1]. */
export function maskTensor(mask: MaskBatch, H: number, W: number): tf.Tensor3D {
  const m = mask.index.length;
  if (mask.masks.length !== m * H * W) throw new Error(`mask batch: ${mask.masks.length} values for ${m} masks of ${H}x${W}`);
  return tf.tidy(() => tf.div(tf.tensor3d(mask.masks, [m, H, W], 'int32'), 255) as tf.Tensor3D);
}

/**
 * The raw Grad-CAM maps R = sum_k alpha_k A_k [m, h, w] (factual = ReLU(R), counterfactual =
 * ReLU(-R)) of the images `index` of explicit pairs [a(k); b(k)], from their activations a at the
 * map layer, each with its own pair's score. Call inside a tape to differentiate; inside tf.tidy
 * otherwise.
 */
export function pairRawMaps(
  split: MapSplit,
  tau: number,
  a: tf.Tensor4D,
  index: Int32Array,
  training: boolean,
  e?: tf.Tensor2D,
): tf.Tensor3D {
  const n = a.shape[0];
  const k = n / 2;
  const [h, w, K] = split.mapShape;
  const m = index.length;
  const g = split.pool(a);
  const emb = e ?? split.head(g, training); // [n, D]
  // ds/de in closed form: s = exp(-|e1 - e2|² / tau), ds/de1 = -2 s (e1 - e2) / tau = -ds/de2
  const [e1, e2] = tf.split(emb, [k, k], 0) as [tf.Tensor2D, tf.Tensor2D];
  const diff = tf.sub(e1, e2); // [k, D]
  const s = tf.exp(tf.div(tf.neg(tf.sum(tf.square(diff), 1, true)), tau)); // [k, 1]
  const de1 = tf.mul(tf.mul(s, -2 / tau), diff); // [k, D]
  // ds/dG of each image: its own pair's score (one pair per image)
  const grad = split.vjp(g, tf.concat([de1, tf.neg(de1)], 0) as tf.Tensor2D, training);
  const alpha = split.alpha(grad); // [n, K]
  const pick = tf.oneHot(tf.tensor1d(index, 'int32'), n).toFloat() as tf.Tensor2D; // [m, n], constant
  const alphaSel = tf.matMul(pick, alpha); // [m, K]
  const aSel = tf.reshape(tf.matMul(pick, tf.reshape(a, [n, h * w * K]) as tf.Tensor2D), [m, h, w, K]);
  return tf.sum(tf.mul(aSel, tf.reshape(alphaSel, [m, 1, 1, K])), -1) as tf.Tensor3D; // [m, h, w]
}

/**
 * Per-image mask losses [m] of the images `index` of x (explicit pairs [a(k); b(k)]), with the
 * model's current weights. Call inside a tape to differentiate; inside tf.tidy otherwise.
 */
export function pairMaskLosses(
  split: MapSplit,
  tau: number,
  a: tf.Tensor4D,
  index: Int32Array,
  masks: tf.Tensor3D,
  opts: Pick<MaskLossOptions, 'kind' | 'maps'>,
  training: boolean,
  e?: tf.Tensor2D,
): tf.Tensor1D {
  const raw = pairRawMaps(split, tau, a, index, training, e);
  let losses = maskLossPerImage(opts.kind, tf.relu(raw), masks);
  if (opts.maps === 'both') losses = tf.add(losses, maskLossPerImage(opts.kind, tf.relu(tf.neg(raw)), masks));
  return losses;
}

/**
 * The step's loss on explicit pairs: images [2k, H, W, C], labels [k], and the masks of some of the
 * images. Returns the total (a scalar to differentiate) and its parts as kept scalars (the caller
 * disposes them). Call inside tf.variableGrads.
 */
export function pairStepLoss(
  model: SiameseModel,
  split: MapSplit,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  mask: MaskBatch | undefined,
  opts: MaskLossOptions,
): { total: tf.Scalar; parts: { contrastive: tf.Scalar; mask: tf.Scalar } } {
  const n = x.shape[0];
  const k = y.shape[0];
  if (n !== 2 * k) throw new Error(`mask-guided steps take explicit pairs: ${n} images for ${k} pairs`);
  const a = split.features(x, true); // [2k, h, w, K]
  const e = split.head(split.pool(a), true); // [2k, D]
  const [e1, e2] = tf.split(e, [k, k], 0) as [tf.Tensor2D, tf.Tensor2D];
  const contrastive = contrastiveLoss(e1, e2, y, opts.margin);
  let maskTerm: tf.Scalar = tf.scalar(0);
  if (mask && mask.index.length > 0) {
    const [H, W] = model.config.inputShape;
    const losses = pairMaskLosses(split, model.tau, a, mask.index, maskTensor(mask, H, W), opts, true, e);
    maskTerm = tf.mul(tf.sum(losses), mask.scale) as tf.Scalar;
  }
  const total = tf.add(contrastive, maskTerm) as tf.Scalar;
  return { total, parts: { contrastive: tf.keep(contrastive.clone()), mask: tf.keep(maskTerm.clone()) } };
}

/**
 * Gradients of the step's loss w.r.t. `vars` (tf.variableGrads), in the order of `vars`, with the
 * loss and its parts read back; `input` replaces the images as what `split.features` takes. The
 * caller disposes the gradients.
 */
export function pairStepGradients(
  model: SiameseModel,
  split: MapSplit,
  vars: tf.Variable[],
  batch: { images: Float32Array; count: number; labels: Float32Array; mask?: MaskBatch },
  opts: MaskLossOptions,
  input?: { data: Float32Array; shape: number[] },
): { loss: number; parts: StepParts; grads: tf.Tensor[] } {
  const [h, w, c] = model.config.inputShape;
  let parts: { contrastive: tf.Scalar; mask: tf.Scalar } | undefined;
  const { value, grads } = tf.variableGrads(() => {
    // `input`: what split.features() takes instead of the images (frozen features, frozen-features.ts)
    const shape = (input ? input.shape : [batch.count, h, w, c]) as [number, number, number, number]; // [n, h', w', k']
    const x = tf.tensor4d(input ? input.data : batch.images, shape);
    const y = tf.tensor1d(batch.labels, 'float32');
    const out = pairStepLoss(model, split, x, y, batch.mask, opts);
    parts = out.parts;
    return out.total;
  }, vars);
  try {
    const ordered = vars.map((v) => grads[v.name] ?? tf.zerosLike(v));
    const loss = value.dataSync()[0];
    const read = { contrastive: parts!.contrastive.dataSync()[0], mask: parts!.mask.dataSync()[0] };
    // grads not in `ordered` (none expected) are freed below
    const keep = new Set(ordered);
    tf.dispose(Object.values(grads).filter((g) => !keep.has(g)));
    return { loss, parts: read, grads: ordered };
  } finally {
    tf.dispose([value, ...(parts ? [parts.contrastive, parts.mask] : [])]);
  }
}

/** The step's loss and its parts without gradients (weights as they are; tests, checks). */
export function pairStepLossValue(
  model: SiameseModel,
  split: MapSplit,
  batch: { images: Float32Array; count: number; labels: Float32Array; mask?: MaskBatch },
  opts: MaskLossOptions,
): { loss: number; parts: StepParts } {
  const [h, w, c] = model.config.inputShape;
  const out = tf.tidy(() => {
    const x = tf.tensor4d(batch.images, [batch.count, h, w, c]);
    const y = tf.tensor1d(batch.labels, 'float32');
    const r = pairStepLoss(model, split, x, y, batch.mask, opts);
    return [r.total, r.parts.contrastive, r.parts.mask];
  });
  const [loss, contrastive, mask] = out.map((t) => t.dataSync()[0]);
  tf.dispose(out);
  return { loss, parts: { contrastive, mask } };
}
