// The second derivative a mask loss needs, checked on the backend in use by central finite
// differences before a retraining relies on it. The maps reach the weights ABOVE the gradient
// layer G (split.ts) only through the Grad-CAM weights alpha = f(ds/dG), i.e. through a gradient of
// a gradient. The check differentiates a smooth probe of the maps, f = sum_i <R_i, W_i> (R the raw
// map before its ReLU, W fixed seeded positive weights), along random unit directions v of those weights:
//
//   analytic  = <df / d theta_head, v>                    (tf.variableGrads around the inner tf.grad)
//   numeric   = (f(theta + eps v) - f(theta - eps v)) / (2 eps)
//
// and they must agree for every direction (the probe leaves out the loss's own kinks, ReLU(R) and
// max(M), which only add first-order ops). Then the gradient of the real mask loss is computed
// once, so a kernel missing from its first-order part is caught too. A backend that lacks a kernel
// throws (reported, with the kernel's name, as the reason to fall back); one that computes the
// second derivative wrongly disagrees.
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../../../pairs/rng';
import type { SiameseModel } from '../../models/siamese';
import { pairMaskLosses, pairRawMaps, maskTensor, type MaskBatch, type MaskLossOptions } from './step';
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
  /** the directional derivative of the map probe (the worst of the directions checked): analytic and the closest central difference (null when failed before) */
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
const EPSILONS = [1e-2, 3e-3, 1e-3, 3e-2];
/** random directions checked */
const DIRECTIONS = 2;

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
  const [mh, mw] = split.mapShape;
  const m = batch.mask.index.length;
  const rng = createRng(seed, 0x5ec0);
  const weights = Float32Array.from({ length: m * mh * mw }, () => 0.5 + rng.next()); // W [m, h, w] in [0.5, 1.5): no cancelling
  const probe = (): tf.Scalar =>
    tf.tidy(() => {
      const x = tf.tensor4d(batch.images, [batch.count, h, w, c]);
      const raw = pairRawMaps(split, model.tau, split.features(x, false), batch.mask.index, false); // [m, h, w]
      return tf.sum(tf.mul(raw, tf.tensor3d(weights, [m, mh, mw]))) as tf.Scalar;
    });
  const lossTerm = (): tf.Scalar =>
    tf.tidy(() => {
      const x = tf.tensor4d(batch.images, [batch.count, h, w, c]);
      const masks = maskTensor(batch.mask, h, w);
      return tf.sum(pairMaskLosses(split, model.tau, split.features(x, false), batch.mask.index, masks, opts, false)) as tf.Scalar;
    });
  const originals = vars.map((v) => v.clone());
  const directions = Array.from({ length: DIRECTIONS }, () =>
    tf.tidy(() => {
      const raw = vars.map((v) =>
        tf.tensor(
          Float32Array.from({ length: v.size }, () => gaussian(rng)),
          v.shape,
        ),
      );
      const norm = tf.sqrt(tf.addN(raw.map((r) => tf.sum(tf.square(r)))));
      return raw.map((r) => tf.div(r, norm));
    }),
  );
  const at = (direction: tf.Tensor[], eps: number): number => {
    vars.forEach((v, i) => {
      const moved = tf.tidy(() => tf.add(originals[i], tf.mul(direction[i], eps)));
      v.assign(moved); // the variable takes its own reference
      moved.dispose();
    });
    const t = probe();
    const out = t.dataSync()[0];
    t.dispose();
    return out;
  };
  try {
    const analytics: number[] = [];
    try {
      const { value, grads } = tf.variableGrads(probe, vars);
      for (const direction of directions)
        analytics.push(
          tf.tidy(() => tf.addN(vars.map((v, i) => tf.sum(tf.mul(grads[v.name] ?? tf.zerosLike(v), direction[i])))).dataSync()[0]),
        );
      tf.dispose([value, ...Object.values(grads)]);
      // the real loss's gradient: every kernel it needs exists here
      const real = tf.variableGrads(lossTerm, vars);
      tf.dispose([real.value, ...Object.values(real.grads)]);
    } catch (error) {
      return fail(`the ${tf.getBackend()} backend cannot differentiate the map's gradient: ${(error as Error).message}`);
    }
    let worst: { analytic: number; numeric: number; eps: number; err: number } | null = null;
    directions.forEach((direction, d) => {
      let best: { numeric: number; eps: number; err: number } | null = null;
      for (const eps of EPSILONS) {
        const numeric = (at(direction, eps) - at(direction, -eps)) / (2 * eps);
        const err = relErr(analytics[d], numeric);
        if (!best || err < best.err) best = { numeric, eps, err };
        if (err <= CHECK_TOLERANCE) break;
      }
      if (!worst || best!.err > worst.err) worst = { analytic: analytics[d], ...best! };
    });
    const w0 = worst as { analytic: number; numeric: number; eps: number; err: number } | null;
    if (!w0 || !Number.isFinite(w0.analytic) || !Number.isFinite(w0.numeric))
      return fail('the derivatives are not finite', w0?.analytic ?? null, w0?.numeric ?? null, w0?.eps ?? null);
    const ok = w0.err <= CHECK_TOLERANCE;
    return {
      ...base,
      ok,
      analytic: w0.analytic,
      numeric: w0.numeric,
      eps: w0.eps,
      relativeError: w0.err,
      ...(ok
        ? {}
        : {
            error: `on ${tf.getBackend()} the second derivative disagrees with finite differences (${w0.analytic.toExponential(4)} vs ${w0.numeric.toExponential(4)})`,
          }),
      ms: Date.now() - t0,
    };
  } finally {
    vars.forEach((v, i) => v.assign(originals[i]));
    tf.dispose([...originals, ...directions.flat()]);
  }
}

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-8);

function gaussian(rng: { next(): number }): number {
  const u = Math.max(1e-12, rng.next());
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}
