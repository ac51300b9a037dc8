// The single-thread step runner of mask-guided retraining (trainer.ts localStepRunner's twin):
// explicit-pair batches, the contrastive loss plus the mask term of the batch's masked images
// (step.ts), Adam. With freezeBelow only the weights above the map layer train.
import * as tf from '@tensorflow/tfjs';
import { scorePairs } from '../../evaluate/evaluate';
import type { SiameseModel } from '../../models/siamese';
import { exportRunnerState, importRunnerState, type StepRunner } from '../trainer';
import type { FrozenMaskTraining } from '../frozen-features';
import type { MaskLossKind } from './loss';
import { mapSplit } from './split';
import { pairStepGradients, type MapTarget, type StepParts } from './step';

/** How a retraining's mask term is computed (what replicas are built with, too). */
export interface MaskTrainOptions {
  kind: MaskLossKind;
  /** default 'factual' */
  maps?: MapTarget;
  /** the map layer (default: the model's default Grad-CAM layer) */
  layer?: string;
  /** train only the weights above the map layer (cheaper; the features stay as they are) */
  freezeBelow?: boolean;
}

/** The variables a mask-guided step trains. */
export function maskTrainVariables(model: SiameseModel, options: MaskTrainOptions): tf.Variable[] {
  if (options.freezeBelow) return mapSplit(model, options.layer).headVariables.filter((v) => v.trainable);
  return model.net.trainableWeights.map((w) => w.read() as tf.Variable);
}

/**
 * `frozen`: the frozen blocks' outputs from ONNX Runtime (frozen-features.ts frozenMaskTraining);
 * its split maps them to the map layer's activations, and validation scores come from them.
 */
export function localMaskStepRunner(
  model: SiameseModel,
  options: { learningRate: number; margin: number; mask: MaskTrainOptions },
  frozen?: FrozenMaskTraining,
): StepRunner {
  const optimizer = tf.train.adam(options.learningRate);
  const split = frozen?.split ?? mapSplit(model, options.mask.layer);
  const vars = maskTrainVariables(model, options.mask);
  const lossOptions = { kind: options.mask.kind, maps: options.mask.maps ?? 'factual', margin: options.margin };
  let best: tf.Tensor[] | null = null;
  let parts: StepParts | undefined;
  return {
    async step(batch, lr) {
      (optimizer as unknown as { learningRate: number }).learningRate = lr;
      const input = frozen ? await frozen.forward.input(batch) : undefined;
      const out = pairStepGradients(model, split, vars, batch, lossOptions, input);
      optimizer.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: out.grads[i] })));
      tf.dispose(out.grads);
      parts = out.parts;
      return out.loss;
    },
    lastParts: () => parts,
    async scoreVal(images, pairs, signal) {
      if (frozen) return frozen.scoreVal(images, pairs, signal);
      return (await scorePairs(model, images, pairs, 256, signal)).score;
    },
    async snapshot() {
      best?.forEach((t) => t.dispose());
      best = model.net.getWeights().map((t) => t.clone());
    },
    async restore() {
      if (best) model.net.setWeights(best);
    },
    async exportState() {
      return exportRunnerState(model, best, optimizer, vars);
    },
    async importState(state) {
      best?.forEach((t) => t.dispose());
      best = importRunnerState(model, state, optimizer, vars);
    },
    async dispose() {
      best?.forEach((t) => t.dispose());
      best = null;
      optimizer.dispose();
      await frozen?.release();
    },
  };
}
