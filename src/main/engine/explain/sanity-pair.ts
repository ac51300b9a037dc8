// The model-randomisation sanity check (Adebayo et al. 2018) of one pair: cascading
// randomisation of a copy of the model from the top, the pair explained after each step
// (metrics/sanity.ts compares the maps). In this thread or as 'explain.sanity' (tasks.ts).
import * as tf from '@tensorflow/tfjs';
import type { Shape3 } from '../data/dataset';
import type { SiameseModel } from '../models/siamese';
import type { CamMethod } from './cam';
import { checkAborted } from './cam/types';
import type { CamModel } from './cam-model';
import { sanityCheck, type SanityStep } from './metrics';
import { toCamModel } from './split-model';

export interface SanityInput {
  /** the pair's two images [2, H, W, C], a then b */
  pixels: Float32Array;
  shape: Shape3;
  method: CamMethod;
  /** randomise at most this many layers (default: all with weights) */
  maxLayers?: number;
  seed?: number;
  maxChannels?: number;
}

export interface SanityResult {
  /** the layers in the order they were randomised (top first) */
  order: string[];
  steps: SanityStep[];
}

/** The layers the sanity check randomises, top first: those with trainable weights, batch norms excepted. */
export function sanityLayers(model: SiameseModel): string[] {
  return model.net.layers
    .filter((l) => l.trainableWeights.length > 0 && l.getClassName() !== 'BatchNormalization')
    .reverse()
    .map((l) => l.name);
}

/**
 * Cascading randomisation from the top of a fresh copy of the model (`loadCopy`, disposed
 * here), explaining the pair at target layer `layer` after each step; `cam` explains the
 * original. Weights are redrawn at their own scale, seeded by (seed, layer, weight).
 */
export async function sanityForPair(
  cam: CamModel,
  loadCopy: () => Promise<SiameseModel>,
  layer: string,
  input: SanityInput,
  opts: { signal?: AbortSignal; onProgress?: (fraction: number) => void } = {},
): Promise<SanityResult> {
  const [H, W, C] = input.shape;
  if (input.pixels.length !== 2 * H * W * C)
    throw new Error(`sanity: expected 2 images of [${input.shape}], got ${input.pixels.length} values`);
  checkAborted(opts.signal);
  const copy = await loadCopy();
  const variables = copy.net.weights;
  let x1: tf.Tensor4D | undefined;
  let x2: tf.Tensor4D | undefined;
  try {
    const names = new Set(sanityLayers(copy));
    const order = copy.net.layers.filter((l) => names.has(l.name)).reverse();
    const top = order.slice(0, input.maxLayers ?? order.length);
    if (top.length === 0) throw new Error('the model has no layer with weights to randomise');
    const camCopy = toCamModel(copy, layer);
    let randomized = 0;
    const seed = input.seed ?? 0;
    const randomizeTop = (n: number) => {
      for (; randomized < n; randomized++) {
        const l = top[randomized];
        const fresh = tf.tidy(() =>
          l.getWeights().map((w, k) => {
            const std = tf.moments(w).variance.sqrt().dataSync()[0];
            // keep constant weights (e.g. zero biases); redraw the others at their own scale
            return std > 0 ? tf.randomNormal(w.shape, 0, std, 'float32', seed * 1000 + randomized * 10 + k) : w.clone();
          }),
        );
        l.setWeights(fresh);
        tf.dispose(fresh);
      }
      return { model: camCopy, label: top[n - 1].name };
    };
    const size = H * W * C;
    x1 = tf.tensor4d(input.pixels.subarray(0, size), [1, H, W, C]);
    x2 = tf.tensor4d(input.pixels.subarray(size, 2 * size), [1, H, W, C]);
    const report = await sanityCheck(
      cam,
      randomizeTop,
      top.map((_, i) => i + 1),
      x1,
      x2,
      input.method,
      { signal: opts.signal, onProgress: opts.onProgress, ...(input.maxChannels !== undefined ? { maxChannels: input.maxChannels } : {}) },
    );
    return { order: top.map((l) => l.name), steps: report.steps };
  } finally {
    tf.dispose([x1, x2].filter((x): x is tf.Tensor4D => x !== undefined));
    copy.dispose();
    // sub-models built on the copy hold extra references to its layers: free what is left
    for (const v of variables) {
      try {
        v.dispose();
      } catch {
        // already disposed with the model
      }
    }
  }
}
