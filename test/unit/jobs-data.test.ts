// JobDto.data: the structured progress of a running job's latest update (issue: the UI's live
// chart reads it instead of parsing message text). Attached to job.updated, jobs.get and
// jobs.list while the job runs; 'train.epoch' updates are never throttled away; gone when done.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EpochDto, JobDto, JobProgressData } from '../../src/shared/dto';
import { EventBus } from '../../src/main/events';
import { JobRunner } from '../../src/main/services/jobs';
import { openDatabase, type Db } from '../../src/main/store/db';
import { JobsRepo } from '../../src/main/store/jobs-repo';

/** A stand-in job result: these tests check the runner, not what a real task of the kind returns. */
const stub = (result: object) => result as never;

let dir = '';
let db: Db | undefined;
function setup(): { runner: JobRunner; updates: JobDto[] } {
  dir = mkdtempSync(join(tmpdir(), 'simlens-jobs-data-'));
  db = openDatabase(join(dir, 'w.db'));
  const events = new EventBus();
  const updates: JobDto[] = [];
  events.on('job.updated', (j) => updates.push(j));
  return { runner: new JobRunner(new JobsRepo(db), events), updates };
}
afterEach(() => {
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

const step = (epoch: number, step: number): JobProgressData => ({
  kind: 'train.step',
  epoch,
  epochs: 3,
  step,
  steps: 1000,
  loss: 1 / step,
  learningRate: 1e-3,
  etaSeconds: 5,
  valAuc: null,
  valAucEpoch: null,
});
const record = (epoch: number): EpochDto => ({ epoch, loss: 0.5, valAuc: 0.9, learningRate: 1e-3, seconds: 1, improved: true });

describe('JobRunner: structured progress data', () => {
  it('attaches the latest data to events, get() and list() while running; never drops epoch records; clears it at the end', async () => {
    const { runner, updates } = setup();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const job = runner.start('train', {}, async (ctx) => {
      // a burst: steps every few µs (throttled to one update per 100 ms), epoch records in between
      for (let e = 1; e <= 3; e++) {
        for (let s = 1; s <= 200; s++) ctx.progress(e / 4, `epoch ${e} step ${s}`, step(e, s));
        ctx.progress(e / 4, `epoch ${e} done`, { kind: 'train.epoch', record: record(e), epochs: 3 });
      }
      ctx.progress(0.9, 'evaluating', step(3, 1000));
      await gate;
      return stub({ ok: true });
    });
    while (!updates.some((u) => u.message === 'epoch 3 done')) await new Promise((r) => setTimeout(r, 5));
    const epochs = updates
      .filter((u) => u.data?.kind === 'train.epoch')
      .map((u) => (u.data as Extract<JobProgressData, { kind: 'train.epoch' }>).record.epoch);
    expect(epochs).toEqual([1, 2, 3]);
    // steps were throttled: far fewer updates than calls
    expect(updates.filter((u) => u.data?.kind === 'train.step').length).toBeLessThan(10);
    // the latest emitted update's data, also for polls
    expect(runner.get(job.id).data).toEqual(updates.at(-1)!.data);
    expect(runner.list(10).find((j) => j.id === job.id)!.data).toEqual(updates.at(-1)!.data);
    release();
    const done = await runner.wait(job.id);
    expect(done.status).toBe('done');
    expect(done.data).toBeUndefined();
    expect(updates.at(-1)!.data).toBeUndefined();
  });

  it('lets the first update of each data kind through the throttle (a phase, then the first step at once)', async () => {
    const { runner, updates } = setup();
    const job = runner.start('train', {}, async (ctx) => {
      ctx.progress(0, 'loading images');
      ctx.progress(0.01, 'epoch 1 step 1', step(1, 1)); // within the 100 ms of the previous update
      ctx.progress(0.02, 'epoch 1 step 2', step(1, 2)); // throttled
      return stub({});
    });
    await runner.wait(job.id);
    expect(updates.filter((u) => u.status === 'running' && u.message !== null).map((u) => u.message)).toEqual([
      'loading images',
      'epoch 1 step 1',
    ]);
  });

  it('an update without data clears the previous data (it belongs to the update, not the job)', async () => {
    const { runner, updates } = setup();
    const job = runner.start('explain', {}, async (ctx) => {
      ctx.progress(0, 'explaining 2 pairs', { kind: 'pairs', done: 0, total: 2 });
      await new Promise((r) => setTimeout(r, 120));
      ctx.progress(0.5, 'saving');
      return stub({});
    });
    await runner.wait(job.id);
    const running = updates.filter((u) => u.status === 'running' && u.message !== null);
    expect(running.map((u) => [u.message, u.data ?? null])).toEqual([
      ['explaining 2 pairs', { kind: 'pairs', done: 0, total: 2 }],
      ['saving', null],
    ]);
  });

  it('keeps the data on the job row: another process on the same workspace sees it through jobs.get, until the job ends', async () => {
    const { runner, updates } = setup();
    // the other process (e.g. the app while the CLI runs a job): its own connection and runner, opened first
    const otherDb = openDatabase(join(dir, 'w.db'));
    try {
      const other = new JobRunner(new JobsRepo(otherDb), new EventBus());
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const job = runner.start('train', {}, async (ctx) => {
        ctx.progress(0.5, 'epoch 1 step 7', step(1, 7));
        await gate;
        return stub({});
      });
      while (!updates.some((u) => u.message === 'epoch 1 step 7')) await new Promise((r) => setTimeout(r, 5));
      expect(other.get(job.id).data).toEqual(step(1, 7));
      expect(other.list(10).find((j) => j.id === job.id)!.data).toEqual(step(1, 7));
      release();
      await runner.wait(job.id);
      expect(other.get(job.id).data).toBeUndefined();
    } finally {
      otherDb.close();
    }
  });
});
