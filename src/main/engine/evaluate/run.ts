// The evaluation job as plain functions over serialisable requests (typed arrays + JSON): the
// same code runs in-process or as the 'models.evaluate' worker task (tasks.ts), or, over
// several workers, as embedding chunks (embed-parallel.ts) scored here. No store access: the
// service reads the data and writes the results.
import { loadForInference } from '../onnx/accelerator';
import { join } from 'node:path';
import type { Split } from '../../../shared/dto';
import type { ImageSet, PairList } from '../data/dataset';
import type { ModelConfig } from '../models/config';
import { SIAMESE_JSON } from '../models/siamese';
import { readJsonIfExists } from '../runtime/model-io';
import type { TaskPool } from '../runtime/pool/pool';
import { embedImagesParallel, type ParallelEmbedOptions } from './embed-parallel';
import { evaluateModel, evaluationFromScores, pairImages, pairScoresFrom, type EvaluationResult, type PairScores } from './evaluate';
import type { evaluateTasks } from './tasks';

export interface EvaluateRequest {
  modelDir: string;
  images: ImageSet;
  splits: Partial<Record<Split, PairList>>;
  threshold?: number;
}

export interface EvaluateOutcome {
  evaluation: EvaluationResult;
  scores: Partial<Record<Split, PairScores>>;
}

/** What the evaluation reports besides its fraction: the phase it is in. */
export type EvaluateProgress = { kind: 'phase'; phase: string };

export interface EvaluateHooks {
  signal?: AbortSignal;
  progress?: (fraction: number, message: string, data: EvaluateProgress) => void;
}

export async function evaluateTask(req: EvaluateRequest, hooks: EvaluateHooks = {}): Promise<EvaluateOutcome> {
  const model = await loadForInference(req.modelDir);
  try {
    hooks.progress?.(0.1, 'scoring pairs', { kind: 'phase', phase: 'score' });
    const { result, scores } = await evaluateModel(model, req.images, req.splits, { threshold: req.threshold, signal: hooks.signal });
    return { evaluation: result, scores };
  } finally {
    model.dispose();
  }
}

/**
 * evaluateTask over the workers of `pool` (engine/evaluate/embed-parallel.ts), driven from this thread
 * without tensor work here: the images the splits' pairs reference are embedded once each, in
 * chunks across the workers; the pair scores and the metrics are computed here from the
 * embeddings, as evaluateModel does (the same functions). The images stay in this thread.
 * Progress: the fraction of the images embedded. Cancel: `hooks.signal` stops the chunks and
 * rejects with an AbortError; the workers' copies of the model are freed in every case.
 */
export async function evaluateTaskParallel(
  pool: TaskPool<typeof evaluateTasks>,
  req: EvaluateRequest,
  hooks: EvaluateHooks & Pick<ParallelEmbedOptions, 'chunkSize' | 'inFlight'> = {},
): Promise<EvaluateOutcome> {
  const report = hooks.progress ?? (() => undefined);
  const { tau } = savedConfig(req.modelDir);
  const splits = Object.entries(req.splits) as [Split, PairList][];
  const { used, slot } = pairImages(splits.map(([, pairs]) => pairs));
  report(0, `embedding ${used.length} images on ${pool.size} workers`, { kind: 'phase', phase: 'embed' });
  const { embeddings, dim } = await embedImagesParallel(pool, req.modelDir, req.images, used, {
    signal: hooks.signal,
    chunkSize: hooks.chunkSize,
    inFlight: hooks.inFlight,
    onProgress: (done, total) => report(0.98 * (done / total), `embedding images ${done}/${total}`, { kind: 'phase', phase: 'embed' }),
  });
  report(0.98, 'scoring pairs', { kind: 'phase', phase: 'score' });
  const scores: Partial<Record<Split, PairScores>> = {};
  for (const [name, pairs] of splits) scores[name] = pairScoresFrom(embeddings, dim, slot, pairs, tau);
  return { evaluation: evaluationFromScores(req.splits, scores, req.threshold), scores };
}

/** The config saved with a version (siamese.json), without loading the network. */
function savedConfig(dir: string): ModelConfig {
  const meta = readJsonIfExists<{ config: ModelConfig }>(join(dir, SIAMESE_JSON));
  if (!meta) throw new Error(`${dir} is not a SimLens model folder (no ${SIAMESE_JSON})`);
  return meta.config;
}
