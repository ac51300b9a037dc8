// The similarity score of a pair, from the L2 distance of its two embeddings.
//
//   d² = ||e1 - e2||²            (squared Euclidean distance, no sqrt)
//   s  = exp(-d² / τ)            τ = (m / 2)² by default, m = the contrastive margin
//
// Why this form:
// - bounded: s ∈ (0, 1], s = 1 exactly when e1 = e2, s → 0 as d → ∞;
// - differentiable everywhere, including at d = 0 (it needs d², not d, so there is
//   no sqrt whose gradient blows up for identical embeddings) — Grad-CAM
//   differentiates s w.r.t. the activations;
// - monotone in d, so ROC AUC and any threshold on s are the same as on d;
// - tied to the margin: with τ = (m/2)², a pair at half the margin (d = m/2) scores
//   e^-1 ≈ 0.368 and a pair at the margin (d = m, where the contrastive loss stops
//   pushing negatives) scores e^-4 ≈ 0.018. With the default m = 2, τ = 1: s = exp(-d²).
// The decision threshold is not fixed at 0.5: evaluation picks it on validation.
import * as tf from '@tensorflow/tfjs';

export const DEFAULT_MARGIN = 2.0;

/** τ = (margin / 2)², the default temperature of the score. */
export function defaultTau(margin = DEFAULT_MARGIN): number {
  return (margin / 2) ** 2;
}

/** Squared L2 distance per row: e1, e2 [b, D] -> d² [b]. */
export function squaredDistance(e1: tf.Tensor2D, e2: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tf.square(tf.sub(e1, e2)), 1) as tf.Tensor1D);
}

/** s = exp(-d² / τ), elementwise over [b]. */
export function scoreFromSquaredDistance(d2: tf.Tensor1D, tau: number): tf.Tensor1D {
  if (!(tau > 0)) throw new Error(`score temperature must be > 0, got ${tau}`);
  return tf.tidy(() => tf.exp(tf.mul(d2, -1 / tau)) as tf.Tensor1D);
}

/** Score of embedding pairs: e1, e2 [b, D] -> s [b] in (0, 1]. */
export function pairScore(e1: tf.Tensor2D, e2: tf.Tensor2D, tau: number): tf.Tensor1D {
  return tf.tidy(() => scoreFromSquaredDistance(squaredDistance(e1, e2), tau));
}

/** The same formula on plain numbers (for stored distances, thresholds, tests). */
export function scoreFromDistance(d: number, tau: number): number {
  return Math.exp(-(d * d) / tau);
}

/** Inverse: the distance that gives score s (s in (0, 1]). */
export function distanceFromScore(s: number, tau: number): number {
  return Math.sqrt(-tau * Math.log(s));
}
