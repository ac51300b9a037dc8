// Mask-guided retraining as a job (the counterpart of run.ts's training job): a saved version is
// trained further on explicit pairs (mask/plan.ts) with the contrastive loss plus a mask loss on
// the Grad-CAM maps of the images that have a mask (mask/step.ts: rrr, energy or hint, weight
// lambda), or with mask-guided augmentation instead (mask/augment.ts: 'augment', no second
// derivative). Before a mask loss is used its second derivative is checked against finite
// differences on the backend in use (mask/check.ts); when the backend lacks a kernel for it or
// disagrees, the run says why and falls back to the augmentation. A checkpoint of the weights is
// written after every epoch; the run keeps the LAST epoch's weights (the val split may reward the
// very shortcut the masks remove). In this thread (retrainTask, the 'models.retrain' task) or
// data-parallel over the pool (retrainTaskParallel); no store access.
import * as tf from '@tensorflow/tfjs';
import type { Split } from '../../../shared/dto';
import { imageSize, type PairList } from '../data/dataset';
import { evaluateModel, evaluationFromScores, type PairScores } from '../evaluate';
import type { ModelConfig } from '../models/config';
import { loadSiamese, saveSiamese, type SiameseModel } from '../models/siamese';
import type { TaskPool } from '../runtime/pool/pool';
import { trainDataParallel } from './data-parallel';
import { frozenInTfjs, frozenMaskTraining, frozenNote, frozenTraining, hasFrozenBlocks, type FrozenTraining } from './frozen-features';
import { DEFAULT_MASK_AUGMENT, type MaskAugmentConfig } from './mask/augment';
import { checkSecondDerivative, type SecondDerivativeCheck } from './mask/check';
import type { MaskLossKind } from './mask/loss';
import { maskCoverage, maskEpochPlanner, type MaskData, type MaskPlanMode } from './mask/plan';
import { localMaskStepRunner, type MaskTrainOptions } from './mask/runner';
import { mapSplit } from './mask/split';
import type { MapTarget, MaskBatch } from './mask/step';
import type { TrainOutcome, TrainTaskHooks } from './run';
import type { trainTasks } from './tasks';
import {
  frozenStepRunner,
  localStepRunner,
  resolveTrainConfig,
  trainLoop,
  TrainingCancelledError,
  type EpochPlanner,
  type StepBatch,
  type StepRunner,
  type TrainConfig,
  type TrainData,
  type TrainHooks,
} from './trainer';

export type RetrainLoss = MaskLossKind | 'augment';
export const RETRAIN_LOSSES: readonly RetrainLoss[] = ['rrr', 'energy', 'hint', 'augment'];

/** How a retraining uses the masks. */
export interface RetrainMethod {
  loss: RetrainLoss;
  /** weight of the mask loss (ignored by 'augment') */
  lambda: number;
  /** the maps the loss looks at (default 'factual': the map the review view shows) */
  maps?: MapTarget;
  /** the map layer (default: the model's default Grad-CAM layer) */
  layer?: string;
  /** train only the layers above the map layer */
  freezeBelow?: boolean;
  /** 'augment' (and the fallback): the augmentation */
  augment?: MaskAugmentConfig;
  /** each masked train image is an anchor this many times per epoch (default 1) */
  maskedRepeat?: number;
}

/** The retraining defaults: the last epoch is kept, no early stopping nor LR schedule (the user asks for N epochs). */
export const RETRAIN_DEFAULTS: Partial<TrainConfig> = { keep: 'last', earlyStoppingPatience: 0, lrPatience: 0 };

export interface RetrainRequest {
  /** the parent's config */
  model: ModelConfig;
  /** the parent version's folder */
  initFromDir: string;
  train: Partial<TrainConfig>;
  data: TrainData;
  /** masks of (some of) the images of data.images; those of train images are used */
  masks: MaskData;
  method: RetrainMethod;
  /** pairs to evaluate after training (val is required: it fixes the threshold) */
  evaluate: Partial<Record<Split, PairList>>;
  outDir: string;
  /** the latest finished epoch's weights are saved here (a model folder, replaced each epoch) */
  checkpointDir?: string;
}

export interface RetrainInfo {
  requested: RetrainLoss;
  /** what ran: the requested loss, or 'augment' after a failed second-derivative check */
  used: RetrainLoss;
  lambda: number;
  maps: MapTarget;
  /** the map layer and the layer the score was differentiated at (mask losses) */
  layer: string | null;
  gradLayer: string | null;
  freezeBelow: boolean;
  /** why the requested loss was not used (null when it was) */
  fallback: string | null;
  trainImages: number;
  maskedTrainImages: number;
}

export interface RetrainOutcome extends TrainOutcome {
  retrain: RetrainInfo;
  /** the second-derivative check (null for 'augment') */
  check: SecondDerivativeCheck | null;
}

/** A small explicit-pair batch whose first images are masked train images: for the second-derivative check. */
export function checkBatch(data: TrainData, masks: MaskData, pairs = 4): StepBatch & { mask: MaskBatch } {
  const images = data.images;
  const [H, W] = images.shape;
  const size = imageSize(images.shape);
  const train = new Set<number>(data.train ? data.train.indices : [...(data.trainPairs?.a ?? []), ...(data.trainPairs?.b ?? [])]);
  const masked = [...masks.images.keys()].filter((i) => train.has(masks.images[i])).slice(0, pairs);
  if (masked.length === 0) throw new Error('no masked train image');
  const k = masked.length;
  const others = [...train].filter((img) => !masked.some((i) => masks.images[i] === img));
  const partners = masked.map((_, j) => (others.length > 0 ? others[(j * 7919) % others.length] : masks.images[masked[(j + 1) % k]]));
  const slots = [...masked.map((i) => masks.images[i]), ...partners];
  const pixels = new Float32Array(slots.length * size);
  slots.forEach((img, s) => pixels.set(images.pixels.subarray(img * size, (img + 1) * size), s * size));
  const mm = new Uint8Array(k * H * W);
  masked.forEach((i, j) => mm.set(masks.masks.subarray(i * H * W, (i + 1) * H * W), j * H * W));
  return {
    images: pixels,
    count: 2 * k,
    anchors: k,
    labels: Float32Array.from(masked, (_, j) => j % 2),
    mask: { index: Int32Array.from(masked, (_, j) => j), masks: mm, scale: 1 },
  };
}

/** The request's method with its defaults; throws when no train image has a mask. */
function prepare(req: RetrainRequest): { info: RetrainInfo; cfg: TrainConfig; maskOptions: MaskTrainOptions | null } {
  const cfg = resolveTrainConfig(req.data, { ...RETRAIN_DEFAULTS, ...req.train });
  const coverage = maskCoverage(req.data, req.masks);
  if (coverage.maskedTrainImages === 0) throw new Error('No train image has a mask: retraining with masks needs masks on train images');
  const m = req.method;
  if (!RETRAIN_LOSSES.includes(m.loss)) throw new Error(`Unknown retraining loss "${m.loss}"; choose one of: ${RETRAIN_LOSSES.join(', ')}`);
  if (m.loss !== 'augment' && !(m.lambda >= 0 && Number.isFinite(m.lambda)))
    throw new Error(`lambda must be a number >= 0, got ${m.lambda}`);
  const maps = m.maps ?? 'factual';
  const maskOptions = m.loss === 'augment' ? null : { kind: m.loss, maps, layer: m.layer, freezeBelow: m.freezeBelow ?? false };
  return {
    cfg,
    maskOptions,
    info: {
      requested: m.loss,
      used: m.loss,
      lambda: m.lambda,
      maps,
      layer: null,
      gradLayer: null,
      freezeBelow: m.freezeBelow ?? false,
      fallback: null,
      ...coverage,
    },
  };
}

function planner(req: RetrainRequest, used: RetrainLoss): EpochPlanner {
  const mode: MaskPlanMode =
    used === 'augment'
      ? { kind: 'augment', augment: req.method.augment ?? DEFAULT_MASK_AUGMENT }
      : { kind: 'loss', lambda: req.method.lambda };
  return maskEpochPlanner(req.data, req.masks, { mode, maskedRepeat: req.method.maskedRepeat });
}

/** The training hooks: progress as the training job reports it (0.02..0.95), a checkpoint per epoch. */
function retrainHooks(req: RetrainRequest, hooks: TrainTaskHooks, checkpoint: (epoch: number) => Promise<void>): TrainHooks {
  const report = hooks.progress ?? (() => undefined);
  const epochs = req.train.epochs ?? 1;
  return {
    signal: hooks.signal,
    // a fact about the run (e.g. where frozen blocks run) for the job's log, as training's
    onNote: (note) => report(0.02, note, { kind: 'phase', phase: 'note' }),
    onProgress: (info) =>
      report(
        0.02 + 0.93 * info.fraction,
        `epoch ${info.epoch}/${info.epochs} step ${info.step}/${info.steps} loss ${info.loss.toFixed(4)} eta ${Math.round(info.etaSeconds)} s`,
        { kind: 'step', info },
      ),
    onEpoch: async (record) => {
      await checkpoint(record.epoch);
      report(
        0.02 + 0.93 * (record.epoch / epochs),
        `epoch ${record.epoch}: loss ${record.loss.toFixed(4)}${record.maskLoss !== undefined ? ` (mask ${record.maskLoss.toFixed(4)})` : ''} val AUC ${record.valAuc.toFixed(4)}`,
        { kind: 'epoch', record },
      );
    },
  };
}

const retrainExtra = (info: RetrainInfo, check: SecondDerivativeCheck | null) => ({ retrain: { ...info, check } });

/** The check on this thread's model; fills info (layer, fallback). */
function checkLocally(model: SiameseModel, req: RetrainRequest, info: RetrainInfo, maskOptions: MaskTrainOptions): SecondDerivativeCheck {
  const split = mapSplit(model, maskOptions.layer);
  info.layer = split.layer;
  info.gradLayer = split.gradLayer;
  const check = checkSecondDerivative(
    model,
    split,
    checkBatch(req.data, req.masks),
    { kind: maskOptions.kind, maps: maskOptions.maps ?? 'factual' },
    req.train.seed ?? 0,
  );
  applyCheck(info, check);
  return check;
}

function applyCheck(info: RetrainInfo, check: SecondDerivativeCheck): void {
  info.layer = check.layer;
  info.gradLayer = check.gradLayer;
  if (!check.ok) {
    info.used = 'augment';
    info.fallback = `${check.error ?? 'the second-derivative check failed'}; fell back to mask-guided augmentation`;
  }
}

/** Loads the parent, retrains it in this thread, evaluates it, saves it into req.outDir. */
export async function retrainTask(req: RetrainRequest, hooks: TrainTaskHooks = {}): Promise<RetrainOutcome> {
  const { info, cfg, maskOptions } = prepare(req);
  const report = hooks.progress ?? (() => undefined);
  const model = await loadSiamese(req.initFromDir);
  let runner: StepRunner | null = null;
  try {
    let check: SecondDerivativeCheck | null = null;
    if (maskOptions) {
      report(0.01, 'checking the second derivative against finite differences', { kind: 'phase', phase: 'check' });
      check = checkLocally(model, req, info, maskOptions);
    }
    const margin = cfg.margin ?? model.config.margin;
    // frozen blocks of a pretrained backbone: their part on ONNX Runtime where it applies (frozen-features.ts)
    const step = { learningRate: cfg.learningRate, margin };
    const frozenBlocks = hasFrozenBlocks(model.config);
    let onFeatures: FrozenTraining | { reason: string } | null;
    if (info.used === 'augment') {
      // mask-guided augmentation changes the train images: their features are computed per batch (FeatureCache)
      onFeatures = frozenBlocks ? await frozenTraining(model, req.data, cfg) : null;
      runner = onFeatures && 'forward' in onFeatures ? frozenStepRunner(model, step, onFeatures) : localStepRunner(model, step);
    } else {
      const masked = frozenBlocks ? await frozenMaskTraining(model, req.data, cfg, mapSplit(model, maskOptions!.layer)) : null;
      onFeatures = masked;
      runner = localMaskStepRunner(model, { ...step, mask: maskOptions! }, masked && 'split' in masked ? masked : undefined);
    }
    const frozen = onFeatures && ('reason' in onFeatures ? frozenInTfjs(onFeatures.reason) : onFeatures.info);
    const checkpoint = async (epoch: number) => {
      if (req.checkpointDir) await saveSiamese(model, req.checkpointDir, { checkpoint: { epoch }, ...retrainExtra(info, check) });
    };
    const loopHooks = { ...retrainHooks(req, hooks, checkpoint), planner: planner(req, info.used) };
    if (frozen) loopHooks.onNote?.(frozenNote(frozen));
    const trained = await trainLoop(runner, req.data, cfg, loopHooks);
    const training = frozen ? { ...trained, frozenFeatures: frozen } : trained;
    report(0.96, 'evaluating', { kind: 'phase', phase: 'evaluate' });
    const { result: evaluation, scores } = await evaluateModel(model, req.data.images, req.evaluate, { signal: hooks.signal });
    if (hooks.signal?.aborted) throw new TrainingCancelledError();
    report(0.99, 'saving', { kind: 'phase', phase: 'save' });
    await saveSiamese(model, req.outDir, { training, threshold: evaluation.threshold, ...retrainExtra(info, check) });
    return { config: model.config, training, evaluation, scores, backend: tf.getBackend(), retrain: info, check };
  } finally {
    await runner?.dispose();
    model.dispose();
  }
}

/**
 * retrainTask, data-parallel over the workers of `pool` (as trainTaskParallel): replicas of the
 * parent with the mask options; the check runs on one replica (the workers share the backend).
 */
export async function retrainTaskParallel(
  pool: TaskPool<typeof trainTasks>,
  req: RetrainRequest,
  hooks: TrainTaskHooks & { workers?: number } = {},
): Promise<RetrainOutcome> {
  const { info, cfg, maskOptions } = prepare(req);
  const report = hooks.progress ?? (() => undefined);
  let check: SecondDerivativeCheck | null = null;
  let save: ((dir: string, extra: Record<string, unknown>) => Promise<unknown>) | null = null;
  const checkpoint = async (epoch: number) => {
    if (req.checkpointDir && save) await save(req.checkpointDir, { checkpoint: { epoch }, ...retrainExtra(info, check) });
  };
  const { training, after } = await trainDataParallel(
    pool,
    { model: req.model, initFromDir: req.initFromDir, ...(maskOptions ? { mask: maskOptions } : {}) },
    req.data,
    cfg,
    { ...retrainHooks(req, hooks, checkpoint), workers: hooks.workers },
    async (runner, training) => {
      report(0.96, 'evaluating', { kind: 'phase', phase: 'evaluate' });
      const scores: Partial<Record<Split, PairScores>> = {};
      for (const [name, pairs] of Object.entries(req.evaluate) as [Split, PairList][]) {
        scores[name] = await runner.scorePairs(req.data.images, pairs, hooks.signal).catch((error: unknown) => {
          throw hooks.signal?.aborted ? new TrainingCancelledError() : error;
        });
      }
      const evaluation = evaluationFromScores(req.evaluate, scores);
      if (hooks.signal?.aborted) throw new TrainingCancelledError();
      report(0.99, 'saving', { kind: 'phase', phase: 'save' });
      const saved = await runner.save(req.outDir, { training, threshold: evaluation.threshold, ...retrainExtra(info, check) });
      return { config: saved.config, evaluation, scores, backend: saved.backend };
    },
    async (runner) => {
      save = (dir, extra) => runner.save(dir, extra);
      if (maskOptions) {
        report(0.01, 'checking the second derivative against finite differences', { kind: 'phase', phase: 'check' });
        check = await runner.checkMask(checkBatch(req.data, req.masks), req.train.seed ?? 0, hooks.signal);
        applyCheck(info, check);
      }
      return { planner: planner(req, info.used) };
    },
  );
  return { ...after!, training, retrain: info, check };
}
