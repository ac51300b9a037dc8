// The second derivative a mask loss needs, checked on the backend in use by central finite
// differences before a retraining relies on it. The mask term reaches the weights ABOVE the
// gradient layer G (split.ts) only through the Grad-CAM weights alpha = f(ds/dG), i.e. through a
// gradient of a gradient; so the directional derivative of the mask term along a random unit
// direction v of those weights,
//
//   analytic  = <d maskTerm / d theta_head, v>           (tf.variableGrads around the inner tf.grad)
//   numeric   = (maskTerm(theta + eps v) - maskTerm(theta - eps v)) / (2 eps)
//
// must agree. A backend that lacks a kernel for that second derivative throws (reported, with the
// kernel's name, as the reason to fall back); one that computes it wrongly disagrees.
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../../../pairs/rng';
import type { SiameseModel } from '../../models/siamese';
import { pairMaskLosses, maskTensor, type MaskBatch, type MaskLossOptions } from './step';
import type { MapSplit } from './split';

export interface SecondDerivativeCheck {
  backend: string;
  ok: boolean;
  /** the map layer L and the layer the score was differentiated against */
  layer: string;
  gradLayer: string;
  /** the layers differentiated twice (class names) */
  doubleDiffLayers: string[];
  /** weights the direction spans (those above G) */
  parameters: number;
  /** directional derivatives: analytic and the central difference closest to it (null when failed before) */
  analytic: number | null;
  numeric: number | null;
  eps: number | null;
  /** |analytic - numeric| / max(|analytic|, |numeric|, 1e-8) */
  relativeError: number | null;
  /** why the check failed (a missing kernel, a disagreement) */
  error?: string;
  ms: number;
}

/** Relative tolerance of the check (float32 central differences through ReLU kinks). */
export const CHECK_TOLERANCE = 0.05;
const EPSILONS = [1e-2, 3e-3, 1e-3, 3e-4];

/**
 * Checks d(mask term)/d(head weights) against central differences on `batch` (explicit pairs with
 * masks), for the loss of `opts`. Restores the weights; leaves no tensors behind. Never throws:
 * a failure is reported in the result.
 */
export function checkSecondDerivative(
  model: SiameseModel,
  split: MapSplit,
  batch: { images: Float32Array; count: number; mask: MaskBatch },
  opts: Pick<MaskLossOptions, 'kind' | 'maps'>,
  seed = 0,
): SecondDerivativeCheck {
  const t0 = Date.now();
  const vars = split.headVariables;
  const base = {
    backend: tf.getBackend(),
    layer: split.layer,
    gradLayer: split.gradLayer,
    doubleDiffLayers: split.doubleDiffLayers,
    parameters: vars.reduce((n, v) => n + v.size, 0),
  };
  const [h, w, c] = model.config.inputShape;
  const fail = (error: string, analytic: number | null = null, numeric: number | null = null, eps: number | null = null) => ({
    ...base,
    ok: false,
    analytic,
    numeric,
    eps,
    relativeError: analytic !== null && numeric !== null ? relErr(analytic, numeric) : null,
    error,
    ms: Date.now() - t0,
  });
  if (vars.length === 0) return fail(`no trainable weights above ${split.gradLayer}`);
  if (batch.mask.index.length === 0) return fail('no masked image in the check batch');
  // training = false: the same function at every evaluation (no batch statistics)
  const term = (): tf.Scalar =>
    tf.tidy(() => {
      const x = tf.tensor4d(batch.images, [batch.count, h, w, c]);
      const masks = maskTensor(batch.mask, h, w);
      const a = split.features(x, false);
      return tf.sum(pairMaskLosses(split, model.tau, a, batch.mask.index, masks, opts, false)) as tf.Scalar;
    });
  const rng = createRng(seed, 0x5ec0);
  const originals = vars.map((v) => v.clone());
  const direction = tf.tidy(() => {
    const raw = vars.map((v) =>
      tf.tensor(
        Float32Array.from({ length: v.size }, () => gaussian(rng)),
        v.shape,
      ),
    );
    const norm = tf.sqrt(tf.addN(raw.map((r) => tf.sum(tf.square(r)))));
    return raw.map((r) => tf.div(r, norm));
  });
  try {
    let analytic: number;
    try {
      const { value, grads } = tf.variableGrads(term, vars);
      analytic = tf.tidy(() => tf.addN(vars.map((v, i) => tf.sum(tf.mul(grads[v.name] ?? tf.zerosLike(v), direction[i])))).dataSync()[0]);
      tf.dispose([value, ...Object.values(grads)]);
    } catch (error) {
      return fail(`the ${tf.getBackend()} backend cannot differentiate the map's gradient: ${(error as Error).message}`);
    }
    const at = (eps: number): number => {
      vars.forEach((v, i) => {
        const moved = tf.tidy(() => tf.add(originals[i], tf.mul(direction[i], eps)));
        v.assign(moved); // the variable takes its own reference
        moved.dispose();
      });
      const t = term();
      const out = t.dataSync()[0];
      t.dispose();
      return out;
    };
    let best: { numeric: number; eps: number; err: number } | null = null;
    for (const eps of EPSILONS) {
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      const err = relErr(analytic, numeric);
      if (!best || err < best.err) best = { numeric, eps, err };
      if (err <= CHECK_TOLERANCE) break;
    }
    if (!Number.isFinite(analytic) || !best || !Number.isFinite(best.numeric))
      return fail('the derivatives are not finite', analytic, best?.numeric ?? null, best?.eps ?? null);
    const ok = best.err <= CHECK_TOLERANCE || Math.max(Math.abs(analytic), Math.abs(best.numeric)) < 1e-7;
    return {
      ...base,
      ok,
      analytic,
      numeric: best.numeric,
      eps: best.eps,
      relativeError: best.err,
      ...(ok
        ? {}
        : {
            error: `on ${tf.getBackend()} the second derivative disagrees with finite differences (${analytic.toExponential(4)} vs ${best.numeric.toExponential(4)})`,
          }),
      ms: Date.now() - t0,
    };
  } finally {
    vars.forEach((v, i) => v.assign(originals[i]));
    tf.dispose([...originals, ...direction]);
  }
}

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-8);

function gaussian(rng: { next(): number }): number {
  const u = Math.max(1e-12, rng.next());
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}
