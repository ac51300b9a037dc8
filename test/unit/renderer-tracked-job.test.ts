// Type-checked with the renderer (tsconfig.web.json). useTrackedJob (stores/jobs.ts), the one
// way a store follows a job it started: the job's live state from events, cancel, one notice
// when it fails, and the store's hooks (every update; once when it finishes).
import { createPinia, defineStore, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { setTransport, type Transport } from '../../src/renderer/src/api';
import { useAppStore } from '../../src/renderer/src/stores/app';
import { useTrackedJob } from '../../src/renderer/src/stores/jobs';
import type { Envelope } from '../../src/shared/bridge';
import type { Events, MethodName } from '../../src/shared/contract';
import type { JobDto, JobOf } from '../../src/shared/dto';

const flush = () => new Promise((r) => setTimeout(r, 0));
const job = (id: number, patch: Partial<JobOf<'explain'>> = {}): JobDto => ({
  id,
  kind: 'explain',
  status: 'running',
  progress: 0,
  message: null,
  error: null,
  params: {},
  result: null,
  createdAt: '',
  startedAt: null,
  finishedAt: null,
  ...patch,
});

let calls: { name: MethodName; args: Record<string, unknown> }[];
let listeners: ((job: JobDto) => void)[];
let cancelReply: Envelope;
const emit = (j: JobDto) => listeners.forEach((l) => l(j));

function transport(): Transport {
  return {
    kind: 'http',
    async call(name, rawArgs): Promise<Envelope> {
      const args = rawArgs as Record<string, unknown>;
      calls.push({ name, args });
      if (name === 'jobs.get') return { ok: true, value: job(args.id as number, { status: 'queued' }) };
      if (name === 'jobs.cancel') return cancelReply;
      return { ok: false, error: { code: 'unknown_method', message: name } };
    },
    on: <E extends keyof Events>(_event: E, listener: (payload: Events[E]) => void) => {
      listeners.push(listener as (job: JobDto) => void);
      return () => {};
    },
  };
}

let updates: [number, string, string | null][];
let finished: [number, string][];
/** A store with one tracked job, recording its hooks. */
const useProbe = defineStore('probe', () => {
  const run = useTrackedJob({
    what: 'The probe',
    onUpdate: (j, prev) => updates.push([j.id, j.status, prev ? prev.status : null]),
    onFinished: (j) => finished.push([j.id, j.status]),
  });
  return { id: run.id, job: run.job, running: run.running, follow: run.follow, cancel: run.cancel };
});

beforeEach(() => {
  calls = [];
  listeners = [];
  updates = [];
  finished = [];
  cancelReply = { ok: true, value: job(4, { status: 'cancelled' }) };
  setTransport(transport());
  setActivePinia(createPinia());
});

describe('useTrackedJob', () => {
  it('follows the job started last: its live state, running, and onUpdate for each new state', async () => {
    const probe = useProbe();
    expect(probe.job).toBeNull();
    expect(probe.running).toBe(false);
    probe.follow(4);
    expect(probe.id).toBe(4);
    await flush();
    expect(calls.filter((c) => c.name === 'jobs.get').map((c) => c.args)).toEqual([{ id: 4 }]);
    expect(probe.job?.status).toBe('queued');
    emit(job(4, { progress: 0.5 }));
    await flush();
    expect(probe.running).toBe(true);
    expect(probe.job?.progress).toBe(0.5);
    // another job's events do not touch it
    emit(job(9, { status: 'failed', error: 'not ours' }));
    await flush();
    expect(probe.job?.id).toBe(4);
    expect(updates).toEqual([
      [4, 'queued', null],
      [4, 'running', 'queued'],
    ]);
  });

  it('notices a failure once and calls onFinished once per job, when it first finishes', async () => {
    const probe = useProbe();
    const app = useAppStore();
    probe.follow(4);
    await flush();
    emit(job(4, { status: 'failed', error: 'boom' }));
    await flush();
    emit(job(4, { status: 'failed', error: 'boom', message: 'a later copy' }));
    await flush();
    expect(probe.running).toBe(false);
    expect(app.notices.map((n) => n.text)).toEqual(['The probe failed: boom']);
    expect(finished).toEqual([[4, 'failed']]);
    // a late 'running' event cannot revive it
    emit(job(4, { status: 'running' }));
    await flush();
    expect(probe.job?.status).toBe('failed');

    // the next job is followed anew; done: no notice
    probe.follow(5);
    await flush();
    emit(job(5, { status: 'done', result: { ok: true } as never }));
    await flush();
    expect(finished).toEqual([
      [4, 'failed'],
      [5, 'done'],
    ]);
    expect(app.notices).toHaveLength(1);
  });

  it('cancels the followed job (nothing without one; a refusal becomes a notice)', async () => {
    const probe = useProbe();
    const app = useAppStore();
    await probe.cancel();
    expect(calls.some((c) => c.name === 'jobs.cancel')).toBe(false);
    probe.follow(4);
    await probe.cancel();
    expect(calls.filter((c) => c.name === 'jobs.cancel').map((c) => c.args)).toEqual([{ id: 4 }]);
    expect(probe.job?.status).toBe('cancelled');
    await flush();
    expect(finished).toEqual([[4, 'cancelled']]);

    cancelReply = { ok: false, error: { code: 'conflict', message: 'Job 5 has already finished' } };
    probe.follow(5);
    await probe.cancel();
    expect(app.notices.map((n) => n.text)).toEqual(['Job 5 has already finished']);
  });
});
