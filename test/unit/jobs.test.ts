import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobDto } from '../../src/shared/dto';
import { EventBus } from '../../src/main/events';
import { JobRunner, type JobContext } from '../../src/main/services/jobs';
import { openDatabase, type Db } from '../../src/main/store/db';
import { JobsRepo } from '../../src/main/store/jobs-repo';

/** A stand-in job result: these tests check the runner, not what a real task of the kind returns. */
const stub = (result: object) => result as never;

let dir = '';
let db: Db | undefined;
function setup(): { runner: JobRunner; events: EventBus; updates: JobDto[]; db: Db } {
  dir = mkdtempSync(join(tmpdir(), 'simlens-jobs-'));
  db = openDatabase(join(dir, 'w.db'));
  const events = new EventBus();
  const updates: JobDto[] = [];
  events.on('job.updated', (j) => updates.push(j));
  return { runner: new JobRunner(new JobsRepo(db), events), events, updates, db };
}
afterEach(() => {
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('JobRunner', () => {
  it('runs a task to done with its result and emits progress', async () => {
    const { runner, updates } = setup();
    const job = runner.start('import', { path: '/x' }, async (ctx) => {
      ctx.progress(1, 'all');
      return stub({ imported: 3 });
    });
    expect(job.status).toBe('queued');
    const done = await runner.wait(job.id);
    expect(done.status).toBe('done');
    expect(done.progress).toBe(1);
    expect(done.result).toEqual({ imported: 3 });
    expect(done.params).toEqual({ path: '/x' });
    expect(updates.map((u) => u.status)).toEqual(expect.arrayContaining(['queued', 'running', 'done']));
  });

  it('fails a job with the error message', async () => {
    const { runner } = setup();
    const job = runner.start('import', {}, async () => {
      throw new Error('disk on fire');
    });
    const done = await runner.wait(job.id);
    expect(done.status).toBe('failed');
    expect(done.error).toBe('disk on fire');
  });

  it('cancels a running task through its signal: it stops at its next check', async () => {
    const { runner, events } = setup();
    let steps = 0;
    let stepsAtCancel = -1;
    const job = runner.start('pairs', {}, async (ctx) => {
      for (;;) {
        ctx.throwIfCancelled();
        steps++;
        ctx.progress(steps / 1000, `step ${steps}`);
        await new Promise((r) => setTimeout(r, 1));
      }
    });
    // cancel on the task's first progress event: it is running then, whatever the machine's speed
    const off = events.on('job.updated', (j) => {
      if (j.id === job.id && j.status === 'running' && j.message === 'step 1') {
        stepsAtCancel = steps;
        expect(runner.cancel(job.id).status).toBe('running');
      }
    });
    const done = await runner.wait(job.id);
    off();
    expect(done.status).toBe('cancelled');
    expect(done.error).toBe('Cancelled by the user');
    expect(stepsAtCancel).toBe(1);
    expect(steps).toBe(1); // the next throwIfCancelled threw: no step after the cancel
  });

  it('a job stopped by the app closing (stopAll) ends interrupted, one cancelled by the user cancelled; the task can tell which', async () => {
    const { runner } = setup();
    const seen = new Map<number, boolean>();
    const loop = async (ctx: JobContext): Promise<never> => {
      for (;;) {
        try {
          ctx.throwIfCancelled();
        } catch (error) {
          seen.set(ctx.jobId, ctx.stoppedByShutdown());
          throw error;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const cancelled = runner.start('pairs', {}, loop);
    const closed = runner.start('train', {}, loop);
    await new Promise((r) => setTimeout(r, 30));
    runner.cancel(cancelled.id);
    expect(await runner.wait(cancelled.id)).toMatchObject({ status: 'cancelled', error: 'Cancelled by the user' });
    await runner.stopAll();
    expect(runner.get(closed.id)).toMatchObject({ status: 'interrupted', error: expect.stringMatching(/closed while this job ran/) });
    expect([...seen.entries()].sort()).toEqual([
      [cancelled.id, false],
      [closed.id, true],
    ]);
    runner.dispose();
  });

  it('marks jobs left running by a crashed process as interrupted', () => {
    const { db } = setup();
    const repo = new JobsRepo(db);
    const stale = repo.create('train', {});
    repo.markRunning(stale.id);
    new JobRunner(repo, new EventBus());
    const after = repo.get(stale.id)!;
    expect(after.status).toBe('interrupted');
    expect(after.error).toMatch(/stopped/);
  });

  it('reports an unknown job clearly', () => {
    const { runner } = setup();
    expect(() => runner.get(999)).toThrow('Job 999 does not exist');
  });
});
