// Type-checked with the renderer (tsconfig.web.json). The models store's stopped trainings
// (which jobs it offers to resume, and that resuming follows the new job) against a fake
// transport.
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { setTransport, type Transport } from '../../src/renderer/src/api';
import { useModelsStore } from '../../src/renderer/src/stores/models';
import type { Envelope } from '../../src/shared/bridge';
import type { JobDto } from '../../src/shared/dto';

const flush = () => new Promise((r) => setTimeout(r, 0));
let calls: { name: string; args: unknown }[] = [];

const job = (id: number, kind: JobDto['kind'], status: JobDto['status'], params: Record<string, unknown> = {}): JobDto =>
  ({
    id,
    kind,
    status,
    progress: 0,
    message: null,
    error: null,
    params,
    result: null,
    createdAt: '',
    startedAt: null,
    finishedAt: null,
  }) as JobDto;

const JOBS: JobDto[] = [
  job(9, 'train', 'running', { resumes: 4 }), // resumes 4: 4 is not offered again
  job(8, 'train', 'interrupted'),
  job(7, 'import', 'interrupted'),
  job(6, 'train', 'cancelled'),
  job(5, 'train', 'done'),
  job(4, 'train', 'interrupted'),
  job(3, 'train', 'failed'),
];

function fakeTransport(): Transport {
  return {
    kind: 'http',
    async call(name, args): Promise<Envelope> {
      calls.push({ name, args });
      if (name === 'jobs.list') return { ok: true, value: JOBS };
      if (name === 'models.resumeTrain') return { ok: true, value: { jobId: 10 } };
      if (name === 'jobs.get') return { ok: true, value: job(10, 'train', 'running', { resumes: 8 }) };
      if (name === 'models.list') return { ok: true, value: [] };
      return { ok: false, error: { code: 'unknown_method', message: name } };
    },
    on: () => () => {},
  };
}

beforeEach(() => {
  calls = [];
  setTransport(fakeTransport());
  setActivePinia(createPinia());
});

describe('stopped trainings in the models store', () => {
  it('offers interrupted and cancelled trainings not resumed yet, and resuming follows the new job', async () => {
    const models = useModelsStore();
    await models.loadResumable();
    expect(models.resumable.map((j) => j.id)).toEqual([8, 6]);
    await models.resumeTrain(8);
    await flush();
    expect(calls.filter((c) => c.name === 'models.resumeTrain')).toEqual([{ name: 'models.resumeTrain', args: { jobId: 8 } }]);
    expect(models.resumable.map((j) => j.id)).toEqual([6]);
    expect(models.trainJob?.id).toBe(10);
    expect(models.training).toBe(true);
  });
});
