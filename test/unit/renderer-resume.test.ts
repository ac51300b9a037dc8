// Type-checked with the renderer (tsconfig.web.json). Against a fake transport: the models
// store's stopped trainings (which jobs it offers to resume, and that resuming follows the new
// job), and the app store's backup (the top bar's "Back up": one call at a time, the notice
// names the file, a refusal becomes an error notice).
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { setTransport, type Transport } from '../../src/renderer/src/api';
import { useAppStore } from '../../src/renderer/src/stores/app';
import { useModelsStore } from '../../src/renderer/src/stores/models';
import type { Envelope } from '../../src/shared/bridge';
import type { JobDto } from '../../src/shared/dto';

const flush = () => new Promise((r) => setTimeout(r, 0));
let calls: { name: string; args: unknown }[] = [];
/** What app.backup answers next (the test sets it; a pending promise holds the call open). */
let backupReply: Promise<Envelope> = Promise.resolve({ ok: false, error: { code: 'failed', message: 'not set' } });

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
      if (name === 'app.backup') return backupReply;
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
  it('offers interrupted trainings not resumed yet (not cancelled ones), and resuming follows the new job', async () => {
    const models = useModelsStore();
    await models.loadResumable();
    expect(models.resumable.map((j) => j.id)).toEqual([8]);
    await models.resumeTrain(8);
    await flush();
    expect(calls.filter((c) => c.name === 'models.resumeTrain')).toEqual([{ name: 'models.resumeTrain', args: { jobId: 8 } }]);
    expect(models.resumable.map((j) => j.id)).toEqual([]);
    expect(models.trainJob?.id).toBe(10);
    expect(models.training).toBe(true);
  });
});

describe('the backup entry in the app store', () => {
  it('writes one backup at a time and names the file in an info notice', async () => {
    const app = useAppStore();
    let answer!: (e: Envelope) => void;
    backupReply = new Promise((r) => (answer = r));
    const first = app.backup();
    expect(app.backingUp).toBe(true);
    await app.backup(); // a second click while the first is written: no second call
    expect(calls.filter((c) => c.name === 'app.backup')).toEqual([{ name: 'app.backup', args: {} }]);
    answer({ ok: true, value: { path: '/w/backups/simlens-2026.simlens-backup', bytes: 123456, models: 2, files: 9, schemaVersion: 8 } });
    await first;
    expect(app.backingUp).toBe(false);
    expect(app.notices.map(({ kind, text }) => ({ kind, text }))).toEqual([
      {
        kind: 'info',
        text: 'Backup written: /w/backups/simlens-2026.simlens-backup (2 model versions). Restore it with: simlens restore FILE --to DIR',
      },
    ]);
  });

  it('says "1 model version" in the singular, and turns a refusal into an error notice', async () => {
    const app = useAppStore();
    backupReply = Promise.resolve({ ok: true, value: { path: '/w/b.simlens-backup', bytes: 1, models: 1, files: 3, schemaVersion: 8 } });
    await app.backup();
    expect(app.notices.at(-1)?.text).toMatch(/^Backup written: \/w\/b\.simlens-backup \(1 model version\)\./);
    backupReply = Promise.resolve({ ok: false, error: { code: 'failed', message: 'No space left on device' } });
    await app.backup();
    expect(app.notices.at(-1)).toMatchObject({ kind: 'error', text: 'No space left on device' });
    expect(app.backingUp).toBe(false);
    expect(calls.filter((c) => c.name === 'app.backup')).toHaveLength(2);
  });
});
