// Type-checked with the renderer (tsconfig.web.json). The Pinia stores against a fake
// transport: keyset paging holds one page at a time and walks back through a cursor
// stack; filters restart from the first page; thumbnails are fetched once per id.
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { setTransport, type Transport } from '../../src/renderer/src/api';
import { useImportStore } from '../../src/renderer/src/stores/import';
import { usePairsStore } from '../../src/renderer/src/stores/pairs';
import { useThumbnailsStore } from '../../src/renderer/src/stores/thumbnails';
import type { Envelope } from '../../src/shared/bridge';
import type { Events, MethodName } from '../../src/shared/contract';
import type { ImageDto, JobDto, PairDto, PairSetDto, Split } from '../../src/shared/dto';

const SPLITS: Split[] = ['train', 'val', 'test'];
const image = (id: number): ImageDto => ({
  id,
  datasetId: 1,
  sha256: String(id),
  sourcePath: `/x/${id}.png`,
  classLabel: `c${id % 3}`,
  width: 28,
  height: 28,
  channels: 1,
});
// 100,000 pairs, made on demand: the fake never builds them all either.
const TOTAL = 100_000;
const pairAt = (id: number): PairDto => ({
  id,
  pairSetId: 7,
  split: SPLITS[id % 3],
  label: (id % 2) as 0 | 1,
  a: image(id * 2),
  b: image(id * 2 + 1),
});
const pairSet: PairSetDto = {
  id: 7,
  datasetId: 1,
  source: 'generated',
  seed: 1,
  ratios: [80, 10, 10],
  pairsPerAnchor: 1,
  createdAt: '',
  pairCount: TOTAL,
  counts: [],
};

let calls: { name: MethodName; args: Record<string, unknown> }[];
let jobListeners: ((job: JobDto) => void)[];
const job = (status: JobDto['status'], progress: number): JobDto => ({
  id: 5,
  kind: 'import',
  status,
  progress,
  message: null,
  error: null,
  params: {},
  result: null,
  createdAt: '',
  startedAt: null,
  finishedAt: null,
});
const flush = () => new Promise((r) => setTimeout(r, 0));

function fakeTransport(): Transport {
  return {
    kind: 'http',
    async call(name, rawArgs): Promise<Envelope> {
      const args = rawArgs as Record<string, unknown>;
      calls.push({ name, args });
      if (name === 'datasets.import') return { ok: true, value: { jobId: 5 } };
      if (name === 'jobs.get') return { ok: true, value: job('queued', 0) };
      if (name === 'jobs.cancel') return { ok: true, value: job('running', 0.4) };
      if (name === 'datasets.list') return { ok: true, value: [] };
      if (name === 'jobs.importReport') {
        return {
          ok: true,
          value: {
            jobId: 5,
            totals: { imported: 3, duplicate: 0, skipped: 0, error: 1 },
            entries: [{ path: '/d/bad.png', status: 'error', reason: 'corrupt', imageId: null }],
            total: 1,
          },
        };
      }
      if (name === 'datasets.get') return { ok: true, value: { id: 1, pairSets: [pairSet] } };
      if (name === 'images.thumbnails') {
        return { ok: true, value: Object.fromEntries((args.ids as number[]).map((id) => [id, `data:image/png;base64,${id}`])) };
      }
      if (name === 'pairs.page') {
        const match = (p: PairDto) =>
          (args.split === undefined || p.split === args.split) && (args.label === undefined || p.label === args.label);
        const rows: PairDto[] = [];
        let id = (args.afterId as number) + 1;
        for (; id <= TOTAL && rows.length < (args.limit as number); id++) if (match(pairAt(id))) rows.push(pairAt(id));
        const more = rows.length === args.limit && id <= TOTAL;
        return {
          ok: true,
          value: { rows, total: args.split || args.label !== undefined ? 12345 : TOTAL, nextAfterId: more ? rows.at(-1)!.id : null },
        };
      }
      return { ok: false, error: { code: 'unknown_method', message: name } };
    },
    on: <E extends keyof Events>(_event: E, listener: (payload: Events[E]) => void) => {
      jobListeners.push(listener as (job: JobDto) => void);
      return () => {};
    },
  };
}

beforeEach(() => {
  calls = [];
  jobListeners = [];
  setTransport(fakeTransport());
  setActivePinia(createPinia());
});

const pageCalls = () => calls.filter((c) => c.name === 'pairs.page');

describe('usePairsStore', () => {
  it('opens the newest pair set on its first page, fetching one page (and prefetching the next)', async () => {
    const pairs = usePairsStore();
    await pairs.setDataset(1);
    expect(pairs.pairSetId).toBe(7);
    expect(pairs.rows.map((r) => r.id)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(pairs.total).toBe(TOTAL);
    expect(pairs.firstRow).toBe(1);
    expect(pairs.lastRow).toBe(50);
    expect(pairs.hasPrev).toBe(false);
    expect(pageCalls().length).toBeLessThanOrEqual(2);
    expect(pageCalls().every((c) => c.args.limit === 50)).toBe(true);
  });

  it('pages forward by cursor and back through the cursor stack', async () => {
    const pairs = usePairsStore();
    await pairs.setDataset(1);
    await pairs.next();
    expect(pairs.rows[0].id).toBe(51);
    expect(pairs.firstRow).toBe(51);
    await pairs.next();
    expect(pairs.rows[0].id).toBe(101);
    await pairs.prev();
    expect(pairs.rows[0].id).toBe(51);
    await pairs.prev();
    expect(pairs.rows[0].id).toBe(1);
    expect(pairs.hasPrev).toBe(false);
    await pairs.prev();
    expect(pairs.rows[0].id).toBe(1);
    // Every request asked for one page after a cursor: nothing fetched them all.
    expect(pageCalls().every((c) => typeof c.args.afterId === 'number' && c.args.limit === 50)).toBe(true);
  });

  it('restarts from the first page when a filter or the page size changes', async () => {
    const pairs = usePairsStore();
    await pairs.setDataset(1);
    await pairs.next();
    await pairs.setSplit('val');
    expect(pairs.firstRow).toBe(1);
    expect(pairs.rows.every((r) => r.split === 'val')).toBe(true);
    await pairs.setLabel(1);
    expect(pairs.rows.every((r) => r.split === 'val' && r.label === 1)).toBe(true);
    expect(
      pageCalls()
        .filter((c) => c.args.afterId === 0)
        .at(-1)?.args,
    ).toMatchObject({ split: 'val', label: 1 });
    await pairs.setPageSize(25);
    expect(pairs.rows).toHaveLength(25);
  });
});

describe('useThumbnailsStore', () => {
  it('fetches each id once, in batches', async () => {
    const thumbs = useThumbnailsStore();
    await thumbs.ensure([1, 2, 3, 2]);
    await thumbs.ensure([2, 3, 4]);
    const asked = calls.filter((c) => c.name === 'images.thumbnails').map((c) => c.args.ids);
    expect(asked).toEqual([[1, 2, 3], [4]]);
    expect(thumbs.get(4)).toBe('data:image/png;base64,4');
  });
});

describe('useImportStore', () => {
  it('follows the job through events, can cancel it, and loads the report when it ends', async () => {
    const imp = useImportStore();
    imp.path = '/d';
    imp.kind = 'folder';
    await imp.start();
    expect(calls.find((c) => c.name === 'datasets.import')?.args).toEqual({ path: '/d', kind: 'folder' });
    expect(imp.running).toBe(true);

    jobListeners.forEach((l) => l(job('running', 0.4)));
    expect(imp.job?.progress).toBe(0.4);
    await imp.cancel();
    expect(calls.some((c) => c.name === 'jobs.cancel' && c.args.id === 5)).toBe(true);

    jobListeners.forEach((l) => l(job('cancelled', 0.4)));
    await flush();
    expect(imp.running).toBe(false);
    expect(calls.some((c) => c.name === 'jobs.importReport' && c.args.jobId === 5)).toBe(true);
    await flush();
    expect(imp.report?.entries[0]).toMatchObject({ path: '/d/bad.png', reason: 'corrupt' });
    // A late 'running' event cannot revive a finished job.
    jobListeners.forEach((l) => l(job('running', 0.5)));
    expect(imp.job?.status).toBe('cancelled');
  });
});
