// Type-checked with the renderer (tsconfig.web.json). The Pinia stores against the real backend
// through the renderer's own HTTP transport (renderer-http.ts): a SimLensApp behind the real
// browser-mode server, with 1,000 pairs in pair set 7 of dataset 1 and their images. Keyset paging
// holds one page at a time and walks back through a cursor stack; filters restart from the first
// page; thumbnails are fetched once per id; an import is followed through the server's events to
// its end (or cancelled) and its report loaded. Expectations come from the workspace's database.
import { createPinia, setActivePinia } from 'pinia';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { setTransport } from '../../src/renderer/src/api';
import { useImportStore } from '../../src/renderer/src/stores/import';
import { usePairsStore } from '../../src/renderer/src/stores/pairs';
import { useThumbnailsStore } from '../../src/renderer/src/stores/thumbnails';
import type { JobDto } from '../../src/shared/dto';
import { realTransport, startBackend, type Backend, type RecordingTransport } from './renderer-http';

const TOTAL = 1000;
let backend: Backend;
let transport: RecordingTransport;

beforeAll(async () => {
  backend = await startBackend({ pairIds: Array.from({ length: TOTAL }, (_, i) => i + 1) });
}, 60_000);
afterAll(async () => {
  await backend?.close();
});
beforeEach(() => {
  transport = realTransport(backend);
  setTransport(transport);
  setActivePinia(createPinia());
});
afterEach(() => transport.close());

const pageCalls = () => transport.calls.filter((c) => c.name === 'pairs.page');
/** Pair ids of set 7 in id order, under the filters. */
const idsWhere = (where = '', ...params: unknown[]) =>
  (backend.all(`SELECT id FROM pairs WHERE pair_set_id = 7 ${where} ORDER BY id`, ...params) as { id: number }[]).map((r) => r.id);

describe('usePairsStore', () => {
  it('opens the newest pair set on its first page, fetching one page (and prefetching the next)', async () => {
    const pairs = usePairsStore();
    await pairs.setDataset(1);
    expect(pairs.pairSetId).toBe(7);
    expect(pairs.rows.map((r) => r.id)).toEqual(idsWhere().slice(0, 50));
    // the rows are the stored pairs, with their images
    const stored = backend.all('SELECT image_a, image_b, label, split FROM pairs WHERE id = ?', pairs.rows[7].id)[0];
    expect(stored).toEqual({
      image_a: pairs.rows[7].a.id,
      image_b: pairs.rows[7].b.id,
      label: pairs.rows[7].label,
      split: pairs.rows[7].split,
    });
    expect(pairs.total).toBe(TOTAL);
    expect(pairs.firstRow).toBe(1);
    expect(pairs.lastRow).toBe(50);
    expect(pairs.hasPrev).toBe(false);
    expect(pageCalls().length).toBeLessThanOrEqual(2);
    expect(pageCalls().every((c) => c.args.limit === 50)).toBe(true);
  });

  it('pages forward by cursor and back through the cursor stack', async () => {
    const ids = idsWhere();
    const pairs = usePairsStore();
    await pairs.setDataset(1);
    await pairs.next();
    expect(pairs.rows.map((r) => r.id)).toEqual(ids.slice(50, 100));
    expect(pairs.firstRow).toBe(51);
    await pairs.next();
    expect(pairs.rows.map((r) => r.id)).toEqual(ids.slice(100, 150));
    await pairs.prev();
    expect(pairs.rows.map((r) => r.id)).toEqual(ids.slice(50, 100));
    await pairs.prev();
    expect(pairs.rows.map((r) => r.id)).toEqual(ids.slice(0, 50));
    expect(pairs.hasPrev).toBe(false);
    await pairs.prev();
    expect(pairs.rows[0].id).toBe(ids[0]);
    // Every request asked for one page after a cursor: nothing fetched them all.
    expect(pageCalls().every((c) => typeof c.args.afterId === 'number' && c.args.limit === 50)).toBe(true);
  });

  it('restarts from the first page when a filter or the page size changes', async () => {
    const pairs = usePairsStore();
    await pairs.setDataset(1);
    await pairs.next();
    await pairs.setSplit('val');
    expect(pairs.firstRow).toBe(1);
    expect(pairs.rows.map((r) => r.id)).toEqual(idsWhere("AND split = 'val'").slice(0, 50));
    expect(pairs.total).toBe(idsWhere("AND split = 'val'").length);
    await pairs.setLabel(1);
    const valSame = idsWhere("AND split = 'val' AND label = 1");
    expect(pairs.rows.map((r) => r.id)).toEqual(valSame.slice(0, 50));
    expect(pairs.total).toBe(valSame.length);
    expect(
      pageCalls()
        .filter((c) => c.args.afterId === 0)
        .at(-1)?.args,
    ).toMatchObject({ split: 'val', label: 1 });
    await pairs.setPageSize(25);
    expect(pairs.rows.map((r) => r.id)).toEqual(valSame.slice(0, 25));
  });
});

describe('useThumbnailsStore', () => {
  it('fetches each id once, in batches, and keeps what the server made', async () => {
    const thumbs = useThumbnailsStore();
    await thumbs.ensure([1, 2, 3, 2]);
    await thumbs.ensure([2, 3, 4]);
    const asked = transport.calls.filter((c) => c.name === 'images.thumbnails').map((c) => c.args.ids);
    expect(asked).toEqual([[1, 2, 3], [4]]);
    const fromServer = await transport.direct<Record<number, string>>('images.thumbnails', { ids: [4] });
    expect(thumbs.get(4)).toMatch(/^data:image\/png;base64,/);
    expect(thumbs.get(4)).toBe(fromServer[4]);
  });
});

describe('useImportStore', () => {
  it('follows the job through the server’s events to its end and loads the report', async () => {
    const path = await backend.shapesFolder();
    const seen: JobDto['status'][] = [];
    transport.on('job.updated', (j) => seen.push(j.status));
    const imp = useImportStore();
    imp.path = path;
    imp.kind = 'folder';
    await imp.start();
    expect(transport.calls.find((c) => c.name === 'datasets.import')?.args).toEqual({ path, kind: 'folder' });
    await vi.waitFor(() => expect(imp.job?.status).toBe('done'), { timeout: 30_000, interval: 20 });
    expect(imp.running).toBe(false);
    expect(seen.at(-1)).toBe('done'); // the store learnt it from the event stream
    await vi.waitFor(() => expect(imp.report).not.toBeNull(), { timeout: 10_000, interval: 20 });
    expect(transport.calls.some((c) => c.name === 'jobs.importReport' && c.args.jobId === imp.job!.id)).toBe(true);
    expect(imp.report!.totals).toEqual({ imported: 6, duplicate: 0, skipped: 0, error: 1 });
    expect(imp.report!.entries.find((e) => e.path.endsWith('corrupt.png'))).toMatchObject({ status: 'error', reason: expect.any(String) });
    // A late 'running' event cannot revive a finished job.
    transport.inject('job.updated', { ...imp.job!, status: 'running', progress: 0.5 } as JobDto);
    expect(imp.job?.status).toBe('done');
  });

  it('cancels a running import: the job ends cancelled and its report is loaded', async () => {
    const n = 5_000;
    const path = backend.idxFolder(n);
    const imp = useImportStore();
    imp.path = path;
    imp.kind = 'idx';
    await imp.start();
    // cancel once the server has reported progress (the job is running, whatever the machine's speed)
    await vi.waitFor(() => expect(imp.job?.progress).toBeGreaterThan(0), { timeout: 30_000, interval: 5 });
    expect(imp.running).toBe(true);
    await imp.cancel();
    expect(transport.calls.some((c) => c.name === 'jobs.cancel' && c.args.id === imp.job!.id)).toBe(true);
    await vi.waitFor(() => expect(imp.job?.status).toBe('cancelled'), { timeout: 30_000, interval: 20 });
    expect(imp.running).toBe(false);
    expect(backend.all('SELECT status FROM jobs WHERE id = ?', imp.job!.id)).toEqual([{ status: 'cancelled' }]);
    await vi.waitFor(() => expect(imp.report).not.toBeNull(), { timeout: 10_000, interval: 20 });
    expect(imp.report!.totals.imported).toBeLessThan(n);
  });
});
