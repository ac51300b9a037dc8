// Shared set-up of the explanation tests: a workspace with the bundled Fashion-MNIST demo
// imported through the app, pairs generated, and a model version, either trained through
// the contract (models.train) or built with fixed (seeded, untrained) weights and saved the
// way the models code saves versions.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SimLensApp } from '../../src/main/app';
import { initBackend } from '../../src/main/engine/runtime/backend';
import { buildSiamese, defaultModelConfig, saveSiamese } from '../../src/main/engine/models';
import { WorkerPool } from '../../src/main/engine/runtime/pool';
import { vi } from 'vitest';
import { inProcessExplainEngine, poolExplainEngine, type ExplainEngine } from '../../src/main/engine/explain';
import type { EngineTasks } from '../../src/main/engine/tasks';
import { ExplainService } from '../../src/main/services/explain';
import { inProcessModelEngine } from '../../src/main/services/models';
import { jobResult } from '../../src/shared/job-result';

export const DEMO = resolve(__dirname, '../../resources/demo/fashion-mnist');

export interface Workspace {
  app: SimLensApp;
  dir: string;
  dbPath: string;
  datasetId: number;
  pairSetId: number;
  close(): Promise<void>;
}

/** A workspace with the demo dataset and one pair set (seed 42, 2 partners per anchor). wasm backend. */
export async function demoWorkspace(prefix = 'simlens-explain-'): Promise<Workspace> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const dbPath = join(dir, 'simlens.db');
  await initBackend({ force: 'wasm' });
  const app = new SimLensApp({ dbPath, shell: 'cli', modelEngine: inProcessModelEngine(() => initBackend({ force: 'wasm' })) });
  const imported = await app.jobs.wait((await app.call('datasets.import', { path: DEMO, kind: 'idx', name: 'Demo' })).jobId);
  if (imported.status !== 'done') throw new Error(`import failed: ${imported.error}`);
  const datasetId = jobResult(imported, 'import')!.datasetId;
  const pairs = await app.jobs.wait((await app.call('pairs.generate', { datasetId, seed: 42, pairsPerAnchor: 2 })).jobId);
  if (pairs.status !== 'done') throw new Error(`pairs failed: ${pairs.error}`);
  const pairSetId = jobResult(pairs, 'pairs')!.pairSetId;
  let closed = false;
  return {
    app,
    dir,
    dbPath,
    datasetId,
    pairSetId,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Trains a small CNN through the contract; returns the version id. */
export async function trainModel(
  ws: Workspace,
  args: { epochs: number; width: number; embeddingSize: number; seed?: number },
): Promise<number> {
  const job = await ws.app.jobs.wait(
    (
      await ws.app.call('models.train', {
        datasetId: ws.datasetId,
        batchSize: 64,
        learningRate: 1e-3,
        earlyStoppingPatience: 100,
        seed: args.seed ?? 1,
        ...args,
      })
    ).jobId,
  );
  if (job.status !== 'done') throw new Error(`training failed: ${job.error}`);
  return jobResult(job, 'train')!.modelId;
}

/** A version with fixed seeded weights (no training), saved like ModelService saves one. */
export async function fixedModel(ws: Workspace, opts: { width?: number; embeddingSize?: number; seed?: number } = {}): Promise<number> {
  const config = defaultModelConfig({
    arch: 'small',
    inputShape: [28, 28, 1],
    width: opts.width ?? 0.25,
    embeddingSize: opts.embeddingSize ?? 16,
    seed: opts.seed ?? 7,
  });
  const siamese = await buildSiamese(config);
  const repo = ws.app.models.repo;
  const id = repo.insert({
    name: 'fixed weights',
    datasetId: ws.datasetId,
    pairSetId: ws.pairSetId,
    parentId: null,
    jobId: null,
    arch: 'small',
    config: { model: config },
    weightsPath: null,
    seed: config.seed,
    backend: 'wasm',
    metrics: null,
  });
  const rel = `models/${id}`;
  mkdirSync(join(ws.dir, 'models'), { recursive: true });
  await saveSiamese(siamese, join(ws.dir, rel));
  siamese.dispose();
  repo.setWeightsPath(id, rel);
  return id;
}

/**
 * An ExplainService on `pool` (the pool engine), whose in-thread fallback is `local`: spy on
 * local's methods to show that nothing is computed in this thread.
 */
export function pooledExplainService(
  ws: Workspace,
  pool: WorkerPool<EngineTasks>,
  local: ExplainEngine = inProcessExplainEngine(),
): ExplainService {
  return new ExplainService(ws.app.db, ws.app.jobs, ws.app.models, poolExplainEngine(pool, local));
}

/** Spies on every computing method of an explanation engine (to assert that none is called). */
export function spyOnEngine(engine: ExplainEngine) {
  return (['describe', 'explain', 'measure', 'sanity'] as const).map((m) => vi.spyOn(engine, m));
}

/** A 1-worker pool with the explain tasks that records, in `ran`, the name of each task it is asked to run. */
export function recordingExplainPool(ran: string[]): WorkerPool<EngineTasks> {
  const pool = new WorkerPool<EngineTasks>({ size: 1, backend: 'wasm' });
  const run = pool.run.bind(pool);
  pool.run = ((task: string, ...rest: unknown[]) => {
    ran.push(task);
    return (run as (...a: unknown[]) => Promise<unknown>)(task, ...rest);
  }) as typeof pool.run;
  return pool;
}
