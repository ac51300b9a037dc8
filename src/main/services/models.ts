// Model versions: training and evaluation as jobs, list/get/delete/export, and where a
// version's folder is. The tensor work goes through a ModelEngine: in-process by default, or
// the worker pool (poolModelEngine).
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { ArgsOf } from '../../shared/contract';
import type {
  EpochDto,
  FrozenFeaturesDto,
  JobDto,
  MaskCoverageDto,
  MaskSnapshotDto,
  RetrainJobResult,
  RetrainLossName,
  RetrainSettingsDto,
  JobProgressData,
  ModelArch,
  ModelExportDto,
  ModelExportFormat,
  ModelMetricsDto,
  ModelMetricsSummary,
  ModelVersionDto,
  Split,
  SplitMetricsDto,
  TrainJobResult,
  TrainSettingsDto,
} from '../../shared/dto';
import { RETRAIN_DEFAULTS } from '../../shared/dto';
import { AppError, invalid, notFound } from '../errors';
import { buildImageSet, maskAtInput, pairListFrom, type PairList, type Shape3 } from '../engine/data';
import {
  evaluateTask,
  evaluateTaskParallel,
  type EvaluateOutcome,
  type EvaluateProgress,
  type EvaluateRequest,
  type EvaluateTasks,
  type EvaluationResult,
  type SplitMetrics,
} from '../engine/evaluate';
import type { ModelRef } from '../engine/explain';
import { checkPreprocess, defaultModelConfig, savedModelInputShape, SIAMESE_JSON, type ModelConfig } from '../engine/models';
import {
  ONNX_CACHE_DIR,
  readOnnxFallback,
  writeOnnxBundle,
  type OnnxBundleInfo,
  type OnnxBundleRequest,
  type OnnxTasks,
} from '../engine/onnx';
import {
  DEFAULT_AUGMENT,
  NO_AUGMENT,
  retrainTask,
  retrainTaskParallel,
  trainTask,
  trainTaskParallel,
  type FrozenFeaturesInfo,
  type MaskData,
  type RetrainOutcome,
  type RetrainRequest,
  type TrainData,
  type TrainOutcome,
  type TrainProgress,
  type TrainRequest,
  type TrainTasks,
} from '../engine/train';
import { decodeMask } from '../images/mask';
import { RetrainRepo } from '../store/retrain-repo';
import type { TaskPool } from '../engine/runtime';
import type { Db } from '../store/db';
import { ModelsRepo, type ModelVersionRow, type SplitImageRow } from '../store/models-repo';
import { ScoresRepo } from '../store/scores-repo';
import type { JobContext, JobRunner } from './jobs';

/** What a model task reports besides its fraction (training: step, epoch, phase; evaluation: phase). */
export type ModelTaskProgress = TrainProgress | EvaluateProgress;

export interface EngineCallOptions {
  signal?: AbortSignal;
  onProgress?: (fraction: number, message: string, data?: ModelTaskProgress) => void;
}

/** Where model tasks run. */
export interface ModelEngine {
  train(req: TrainRequest, options: EngineCallOptions): Promise<TrainOutcome>;
  evaluate(req: EvaluateRequest, options: EngineCallOptions): Promise<EvaluateOutcome>;
  /** Mask-guided retraining (engine/train/retrain.ts); an engine without it cannot retrain. */
  retrain?(req: RetrainRequest, options: EngineCallOptions): Promise<RetrainOutcome>;
  /** Writes a version's ONNX export (engine/onnx/bundle.ts); an engine without it cannot export ONNX. */
  exportOnnx?(req: OnnxBundleRequest): Promise<{ files: string[]; info: OnnxBundleInfo }>;
}

/** Runs the tasks in this thread, after `ready` (e.g. initBackend). */
export function inProcessModelEngine(ready: () => Promise<unknown> = async () => undefined): ModelEngine {
  return {
    train: async (req, o) => {
      await ready();
      return trainTask(req, { signal: o.signal, progress: o.onProgress });
    },
    evaluate: async (req, o) => {
      await ready();
      return evaluateTask(req, { signal: o.signal, progress: o.onProgress });
    },
    retrain: async (req, o) => {
      await ready();
      return retrainTask(req, { signal: o.signal, progress: o.onProgress });
    },
    exportOnnx: async (req) => {
      await ready();
      return writeOnnxBundle(req);
    },
  };
}

/** The pool model tasks run on: workers with the training and evaluation tasks (every engine worker has them). */
export type ModelPool = TaskPool<TrainTasks & EvaluateTasks & OnnxTasks>;

export interface PoolEngineOptions {
  /** Train data-parallel over all workers when the pool has several (default true); else one worker trains. */
  dataParallel?: boolean;
}

/**
 * Model tasks on an engine worker pool (`pool`, or a function returning it, looked up at each
 * call so a lazily created pool starts on first use). Training with a pool of >= 2 workers is
 * data-parallel (engine/train/data-parallel.ts): coordinated here, in the calling thread, which
 * only slices batches and averages gradient arrays; the tensor work runs in the workers.
 * Evaluation with >= 2 workers embeds chunks of images on all of them
 * (engine/evaluate/embed-parallel.ts) and scores the pairs here from the embeddings.
 */
export function poolModelEngine(pool: ModelPool | (() => ModelPool), options: PoolEngineOptions = {}): ModelEngine {
  const get = () => (typeof pool === 'function' ? pool() : pool);
  const relay = (o: EngineCallOptions) => (f: number, m?: string, d?: unknown) =>
    o.onProgress?.(f, m ?? '', d as ModelTaskProgress | undefined);
  return {
    train: (req, o) => {
      const p = get();
      if (options.dataParallel !== false && p.size >= 2) return trainTaskParallel(p, req, { signal: o.signal, progress: relay(o) });
      return p.run('models.train', req, {
        signal: o.signal,
        onProgress: relay(o),
        transfer: [req.data.images.pixels.buffer as ArrayBuffer],
      });
    },
    evaluate: (req, o) => {
      const p = get();
      // >= 2 workers: the images are embedded in chunks across all of them (the images stay here)
      if (p.size >= 2) return evaluateTaskParallel(p, req, { signal: o.signal, progress: relay(o) });
      return p.run('models.evaluate', req, { signal: o.signal, onProgress: relay(o), transfer: [req.images.pixels.buffer as ArrayBuffer] });
    },
    // as training: data-parallel over all workers when there are several, else in one worker
    retrain: (req, o) => {
      const p = get();
      if (options.dataParallel !== false && p.size >= 2) return retrainTaskParallel(p, req, { signal: o.signal, progress: relay(o) });
      return p.run('models.retrain', req, {
        signal: o.signal,
        onProgress: relay(o),
        transfer: [req.data.images.pixels.buffer as ArrayBuffer],
      });
    },
    exportOnnx: (req) => get().run('models.exportOnnx', req),
  };
}

export interface ModelServiceOptions {
  /** The workspace folder: versions live in <workspace>/models/<id>/. */
  workspaceDir: string;
  engine?: ModelEngine;
  /** Written into exported ONNX models as producer_version. */
  appVersion?: string;
}

const toRoc = (m: SplitMetrics): SplitMetricsDto => ({
  ...m,
  roc: m.roc.map((p) => ({ fpr: p.fpr, tpr: p.tpr, threshold: Number.isFinite(p.threshold) ? p.threshold : null })),
});

function metricsDto(ev: EvaluationResult, training?: ModelMetricsDto['training'], previous?: ModelMetricsDto | null): ModelMetricsDto {
  const splits: ModelMetricsDto['splits'] = {};
  for (const [k, m] of Object.entries(ev.splits) as [Split, SplitMetrics][]) splits[k] = toRoc(m);
  return {
    threshold: ev.threshold,
    thresholdSource: ev.thresholdSource,
    splits: { ...(previous && previous.threshold === ev.threshold ? previous.splits : {}), ...splits },
    ...(training ? { training } : previous?.training ? { training: previous.training } : {}),
    evaluatedAt: new Date().toISOString(),
  };
}

function toDto(r: ModelVersionRow): ModelVersionDto {
  return {
    id: r.id,
    name: r.name,
    datasetId: r.dataset_id,
    pairSetId: r.pair_set_id,
    parentId: r.parent_id,
    jobId: r.job_id,
    arch: r.arch,
    config: r.config,
    weightsPath: r.weights_path,
    seed: r.seed,
    backend: r.backend,
    metrics: r.metrics,
    createdAt: r.created_at,
  };
}

/** Short numbers for job results. */
function summary(m: ModelMetricsDto): ModelMetricsSummary {
  const out: ModelMetricsSummary = { threshold: m.threshold };
  for (const [k, s] of Object.entries(m.splits) as [Split, SplitMetricsDto][]) {
    out[`${k}Auc`] = s.auc;
    out[`${k}Accuracy`] = s.accuracy;
  }
  return out;
}

export class ModelService {
  readonly repo: ModelsRepo;
  readonly scores: ScoresRepo;
  readonly retrainRepo: RetrainRepo;
  readonly engine: ModelEngine;
  private readonly modelsDir: string;

  constructor(
    private readonly db: Db,
    private readonly jobs: JobRunner,
    private readonly options: ModelServiceOptions,
  ) {
    this.repo = new ModelsRepo(db);
    this.scores = new ScoresRepo(db);
    this.retrainRepo = new RetrainRepo(db);
    this.engine = options.engine ?? inProcessModelEngine();
    this.modelsDir = join(options.workspaceDir, 'models');
    this.removeOrphans();
  }

  /**
   * After a crash or a kill: staging folders of jobs no process runs any more (.job-N, and a
   * retraining's epoch checkpoints .job-N-checkpoint: only plain training resumes), copies
   * of imports whose process is gone (.tmp-import-PID-*), and version folders without a row.
   * Another process may share the workspace (the app and a CLI job): its running jobs'
   * folders are left alone, and while any training runs somewhere, folders without a row are
   * too (a version being committed has its folder before its row is visible). JobRunner has
   * marked the jobs of gone processes interrupted before this runs (app.ts builds it first).
   */
  removeOrphans(): string[] {
    if (!existsSync(this.modelsDir)) return [];
    const unfinished = new Set(this.repo.unfinishedJobIds());
    const removed: string[] = [];
    for (const name of readdirSync(this.modelsDir)) {
      const job = /^\.job-(\d+)(-checkpoint)?$/.exec(name);
      const tmp = /^\.tmp-import-(\d+)-/.exec(name);
      const orphan = job
        ? !unfinished.has(Number(job[1]))
        : tmp
          ? !processRuns(Number(tmp[1]))
          : name.startsWith('.tmp-') || (/^\d+$/.test(name) && unfinished.size === 0 && !this.repo.get(Number(name)));
      if (!orphan) continue;
      rmSync(join(this.modelsDir, name), { recursive: true, force: true });
      removed.push(name);
    }
    return removed;
  }

  list(datasetId?: number): ModelVersionDto[] {
    return this.repo.list(datasetId).map(toDto);
  }

  get(id: number): ModelVersionDto {
    const row = this.repo.get(id);
    if (!row) throw notFound('Model version', id);
    return toDto(row);
  }

  /** Absolute folder of a version's weights. */
  weightsDir(id: number): string {
    const row = this.repo.get(id);
    if (!row) throw notFound('Model version', id);
    if (!row.weights_path) throw new AppError('conflict', `Model version ${id} has no weights`);
    return resolve(this.options.workspaceDir, row.weights_path);
  }

  /**
   * Versions that run on tfjs although ONNX Runtime is the inference engine, with the reason the
   * engine recorded in their ONNX cache (engine/onnx/accelerator.ts: a layer the exporter does not
   * convert, outputs that disagree with tfjs).
   */
  inferenceFallbacks(): { modelId: number; name: string; reason: string }[] {
    return this.repo.list().flatMap((row) => {
      const fallback = row.weights_path ? readOnnxFallback(resolve(this.options.workspaceDir, row.weights_path)) : null;
      return fallback ? [{ modelId: row.id, name: row.name, reason: fallback.reason }] : [];
    });
  }

  /** A version as the engine addresses it: its folder, and a key unique to it (versions are immutable). */
  versionRef(id: number): ModelRef {
    const row = this.repo.get(id);
    if (!row) throw notFound('Model version', id);
    const modelDir = this.weightsDir(id);
    return { modelDir, modelKey: `${modelDir}@${row.created_at}` };
  }

  delete(id: number): { deleted: boolean } {
    const row = this.repo.get(id);
    if (!row) return { deleted: false };
    const deleted = this.repo.delete(id); // scores and explanations cascade
    if (row.weights_path) rmSync(resolve(this.options.workspaceDir, row.weights_path), { recursive: true, force: true });
    return { deleted };
  }

  /** Writes version `id` into folder `path` as a tfjs folder (a copy) or as ONNX (see ModelExportFormat). */
  async export(id: number, path: string, format: ModelExportFormat = 'tfjs'): Promise<ModelExportDto> {
    const src = this.weightsDir(id);
    if (!existsSync(src)) throw new AppError('failed', `The weights folder of model version ${id} is missing (${src})`);
    const dest = isAbsolute(path) ? path : resolve(path);
    if (existsSync(dest) && readdirSync(dest).length > 0) throw invalid(`${dest} exists and is not empty`);
    if (format === 'onnx') {
      if (!this.engine.exportOnnx) throw new AppError('failed', 'This engine cannot export ONNX');
      const row = this.repo.get(id)!;
      try {
        const { files } = await this.engine.exportOnnx({
          modelDir: src,
          outDir: dest,
          modelVersion: { id, name: row.name, arch: row.arch },
          threshold: row.metrics?.threshold ?? null,
          producerVersion: this.options.appVersion,
        });
        return { path: dest, format, files };
      } catch (error) {
        // e.g. a layer the exporter does not convert: the user's request cannot be met, and the message says why
        throw new AppError('failed', `Model version ${id} cannot be exported to ONNX: ${(error as Error).message}`);
      }
    }
    mkdirSync(dest, { recursive: true });
    cpSync(src, dest, { recursive: true, filter: notOnnxCache });
    return { path: dest, format, files: readdirSync(dest).sort() };
  }

  // ---- training ----

  private resolvePairSet(datasetId: number, pairSetId?: number): number {
    if (!this.repo.datasetExists(datasetId)) throw notFound('Dataset', datasetId);
    const ps = pairSetId ?? this.repo.latestPairSetId(datasetId);
    if (ps === undefined) throw invalid(`Dataset ${datasetId} has no pairs yet: generate pairs first`);
    const info = this.repo.pairSet(ps);
    if (!info) throw notFound('Pair set', ps);
    if (info.datasetId !== datasetId) throw invalid(`Pair set ${ps} belongs to dataset ${info.datasetId}, not ${datasetId}`);
    return ps;
  }

  /** Model config from the arguments and the images' sizes. */
  private modelConfig(args: ArgsOf<'models.train'>, pairSetId: number, parent?: ModelVersionRow): ModelConfig {
    if (parent) {
      const inherited = parent.config.model.preprocess ?? 'none';
      if (args.preprocess !== undefined && args.preprocess !== inherited) {
        throw invalid(
          `args.preprocess: "${args.preprocess}" differs from parent version ${parent.id}'s "${inherited}"; a fine-tuned version keeps its parent's input preprocessing`,
        );
      }
      return parent.config.model;
    }
    const sizes = this.repo.imageSizes(pairSetId);
    if (sizes.length === 0) throw invalid(`Pair set ${pairSetId} has no images`);
    const maxSide = Math.max(...sizes.map((s) => Math.max(s.width, s.height)));
    const channels = sizes.some((s) => s.channels === 3) ? 3 : 1;
    const arch: ModelArch = args.arch ?? (maxSide <= 64 ? 'small' : 'resnet18');
    if (args.head && arch !== 'small') throw invalid(`head "${args.head}" is an option of the small CNN, not of ${arch}`);
    if (args.convBias !== undefined && arch !== 'small') throw invalid(`convBias is an option of the small CNN, not of ${arch}`);
    let shape: Shape3;
    if (arch === 'pretrained') {
      if (!args.backbone) throw invalid('arch "pretrained" needs backbone.dir');
      try {
        shape = savedModelInputShape(args.backbone.dir);
      } catch (error) {
        throw invalid(`args.backbone.dir: ${(error as Error).message}`);
      }
    } else if (args.inputSize) {
      shape = [args.inputSize, args.inputSize, channels];
    } else if (sizes.length === 1 && maxSide <= 64) {
      shape = [sizes[0].height, sizes[0].width, channels];
    } else {
      const side = arch === 'small' ? Math.min(64, maxSide) : maxSide <= 64 ? maxSide : 224;
      shape = [side, side, channels];
    }
    if (args.preprocess) {
      const problem = checkPreprocess(args.preprocess, shape, arch === 'pretrained' ? "the backbone's input" : 'the network input');
      if (problem) throw invalid(`args.preprocess: ${problem}`);
    }
    return defaultModelConfig({
      arch,
      inputShape: shape,
      embeddingSize: args.embeddingSize,
      margin: args.margin,
      seed: args.seed ?? 0,
      width: args.width,
      ...(args.head ? { head: args.head } : {}),
      // New small CNNs train without conv biases unless asked: with a flatten head, biased channels
      // stay active on a black background and the gradient maps light it up (issue #15's measurements:
      // resources/demo/README.md). Configs saved without the field still load with biases.
      ...(arch === 'small' ? { convBias: args.convBias ?? false } : {}),
      ...(args.backbone ? { backbone: args.backbone } : {}),
      ...(args.preprocess ? { preprocess: args.preprocess } : {}),
    });
  }

  /** Reads and decodes what a job needs: the images of the pair set and the pairs of `splits`. */
  private async loadData(
    pairSetId: number,
    shape: Shape3,
    splits: Split[],
    withTrainImages: boolean,
    ctx: JobContext,
  ): Promise<{
    images: TrainData['images'];
    pairs: Partial<Record<Split, PairList>>;
    trainImages: SplitImageRow[];
    index: Map<number, number>;
  }> {
    const pairRows = Object.fromEntries(splits.map((s) => [s, this.repo.pairs(pairSetId, s)])) as Record<
      Split,
      ReturnType<ModelsRepo['pairs']>
    >;
    const trainImages: SplitImageRow[] = withTrainImages ? this.repo.splitImages(pairSetId, ['train']) : [];
    // a COPY: the val/test images appended below must not become training anchors
    const rows: Omit<SplitImageRow, 'split'>[] = [...trainImages];
    const have = new Set(rows.map((r) => r.id));
    const needed = new Set<number>();
    for (const s of splits) for (const p of pairRows[s]) for (const id of [p.image_a, p.image_b]) if (!have.has(id)) needed.add(id);
    rows.push(...this.repo.imagesById([...needed].sort((a, b) => a - b)));
    ctx.throwIfCancelled();
    const images = await buildImageSet(rows, shape, (done) => {
      ctx.progress(0.02 * (done / rows.length), `decoding images ${done}/${rows.length}`);
      ctx.throwIfCancelled();
    });
    const index = new Map(rows.map((r, i) => [r.id, i]));
    const pairs: Partial<Record<Split, PairList>> = {};
    for (const s of splits) {
      pairs[s] = pairListFrom(pairRows[s].map((p) => ({ a: index.get(p.image_a)!, b: index.get(p.image_b)!, label: p.label, id: p.id })));
    }
    return { images, pairs, trainImages, index };
  }

  startTrain(args: ArgsOf<'models.train'>): JobDto {
    const pairSetId = this.resolvePairSet(args.datasetId, args.pairSetId);
    let parent: ModelVersionRow | undefined;
    if (args.parentId !== undefined) {
      parent = this.repo.get(args.parentId);
      if (!parent) throw notFound('Model version', args.parentId);
      if (!parent.weights_path) throw new AppError('conflict', `Model version ${args.parentId} has no weights`);
    }
    const model = this.modelConfig(args, pairSetId, parent);
    const train: TrainSettingsDto = {
      epochs: args.epochs ?? 10,
      batchSize: args.batchSize ?? 128,
      learningRate: args.learningRate ?? (parent ? 1e-4 : 1e-3),
      margin: model.margin,
      seed: args.seed ?? 0,
      earlyStoppingPatience: args.earlyStoppingPatience ?? 3,
      lrPatience: args.lrPatience ?? 2,
      augment: args.augment ? DEFAULT_AUGMENT : NO_AUGMENT,
    };
    const name = args.name ?? `${model.arch} · ${new Date().toISOString().slice(0, 16).replace('T', ' ')}`;
    const plan: TrainPlan = { name, datasetId: args.datasetId, pairSetId, model, train, parentId: parent?.id ?? null };
    return this.jobs.start('train', { ...args, pairSetId }, (ctx) => this.runTrain(ctx, plan));
  }

  /**
   * Continues an interrupted training job (its process was killed, or the app closed while it ran)
   * from its last epoch checkpoint, as a new 'train' job with the same plan: it ends with the
   * metrics the run would have had uninterrupted. A cancelled job keeps nothing to resume.
   */
  resumeTrain(jobId: number): JobDto {
    const job = this.jobs.get(jobId);
    if (job.kind !== 'train') throw invalid(`Job ${jobId} is a ${job.kind} job, not a training`);
    if (job.status !== 'interrupted')
      throw new AppError('conflict', `Job ${jobId} is ${job.status}: only an interrupted training can be resumed`);
    const saved = this.jobs.checkpoint(jobId) as TrainJobState | null;
    if (!saved?.plan) throw new AppError('conflict', `Job ${jobId} has no training plan to resume (it was started by an older SimLens)`);
    if (!saved.resume)
      throw new AppError('conflict', `Job ${jobId} was interrupted before its first epoch ended: there is nothing to resume; train again`);
    const from = resolve(this.options.workspaceDir, saved.resume.dir);
    if (!existsSync(from)) throw new AppError('conflict', `The checkpoint of job ${jobId} is gone (${from}); train again`);
    if (!this.repo.pairSet(saved.plan.pairSetId)) throw notFound('Pair set', saved.plan.pairSetId);
    if (saved.plan.parentId !== null && !this.repo.get(saved.plan.parentId)) throw notFound('Model version', saved.plan.parentId);
    const root = saved.root ?? jobId;
    return this.jobs.start('train', { ...job.params, resumes: jobId }, (ctx) =>
      this.runTrain(ctx, saved.plan, { root, from, epoch: saved.resume!.epoch, history: saved.history ?? [] }),
    );
  }

  private async runTrain(ctx: JobContext, p: TrainPlan, resume?: TrainResume): Promise<TrainJobResult> {
    const parent = p.parentId === null ? undefined : this.repo.get(p.parentId);
    if (p.parentId !== null && !parent) throw notFound('Model version', p.parentId);
    // one folder of checkpoints per chain of resumed jobs, named after its first job
    const root = resume?.root ?? ctx.jobId;
    const checkpoints = join(this.modelsDir, '.checkpoints', `train-${root}`);
    const state = (extra: Partial<TrainJobState>): TrainJobState => ({ plan: p, root, resume: null, history: [], ...extra });
    ctx.saveCheckpoint(
      state(
        resume ? { resume: { dir: relative(this.options.workspaceDir, resume.from), epoch: resume.epoch }, history: resume.history } : {},
      ),
    );
    ctx.progress(0, 'loading images');
    const { images, pairs, trainImages, index } = await this.loadData(p.pairSetId, p.model.inputShape, ['train', 'val', 'test'], true, ctx);
    if (!pairs.val || pairs.val.a.length === 0)
      throw invalid(`Pair set ${p.pairSetId} has no validation pairs: training needs them (best epoch, threshold)`);
    const data = this.trainDataOf(images, pairs, trainImages, index);
    if (!data.train && (!data.trainPairs || data.trainPairs.a.length === 0)) throw invalid(`Pair set ${p.pairSetId} has no training data`);
    const evaluate: Partial<Record<Split, PairList>> = { val: pairs.val };
    if (pairs.test && pairs.test.a.length > 0) evaluate.test = pairs.test;
    const pairIds = { val: pairs.val.ids, test: pairs.test?.ids };

    mkdirSync(this.modelsDir, { recursive: true });
    const staging = join(this.modelsDir, `.job-${ctx.jobId}`);
    const history: EpochDto[] = [...(resume?.history ?? [])];
    let finished = false;
    try {
      const outcome = await this.engine.train(
        {
          model: p.model,
          ...(parent ? { initFromDir: resolve(this.options.workspaceDir, parent.weights_path!) } : {}),
          train: p.train,
          data,
          evaluate,
          outDir: staging,
          checkpointDir: checkpoints,
          ...(resume ? { resumeFrom: resume.from } : {}),
        },
        {
          signal: ctx.signal,
          onProgress: (fraction, message, d) => {
            // Each step's data repeats the latest epoch's val AUC, so an update that replaces the
            // epoch's own (throttling; another process polling the row) loses nothing. The text
            // is for display only (status line, CLI progress): nothing parses it.
            if (d?.kind === 'epoch') history.push(d.record);
            if (d?.kind === 'checkpoint') {
              ctx.saveCheckpoint(state({ resume: { dir: relative(this.options.workspaceDir, d.dir), epoch: d.epoch }, history }));
              return; // saved silently: the epoch's own update has been shown
            }
            const last = history[history.length - 1];
            ctx.progress(0.02 + 0.98 * fraction, progressText(d, last, message), jobData(d, p.train.epochs, last));
          },
        },
      );
      ctx.throwIfCancelled();
      const metrics = trainedMetrics(outcome);
      // Commit: row + folder + scores, all or nothing (synchronous: no cancel can interleave).
      const modelId = this.repo.transaction(() => {
        const id = this.repo.insert({
          name: p.name,
          datasetId: p.datasetId,
          pairSetId: p.pairSetId,
          parentId: parent?.id ?? null,
          jobId: ctx.jobId,
          arch: outcome.config.arch,
          config: { model: outcome.config, train: p.train },
          weightsPath: null,
          seed: p.train.seed ?? null,
          backend: outcome.backend,
          metrics,
        });
        const rel = `models/${id}`;
        const final = resolve(this.options.workspaceDir, rel);
        if (existsSync(final)) rmSync(final, { recursive: true, force: true }); // an orphan of a crash: no row owns it
        renameSync(staging, final);
        this.repo.setWeightsPath(id, rel);
        for (const s of ['val', 'test'] as const) {
          const sc = outcome.scores[s];
          const ids = pairIds[s];
          if (sc && ids)
            this.scores.upsert(
              id,
              Array.from(ids, (pairId, i) => ({ pairId, score: sc.score[i], distance: sc.distance[i] })),
            );
        }
        return id;
      });
      finished = true;
      return {
        modelId,
        ...summary(metrics),
        bestEpoch: outcome.training.bestEpoch,
        epochs: outcome.training.history.length,
        history: outcome.training.history,
      };
    } catch (error) {
      // stopped by the app closing: the checkpoints stay (the job ends interrupted, to be resumed);
      // cancelled by the user, or failed (it would fail again): nothing is kept
      if (!ctx.stoppedByShutdown()) finished = true;
      throw error;
    } finally {
      rmSync(staging, { recursive: true, force: true });
      if (finished) {
        rmSync(checkpoints, { recursive: true, force: true });
        rmEmptyDir(dirname(checkpoints));
      }
    }
  }

  // ---- retraining with the experts' masks ----

  /** The version a retraining starts from, with its pair set; throws a contract error when it cannot be one. */
  private retrainParent(id: number): ModelVersionRow & { pair_set_id: number; weights_path: string } {
    const row = this.repo.get(id);
    if (!row) throw notFound('Model version', id);
    if (!row.weights_path) throw new AppError('conflict', `Model version ${id} has no weights`);
    if (row.pair_set_id === null)
      throw new AppError('conflict', `Model version ${id} has no pair set (it was deleted): nothing to retrain on`);
    return row as ModelVersionRow & { pair_set_id: number; weights_path: string };
  }

  /** Which images of the version's pair set have masks, and whether a retraining can start. */
  maskCoverage(id: number, author?: string): MaskCoverageDto {
    const row = this.retrainParent(id);
    const splits = this.retrainRepo.coverage(row.pair_set_id, author);
    const train = splits.find((s) => s.split === 'train');
    const others = splits.filter((s) => s.split !== 'train').reduce((n, s) => n + s.masked, 0);
    const canRetrain = (train?.masked ?? 0) > 0;
    return {
      modelId: id,
      pairSetId: row.pair_set_id,
      author: author ?? null,
      splits,
      trainAuthors: this.retrainRepo.authors(row.pair_set_id, 'train'),
      canRetrain,
      reason: canRetrain
        ? null
        : `No train image of pair set ${row.pair_set_id} has a mask${author ? ` by "${author}"` : ''}: retraining learns from masks on train images` +
          (others > 0 ? ` (the ${others} masked val/test images only measure)` : ''),
    };
  }

  /** A page of the masks a retrained version used. */
  maskSnapshot(id: number, offset = 0, limit = 1000): MaskSnapshotDto {
    if (!this.repo.get(id)) throw notFound('Model version', id);
    const { total, rows } = this.retrainRepo.snapshot(id, offset, limit);
    return { modelId: id, total, offset, rows };
  }

  startRetrain(args: ArgsOf<'models.retrain'>): JobDto {
    if (!this.engine.retrain) throw new AppError('failed', 'This model engine cannot retrain');
    const parent = this.retrainParent(args.id);
    const coverage = this.maskCoverage(args.id, args.author);
    if (!coverage.canRetrain) throw invalid(coverage.reason!);
    const loss = args.loss ?? RETRAIN_DEFAULTS.loss;
    const train: TrainSettingsDto = {
      epochs: args.epochs ?? 3,
      batchSize: args.batchSize ?? 64,
      learningRate: args.learningRate ?? 1e-3,
      margin: parent.config.model.margin,
      seed: args.seed ?? 0,
      earlyStoppingPatience: 0,
      lrPatience: 0,
      augment: NO_AUGMENT,
    };
    const lambda = args.lambda ?? RETRAIN_DEFAULTS.lambda[loss];
    const name = args.name ?? `${parent.name} · retrained (${loss}${loss === 'augment' ? '' : `, λ ${lambda}`})`;
    const params = { ...args, loss, lambda, pairSetId: parent.pair_set_id };
    return this.jobs.start('retrain', params, (ctx) => this.runRetrain(ctx, { parent, name, loss, lambda, train, args }));
  }

  /** The newest masks of the train images (of the author), decoded at the input size, as the engine takes them. */
  private async trainMasks(
    trainImageIds: number[],
    index: Map<number, number>,
    shape: Shape3,
    author: string | undefined,
    ctx: JobContext,
  ): Promise<{ data: MaskData; used: { maskId: number; imageId: number; author: string }[] }> {
    const rows = this.retrainRepo.newestMasks(trainImageIds, author);
    const [H, W] = shape;
    const masks = new Uint8Array(rows.length * H * W);
    const images = new Int32Array(rows.length);
    for (const [i, r] of rows.entries()) {
      ctx.throwIfCancelled();
      let grid;
      try {
        grid = await decodeMask(r);
      } catch (error) {
        throw invalid(`Mask ${r.id} (image ${r.image_id}, by ${r.author}) cannot be decoded: ${(error as Error).message}`);
      }
      masks.set(maskAtInput(grid, H, W), i * H * W);
      images[i] = index.get(r.image_id)!;
    }
    return { data: { images, masks }, used: rows.map((r) => ({ maskId: r.id, imageId: r.image_id, author: r.author })) };
  }

  private async runRetrain(
    ctx: JobContext,
    p: {
      parent: ModelVersionRow & { pair_set_id: number; weights_path: string };
      name: string;
      loss: RetrainLossName;
      lambda: number;
      train: TrainSettingsDto;
      args: ArgsOf<'models.retrain'>;
    },
  ): Promise<RetrainJobResult> {
    const { parent } = p;
    const model = parent.config.model;
    ctx.progress(0, 'loading images');
    const { images, pairs, trainImages, index } = await this.loadData(
      parent.pair_set_id,
      model.inputShape,
      ['train', 'val', 'test'],
      true,
      ctx,
    );
    if (!pairs.val || pairs.val.a.length === 0)
      throw invalid(`Pair set ${parent.pair_set_id} has no validation pairs: retraining needs them`);
    const data = this.trainDataOf(images, pairs, trainImages, index);
    if (!data.train && (!data.trainPairs || data.trainPairs.a.length === 0))
      throw invalid(`Pair set ${parent.pair_set_id} has no training data`);
    ctx.progress(0.02, 'reading masks');
    const masks = await this.trainMasks(
      trainImages.map((r) => r.id),
      index,
      model.inputShape,
      p.args.author,
      ctx,
    );
    if (masks.used.length === 0) throw invalid(this.maskCoverage(parent.id, p.args.author).reason ?? 'No train image has a mask');
    const evaluate: Partial<Record<Split, PairList>> = { val: pairs.val };
    if (pairs.test && pairs.test.a.length > 0) evaluate.test = pairs.test;
    const pairIds = { val: pairs.val.ids, test: pairs.test?.ids };

    mkdirSync(this.modelsDir, { recursive: true });
    const staging = join(this.modelsDir, `.job-${ctx.jobId}`);
    const checkpointDir = join(this.modelsDir, `.job-${ctx.jobId}-checkpoint`);
    const history: EpochDto[] = [];
    try {
      const outcome = await this.engine.retrain!(
        {
          model,
          initFromDir: resolve(this.options.workspaceDir, parent.weights_path),
          train: { ...p.train, keep: 'last' },
          data,
          masks: masks.data,
          method: {
            loss: p.loss,
            lambda: p.lambda,
            maps: p.args.maps ?? RETRAIN_DEFAULTS.maps,
            freezeBelow: p.args.freezeBelow ?? false,
            maskedRepeat: p.args.maskedRepeat ?? RETRAIN_DEFAULTS.maskedRepeat,
          },
          evaluate,
          outDir: staging,
          checkpointDir,
        },
        {
          signal: ctx.signal,
          onProgress: (fraction, message, d) => {
            if (d?.kind === 'epoch') {
              history.push(d.record);
              // the job row's checkpoint: the history so far and the folder holding the latest epoch's weights
              ctx.saveCheckpoint({ history, epoch: d.record.epoch, weights: checkpointDir });
            }
            const last = history[history.length - 1];
            ctx.progress(
              0.03 + 0.97 * fraction,
              progressText(d, last, message, `retraining (${p.loss}) · `),
              jobData(d, p.train.epochs, last),
            );
          },
        },
      );
      ctx.throwIfCancelled();
      const metrics = trainedMetrics(outcome);
      const authors = new Map<string, number>();
      for (const m of masks.used) authors.set(m.author, (authors.get(m.author) ?? 0) + 1);
      const retrain: RetrainSettingsDto = {
        parentId: parent.id,
        loss: p.loss,
        lossUsed: outcome.retrain.used,
        lambda: p.lambda,
        maps: outcome.retrain.maps,
        layer: outcome.retrain.layer,
        gradLayer: outcome.retrain.gradLayer,
        freezeBelow: outcome.retrain.freezeBelow,
        fallback: outcome.retrain.fallback,
        author: p.args.author ?? null,
        masks: {
          count: masks.used.length,
          trainImages: outcome.retrain.trainImages,
          authors: [...authors].map(([author, n]) => ({ author, masks: n })).sort((x, y) => x.author.localeCompare(y.author)),
        },
        check: outcome.check,
      };
      const modelId = this.commitVersion(ctx, {
        name: p.name,
        datasetId: parent.dataset_id,
        pairSetId: parent.pair_set_id,
        parentId: parent.id,
        outcome,
        config: { model: outcome.config, train: p.train, retrain },
        metrics,
        staging,
        pairIds,
        after: (id) => this.retrainRepo.insertSnapshot(id, masks.used),
      });
      return {
        modelId,
        ...summary(metrics),
        bestEpoch: outcome.training.bestEpoch,
        epochs: outcome.training.history.length,
        history: outcome.training.history,
        retrain,
      };
    } finally {
      rmSync(staging, { recursive: true, force: true });
      rmSync(checkpointDir, { recursive: true, force: true });
    }
  }

  /** Training data from a pair set's decoded images: labelled train images (pairs redrawn each epoch), else the stored train pairs. */
  private trainDataOf(
    images: TrainData['images'],
    pairs: Partial<Record<Split, PairList>>,
    trainImages: SplitImageRow[],
    index: Map<number, number>,
  ): TrainData {
    const labelled = trainImages.length > 0 && trainImages.every((r) => r.class_label !== null);
    const classIds = new Map<string, number>();
    return {
      images,
      val: pairs.val!,
      ...(labelled
        ? {
            train: {
              indices: Int32Array.from(trainImages, (r) => index.get(r.id)!),
              classes: Int32Array.from(trainImages, (r) => {
                const key = r.class_label!;
                if (!classIds.has(key)) classIds.set(key, classIds.size);
                return classIds.get(key)!;
              }),
            },
          }
        : { trainPairs: pairs.train }),
    };
  }

  /**
   * Commits a trained version: row + folder + val/test scores (+ `after`), all or nothing
   * (synchronous: no cancel can interleave). Returns the new id.
   */
  private commitVersion(
    ctx: JobContext,
    v: {
      name: string;
      datasetId: number | null;
      pairSetId: number;
      parentId: number | null;
      outcome: TrainOutcome;
      config: ModelVersionDto['config'];
      metrics: ModelMetricsDto;
      staging: string;
      pairIds: { val?: Int32Array; test?: Int32Array };
      after?: (id: number) => void;
    },
  ): number {
    return this.repo.transaction(() => {
      const id = this.repo.insert({
        name: v.name,
        datasetId: v.datasetId,
        pairSetId: v.pairSetId,
        parentId: v.parentId,
        jobId: ctx.jobId,
        arch: v.outcome.config.arch,
        config: v.config,
        weightsPath: null,
        seed: v.config.train?.seed ?? null,
        backend: v.outcome.backend,
        metrics: v.metrics,
      });
      const rel = `models/${id}`;
      const final = resolve(this.options.workspaceDir, rel);
      if (existsSync(final)) rmSync(final, { recursive: true, force: true }); // an orphan of a crash: no row owns it
      renameSync(v.staging, final);
      this.repo.setWeightsPath(id, rel);
      for (const s of ['val', 'test'] as const) {
        const sc = v.outcome.scores[s];
        const ids = v.pairIds[s];
        if (sc && ids)
          this.scores.upsert(
            id,
            Array.from(ids, (pairId, i) => ({ pairId, score: sc.score[i], distance: sc.distance[i] })),
          );
      }
      v.after?.(id);
      return id;
    });
  }

  // ---- evaluation ----

  startEvaluate(args: ArgsOf<'models.evaluate'>): JobDto {
    const row = this.repo.get(args.id);
    if (!row) throw notFound('Model version', args.id);
    if (row.pair_set_id === null)
      throw new AppError('conflict', `Model version ${args.id} has no pair set to evaluate on (it was deleted)`);
    const splits = [...new Set(args.splits ?? ['val', 'test'])] as Split[];
    const previous = row.metrics;
    if (!splits.includes('val') && !previous) throw invalid('Without stored metrics the threshold must be chosen on val: include "val"');
    const dir = this.weightsDir(args.id);
    return this.jobs.start('evaluate', { id: args.id, splits }, async (ctx) => {
      ctx.progress(0, 'loading images');
      const { images, pairs } = await this.loadData(row.pair_set_id!, row.config.model.inputShape, splits, false, ctx);
      const nonEmpty = Object.fromEntries(Object.entries(pairs).filter(([, pl]) => pl.a.length > 0)) as Partial<Record<Split, PairList>>;
      if (Object.keys(nonEmpty).length === 0) throw invalid('No pairs in the chosen splits');
      const threshold = nonEmpty.val ? undefined : previous?.threshold;
      const out = await this.engine.evaluate(
        { modelDir: dir, images, splits: nonEmpty, ...(threshold !== undefined ? { threshold } : {}) },
        { signal: ctx.signal, onProgress: (f, m) => ctx.progress(0.05 + 0.9 * f, m) },
      );
      ctx.throwIfCancelled();
      const metrics = metricsDto(out.evaluation, undefined, previous);
      this.repo.transaction(() => {
        this.repo.setMetrics(args.id, metrics);
        for (const [s, sc] of Object.entries(out.scores) as [Split, { score: Float32Array; distance: Float32Array }][]) {
          const ids = nonEmpty[s]!.ids!;
          this.scores.upsert(
            args.id,
            Array.from(ids, (pairId, i) => ({ pairId, score: sc.score[i], distance: sc.distance[i] })),
          );
        }
      });
      return { modelId: args.id, ...summary(metrics) };
    });
  }

  // ---- import of a saved version (e.g. the bundled demo model) ----

  /**
   * Registers a model folder saved by SimLens (siamese.json + model.json + weights) as a new
   * version of a dataset's pair set: copied into the workspace, row and folder committed together.
   * Its metrics are not known yet: evaluate it (models.evaluate) to get them.
   */
  importVersion(sourceDir: string, target: { name: string; datasetId: number; pairSetId: number }): ModelVersionDto {
    const meta = readSavedVersion(sourceDir);
    if (!this.repo.datasetExists(target.datasetId)) throw notFound('Dataset', target.datasetId);
    const info = this.repo.pairSet(target.pairSetId);
    if (!info || info.datasetId !== target.datasetId)
      throw invalid(`Pair set ${target.pairSetId} is not a pair set of dataset ${target.datasetId}`);
    mkdirSync(this.modelsDir, { recursive: true });
    const staging = join(this.modelsDir, `.tmp-import-${process.pid}-${Date.now()}`);
    // an ONNX cache from elsewhere is never trusted: this workspace exports and checks its own
    cpSync(sourceDir, staging, { recursive: true, filter: notOnnxCache });
    try {
      const id = this.repo.transaction(() => {
        const newId = this.repo.insert({
          name: target.name,
          datasetId: target.datasetId,
          pairSetId: target.pairSetId,
          parentId: null,
          jobId: null,
          arch: meta.config.arch,
          config: { model: meta.config, importedFrom: sourceDir },
          weightsPath: null,
          seed: meta.config.seed,
          backend: null,
          metrics: null,
        });
        const rel = `models/${newId}`;
        const final = resolve(this.options.workspaceDir, rel);
        if (existsSync(final)) rmSync(final, { recursive: true, force: true }); // an orphan of a crash
        renameSync(staging, final);
        this.repo.setWeightsPath(newId, rel);
        return newId;
      });
      return this.get(id);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
}

/** What a training job needs to run, fixed when it starts, so that resuming it trains the same model. */
interface TrainPlan {
  name: string;
  datasetId: number;
  pairSetId: number;
  model: ModelConfig;
  train: TrainSettingsDto;
  parentId: number | null;
}

/** A 'train' job's checkpoint column: its plan, its chain's first job, the latest epoch checkpoint on disk (workspace-relative) and the history so far. */
interface TrainJobState {
  history: EpochDto[];
  plan: TrainPlan;
  root: number;
  resume: { dir: string; epoch: number } | null;
}

/** Where a resumed job continues: its chain's first job, the checkpoint folder and epoch, the history so far. */
interface TrainResume {
  root: number;
  from: string;
  epoch: number;
  history: EpochDto[];
}

/** Removes a folder if it is empty (another job's checkpoints may still be in it). */
/** cpSync filter: everything but a version's ONNX Runtime cache (engine/onnx/accelerator.ts), which is rebuilt on use. */
const notOnnxCache = (source: string): boolean => basename(source) !== ONNX_CACHE_DIR;

function rmEmptyDir(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // not empty, or gone already
  }
}

/** Whether a process with this pid runs on this machine. */
function processRuns(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The config of a saved version folder, checked before anything is copied. */
function readSavedVersion(dir: string): { config: ModelConfig } {
  const metaPath = join(dir, SIAMESE_JSON);
  if (!existsSync(join(dir, 'model.json')) || !existsSync(metaPath))
    throw invalid(`${dir} is not a saved SimLens model (it needs model.json and ${SIAMESE_JSON})`);
  let meta: { format?: string; config?: ModelConfig };
  try {
    meta = JSON.parse(readFileSync(metaPath, 'utf8')) as typeof meta;
  } catch (error) {
    throw invalid(`${metaPath}: not valid JSON (${(error as Error).message})`);
  }
  if (meta.format !== 'simlens-siamese' || !meta.config || !Array.isArray(meta.config.inputShape))
    throw invalid(`${metaPath}: not a SimLens model description`);
  return { config: meta.config };
}

/** The job's structured progress (JobDto.data) for a model task's progress report; `last`: the latest finished epoch. */
/** A training job's status line (display only: nothing parses it): the step, loss, latest val AUC and ETA. */
function progressText(d: ModelTaskProgress | undefined, last: EpochDto | undefined, message: string, prefix = ''): string {
  if (d?.kind !== 'step') return message;
  const { epoch, epochs, step, steps, loss, etaSeconds } = d.info;
  return (
    `${prefix}epoch ${epoch}/${epochs} · step ${step}/${steps} · loss ${loss.toFixed(4)}` +
    (last ? ` · val AUC ${last.valAuc.toFixed(4)} (epoch ${last.epoch})` : '') +
    ` · ETA ${Math.round(etaSeconds)} s`
  );
}

/** The metrics of a version just trained: its evaluation and its training's history. */
function trainedMetrics(outcome: Pick<TrainOutcome, 'evaluation' | 'training'>): ModelMetricsDto {
  const t = outcome.training;
  return metricsDto(outcome.evaluation, {
    history: t.history,
    bestEpoch: t.bestEpoch,
    bestValAuc: t.bestValAuc,
    stoppedEarly: t.stoppedEarly,
    seconds: t.seconds,
    ...(t.frozenFeatures ? { frozenFeatures: frozenFeaturesDto(t.frozenFeatures) } : {}),
  });
}

/** What the version keeps of how its frozen blocks ran (the log's note says the same). */
function frozenFeaturesDto(f: FrozenFeaturesInfo): FrozenFeaturesDto {
  return {
    used: f.used,
    ...(f.boundary !== undefined ? { boundary: f.boundary } : {}),
    ...(f.cached !== undefined ? { cached: f.cached } : {}),
    ...(f.reason !== undefined ? { reason: f.reason } : {}),
    ortImages: f.ortImages,
  };
}

function jobData(d: ModelTaskProgress | undefined, epochs: number | undefined, last: EpochDto | undefined): JobProgressData | undefined {
  if (d?.kind === 'step') {
    const { epoch, epochs: total, step, steps, loss, learningRate, etaSeconds } = d.info;
    return {
      kind: 'train.step',
      epoch,
      epochs: total,
      step,
      steps,
      loss,
      learningRate,
      etaSeconds,
      valAuc: last?.valAuc ?? null,
      valAucEpoch: last?.epoch ?? null,
    };
  }
  if (d?.kind === 'epoch') return { kind: 'train.epoch', record: d.record, epochs: epochs ?? null };
  return undefined;
}
