// The composition root shared by every shell (Electron IPC, browser mode, CLI):
// opens the store, builds the services with plain constructor arguments, and binds
// each contract method to the service that does it.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { checkArgs, isMethodName, type ArgsOf, type ContractError, type MethodName, type ResultOf } from '../shared/contract';
import type { AppInfoDto } from '../shared/dto';
import { ValidationError } from '../shared/validate';
import { AppError } from './errors';
import { EventBus } from './events';
import { DatasetService } from './services/datasets';
import { ImageService } from './services/images';
import { JobRunner } from './services/jobs';
import { inProcessModelEngine, ModelService, type ModelEngine } from './services/models';
import { initBackend } from './engine/backend';
import { PairService } from './services/pairs';
import { ExplainService } from './services/explain';
import type { WorkerPool } from './engine/pool';
import { openDatabase, SCHEMA_VERSION, type Db } from './store/db';
import { JobsRepo } from './store/jobs-repo';

export const APP_VERSION = '0.1.0';

export interface AppOptions {
  dbPath: string;
  shell: AppInfoDto['shell'];
  nativeBinding?: string;
  /** Where model training/evaluation runs; default: in this process (TODO: the engine worker pool). */
  modelEngine?: ModelEngine;
  /** Engine worker pool for batch explanations and metrics (its workers must register engine/explain-task); default: this thread. */
  enginePool?: WorkerPool;
}

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
  private readonly handlers: Handlers;

  constructor(readonly options: AppOptions) {
    mkdirSync(dirname(options.dbPath), { recursive: true });
    this.db = openDatabase(options.dbPath, { nativeBinding: options.nativeBinding });
    this.jobs = new JobRunner(new JobsRepo(this.db), this.events);
    this.images = new ImageService(this.db);
    this.datasets = new DatasetService(this.db, this.jobs);
    this.pairs = new PairService(this.db, this.jobs);
    this.models = new ModelService(this.db, this.jobs, {
      workspaceDir: dirname(options.dbPath),
      engine: options.modelEngine ?? inProcessModelEngine(() => initBackend()),
    });
    this.explain = new ExplainService(this.db, this.jobs, this.models, { pool: options.enginePool });
    this.handlers = {
      'app.info': () => this.info(),
      'datasets.list': () => this.datasets.list(),
      'datasets.get': ({ id }) => this.datasets.get(id),
      'datasets.import': (args) => ({ jobId: this.datasets.startImport(args).id }),
      'datasets.delete': ({ id }) => this.datasets.delete(id),
      'jobs.list': ({ limit }) => this.jobs.list(limit),
      'jobs.get': ({ id }) => this.jobs.get(id),
      'jobs.cancel': ({ id }) => this.jobs.cancel(id),
      'jobs.importReport': (args) => this.datasets.importReport(args),
      'pairs.generate': (args) => ({ jobId: this.pairs.startGenerate(args).id }),
      'pairs.page': (args) => this.pairs.page(args),
      'images.thumbnails': ({ ids }) => this.images.thumbnails(ids),
      'models.list': ({ datasetId }) => this.models.list(datasetId),
      'models.get': ({ id }) => this.models.get(id),
      'models.train': (args) => ({ jobId: this.models.startTrain(args).id }),
      'models.evaluate': (args) => ({ jobId: this.models.startEvaluate(args).id }),
      'models.delete': ({ id }) => this.models.delete(id),
      'models.export': ({ id, path }) => this.models.export(id, path),
      'explain.layers': ({ modelId }) => this.explain.layers(modelId),
      'explain.pair': (args) => this.explain.explainPair(args),
      'explain.overlay': (args) => this.explain.overlay(args),
      'explain.batch': async (args) => ({ jobId: (await this.explain.startBatch(args)).id }),
      'explain.metrics': async (args) => ({ jobId: (await this.explain.startMetrics(args)).id }),
      'explain.sanity': (args) => this.explain.sanity(args),
    };
  }

  /** App facts, including the tfjs backend chosen at run time and why better ones were not. */
  async info(): Promise<AppInfoDto> {
    const backend = await initBackend().then(
      (b) => ({ name: b.name, notes: b.notes }),
      (error: unknown) => ({ name: 'none', notes: [`no tfjs backend could start: ${error instanceof Error ? error.message : String(error)}`] }),
    );
    return { version: APP_VERSION, shell: this.options.shell, dbPath: this.options.dbPath, schemaVersion: SCHEMA_VERSION, backend };
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

  async close(): Promise<void> {
    await this.jobs.stopAll();
    this.db.close();
  }
}

export function toContractError(error: unknown): ContractError {
  if (error instanceof ValidationError) return { code: 'invalid_argument', message: error.message };
  if (error instanceof AppError) return { code: error.code, message: error.message };
  return { code: 'failed', message: error instanceof Error ? error.message : String(error) };
}
