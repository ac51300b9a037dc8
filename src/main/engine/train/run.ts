// The model jobs as plain functions over serialisable requests (typed arrays + JSON):
// the same code runs in-process or as a worker-pool task (see pool-tasks.ts).
// They never touch the store: the service reads the data and writes the results.
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { ImageSet, PairList } from '../data/dataset';
import { evaluateModel, evaluationFromScores, pairImages, pairScoresFrom, type EvaluationResult, type PairScores } from '../evaluate/evaluate';
import { embedImagesParallel, type EmbedPool, type ParallelEmbedOptions } from '../evaluate/embed-parallel';
import { readJsonIfExists } from '../runtime/model-io';
import { trainSiamese, TrainingCancelledError, type EpochRecord, type ProgressInfo, type TrainConfig, type TrainData, type TrainHooks, type TrainResult } from './trainer';
import { trainDataParallel, type DataParallelPool } from './data-parallel';
import type { ModelConfig } from '../models/config';
import { buildSiamese, loadSiamese, saveSiamese, SIAMESE_JSON } from '../models/siamese';

export type SplitName = 'train' | 'val' | 'test';

export interface TrainRequest {
  model: ModelConfig;
  /** Continue from this saved version folder instead of fresh weights (fine-tuning). */
  initFromDir?: string;
  train: Partial<TrainConfig>;
  data: TrainData;
  /** Pairs to evaluate after training (val is required: it fixes the threshold). */
  evaluate: Partial<Record<SplitName, PairList>>;
  /** Folder to save the trained model into (created atomically). */
  outDir: string;
}

export interface TrainOutcome {
  config: ModelConfig;
  training: TrainResult;
  evaluation: EvaluationResult;
  scores: Partial<Record<SplitName, PairScores>>;
  backend: string;
}

export interface EvaluateRequest {
  modelDir: string;
  images: ImageSet;
  splits: Partial<Record<SplitName, PairList>>;
  threshold?: number;
}

export interface EvaluateOutcome {
  evaluation: EvaluationResult;
  scores: Partial<Record<SplitName, PairScores>>;
}

/** What a task reports: a fraction plus, for training, the step or epoch record. */
export type ModelTaskProgress = { kind: 'step'; info: ProgressInfo } | { kind: 'epoch'; record: EpochRecord } | { kind: 'phase'; phase: string };

export interface ModelTaskHooks {
  signal?: AbortSignal;
  progress?: (fraction: number, message: string, data: ModelTaskProgress) => void;
}

/** The training hooks that turn trainLoop's progress into task progress (0..0.95 of the task). */
function progressHooks(req: TrainRequest, hooks: ModelTaskHooks): TrainHooks {
  const report = hooks.progress ?? (() => undefined);
  return {
    signal: hooks.signal,
    onProgress: (info) =>
      report(0.95 * info.fraction, `epoch ${info.epoch}/${info.epochs} step ${info.step}/${info.steps} loss ${info.loss.toFixed(4)} eta ${Math.round(info.etaSeconds)} s`, {
        kind: 'step',
        info,
      }),
    onEpoch: (record) =>
      report(0.95 * (record.epoch / (req.train.epochs ?? record.epoch)), `epoch ${record.epoch}: loss ${record.loss.toFixed(4)} val AUC ${record.valAuc.toFixed(4)}`, {
        kind: 'epoch',
        record,
      }),
  };
}

/** Builds (or loads) a model, trains it in this thread, evaluates it, saves it into req.outDir. */
export async function trainTask(req: TrainRequest, hooks: ModelTaskHooks = {}): Promise<TrainOutcome> {
  const model = req.initFromDir ? await loadSiamese(req.initFromDir) : await buildSiamese(req.model);
  try {
    const report = hooks.progress ?? (() => undefined);
    const training = await trainSiamese(model, req.data, req.train, progressHooks(req, hooks));
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
 * trainTask, data-parallel over the workers of `pool` (engine/train-parallel.ts), driven from
 * this thread without tensor work here: replicas train, score (evaluation) and save in the
 * workers; they are freed at the end, also when cancelled or failing.
 */
export async function trainTaskParallel(pool: DataParallelPool, req: TrainRequest, hooks: ModelTaskHooks & { workers?: number } = {}): Promise<TrainOutcome> {
  const report = hooks.progress ?? (() => undefined);
  const { training, after } = await trainDataParallel(
    pool,
    { model: req.model, ...(req.initFromDir ? { initFromDir: req.initFromDir } : {}) },
    req.data,
    req.train,
    { ...progressHooks(req, hooks), workers: hooks.workers },
    async (runner, training) => {
      report(0.96, 'evaluating', { kind: 'phase', phase: 'evaluate' });
      const scores: Partial<Record<SplitName, PairScores>> = {};
      for (const [name, pairs] of Object.entries(req.evaluate) as [SplitName, PairList][]) {
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

export async function evaluateTask(req: EvaluateRequest, hooks: ModelTaskHooks = {}): Promise<EvaluateOutcome> {
  const model = await loadSiamese(req.modelDir);
  try {
    hooks.progress?.(0.1, 'scoring pairs', { kind: 'phase', phase: 'score' });
    const { result, scores } = await evaluateModel(model, req.images, req.splits, { threshold: req.threshold, signal: hooks.signal });
    return { evaluation: result, scores };
  } finally {
    model.dispose();
  }
}

/**
 * evaluateTask over the workers of `pool` (engine/evaluate-parallel.ts), driven from this thread
 * without tensor work here: the images the splits' pairs reference are embedded once each, in
 * chunks across the workers; the pair scores and the metrics are computed here from the
 * embeddings, as evaluateModel does (the same functions). The images stay in this thread.
 * Progress: the fraction of the images embedded. Cancel: `hooks.signal` stops the chunks and
 * rejects with an AbortError; the workers' copies of the model are freed in every case.
 */
export async function evaluateTaskParallel(pool: EmbedPool, req: EvaluateRequest, hooks: ModelTaskHooks & Pick<ParallelEmbedOptions, 'chunkSize' | 'inFlight'> = {}): Promise<EvaluateOutcome> {
  const report = hooks.progress ?? (() => undefined);
  const { tau } = savedConfig(req.modelDir);
  const splits = Object.entries(req.splits) as [SplitName, PairList][];
  const { used, slot } = pairImages(splits.map(([, pairs]) => pairs));
  report(0, `embedding ${used.length} images on ${pool.size} workers`, { kind: 'phase', phase: 'embed' });
  const { embeddings, dim } = await embedImagesParallel(pool, req.modelDir, req.images, used, {
    signal: hooks.signal,
    chunkSize: hooks.chunkSize,
    inFlight: hooks.inFlight,
    onProgress: (done, total) => report(0.98 * (done / total), `embedding images ${done}/${total}`, { kind: 'phase', phase: 'embed' }),
  });
  report(0.98, 'scoring pairs', { kind: 'phase', phase: 'score' });
  const scores: Partial<Record<SplitName, PairScores>> = {};
  for (const [name, pairs] of splits) scores[name] = pairScoresFrom(embeddings, dim, slot, pairs, tau);
  return { evaluation: evaluationFromScores(req.splits, scores, req.threshold), scores };
}

/** The config saved with a version (siamese.json), without loading the network. */
function savedConfig(dir: string): ModelConfig {
  const meta = readJsonIfExists<{ config: ModelConfig }>(join(dir, SIAMESE_JSON));
  if (!meta) throw new Error(`${dir} is not a SimLens model folder (no ${SIAMESE_JSON})`);
  return meta.config;
}
