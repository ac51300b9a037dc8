// The composition root shared by every shell (Electron IPC, browser mode, CLI):
// opens the store, builds the services with plain constructor arguments, and binds
// each contract method to the service that does it.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { checkArgs, isMethodName, type ArgsOf, type ContractError, type MethodName, type ResultOf } from '../shared/contract';
import type { AppInfoDto, BackupDto, InferenceInfoDto } from '../shared/dto';
import { createBackup } from './backup/backup';
import { ValidationError } from '../shared/validate';
import { addDecoyDemo } from './demo';
import { AppError } from './errors';
import { EventBus } from './events';
import { DatasetService } from './services/datasets';
import { ImageService } from './services/images';
import { JobRunner } from './services/jobs';
import { inProcessModelEngine, ModelService, poolModelEngine, type ModelEngine } from './services/models';
import { PairService } from './services/pairs';
import { ExplainService } from './services/explain';
import { ReviewService } from './services/review';
import { ReviewBundleService } from './services/review-bundles';
import { ReviewExportService } from './services/review-export';
// masks
import { MaskService } from './services/masks';
import { MaskExchangeService } from './services/masks-exchange';
import { MaskEnergyService } from './services/mask-energy';
import { CompareService } from './services/compare';
import { inProcessExplainEngine, poolExplainEngine, type ExplainEngine } from './engine/explain';
import {
  defaultPoolSize,
  initBackend,
  initInference,
  ortThreads,
  WorkerPool,
  type InferenceInfo,
  type WorkerPoolOptions,
} from './engine/runtime';
import type { EngineTasks } from './engine/tasks';
import { openDatabase, SCHEMA_VERSION, type Db } from './store/db';
import { JobsRepo } from './store/jobs-repo';

export const APP_VERSION = '0.1.0';

/**
 * Where the tensor work runs:
 * - 'pool': engine worker threads (engine/runtime/pool), so the thread that serves the UI never
 *   blocks on it: training, evaluation, batch explanations and metrics, and also single-pair
 *   explanations, the sanity check and the look-up of a version's layers (ahead of queued batch
 *   work). The pool is created on first use (app start and calls that need no tensor work spawn
 *   no worker) and closed by close().
 * - 'in-process': this thread (tests, and anything that wants no threads).
 * Image decoding (sharp, on libuv threads) and overlay colouring stay on this thread either way.
 */
export type EngineMode = 'pool' | 'in-process';

/** The default engine of a shell: the pool where a UI is served (electron, browser); in-process for
 * 'cli' apps constructed directly (tests, scripts). The CLI runner itself asks for 'pool' (cli/run.ts). */
export function defaultEngine(shell: AppInfoDto['shell']): EngineMode {
  return shell === 'cli' ? 'in-process' : 'pool';
}

export interface AppOptions {
  dbPath: string;
  shell: AppInfoDto['shell'];
  nativeBinding?: string;
  /** Where jobs' tensor work runs (see EngineMode); default: defaultEngine(shell). */
  engine?: EngineMode;
  /** Options of the worker pool the app creates in 'pool' mode (size, backend, ...). */
  poolOptions?: WorkerPoolOptions;
  /** Where model training/evaluation runs; overrides `engine` for models. */
  modelEngine?: ModelEngine;
  /**
   * A pool owned by the caller (not closed by close()), used instead of creating one: for batch
   * explanations always, and for models in 'pool' mode. Its workers must register the engine
   * tasks (engine/worker.ts, the default worker, does).
   */
  enginePool?: EngineWorkerPool;
}

/** The app's pool: its workers run every engine task. */
type EngineWorkerPool = WorkerPool<EngineTasks>;

type Handlers = { [M in MethodName]: (args: ArgsOf<M>) => Promise<ResultOf<M>> | ResultOf<M> };

export class SimLensApp {
  readonly db: Db;
  readonly events = new EventBus();
  readonly jobs: JobRunner;
  readonly datasets: DatasetService;
  readonly pairs: PairService;
  readonly images: ImageService;
  readonly models: ModelService;
  readonly explain: ExplainService;
  /** verdicts, the review queue and sessions, summaries */
  readonly review: ReviewService;
  /** verdict exports (CSV / JSON) */
  readonly reviewExport: ReviewExportService;
  /** review bundles between workspaces */
  readonly reviewBundles: ReviewBundleService;
  /** masks per image and author, with history */
  readonly masks: MaskService;
  /** masks in and out as files (PNG, COCO, CSV) */
  readonly maskExchange: MaskExchangeService;
  /** the review queue's "energy mostly outside the mask" filter, measured before the queue counts */
  readonly maskEnergy: MaskEnergyService;
  /** comparing two model versions (models.compare, models.comparePairs) */
  readonly compare: CompareService;
  /** Explanations in this thread: the engine in 'in-process' mode, the pool engine's fallback otherwise. */
  readonly localExplain: ExplainEngine;
  /** 'pool' or 'in-process': see EngineMode. */
  readonly engine: EngineMode;
  private readonly handlers: Handlers;
  private ownPool: EngineWorkerPool | null = null;
  private closed = false;

  constructor(readonly options: AppOptions) {
    mkdirSync(dirname(options.dbPath), { recursive: true });
    this.db = openDatabase(options.dbPath, { nativeBinding: options.nativeBinding });
    this.jobs = new JobRunner(new JobsRepo(this.db), this.events);
    this.images = new ImageService(this.db);
    this.datasets = new DatasetService(this.db, this.jobs);
    this.pairs = new PairService(this.db, this.jobs);
    this.engine = options.engine ?? defaultEngine(options.shell);
    const ready = () => initBackend();
    this.models = new ModelService(this.db, this.jobs, {
      workspaceDir: dirname(options.dbPath),
      // The pool is looked up at each call, so it is only created when a job first needs it; with
      // several workers, training runs data-parallel over all of them (engine/train/data-parallel.ts).
      engine: options.modelEngine ?? (this.engine === 'pool' ? poolModelEngine(() => this.enginePool()) : inProcessModelEngine(ready)),
      appVersion: APP_VERSION,
    });
    this.localExplain = inProcessExplainEngine(ready);
    const explainOnPool = options.enginePool !== undefined || this.engine === 'pool';
    this.explain = new ExplainService(
      this.db,
      this.jobs,
      this.models,
      explainOnPool ? poolExplainEngine(() => this.enginePool(), this.localExplain) : this.localExplain,
    );
    this.review = new ReviewService(this.db);
    this.reviewExport = new ReviewExportService(this.db);
    this.reviewBundles = new ReviewBundleService(this.db, this.models, APP_VERSION);
    this.masks = new MaskService(this.db);
    this.maskExchange = new MaskExchangeService(this.db, this.masks, APP_VERSION);
    this.maskEnergy = new MaskEnergyService(this.db);
    this.compare = new CompareService(this.db, this.jobs, this.models, this.explain, this.review);
    this.handlers = {
      'app.info': () => this.info(),
      'datasets.list': () => this.datasets.list(),
      'datasets.get': ({ id }) => this.datasets.get(id),
      'datasets.import': async (args) => ({ jobId: (await this.datasets.startImport(args)).id }),
      'datasets.delete': ({ id }) => this.datasets.delete(id),
      'demo.addDecoy': () => addDecoyDemo(this),
      'jobs.list': ({ limit }) => this.jobs.list(limit),
      'jobs.get': ({ id }) => this.jobs.get(id),
      'jobs.cancel': ({ id }) => this.jobs.cancel(id),
      'jobs.importReport': (args) => this.datasets.importReport(args),
      'pairs.generate': (args) => ({ jobId: this.pairs.startGenerate(args).id }),
      'pairs.page': (args) => this.pairs.page(args),
      'images.thumbnails': ({ ids }) => this.images.thumbnails(ids),
      'images.pixels': ({ id }) => this.images.pixels(id),
      'models.list': ({ datasetId }) => this.models.list(datasetId),
      'models.get': ({ id }) => this.models.get(id),
      'models.train': (args) => ({ jobId: this.models.startTrain(args).id }),
      'models.evaluate': (args) => ({ jobId: this.models.startEvaluate(args).id }),
      'models.delete': async ({ id }) => {
        await this.explain.releaseModel(id);
        return this.models.delete(id);
      },
      'models.export': ({ id, path, format }) => this.models.export(id, path, format),
      'explain.layers': ({ modelId }) => this.explain.layers(modelId),
      'explain.pair': (args) => this.explain.explainPair(args),
      'explain.overlay': (args) => this.explain.overlay(args),
      'explain.batch': async (args) => ({ jobId: (await this.explain.startBatch(args)).id }),
      'explain.metrics': async (args) => ({ jobId: (await this.explain.startMetrics(args)).id }),
      'explain.sanity': (args) => this.explain.sanity(args),
      'explain.faithfulness': async (args) => ({ jobId: (await this.explain.startFaithfulness(args)).id }),
      'explain.reliability': (args) => this.explain.reliability(args),
      'models.faithfulness': ({ id }) => this.explain.faithfulnessOf(id),
      // review
      'review.reviewer': () => this.review.reviewer(),
      'review.setReviewer': ({ name }) => this.review.setReviewer(name),
      // the queue's maskOutside count and filter read a cache measured first (services/mask-energy.ts)
      'review.queue': async (args) => {
        await this.maskEnergy.refresh(args.modelId, args.split);
        return this.review.queue(args);
      },
      'review.session': async (args) => {
        const session = this.review.session(args);
        if (!session?.filters.maskOutside) return session;
        await this.maskEnergy.refresh(session.modelId, session.split);
        return this.review.session(args);
      },
      'review.saveSession': async (args) => {
        if (args.filters?.maskOutside) await this.maskEnergy.refresh(args.modelId, args.split);
        return this.review.saveSession(args);
      },
      'review.verdict': (args) => this.review.verdict(args),
      'review.undo': (args) => this.review.undo(args),
      'review.history': (args) => this.review.history(args),
      'review.tags': ({ modelId }) => this.review.tags(modelId),
      'review.stats': ({ modelId }) => this.review.stats(modelId),
      'review.export': (args) => this.reviewExport.export(args),
      'review.exportBundle': (args) => this.reviewBundles.exportBundle(args),
      'review.importBundle': (args) => this.reviewBundles.importBundle(args),
      // masks
      'masks.get': (args) => this.masks.get(args),
      'masks.history': (args) => this.masks.history(args),
      'masks.save': (args) => this.masks.save(args),
      'masks.export': (args) => this.maskExchange.export(args),
      'masks.import': (args) => this.maskExchange.import(args),
      'explain.maps': (args) => this.explain.maps(args),
      // retraining with masks, comparing versions
      'models.retrain': (args) => ({ jobId: this.models.startRetrain(args).id }),
      'models.maskCoverage': ({ id, author }) => this.models.maskCoverage(id, author),
      'models.maskSnapshot': ({ id, offset, limit }) => this.models.maskSnapshot(id, offset, limit),
      'models.compare': async (args) => ({ jobId: (await this.compare.startCompare(args)).id }),
      'models.comparePairs': (args) => this.compare.comparePairs(args),
      // hardening
      'models.resumeTrain': ({ jobId }) => ({ jobId: this.models.resumeTrain(jobId).id }),
      'app.backup': ({ path }) => this.backup(path),
    };
  }

  /** The workspace folder: the database's folder, where models/ and backups/ live. */
  get workspaceDir(): string {
    return dirname(this.options.dbPath);
  }

  /** A consistent backup of the workspace while it is in use (backup/backup.ts); default file: <workspace>/backups/simlens-<time>.simlens-backup. */
  backup(path?: string): Promise<BackupDto> {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const out = path ? resolve(path) : join(this.workspaceDir, 'backups', `simlens-${stamp}.simlens-backup`);
    return createBackup(this.db, this.workspaceDir, out, APP_VERSION);
  }

  /** App facts, including the tfjs backend chosen at run time and why better ones were not. */
  async info(): Promise<AppInfoDto> {
    const backend = await initBackend().then(
      (b) => ({ name: b.name, notes: b.notes }),
      (error: unknown) => ({
        name: 'none',
        notes: [`no tfjs backend could start: ${error instanceof Error ? error.message : String(error)}`],
      }),
    );
    return {
      version: APP_VERSION,
      shell: this.options.shell,
      dbPath: this.options.dbPath,
      schemaVersion: SCHEMA_VERSION,
      backend,
      inference: await this.inferenceInfo(),
    };
  }

  /**
   * The inference engine as this thread chooses it (the engine's workers choose alike: same
   * environment, same packages), with the threads and sessions of where the work runs, and the
   * versions that fell back to tfjs.
   */
  private async inferenceInfo(): Promise<InferenceInfoDto> {
    const onPool = this.engine === 'pool' || this.options.enginePool !== undefined;
    const env = this.options.poolOptions?.env ?? process.env;
    const sessions = onPool ? (this.options.enginePool?.size ?? this.options.poolOptions?.size ?? defaultPoolSize(env)) : 1;
    const chosen = await initInference({ env }).catch((error: unknown): InferenceInfo => ({
      name: 'tfjs',
      providers: [],
      threads: 0,
      notes: [(error as Error).message],
    }));
    return {
      name: chosen.name,
      ...(chosen.ortVersion ? { ortVersion: chosen.ortVersion } : {}),
      providers: chosen.providers,
      threads: chosen.name === 'ort' ? ortThreads(env, onPool) : 0,
      sessions: chosen.name === 'ort' ? sessions : 0,
      notes: chosen.notes,
      fallbacks: chosen.name === 'ort' ? this.models.inferenceFallbacks() : [],
    };
  }

  /**
   * The single entry for untrusted calls (IPC, HTTP): checks the method name and
   * arguments, runs the handler, and turns any failure into a ContractError.
   */
  async dispatch(name: string, rawArgs: unknown): Promise<{ ok: true; value: unknown } | { ok: false; error: ContractError }> {
    if (!isMethodName(name)) return { ok: false, error: { code: 'unknown_method', message: `Unknown method "${name}"` } };
    try {
      const args = checkArgs(name, rawArgs);
      const handler = this.handlers[name] as (a: unknown) => unknown;
      return { ok: true, value: await handler(args) };
    } catch (error) {
      return { ok: false, error: toContractError(error) };
    }
  }

  /** Typed call for in-process users (CLI, tests); throws on failure. */
  async call<M extends MethodName>(name: M, args: ArgsOf<M>): Promise<ResultOf<M>> {
    const res = await this.dispatch(name, args);
    if (!res.ok) throw new AppError(res.error.code === 'unknown_method' ? 'failed' : res.error.code, res.error.message);
    return res.value as ResultOf<M>;
  }

  /** The engine worker pool: the caller's (options.enginePool), or the app's own, created on first use. */
  enginePool(): EngineWorkerPool {
    if (this.options.enginePool) return this.options.enginePool;
    if (this.closed) throw new AppError('failed', 'The app is closed');
    this.ownPool ??= new WorkerPool<EngineTasks>(this.options.poolOptions);
    return this.ownPool;
  }

  /** Whether the app has started its own worker pool (for diagnostics and tests). */
  get hasOwnPool(): boolean {
    return this.ownPool !== null;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.jobs.stopAll();
    this.jobs.dispose();
    await this.ownPool?.close();
    this.ownPool = null;
    this.db.close();
  }
}

export function toContractError(error: unknown): ContractError {
  if (error instanceof ValidationError) return { code: 'invalid_argument', message: error.message };
  if (error instanceof AppError) return { code: error.code, message: error.message };
  return { code: 'failed', message: error instanceof Error ? error.message : String(error) };
}
