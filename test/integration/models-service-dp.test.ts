// The ModelService training data-parallel over a 2-worker engine pool (services/models.ts:
// poolModelEngine -> engine/train/data-parallel.ts): a stored version, and a cancel that leaves the
// store consistent, the pool usable and no tensors in the workers.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SimLensApp } from '../../src/main/app';
import { WorkerPool } from '../../src/main/engine/runtime/pool';
import { poolModelEngine } from '../../src/main/services/models';
import { seedToyDataset, untilTraining } from './models-fixture';
import type { EngineTasks } from '../../src/main/engine/tasks';
import { jobResult } from '../../src/shared/job-result';

let pool: WorkerPool<EngineTasks>;
const dirs: string[] = [];
const apps: SimLensApp[] = [];

beforeAll(async () => {
  pool = new WorkerPool<EngineTasks>({ size: 2, backend: 'wasm', cancelGraceMs: 5000 });
  await pool.ready();
});
afterAll(async () => {
  await pool?.close();
});
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function makeApp(): { app: SimLensApp; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'simlens-models-dp-'));
  dirs.push(dir);
  // the engine looks the pool up at each call, as the app does with its lazily created pool
  const app = new SimLensApp({ dbPath: join(dir, 'simlens.db'), shell: 'cli', modelEngine: poolModelEngine(() => pool) });
  apps.push(app);
  return { app, dir };
}

const trainArgs = { epochs: 4, batchSize: 16, learningRate: 3e-3, seed: 1, width: 0.125, embeddingSize: 8 };
const workerTensors = async () => (await pool.broadcast('engine.info')).map((i) => i.memory.numTensors);

describe('ModelService with a data-parallel pool engine', () => {
  it('trains over both workers: progress, a stored version with metrics and weights', async () => {
    const { app, dir } = makeApp();
    const { datasetId } = seedToyDataset(app.db);
    const messages: string[] = [];
    app.events.on('job.updated', (j) => j.message && messages.push(j.message));
    const job = await app.jobs.wait((await app.call('models.train', { datasetId, ...trainArgs })).jobId);
    expect(job.error).toBeNull();
    expect(job.status).toBe('done');
    const version = await app.call('models.get', { id: jobResult(job, 'train')!.modelId });
    expect(version.backend).toBe('wasm');
    expect(version.metrics!.splits.test!.auc).toBeGreaterThan(0.9);
    // step messages are throttled (a tiny model may finish its steps between two), epoch messages never are
    for (const m of messages.filter((x) => x.includes(' · step '))) expect(m).toMatch(/^epoch \d+\/4 · step \d+\/\d+ · loss [\d.]+/);
    expect(messages.filter((m) => /^epoch \d: loss [\d.]+ val AUC [\d.]+$/.test(m)).length).toBeGreaterThanOrEqual(1);
    expect(existsSync(join(dir, 'models', String(version.id), 'model.json'))).toBe(true);
    expect((app.db.prepare('SELECT count(*) AS n FROM scores WHERE model_id = ?').get(version.id) as { n: number }).n).toBeGreaterThan(0);
  });

  it('cancelling leaves a consistent store, frees the replicas, and the pool keeps working', async () => {
    const { app, dir } = makeApp();
    const { datasetId } = seedToyDataset(app.db);
    const baseline = await workerTensors();
    const { jobId } = await app.call('models.train', { datasetId, ...trainArgs, epochs: 200 });
    await untilTraining(app, jobId);
    app.jobs.cancel(jobId);
    const job = await app.jobs.wait(jobId);
    expect(job.status).toBe('cancelled');
    expect(app.models.repo.count()).toBe(0);
    expect((app.db.prepare('SELECT count(*) AS n FROM scores').get() as { n: number }).n).toBe(0);
    const modelsDir = join(dir, 'models');
    expect(existsSync(modelsDir) ? readdirSync(modelsDir) : []).toEqual([]);
    expect(await workerTensors()).toEqual(baseline);
    expect(await pool.run('engine.echo', 7)).toBe(7);
  });
});
