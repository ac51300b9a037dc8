// Training a Siamese model with the contrastive loss: a plain async function (no
// store, no jobs), so it runs the same in-process, in a worker thread, or in a script.
//
// Each epoch REDRAWS the train pairs from the train images (seeded): every anchor gets
// one positive partner (same class) and one negative partner (other class). A batch
// of B pairs holds B/2 anchors; the network embeds [anchors; positives; negatives] in
// one pass (3 images per 2 pairs instead of 4). Without class labels the stored
// train pairs are used, reshuffled each epoch. After each epoch: the TRUE ROC AUC over
// the whole validation split from continuous scores; the best epoch's weights are kept
// and restored at the end; early stopping and LR-on-plateau count a RISE of AUC as
// an improvement.
//
// The epoch loop (trainLoop) is shared; the per-step compute sits behind StepRunner:
// localStepRunner (this thread: trainSiamese) or the data-parallel runner over the engine
// worker pool (data-parallel.ts). Batches are assembled here either way, so a seed gives the
// same batches whatever runs the steps.
import type { EpochDto } from '../../../shared/dto';
import * as tf from '@tensorflow/tfjs';
import { createRng, shuffleInPlace, type Rng } from '../../pairs/rng';
import { augmentInto, isIdentity, NO_AUGMENT, type AugmentConfig } from './augment';
import { imageSize, type ImageSet, type PairList } from '../data/dataset';
import { scorePairs } from '../evaluate/evaluate';
import { contrastiveLoss } from './loss';
import type { SiameseModel } from '../models/siamese';
import { rocAuc } from '../evaluate/roc';
import type { MaskBatch, StepParts } from './mask/step';
import { readAdamState, writeAdamState, type LoopState, type RunnerState, type TrainCheckpoint } from './checkpoint';
import {
  frozenInTfjs,
  frozenNote,
  frozenTraining,
  hasFrozenBlocks,
  PLANNER_FROZEN_REASON,
  type FrozenFeaturesInfo,
  type FrozenOptions,
  type FrozenTraining,
} from './frozen-features';

export interface TrainConfig {
  epochs: number;
  /** pairs per batch (even) */
  batchSize: number;
  learningRate: number;
  /** contrastive margin; default: the model's */
  margin?: number;
  seed: number;
  /** stop after this many epochs without a rise of val AUC (0 = never) */
  earlyStoppingPatience: number;
  /** multiply the LR by `lrFactor` after this many epochs without a rise (0 = never) */
  lrPatience: number;
  lrFactor: number;
  minLearningRate: number;
  /** a rise smaller than this is not an improvement */
  minDelta: number;
  augment: AugmentConfig;
  /** cap on train steps per epoch (tests, quick looks); 0 = the whole epoch */
  maxStepsPerEpoch: number;
  /**
   * Which weights the run ends with: 'best' (default): the epoch with the highest val AUC;
   * 'last': the last epoch's (retraining with masks, whose val split may reward the very shortcut
   * the masks remove).
   */
  keep?: 'best' | 'last';
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  epochs: 10,
  batchSize: 128,
  learningRate: 1e-3,
  seed: 0,
  earlyStoppingPatience: 3,
  lrPatience: 2,
  lrFactor: 0.5,
  minLearningRate: 1e-6,
  minDelta: 1e-4,
  augment: NO_AUGMENT,
  maxStepsPerEpoch: 0,
};

export interface TrainData {
  images: ImageSet;
  /** Train images (indices into `images`) and their class ids; pairs are redrawn from them each epoch. */
  train?: { indices: Int32Array; classes: Int32Array };
  /** Fixed train pairs, used when there are no class labels. */
  trainPairs?: PairList;
  val: PairList;
}

export interface ProgressInfo {
  epoch: number; // 1-based
  epochs: number;
  step: number; // 1-based within the epoch
  steps: number;
  /** running mean loss of this epoch */
  loss: number;
  learningRate: number;
  /** overall fraction done, 0..1 */
  fraction: number;
  etaSeconds: number;
}

/** One epoch of training history (the same shape the UI receives). */
export type EpochRecord = EpochDto;

export interface TrainResult {
  history: EpochRecord[];
  /** the epoch whose weights the run ends with (the best by val AUC; the last with keep: 'last') */
  bestEpoch: number;
  bestValAuc: number;
  stoppedEarly: boolean;
  seconds: number;
  /** A model with frozen blocks: whether its frozen part ran on ONNX Runtime, or why not (frozen-features.ts). */
  frozenFeatures?: FrozenFeaturesInfo;
}

export interface TrainHooks {
  onProgress?: (p: ProgressInfo) => void;
  /** Awaited: may e.g. evaluate the current weights (do not change them). */
  onEpoch?: (e: EpochRecord) => void | Promise<void>;
  /** Awaited after each finished epoch (after onEpoch): the state to resume from (checkpoint.ts). */
  onCheckpoint?: (checkpoint: TrainCheckpoint) => void | Promise<void>;
  /** Continue a run from this checkpoint (its config and data must be the run's). */
  resume?: TrainCheckpoint;
  signal?: AbortSignal;
  /** How each epoch's batches are drawn and assembled (default: defaultEpochPlanner; mask-guided retraining: mask/plan.ts). */
  planner?: EpochPlanner;
  /** A fact about how the run trains, worth a line in the job's log (e.g. why frozen blocks run in tfjs). */
  onNote?: (note: string) => void;
}

export class TrainingCancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'TrainingCancelledError';
  }
}

/** A batch: images [anchors(k); partners(r*k)], pair i = (anchor i mod k, partner i). */
interface Batch {
  images: number[];
  anchors: number;
  labels: number[];
}

/** Redraws one positive and one negative partner per anchor; returns batches. */
export function drawEpochBatches(train: { indices: Int32Array; classes: Int32Array }, batchSize: number, rng: Rng): Batch[] {
  const byClass = new Map<number, number[]>();
  train.indices.forEach((img, i) => {
    const c = train.classes[i];
    const list = byClass.get(c) ?? [];
    list.push(img);
    byClass.set(c, list);
  });
  if (byClass.size < 2) throw new Error('Training needs at least two classes in the train split');
  const anchors: { img: number; cls: number }[] = [];
  train.indices.forEach((img, i) => {
    if (byClass.get(train.classes[i])!.length >= 2) anchors.push({ img, cls: train.classes[i] });
  });
  if (anchors.length === 0) throw new Error('No class in the train split has two images: no positive pairs can be drawn');
  shuffleInPlace(anchors, rng);
  const n = train.indices.length;
  const perBatch = Math.max(1, Math.floor(batchSize / 2));
  const batches: Batch[] = [];
  for (let s = 0; s < anchors.length; s += perBatch) {
    const chunk = anchors.slice(s, s + perBatch);
    const pos: number[] = [];
    const neg: number[] = [];
    for (const a of chunk) {
      const same = byClass.get(a.cls)!;
      let p = same[rng.int(same.length)];
      while (p === a.img) p = same[rng.int(same.length)];
      pos.push(p);
      // rejection sampling of an image of another class (there is at least one)
      let qi = rng.int(n);
      while (train.classes[qi] === a.cls) qi = rng.int(n);
      neg.push(train.indices[qi]);
    }
    batches.push({
      images: [...chunk.map((a) => a.img), ...pos, ...neg],
      anchors: chunk.length,
      labels: [...chunk.map(() => 1), ...chunk.map(() => 0)],
    });
  }
  return batches;
}

/** Fixed pairs, reshuffled: images [a(k); b(k)]. */
function fixedPairBatches(pairs: PairList, batchSize: number, rng: Rng): Batch[] {
  const order = shuffleInPlace(
    Array.from({ length: pairs.a.length }, (_, i) => i),
    rng,
  );
  const batches: Batch[] = [];
  for (let s = 0; s < order.length; s += batchSize) {
    const chunk = order.slice(s, s + batchSize);
    batches.push({
      images: [...chunk.map((i) => pairs.a[i]), ...chunk.map((i) => pairs.b[i])],
      anchors: chunk.length,
      labels: chunk.map((i) => pairs.label[i]),
    });
  }
  return batches;
}

function assemble(images: ImageSet, batch: Batch, augment: AugmentConfig, rng: Rng): Float32Array {
  const size = imageSize(images.shape);
  const buf = new Float32Array(batch.images.length * size);
  const identity = isIdentity(augment);
  batch.images.forEach((img, k) => {
    if (identity) buf.set(images.pixels.subarray(img * size, (img + 1) * size), k * size);
    else augmentInto(images.pixels, img * size, buf, k * size, images.shape, augment, rng);
  });
  return buf;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** One assembled training batch, as a step runner gets it (plain arrays: it may go to workers). */
export interface StepBatch {
  /** [count, H, W, C]: anchors(k), then `reps` blocks of k partners (reps = pairs / k: 2 for anchor batches, 1 for fixed pairs) */
  images: Float32Array;
  count: number;
  /** k: pair i = (image i mod k, image k + i) */
  anchors: number;
  /** [pairs] 1 = same */
  labels: Float32Array;
  /** masks of some of the images (mask-guided retraining; explicit pairs only, reps = 1) */
  mask?: MaskBatch;
  /** [count] which image of TrainData.images each row is, when the rows are those images unchanged (no augmentation) */
  imageIds?: Int32Array;
}

/** One epoch's batches, assembled on demand IN ORDER (augmentation draws from one seeded stream). */
export interface EpochPlan {
  steps: number;
  batch(step: number): StepBatch;
}

/** Draws epoch `epoch`'s plan (1-based). */
export type EpochPlanner = (epoch: number, cfg: TrainConfig) => EpochPlan;

/** The generators epoch `epoch` draws with: pairs, and augmentation (see checkpoint.ts); every planner uses them. */
export const epochStreams = (epoch: number) => ({ pairStream: 1000 + epoch, augmentStream: 2000 + epoch });

/**
 * The plain trainer's epochs: anchors with a positive and a negative partner each, redrawn from
 * the labelled train images (else the fixed train pairs, reshuffled), augmented as configured.
 */
export function defaultEpochPlanner(data: TrainData): EpochPlanner {
  return (epoch, cfg) => {
    const streams = epochStreams(epoch);
    const rng = createRng(cfg.seed, streams.pairStream);
    const augRng = createRng(cfg.seed, streams.augmentStream);
    const batches = data.train ? drawEpochBatches(data.train, cfg.batchSize, rng) : fixedPairBatches(data.trainPairs!, cfg.batchSize, rng);
    return {
      steps: batches.length,
      batch: (s) => {
        const b = batches[s];
        return {
          images: assemble(data.images, b, cfg.augment, augRng),
          count: b.images.length,
          anchors: b.anchors,
          labels: Float32Array.from(b.labels),
          ...(isIdentity(cfg.augment) ? { imageIds: Int32Array.from(b.images) } : {}),
        };
      },
    };
  };
}

/**
 * The per-step compute of a training run, behind the shared epoch loop (trainLoop): in this
 * thread (localStepRunner) or data-parallel over the engine worker pool (data-parallel.ts).
 */
export interface StepRunner {
  /** One optimizer step on the batch's mean contrastive loss at learning rate `lr`; resolves with that loss. */
  step(batch: StepBatch, lr: number, signal?: AbortSignal): Promise<number>;
  /** Scores [pairs] of the validation pairs with the current weights. */
  scoreVal(images: ImageSet, pairs: PairList, signal?: AbortSignal): Promise<Float32Array>;
  /** Keeps the current weights as the best so far (replacing the previous snapshot). */
  snapshot(): Promise<void>;
  /** Puts the snapshot's weights back (no-op without one). */
  restore(): Promise<void>;
  /** Frees the runner's tensors (optimizer, snapshot; never the caller's model). */
  dispose(): Promise<void>;
  /** The parts of the last step's loss, when the runner has several (mask-guided retraining). */
  lastParts?(): StepParts | undefined;
  /** The weights, the best snapshot and the optimizer's state, for a checkpoint. */
  exportState(): Promise<RunnerState>;
  /** Puts an exportState() state back (same model and optimizer configuration). */
  importState(state: RunnerState): Promise<void>;
}

/** The run's config with defaults, checked against the data. */
export function resolveTrainConfig(data: TrainData, config: Partial<TrainConfig>): TrainConfig {
  const cfg: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, ...config };
  if (!data.train && !data.trainPairs) throw new Error('No training data');
  if (data.val.a.length === 0) throw new Error('The validation split has no pairs');
  let vs = 0;
  for (const l of data.val.label) vs += l;
  if (vs === 0 || vs === data.val.label.length) throw new Error('The validation split needs both same and different pairs');
  return cfg;
}

/**
 * The epoch loop, whatever runs the steps: pair redraw and batch assembly (augmentation) here,
 * so a seed gives the same batches with any runner; progress/ETA; val AUC each epoch; best
 * snapshot; early stopping; LR-on-plateau; cancel; NaN check. On return the runner holds the
 * best epoch's weights. Does not dispose the runner.
 */
export async function trainLoop(
  runner: StepRunner,
  data: TrainData,
  config: Partial<TrainConfig>,
  hooks: TrainHooks = {},
): Promise<TrainResult> {
  const cfg = resolveTrainConfig(data, config);
  const valLabels = data.val.label;
  const cancelled = () => hooks.signal?.aborted === true;
  const resumed = hooks.resume?.loop;
  if (resumed && resumed.rng.seed !== cfg.seed)
    throw new Error(`The checkpoint was made with seed ${resumed.rng.seed}, this run has ${cfg.seed}`);
  let lr = resumed?.learningRate ?? cfg.learningRate;
  const history: EpochRecord[] = resumed ? [...resumed.history] : [];
  let best: { auc: number; epoch: number } | null = resumed?.best ?? null;
  let sinceImprovement = resumed?.sinceImprovement ?? 0;
  let sinceLrChange = resumed?.sinceLrChange ?? 0;
  let stoppedEarly = resumed?.stoppedEarly ?? false;
  if (hooks.resume) await runner.importState(hooks.resume.runner);
  const t0 = Date.now();
  let stepsDone = resumed?.stepsDone ?? 0;
  const firstEpoch = (resumed?.epoch ?? 0) + 1;
  // A failure of the runner after an abort (a cancelled worker task) is the cancellation.
  const guard = async <T>(p: Promise<T>): Promise<T> => {
    try {
      return await p;
    } catch (error) {
      if (cancelled()) throw new TrainingCancelledError();
      throw error;
    }
  };
  const planner = hooks.planner ?? defaultEpochPlanner(data);
  const keepBest = (cfg.keep ?? 'best') === 'best';
  for (let epoch = firstEpoch; epoch <= cfg.epochs && !stoppedEarly; epoch++) {
    const te = Date.now();
    const streams = epochStreams(epoch);
    if (
      epoch === firstEpoch &&
      resumed &&
      (resumed.rng.pairStream !== streams.pairStream || resumed.rng.augmentStream !== streams.augmentStream)
    )
      throw new Error(`The checkpoint's random streams do not continue epoch ${resumed.epoch}`);
    const plan = planner(epoch, cfg);
    const steps = cfg.maxStepsPerEpoch > 0 ? Math.min(plan.steps, cfg.maxStepsPerEpoch) : plan.steps;
    let lossSum = 0;
    const partSums = { contrastive: 0, mask: 0, steps: 0 };
    for (let s = 0; s < steps; s++) {
      if (cancelled()) throw new TrainingCancelledError();
      const loss = await guard(runner.step(plan.batch(s), lr, hooks.signal));
      if (!Number.isFinite(loss)) throw new Error(`The loss became ${loss} at epoch ${epoch}, step ${s + 1}: lower the learning rate`);
      lossSum += loss;
      const parts = runner.lastParts?.();
      if (parts) {
        partSums.contrastive += parts.contrastive;
        partSums.mask += parts.mask;
        partSums.steps++;
      }
      stepsDone++;
      const elapsed = (Date.now() - t0) / 1000;
      const doneHere = stepsDone - (resumed?.stepsDone ?? 0); // steps of this process, for the ETA
      const totalSteps = stepsDone + (steps - s - 1) + (cfg.epochs - epoch) * steps;
      hooks.onProgress?.({
        epoch,
        epochs: cfg.epochs,
        step: s + 1,
        steps,
        loss: lossSum / (s + 1),
        learningRate: lr,
        fraction: stepsDone / totalSteps,
        etaSeconds: (elapsed / doneHere) * (totalSteps - stepsDone),
      });
      await yieldToEventLoop();
    }
    if (cancelled()) throw new TrainingCancelledError();
    const score = await guard(runner.scoreVal(data.images, data.val, hooks.signal));
    const valAuc = rocAuc(score, valLabels);
    const improved = best === null || valAuc > best.auc + cfg.minDelta;
    if (improved) {
      if (keepBest) await guard(runner.snapshot());
      best = { auc: valAuc, epoch };
      sinceImprovement = 0;
      sinceLrChange = 0;
    } else {
      sinceImprovement++;
      sinceLrChange++;
    }
    const record: EpochRecord = {
      epoch,
      loss: lossSum / Math.max(1, steps),
      valAuc,
      learningRate: lr,
      seconds: (Date.now() - te) / 1000,
      improved,
      ...(partSums.steps > 0 ? { contrastiveLoss: partSums.contrastive / partSums.steps, maskLoss: partSums.mask / partSums.steps } : {}),
    };
    history.push(record);
    await hooks.onEpoch?.(record);
    if (cfg.earlyStoppingPatience > 0 && sinceImprovement >= cfg.earlyStoppingPatience && epoch < cfg.epochs) {
      stoppedEarly = true;
    } else if (cfg.lrPatience > 0 && sinceLrChange >= cfg.lrPatience) {
      lr = Math.max(cfg.minLearningRate, lr * cfg.lrFactor);
      sinceLrChange = 0;
    }
    if (hooks.onCheckpoint) {
      const loop: LoopState = {
        epoch,
        learningRate: lr,
        best,
        sinceImprovement,
        sinceLrChange,
        stoppedEarly,
        history: [...history],
        stepsDone,
        rng: { seed: cfg.seed, ...epochStreams(epoch + 1) },
      };
      await hooks.onCheckpoint({ loop, runner: await guard(runner.exportState()) });
    }
  }
  if (best && keepBest) await guard(runner.restore());
  const kept = keepBest ? best : history.length > 0 ? { epoch: history.length, auc: history[history.length - 1].valAuc } : null;
  return { history, bestEpoch: kept?.epoch ?? 0, bestValAuc: kept?.auc ?? NaN, stoppedEarly, seconds: (Date.now() - t0) / 1000 };
}

/**
 * What a local step feeds the network and runs in training mode; by default the images through
 * the whole network. Frozen features (frozen-features.ts): the frozen part's output, computed
 * elsewhere, through the part above it (which holds every trainable weight).
 */
export interface StepForward {
  /** The trained part's input for a batch: data and shape [count, ...] */
  input(batch: StepBatch): Promise<{ data: Float32Array; shape: number[] }>;
  /** The trained part in training mode: [count, D] */
  embed(x: tf.Tensor): tf.Tensor2D;
}

/**
 * localStepRunner on frozen features (frozen-features.ts frozenTraining): the frozen part's output
 * in, validation scored from features; disposing it releases the frozen part's engine.
 */
export function frozenStepRunner(
  model: SiameseModel,
  options: { learningRate: number; margin: number },
  frozen: FrozenTraining,
): StepRunner {
  const local = localStepRunner(model, options, frozen.forward);
  return {
    ...local,
    scoreVal: (images, pairs, signal) => frozen.scoreVal(images, pairs, signal),
    dispose: async () => {
      await local.dispose();
      await frozen.release();
    },
  };
}

/**
 * Today's single-thread step: one pass over [anchors; partners] of the whole batch, Adam via
 * optimizer.minimize; the best weights are kept as tensor clones.
 */
export function localStepRunner(model: SiameseModel, options: { learningRate: number; margin: number }, forward?: StepForward): StepRunner {
  const optimizer = tf.train.adam(options.learningRate);
  const varList = model.net.trainableWeights.map((w) => w.read() as tf.Variable);
  const dim = model.config.embeddingSize;
  const [h, w, c] = model.config.inputShape;
  let best: tf.Tensor[] | null = null;
  return {
    async step(batch, lr) {
      (optimizer as unknown as { learningRate: number }).learningRate = lr;
      const k = batch.anchors;
      const nPairs = batch.labels.length;
      const reps = nPairs / k; // 1 for fixed pairs, 2 for anchor batches
      const input = forward ? await forward.input(batch) : { data: batch.images, shape: [batch.count, h, w, c] };
      const cost = tf.tidy(() => {
        const x = tf.tensor(input.data, input.shape);
        const y = tf.tensor1d(batch.labels, 'float32');
        return optimizer.minimize(
          () => {
            const e = forward ? forward.embed(x) : model.embed(x as tf.Tensor4D, true); // [k + nPairs, D]
            const anchors = tf.slice(e, [0, 0], [k, dim]) as tf.Tensor2D;
            const partners = tf.slice(e, [k, 0], [nPairs, dim]) as tf.Tensor2D;
            const left =
              reps === 1
                ? anchors
                : (tf.concat(
                    Array.from({ length: reps }, () => anchors),
                    0,
                  ) as tf.Tensor2D);
            return contrastiveLoss(left, partners, y, options.margin);
          },
          true,
          varList,
        )!;
      });
      const loss = (await cost.data())[0];
      cost.dispose();
      return loss;
    },
    async scoreVal(images, pairs, signal) {
      return (await scorePairs(model, images, pairs, 256, signal)).score;
    },
    async snapshot() {
      best?.forEach((t) => t.dispose());
      best = model.net.getWeights().map((t) => t.clone());
    },
    async restore() {
      if (best) model.net.setWeights(best);
    },
    async dispose() {
      best?.forEach((t) => t.dispose());
      best = null;
      optimizer.dispose();
    },
    async exportState() {
      return exportRunnerState(model, best, optimizer, varList);
    },
    async importState(state) {
      best?.forEach((t) => t.dispose());
      best = importRunnerState(model, state, optimizer, varList);
    },
  };
}

/** A local runner's state for a checkpoint: its weights, its best snapshot, its Adam's moments over `vars`. */
export function exportRunnerState(
  model: SiameseModel,
  best: tf.Tensor[] | null,
  optimizer: tf.AdamOptimizer,
  vars: tf.Variable[],
): RunnerState {
  return {
    weights: flatWeights(model.net.getWeights()),
    bestWeights: best ? flatWeights(best) : null,
    adam: readAdamState(optimizer, vars),
  };
}

/** Puts an exportRunnerState() state back into the model and the optimizer; returns the best snapshot (the caller owns it). */
export function importRunnerState(
  model: SiameseModel,
  state: RunnerState,
  optimizer: tf.AdamOptimizer,
  vars: tf.Variable[],
): tf.Tensor[] | null {
  let best: tf.Tensor[] | null = null;
  if (state.bestWeights) {
    setFlatWeights(model, state.bestWeights);
    best = model.net.getWeights().map((t) => t.clone());
  }
  setFlatWeights(model, state.weights);
  writeAdamState(optimizer, vars, state.adam);
  return best;
}

/** Tensors flattened into one Float32Array (a copy). */
function flatWeights(tensors: tf.Tensor[]): Float32Array {
  const joined = tf.tidy(() => tf.concat(tensors.map((t) => tf.reshape(t, [-1]))));
  const out = Float32Array.from(joined.dataSync() as Float32Array);
  joined.dispose();
  return out;
}

/** Sets every weight of the model (net.getWeights() order) from one flat array. */
export function setFlatWeights(model: SiameseModel, flat: Float32Array): void {
  const shapes = model.net.weights.map((w) => w.shape as number[]);
  const total = shapes.reduce((n, sh) => n + sh.reduce((a, b) => a * b, 1), 0);
  if (flat.length !== total) throw new Error(`${flat.length} values for ${total} weights`);
  let o = 0;
  const tensors = shapes.map((sh) => {
    const size = sh.reduce((a, b) => a * b, 1);
    const t = tf.tensor(flat.subarray(o, o + size), sh);
    o += size;
    return t;
  });
  model.net.setWeights(tensors);
  tf.dispose(tensors);
}

/**
 * Trains `model` in place, in this thread. On return the model holds the weights of the best
 * epoch (by validation AUC). Throws TrainingCancelledError when `signal` aborts; the model's
 * weights are then undefined (discard it). Leaves no tensors behind. A model with frozen blocks
 * runs its frozen part on ONNX Runtime when this thread's inference engine is 'ort' and trains
 * the part above it in tfjs (frozen-features.ts); else, or where that cannot apply, the whole
 * network trains in tfjs (the reason is in the result's frozenFeatures and a note).
 * `frozenOptions`: the frozen part's engine and cache bound (tests).
 */
export async function trainSiamese(
  model: SiameseModel,
  data: TrainData,
  config: Partial<TrainConfig>,
  hooks: TrainHooks = {},
  frozenOptions: FrozenOptions = {},
): Promise<TrainResult> {
  const cfg = resolveTrainConfig(data, config);
  const options = { learningRate: cfg.learningRate, margin: cfg.margin ?? model.config.margin };
  // (a custom planner, e.g. mask-guided retraining's, trains as before)
  const frozen = hasFrozenBlocks(model.config) && !hooks.planner ? await frozenTraining(model, data, cfg, frozenOptions) : null;
  let runner: StepRunner;
  let frozenInfo: FrozenFeaturesInfo | undefined;
  if (frozen && 'forward' in frozen) {
    runner = frozenStepRunner(model, options, frozen);
    frozenInfo = frozen.info;
  } else {
    runner = localStepRunner(model, options);
    if (frozen) frozenInfo = frozenInTfjs(frozen.reason);
    else if (hasFrozenBlocks(model.config)) frozenInfo = frozenInTfjs(PLANNER_FROZEN_REASON);
  }
  if (frozenInfo) hooks.onNote?.(frozenNote(frozenInfo));
  try {
    const result = await trainLoop(runner, data, cfg, hooks);
    return frozenInfo ? { ...result, frozenFeatures: frozenInfo } : result;
  } finally {
    await runner.dispose();
  }
}
