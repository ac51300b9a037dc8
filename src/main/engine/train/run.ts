// The training job as plain functions over serialisable requests (typed arrays + JSON): the
// same code runs in-process, as the 'models.train' worker task (tasks.ts), or data-parallel
// over the pool (data-parallel.ts). No store access: the service reads the data and writes the
// results.
import * as tf from '@tensorflow/tfjs';
import type { Split } from '../../../shared/dto';
import type { PairList } from '../data/dataset';
import { evaluateModel, evaluationFromScores, type EvaluationResult, type PairScores } from '../evaluate';
import type { ModelConfig } from '../models/config';
import { buildSiamese, loadSiamese, saveSiamese } from '../models/siamese';
import type { TaskPool } from '../runtime/pool/pool';
import { readCheckpoint, writeCheckpoint, type TrainCheckpoint } from './checkpoint';
import { trainDataParallel } from './data-parallel';
import type { trainTasks } from './tasks';
import {
  trainSiamese,
  TrainingCancelledError,
  type EpochRecord,
  type ProgressInfo,
  type TrainConfig,
  type TrainData,
  type TrainHooks,
  type TrainResult,
} from './trainer';

export interface TrainRequest {
  model: ModelConfig;
  /** Continue from this saved version folder instead of fresh weights (fine-tuning). */
  initFromDir?: string;
  train: Partial<TrainConfig>;
  data: TrainData;
  /** Pairs to evaluate after training (val is required: it fixes the threshold). */
  evaluate: Partial<Record<Split, PairList>>;
  /** Folder to save the trained model into (created atomically). */
  outDir: string;
  /** Write a checkpoint after every epoch into this folder (checkpoint.ts). */
  checkpointDir?: string;
  /** Continue from this checkpoint folder (an epoch-<E> written by writeCheckpoint) instead of epoch 1. */
  resumeFrom?: string;
}

export interface TrainOutcome {
  config: ModelConfig;
  training: TrainResult;
  evaluation: EvaluationResult;
  scores: Partial<Record<Split, PairScores>>;
  backend: string;
}

/** What training reports besides its fraction: the step or epoch record, or the phase after training. */
export type TrainProgress =
  | { kind: 'step'; info: ProgressInfo }
  | { kind: 'epoch'; record: EpochRecord }
  | { kind: 'phase'; phase: string }
  /** a checkpoint of the finished epoch is on disk in `dir` */
  | { kind: 'checkpoint'; epoch: number; dir: string };

export interface TrainTaskHooks {
  signal?: AbortSignal;
  progress?: (fraction: number, message: string, data: TrainProgress) => void;
}

/**
 * The training hooks that turn trainLoop's progress into task progress (0..0.95 of the task),
 * write a checkpoint after every epoch when asked, and resume from one.
 */
async function progressHooks(req: TrainRequest, hooks: TrainTaskHooks): Promise<TrainHooks> {
  const report = hooks.progress ?? (() => undefined);
  const checkpointDir = req.checkpointDir;
  return {
    signal: hooks.signal,
    onNote: (note) => report(0, note, { kind: 'phase', phase: 'note' }),
    ...(req.resumeFrom ? { resume: await readCheckpoint(req.resumeFrom) } : {}),
    ...(checkpointDir
      ? {
          onCheckpoint: async (checkpoint: TrainCheckpoint) => {
            const dir = await writeCheckpoint(checkpointDir, checkpoint);
            report(0.95 * (checkpoint.loop.epoch / (req.train.epochs ?? checkpoint.loop.epoch)), `epoch ${checkpoint.loop.epoch} saved`, {
              kind: 'checkpoint',
              epoch: checkpoint.loop.epoch,
              dir,
            });
          },
        }
      : {}),
    onProgress: (info) =>
      report(
        0.95 * info.fraction,
        `epoch ${info.epoch}/${info.epochs} step ${info.step}/${info.steps} loss ${info.loss.toFixed(4)} eta ${Math.round(info.etaSeconds)} s`,
        {
          kind: 'step',
          info,
        },
      ),
    onEpoch: (record) =>
      report(
        0.95 * (record.epoch / (req.train.epochs ?? record.epoch)),
        `epoch ${record.epoch}: loss ${record.loss.toFixed(4)} val AUC ${record.valAuc.toFixed(4)}`,
        {
          kind: 'epoch',
          record,
        },
      ),
  };
}

/** Builds (or loads) a model, trains it in this thread, evaluates it, saves it into req.outDir. */
export async function trainTask(req: TrainRequest, hooks: TrainTaskHooks = {}): Promise<TrainOutcome> {
  const model = req.initFromDir ? await loadSiamese(req.initFromDir) : await buildSiamese(req.model);
  try {
    const report = hooks.progress ?? (() => undefined);
    const training = await trainSiamese(model, req.data, req.train, await progressHooks(req, hooks));
    report(0.96, 'evaluating', { kind: 'phase', phase: 'evaluate' });
    const { result: evaluation, scores } = await evaluateModel(model, req.data.images, req.evaluate, { signal: hooks.signal });
    if (hooks.signal?.aborted) throw new Error('cancelled');
    report(0.99, 'saving', { kind: 'phase', phase: 'save' });
    await saveSiamese(model, req.outDir, { training, threshold: evaluation.threshold });
    return { config: model.config, training, evaluation, scores, backend: tf.getBackend() };
  } finally {
    model.dispose();
  }
}

/**
 * trainTask, data-parallel over the workers of `pool` (engine/train/data-parallel.ts), driven from
 * this thread without tensor work here: replicas train, score (evaluation) and save in the
 * workers; they are freed at the end, also when cancelled or failing.
 */
export async function trainTaskParallel(
  pool: TaskPool<typeof trainTasks>,
  req: TrainRequest,
  hooks: TrainTaskHooks & { workers?: number } = {},
): Promise<TrainOutcome> {
  const report = hooks.progress ?? (() => undefined);
  const { training, after } = await trainDataParallel(
    pool,
    { model: req.model, ...(req.initFromDir ? { initFromDir: req.initFromDir } : {}) },
    req.data,
    req.train,
    { ...(await progressHooks(req, hooks)), workers: hooks.workers },
    async (runner, training) => {
      report(0.96, 'evaluating', { kind: 'phase', phase: 'evaluate' });
      const scores: Partial<Record<Split, PairScores>> = {};
      for (const [name, pairs] of Object.entries(req.evaluate) as [Split, PairList][]) {
        scores[name] = await runner.scorePairs(req.data.images, pairs, hooks.signal).catch((error: unknown) => {
          throw hooks.signal?.aborted ? new TrainingCancelledError() : error;
        });
      }
      const evaluation = evaluationFromScores(req.evaluate, scores); // threshold chosen on val
      if (hooks.signal?.aborted) throw new TrainingCancelledError();
      report(0.99, 'saving', { kind: 'phase', phase: 'save' });
      // the replica's own config ('pretrained' resolves its backbone's) and backend
      const saved = await runner.save(req.outDir, { training, threshold: evaluation.threshold });
      return { config: saved.config, evaluation, scores, backend: saved.backend };
    },
  );
  return { ...after!, training };
}
