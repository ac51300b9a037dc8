// Where the engine runs by default (issue 3): an app that serves a UI (shell 'browser' or
// 'electron') trains on an engine worker thread, started on first use, so this thread stays
// responsive while it trains; cancelling stops the job; close() ends the workers. The worker
// runs from sources here (src/main/engine/worker.ts through tsx); the browser-mode e2e
// tests (test/e2e/models.spec.ts) train the same way from the bundle (out/main/engine-worker.js).
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultEngine, SimLensApp } from '../../src/main/app';
import { ensureDemoWorkspace } from '../../src/main/demo';
import type { JobDto } from '../../src/shared/dto';
import { MIN_BUSY_TICKS, ticksWhile } from './event-loop';
import { until } from './until';
import { jobResult } from '../../src/shared/job-result';

let dir: string;
let app: SimLensApp;
let datasetId: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'simlens-default-pool-'));
  // As web-entry.ts builds it, but with one worker (the test needs no more; the default is one per core).
  app = new SimLensApp({ dbPath: join(dir, 'simlens.db'), shell: 'browser', poolOptions: { size: 1 } });
  const demo = await ensureDemoWorkspace(app, { modelDir: null }); // no background jobs: this file measures the pool's own use
  datasetId = demo.datasetId!;
});

afterAll(async () => {
  await app?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const tiny = { epochs: 1, batchSize: 32, width: 0.25, embeddingSize: 8, seed: 1 };

describe('the default engine of a UI app is the worker pool', () => {
  it('defaults: pool for electron and browser, in-process for apps built as shell "cli"', () => {
    expect(defaultEngine('browser')).toBe('pool');
    expect(defaultEngine('electron')).toBe('pool');
    expect(defaultEngine('cli')).toBe('in-process');
    expect(app.engine).toBe('pool');
  });

  it('starts no worker until a job needs one', async () => {
    await app.call('pairs.page', { datasetId, limit: 10 });
    await app.call('models.list', {});
    expect(app.hasOwnPool).toBe(false);
  });

  it('trains 1 epoch on a worker thread while this thread keeps answering', async () => {
    const progress: number[] = [];
    const off = app.events.on('job.updated', (job: JobDto) => {
      if (job.kind === 'train' && job.status === 'running') progress.push(job.progress);
    });
    // API round trips that completed while the worker was computing the training
    let answeredWhileBusy = 0;
    let roundTrips = 0;
    const workerBusy = () => app.hasOwnPool && app.enginePool().busy > 0;
    const t = await ticksWhile(async () => {
      const { jobId } = await app.call('models.train', { datasetId, ...tiny });
      const done = app.jobs.wait(jobId);
      // Meanwhile the API answers: cheap calls, one after another.
      let finished = false;
      void done.then(() => (finished = true));
      while (!finished) {
        await app.call('pairs.page', { datasetId, limit: 100 });
        const busy = workerBusy();
        const j = await app.call('jobs.get', { id: jobId });
        roundTrips++;
        if (busy && workerBusy() && j.status === 'running') answeredWhileBusy++;
        await new Promise((r) => setTimeout(r, 25));
      }
      return done;
    }, workerBusy);
    off();
    const job = t.value;
    expect(job.status, job.error ?? '').toBe('done');
    expect(job.result).toMatchObject({ epochs: 1 });
    const modelId = jobResult(job, 'train')!.modelId;
    expect(app.models.get(modelId).weightsPath).toBe(`models/${modelId}`);
    // The work ran on the pool's worker, not on this thread.
    expect(app.hasOwnPool).toBe(true);
    const workers = app.enginePool().workers();
    expect(workers).toHaveLength(1);
    expect(workers[0].threadId).not.toBe(threadId);
    expect(progress.some((p) => p > 0.5)).toBe(true);
    console.log(
      `train on the pool: ${t.ms.toFixed(0)} ms; ${t.ticks} ticks of this thread (${t.busyTicks} while the worker trained, max gap ${t.maxGapMs.toFixed(0)} ms); ` +
        `${roundTrips} API round trips, ${answeredWhileBusy} answered while the worker trained`,
    );
    // orderings, not times: this thread ran timers and answered the API while the worker computed
    expect(t.busyTicks).toBeGreaterThanOrEqual(MIN_BUSY_TICKS);
    expect(answeredWhileBusy).toBeGreaterThanOrEqual(3);
  });

  it('cancels a running training job; the worker stops at its next step and is free again', async () => {
    const { jobId } = await app.call('models.train', { datasetId, ...tiny, epochs: 50 });
    // Wait until the worker is in the training loop (step progress), then cancel.
    await new Promise<void>((resolve) => {
      const off = app.events.on('job.updated', (job: JobDto) => {
        if (job.id === jobId && job.status === 'running' && job.message?.includes('step')) {
          off();
          resolve();
        }
      });
    });
    const before = app.models.list().length;
    const pool = app.enginePool();
    const thread = pool.workers()[0].threadId;
    expect(pool.busy).toBe(1);
    await app.call('jobs.cancel', { id: jobId });
    const job = await app.jobs.wait(jobId);
    expect(job.status).toBe('cancelled');
    expect(app.models.list()).toHaveLength(before);
    // The task stops at its next step (the synchronous cancel flag) and the slot is free again: the
    // same thread (a task that ignored the flag would have its worker terminated and replaced).
    await until(() => pool.busy === 0, 'the worker to stop the cancelled training');
    expect(pool.workers()[0].threadId).toBe(thread);
    const models = join(dir, 'models');
    expect(existsSync(models) ? readdirSync(models).filter((n) => n.startsWith('.job-')) : []).toEqual([]);
  });

  it('close() ends the pool', async () => {
    const pool = app.enginePool();
    await app.close();
    await expect(pool.run('engine.info')).rejects.toThrow(/closed/);
    expect(() => app.enginePool()).toThrow(/closed/);
  });
});
