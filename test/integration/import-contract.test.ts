// The import through the one contract (what IPC, HTTP and the CLI call): error codes
// cross the boundary, the job result and report come back as plain JSON.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimLensApp } from '../../src/main/app';
import { DEMO_DIR, solid, write } from './import-helpers';

let dir: string;
let app: SimLensApp;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'simlens-contract-'));
  app = new SimLensApp({ dbPath: join(dir, 'ws', 'simlens.db'), shell: 'cli' });
});
afterAll(async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('datasets.import over the contract', () => {
  it('returns clear error codes for a missing path, an empty folder, and bad arguments', async () => {
    expect(await app.dispatch('datasets.import', { path: join(dir, 'missing') })).toEqual({
      ok: false,
      error: { code: 'not_found', message: `${join(dir, 'missing')} does not exist` },
    });
    const empty = join(dir, 'empty');
    write(join(empty, 'readme.md'), 'no images here');
    const res = await app.dispatch('datasets.import', { path: empty });
    expect(res).toMatchObject({
      ok: false,
      error: { code: 'invalid_argument', message: expect.stringMatching(/contains no images to import/) },
    });
    expect(await app.dispatch('datasets.import', { path: empty, kind: 'zip' })).toMatchObject({
      ok: false,
      error: { code: 'invalid_argument' },
    });
    expect(await app.call('jobs.list', { limit: 10 })).toEqual([]);
  });

  it('imports, reports and serves thumbnails through the contract', async () => {
    const folder = join(dir, 'tiny');
    write(join(folder, 'x/a.png'), await solid('png', 12, 9, '#c08040'));
    write(join(folder, 'y/b.png'), await solid('png', 9, 12, '#4080c0'));
    const { jobId } = await app.call('datasets.import', { path: folder, name: 'Tiny' });
    const job = await app.jobs.wait(jobId);
    expect(job).toMatchObject({ kind: 'import', status: 'done', progress: 1, message: '2/2 files' });
    const report = await app.call('jobs.importReport', { jobId });
    expect(report.totals).toEqual({ imported: 2, duplicate: 0, skipped: 0, error: 0 });
    const [dataset] = await app.call('datasets.list', {});
    expect(dataset).toMatchObject({ name: 'Tiny', sourceKind: 'folder', imageCount: 2 });
    const ids = report.entries.map((e) => e.imageId!);
    const thumbs = await app.call('images.thumbnails', { ids });
    expect(Object.keys(thumbs).map(Number)).toEqual(ids);
    // full pixels at the stored size (what the magic wand reads): a.png is 12 x 9 of #c08040
    const both = await Promise.all(ids.map((id) => app.call('images.pixels', { id })));
    const a = both.find((p) => p.width === 12)!;
    expect(a).toMatchObject({ width: 12, height: 9, channels: 3 });
    expect(both.find((p) => p.width === 9)).toMatchObject({ height: 12, channels: 3 });
    const bytes = Buffer.from(a.data, 'base64');
    expect(bytes.length).toBe(12 * 9 * 3);
    expect(new Set(Array.from({ length: 12 * 9 }, (_, i) => bytes.subarray(i * 3, i * 3 + 3).toString('hex')))).toEqual(
      new Set(['c08040']),
    );
    expect(await app.dispatch('images.pixels', { id: 999_999 })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    const demo = await app.call('datasets.import', { path: DEMO_DIR, kind: 'idx' });
    expect((await app.jobs.wait(demo.jobId)).result).toMatchObject({ datasetName: 'fashion-mnist', totals: { imported: 700 } });
    expect(await app.call('datasets.delete', { id: dataset.id })).toEqual({ deleted: true });
    expect((await app.call('datasets.list', {})).map((d) => [d.name, d.imageCount])).toEqual([['fashion-mnist', 700]]);
  });
});
