// Model-randomisation sanity check (Adebayo et al. 2018): randomise the weights of the
// top n layers (cascading, from the output down) and measure how much the maps change.
// A method whose maps stay rank-correlated with the originals after the model has been
// destroyed is not explaining the model (it draws edges or the input).
import type * as tf from '@tensorflow/tfjs';
import type { CamModel } from '../cam-model';
import { explainPair } from '../cam';
import { checkAborted, type CamMethod, type ExplainOptions, type PairExplanation } from '../cam/types';
import { spearman } from './spearman';

export interface RandomizedModel {
  model: CamModel;
  dispose?: () => void;
  /** e.g. the name of the last randomised layer */
  label?: string;
}

export interface SanityStep {
  layersRandomized: number;
  label: string | null;
  /** Spearman rho of each image's map with the original's; null when undefined (a constant map). */
  factual: [number | null, number | null];
  counterfactual: [number | null, number | null];
  /** rho of |raw factual| maps (Adebayo et al. also report absolute values) */
  absRaw: [number | null, number | null];
}

export interface SanityReport {
  method: CamMethod;
  original: PairExplanation;
  steps: SanityStep[];
}

const abs = (xs: Float32Array) => xs.map((v) => Math.abs(v));

/**
 * randomizeTop(n) returns the model with its top n layers re-initialised (the caller owns
 * the layer list and the seed); it is disposed after use when it has dispose().
 */
export async function sanityCheck(
  model: CamModel,
  randomizeTop: (n: number) => Promise<RandomizedModel> | RandomizedModel,
  steps: readonly number[],
  x1: tf.Tensor4D,
  x2: tf.Tensor4D,
  method: CamMethod,
  opts: ExplainOptions = {},
): Promise<SanityReport> {
  const inner: ExplainOptions = { ...opts, keepRaw: true, onProgress: undefined };
  const original = await explainPair(model, x1, x2, method, inner);
  const out: SanityStep[] = [];
  for (let si = 0; si < steps.length; si++) {
    checkAborted(opts.signal);
    const n = steps[si];
    const r = await randomizeTop(n);
    try {
      const e = await explainPair(r.model, x1, x2, method, inner);
      const pair = <T>(f: (i: 0 | 1) => T): [T, T] => [f(0), f(1)];
      out.push({
        layersRandomized: n,
        label: r.label ?? null,
        factual: pair((i) => spearman(original.images[i].factual, e.images[i].factual)),
        counterfactual: pair((i) => {
          const a = original.images[i].counterfactual;
          const b = e.images[i].counterfactual;
          return a && b ? spearman(a, b) : null;
        }),
        absRaw: pair((i) => spearman(abs(original.images[i].raw!.factual), abs(e.images[i].raw!.factual))),
      });
    } finally {
      r.dispose?.();
    }
    opts.onProgress?.((si + 1) / steps.length);
  }
  return { method, original, steps: out };
}
