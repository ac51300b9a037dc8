// The registry of explanation methods for a pair: explainPair(model, x1, x2, method, opts).
import type * as tf from '@tensorflow/tfjs';
import type { CamModel } from '../cam-model';
import { gradientCams } from './gradcam';
import { occlusionPair, risePair } from './occlusion';
import { scoreCamPair } from './scorecam';
import {
  CAM_METHODS,
  GRADIENT_CAM_METHODS,
  type CamMethod,
  type ExplainOptions,
  type GradientCamMethod,
  type PairExplanation,
} from './types';

export function isCamMethod(m: string): m is CamMethod {
  return (CAM_METHODS as readonly string[]).includes(m);
}

export function isGradientMethod(m: CamMethod): m is GradientCamMethod {
  return (GRADIENT_CAM_METHODS as readonly string[]).includes(m);
}

/**
 * Explain one pair x1, x2 [1, H, W, C] with `method`. The inputs are not disposed.
 * Gradient methods: one forward + one backward. Perturbation methods: many forwards,
 * batched; honour opts.signal (throws its reason) and report opts.onProgress.
 */
export async function explainPair(
  model: CamModel,
  x1: tf.Tensor4D,
  x2: tf.Tensor4D,
  method: CamMethod,
  opts: ExplainOptions = {},
): Promise<PairExplanation> {
  if (x1.shape[0] !== 1 || x2.shape[0] !== 1) throw new Error(`explainPair takes one pair ([1, H, W, C]); use gradientCams for a batch`);
  if (isGradientMethod(method)) {
    const res = await gradientCams(model, x1, x2, [method], opts);
    opts.onProgress?.(1);
    return res[method][0];
  }
  switch (method) {
    case 'scorecam':
      return scoreCamPair(model, x1, x2, opts);
    case 'occlusion':
      return occlusionPair(model, x1, x2, opts);
    case 'rise':
      return risePair(model, x1, x2, opts);
    default: {
      const never: never = method;
      throw new Error(`unknown explanation method ${String(never)}`);
    }
  }
}
