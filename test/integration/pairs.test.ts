// Pair generation and paging through the app (contract → service → real SQLite file),
// with datasets and images inserted directly (the import has its own tests).
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SimLensApp } from '../../src/main/app';
import { AppError } from '../../src/main/errors';
import type { PairsJobResult } from '../../src/shared/dto';
import { PairsRepo } from '../../src/main/store/pairs-repo';
import type { PairDto, PairPageDto, Split } from '../../src/shared/dto';

const dirs: string[] = [];
const apps: SimLensApp[] = [];
function openApp(): SimLensApp {
  const dir = mkdtempSync(join(tmpdir(), 'simlens-pairs-'));
  dirs.push(dir);
  const app = new SimLensApp({ dbPath: join(dir, 'test.db'), shell: 'cli' });
  apps.push(app);
  return app;
}
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

interface SeedImage {
  classLabel: string | null;
  officialSplit?: 'train' | 'test' | null;
}

/** Inserts a dataset and its images (4 raw bytes each); returns the dataset id and image ids. */
function seedDataset(
  app: SimLensApp,
  name: string,
  images: SeedImage[],
  hasOfficialTest = false,
): { datasetId: number; imageIds: number[] } {
  const db = app.db;
  const datasetId = Number(
    db
      .prepare("INSERT INTO datasets (name, source_kind, source_path, has_official_test) VALUES (?, 'folder', '/nowhere', ?)")
      .run(name, hasOfficialTest ? 1 : 0).lastInsertRowid,
  );
  const insert = db.prepare(
    "INSERT INTO images (dataset_id, sha256, source_path, class_label, official_split, width, height, channels, pixel_encoding, pixels) VALUES (?, ?, ?, ?, ?, 2, 2, 1, 'raw', ?)",
  );
  const imageIds: number[] = [];
  db.transaction(() => {
    images.forEach((img, i) => {
      const sha = createHash('sha256').update(`${name}-${i}`).digest('hex');
      imageIds.push(
        Number(
          insert.run(
            datasetId,
            sha,
            `${img.classLabel ?? 'none'}/${i}.png`,
            img.classLabel,
            img.officialSplit ?? null,
            Buffer.from([i & 255, 1, 2, 3]),
          ).lastInsertRowid,
        ),
      );
    });
  })();
  return { datasetId, imageIds };
}

const classes = (perClass: Record<string, number>, official?: (i: number) => 'train' | 'test'): SeedImage[] =>
  Object.entries(perClass).flatMap(([classLabel, n]) =>
    Array.from({ length: n }, (_, i) => ({ classLabel, officialSplit: official?.(i) ?? null })),
  );

async function generate(
  app: SimLensApp,
  args: { datasetId: number; seed?: number; ratios?: [number, number, number]; pairsPerAnchor?: number },
) {
  const { jobId } = await app.call('pairs.generate', { seed: undefined, ratios: undefined, pairsPerAnchor: undefined, ...args });
  const job = await app.jobs.wait(jobId);
  return job;
}

function pairsOf(app: SimLensApp, pairSetId: number) {
  return app.db.prepare('SELECT id, image_a, image_b, label, split FROM pairs WHERE pair_set_id = ? ORDER BY id').all(pairSetId) as {
    id: number;
    image_a: number;
    image_b: number;
    label: 0 | 1;
    split: Split;
  }[];
}

describe('pairs.generate', () => {
  it('writes one pair set: images split once, pairs inside their split, balanced, with the counts in the job result', async () => {
    const app = openApp();
    const { datasetId } = seedDataset(app, 'fashion', [
      ...classes({ shirt: 40, shoe: 40, bag: 40 }),
      { classLabel: null },
      { classLabel: null },
    ]);
    const job = await generate(app, { datasetId, seed: 7 });
    expect(job.status).toBe('done');
    expect(job.kind).toBe('pairs');
    const result = job.result as PairsJobResult;
    expect(result.seed).toBe(7);
    expect(result.protocol).toBe('ratios');
    expect(result.ratios).toEqual([80, 10, 10]);
    expect(result.skippedUnlabelled).toBe(2);
    expect(result.warnings.join(' ')).toMatch(/2 image\(s\) without a class label/);
    expect(result.counts.train).toMatchObject({ images: 96, classes: 3 });
    expect(result.counts.val.images + result.counts.test.images).toBe(24);

    const splits = new Map(
      (
        app.db.prepare('SELECT image_id, split FROM image_splits WHERE pair_set_id = ?').all(result.pairSetId) as {
          image_id: number;
          split: Split;
        }[]
      ).map((r) => [r.image_id, r.split]),
    );
    expect(splits.size).toBe(120);
    const pairs = pairsOf(app, result.pairSetId);
    expect(pairs.length).toBe(result.pairCount);
    for (const split of ['train', 'val', 'test'] as const) {
      const inSplit = pairs.filter((p) => p.split === split);
      const pos = inSplit.filter((p) => p.label === 1).length;
      expect(pos).toBe(result.counts[split].positive);
      expect(inSplit.length - pos).toBe(result.counts[split].negative);
      expect(pos).toBe(inSplit.length - pos);
    }
    for (const p of pairs) {
      expect(splits.get(p.image_a)).toBe(p.split);
      expect(splits.get(p.image_b)).toBe(p.split);
    }
    const set = app.pairs.listPairSets(datasetId);
    expect(set).toHaveLength(1);
    expect(set[0]).toMatchObject({
      id: result.pairSetId,
      source: 'generated',
      seed: 7,
      ratios: [80, 10, 10],
      pairsPerAnchor: 1,
      pairCount: pairs.length,
    });
  });

  it('no image appears in two splits, over several seeds', async () => {
    const app = openApp();
    const { datasetId } = seedDataset(app, 'many', classes({ a: 30, b: 25, c: 7, d: 2, e: 1 }));
    for (const seed of [1, 2, 3, 99]) {
      const job = await generate(app, { datasetId, seed, pairsPerAnchor: 2 });
      expect(job.status).toBe('done');
      const pairSetId = (job.result as PairsJobResult).pairSetId;
      const rows = app.db
        .prepare(
          `SELECT image, count(DISTINCT split) AS n FROM (
             SELECT image_a AS image, split FROM pairs WHERE pair_set_id = ?
             UNION ALL SELECT image_b, split FROM pairs WHERE pair_set_id = ?
             UNION ALL SELECT image_id, split FROM image_splits WHERE pair_set_id = ?)
           GROUP BY image HAVING n > 1`,
        )
        .all(pairSetId, pairSetId, pairSetId);
      expect(rows).toEqual([]);
    }
  });

  it('is deterministic: the same seed gives identical pairs', async () => {
    const app = openApp();
    const { datasetId } = seedDataset(app, 'det', classes({ a: 20, b: 20, c: 20 }));
    const one = (await generate(app, { datasetId, seed: 5, pairsPerAnchor: 2 })).result as PairsJobResult;
    const two = (await generate(app, { datasetId, seed: 5, pairsPerAnchor: 2 })).result as PairsJobResult;
    const other = (await generate(app, { datasetId, seed: 6, pairsPerAnchor: 2 })).result as PairsJobResult;
    const strip = (id: number) => pairsOf(app, id).map(({ image_a, image_b, label, split }) => [image_a, image_b, label, split]);
    expect(two.pairSetId).not.toBe(one.pairSetId);
    expect(strip(two.pairSetId)).toEqual(strip(one.pairSetId));
    expect(strip(other.pairSetId)).not.toEqual(strip(one.pairSetId));
  });

  it('keeps an official test split: official test images are the test split, official train images split 90/10', async () => {
    const app = openApp();
    const { datasetId, imageIds } = seedDataset(
      app,
      'official',
      classes({ a: 60, b: 60 }, (i) => (i < 10 ? 'test' : 'train')),
      true,
    );
    const job = await generate(app, { datasetId, seed: 1 });
    const result = job.result as PairsJobResult;
    expect(result.protocol).toBe('official-test');
    expect(result.ratios).toEqual([90, 10, 0]);
    expect(result.counts.test.images).toBe(20);
    expect(result.counts.train.images).toBe(90);
    expect(result.counts.val.images).toBe(10);
    const official = new Map(
      (
        app.db.prepare('SELECT id, official_split FROM images WHERE dataset_id = ?').all(datasetId) as {
          id: number;
          official_split: string;
        }[]
      ).map((r) => [r.id, r.official_split]),
    );
    const splits = app.db.prepare('SELECT image_id, split FROM image_splits WHERE pair_set_id = ?').all(result.pairSetId) as {
      image_id: number;
      split: Split;
    }[];
    expect(splits).toHaveLength(imageIds.length);
    for (const s of splits) expect(s.split === 'test').toBe(official.get(s.image_id) === 'test');
  });

  it('rejects what cannot be paired with a clear error, before any job starts', async () => {
    const app = openApp();
    const empty = seedDataset(app, 'empty', []).datasetId;
    const unlabelled = seedDataset(app, 'unlabelled', [{ classLabel: null }, { classLabel: null }]).datasetId;
    const oneClass = seedDataset(app, 'one', classes({ only: 5 })).datasetId;
    const call = (datasetId: number, extra: object = {}) =>
      app.call('pairs.generate', { datasetId, seed: 1, ratios: undefined, pairsPerAnchor: undefined, ...extra });
    await expect(call(empty)).rejects.toMatchObject({ code: 'invalid_argument', message: expect.stringMatching(/has no images/) });
    await expect(call(unlabelled)).rejects.toMatchObject({ code: 'invalid_argument', message: expect.stringMatching(/class label/) });
    await expect(call(oneClass)).rejects.toMatchObject({ code: 'invalid_argument', message: expect.stringMatching(/one class \(only\)/) });
    await expect(call(999)).rejects.toMatchObject({ code: 'not_found' });
    await expect(call(oneClass, { ratios: [0, 0, 0] })).rejects.toBeInstanceOf(AppError);
    await expect(call(oneClass, { pairsPerAnchor: 0 })).rejects.toMatchObject({ code: 'invalid_argument' });
    expect(app.jobs.list(10)).toEqual([]);
  });

  it('a cancelled generation leaves no pair set behind', async () => {
    const app = openApp();
    const { datasetId } = seedDataset(app, 'cancel', classes({ a: 50, b: 50 }));
    const { jobId } = await app.call('pairs.generate', { datasetId, seed: 1 });
    app.jobs.cancel(jobId);
    const job = await app.jobs.wait(jobId);
    expect(job.status).toBe('cancelled');
    expect(app.pairs.listPairSets(datasetId)).toEqual([]);
    expect(app.db.prepare('SELECT count(*) AS n FROM pairs').get()).toEqual({ n: 0 });
  });

  it('fails the job with the reason when no split can hold a pair', async () => {
    const app = openApp();
    // Two classes of one image each: every split holds at most one image per class.
    const { datasetId } = seedDataset(app, 'tiny', classes({ a: 1, b: 1 }));
    const job = await generate(app, { datasetId, seed: 1 });
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/No pairs could be drawn/);
    expect(app.pairs.listPairSets(datasetId)).toEqual([]);
  });
});

describe('pairs.page', () => {
  async function withPairs(pairsPerAnchor = 2) {
    const app = openApp();
    const { datasetId } = seedDataset(app, 'paged', classes({ a: 30, b: 30, c: 30 }));
    const result = (await generate(app, { datasetId, seed: 3, pairsPerAnchor })).result as PairsJobResult;
    return { app, datasetId, result };
  }

  async function walk(app: SimLensApp, args: { datasetId: number; pairSetId?: number; split?: Split; label?: 0 | 1 }, limit: number) {
    const rows: PairDto[] = [];
    let afterId: number | undefined;
    const totals = new Set<number>();
    for (let guard = 0; guard < 10_000; guard++) {
      const page = await app.call('pairs.page', { pairSetId: undefined, split: undefined, label: undefined, ...args, afterId, limit });
      totals.add(page.total);
      expect(page.rows.length).toBeLessThanOrEqual(limit);
      rows.push(...page.rows);
      if (page.nextAfterId === null) break;
      expect(page.nextAfterId).toBe(page.rows[page.rows.length - 1].id);
      afterId = page.nextAfterId;
    }
    expect(totals.size).toBe(1);
    return { rows, total: [...totals][0] };
  }

  it('walking all pages returns every pair exactly once, in id order, with both images', async () => {
    const { app, datasetId, result } = await withPairs();
    const { rows, total } = await walk(app, { datasetId }, 17);
    const expected = pairsOf(app, result.pairSetId);
    expect(total).toBe(expected.length);
    expect(rows.map((r) => r.id)).toEqual(expected.map((p) => p.id));
    rows.forEach((r, i) => {
      expect(r.a.id).toBe(expected[i].image_a);
      expect(r.b.id).toBe(expected[i].image_b);
      expect(r.label).toBe(expected[i].label);
      expect(r.split).toBe(expected[i].split);
      expect(r.pairSetId).toBe(result.pairSetId);
      expect(r.a).toMatchObject({ datasetId, width: 2, height: 2, channels: 1 });
      expect(r.a.sha256).toHaveLength(64);
      expect(r.label === 1).toBe(r.a.classLabel === r.b.classLabel);
    });
  });

  /** Walks back from `beforeId` through every page before it (following prevBeforeId), each page checked on the way. */
  async function walkBack(app: SimLensApp, args: { datasetId: number; split?: Split; label?: 0 | 1 }, beforeId: number, limit: number) {
    const pages: PairDto[][] = [];
    let cursor: number | null = beforeId;
    for (let guard = 0; cursor !== null && guard < 10_000; guard++) {
      const page: PairPageDto = await app.call('pairs.page', { ...args, beforeId: cursor, limit });
      expect(page.rows.length).toBeLessThanOrEqual(limit);
      expect(page.rows.every((r) => r.id < cursor!)).toBe(true);
      expect(page.nextAfterId).toBeNull();
      expect(page.prevBeforeId).toBe(page.prevBeforeId === null ? null : page.rows[0].id);
      pages.push(page.rows);
      cursor = page.prevBeforeId ?? null;
    }
    return pages;
  }

  it('walks back from a cursor: each page holds the pairs just before it, in id order, and the pages partition what lies before', async () => {
    const { app, datasetId, result } = await withPairs();
    const all = pairsOf(app, result.pairSetId);
    const ids = all.map((p) => p.id);
    const end = ids[ids.length - 1] + 1;

    // The page before a cursor in the middle: the `limit` pairs just before it, ascending, with their images.
    const mid = ids[40];
    const before = await app.call('pairs.page', { datasetId, beforeId: mid, limit: 5 });
    expect(before.rows.map((r) => r.id)).toEqual(ids.slice(35, 40));
    expect(before.rows.map((r) => [r.a.id, r.b.id])).toEqual(all.slice(35, 40).map((p) => [p.image_a, p.image_b]));
    expect(before.prevBeforeId).toBe(ids[35]);
    expect(before.total).toBe(all.length);
    // ... and it is the forward page that ends there.
    const forward = await app.call('pairs.page', { datasetId, afterId: ids[34], limit: 5 });
    expect(forward.rows).toEqual(before.rows);

    // From the end back to the start: every pair once; the walk stops at the first pair.
    const pages = await walkBack(app, { datasetId }, end, 17);
    expect(pages.length).toBe(Math.ceil(ids.length / 17));
    expect(
      pages
        .reverse()
        .flat()
        .map((r) => r.id),
    ).toEqual(ids);
    // Nothing before the first pair; one pair before the second.
    expect(await app.call('pairs.page', { datasetId, beforeId: ids[0], limit: 5 })).toEqual({
      rows: [],
      total: all.length,
      nextAfterId: null,
      prevBeforeId: null,
    });
    expect((await app.call('pairs.page', { datasetId, beforeId: ids[1], limit: 1 })).rows.map((r) => r.id)).toEqual([ids[0]]);

    // Under filters: the previous pair of each pair is the one before it in the filtered list.
    for (const [split, label] of [
      ['test', undefined],
      ['val', 1],
      [undefined, 0],
    ] as const) {
      const matching = all
        .filter((p) => (split === undefined || p.split === split) && (label === undefined || p.label === label))
        .map((p) => p.id);
      const back = await walkBack(app, { datasetId, split, label }, end, 7);
      expect(
        back
          .reverse()
          .flat()
          .map((r) => r.id),
      ).toEqual(matching);
      for (let i = 1; i < matching.length; i += 5) {
        const prev = await app.call('pairs.page', { datasetId, split, label, beforeId: matching[i], limit: 1 });
        expect(prev.rows.map((r) => r.id)).toEqual([matching[i - 1]]);
      }
    }

    // One cursor only, checked at the boundary.
    await expect(app.call('pairs.page', { datasetId, afterId: 1, beforeId: 10 })).rejects.toMatchObject({
      code: 'invalid_argument',
      message: expect.stringMatching(/not both/),
    });
  });

  it('filters by split and label, and the filtered walks partition the set', async () => {
    const { app, datasetId, result } = await withPairs();
    const all = pairsOf(app, result.pairSetId);
    let seen = 0;
    for (const split of ['train', 'val', 'test'] as const) {
      const bySplit = await walk(app, { datasetId, split }, 50);
      expect(bySplit.rows.every((r) => r.split === split)).toBe(true);
      expect(bySplit.total).toBe(all.filter((p) => p.split === split).length);
      for (const label of [0, 1] as const) {
        const both = await walk(app, { datasetId, split, label }, 13);
        expect(both.rows.every((r) => r.split === split && r.label === label)).toBe(true);
        expect(both.rows.map((r) => r.id)).toEqual(all.filter((p) => p.split === split && p.label === label).map((p) => p.id));
        seen += both.total;
      }
    }
    expect(seen).toBe(all.length);
    const positives = await walk(app, { datasetId, label: 1 }, 100);
    expect(positives.total).toBe(all.filter((p) => p.label === 1).length);
  });

  it("defaults to the newest pair set, accepts an older one, and refuses another dataset's set", async () => {
    const { app, datasetId, result } = await withPairs(1);
    const newer = (await generate(app, { datasetId, seed: 4 })).result as PairsJobResult;
    const first = await app.call('pairs.page', {
      datasetId,
      pairSetId: undefined,
      split: undefined,
      label: undefined,
      afterId: undefined,
      limit: 5,
    });
    expect(first.rows[0].pairSetId).toBe(newer.pairSetId);
    expect(first.rows).toHaveLength(5);
    const older = await app.call('pairs.page', {
      datasetId,
      pairSetId: result.pairSetId,
      split: undefined,
      label: undefined,
      afterId: undefined,
      limit: 5,
    });
    expect(older.rows[0].pairSetId).toBe(result.pairSetId);
    const other = seedDataset(app, 'other', classes({ x: 3 })).datasetId;
    await expect(
      app.call('pairs.page', {
        datasetId: other,
        pairSetId: result.pairSetId,
        split: undefined,
        label: undefined,
        afterId: undefined,
        limit: undefined,
      }),
    ).rejects.toMatchObject({ code: 'not_found' });
    expect(
      await app.call('pairs.page', {
        datasetId: other,
        pairSetId: undefined,
        split: undefined,
        label: undefined,
        afterId: undefined,
        limit: undefined,
      }),
    ).toEqual({
      rows: [],
      total: 0,
      nextAfterId: null,
    });
    await expect(
      app.call('pairs.page', {
        datasetId: 12345,
        pairSetId: undefined,
        split: undefined,
        label: undefined,
        afterId: undefined,
        limit: undefined,
      }),
    ).rejects.toMatchObject({ code: 'not_found' });
  });

  it('at 100k pairs every filter reads an index in id order (no full scan of pairs, no sort)', async () => {
    const app = openApp();
    const { datasetId, imageIds } = seedDataset(app, 'big', classes({ a: 500, b: 500 }));
    const repo = new PairsRepo(app.db);
    const splits = new Map<number, Split>(imageIds.map((id, i) => [id, i % 10 === 0 ? 'test' : i % 10 === 1 ? 'val' : 'train']));
    const pairs = Array.from({ length: 100_000 }, (_, i) => {
      const a = imageIds[i % 1000];
      const b = imageIds[(i * 7 + 1) % 1000];
      return { imageA: a, imageB: b, label: (i % 2) as 0 | 1, split: splits.get(a)! };
    });
    // An older set in front, so the newest set's ids do not start at 1.
    repo.insertPairSet(
      { datasetId, source: 'generated', seed: 1, ratios: [80, 10, 10], pairsPerAnchor: 1 },
      new Map(),
      pairs.slice(0, 1000),
    );
    const pairSetId = repo.insertPairSet({ datasetId, source: 'csv', seed: null, ratios: null, pairsPerAnchor: null }, new Map(), pairs);
    app.db.exec('ANALYZE');

    const filters = [{}, { split: 'val' as const }, { label: 1 as const }, { split: 'train' as const, label: 0 as const }];
    for (const f of filters) {
      const { sql, params } = PairsRepo.pageSql({ pairSetId, ...f });
      const plan = (app.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params, 50_000, 100) as { detail: string }[]).map((r) => r.detail);
      const text = plan.join(' | ');
      expect(text, text).toMatch(/SEARCH p USING (COVERING )?INDEX pairs_by_set\w* \(pair_set_id=\?.* AND (row)?id>\?\)/);
      expect(text, text).not.toMatch(/SCAN p\b/);
      expect(text, text).not.toMatch(/TEMP B-TREE/);
      expect(text, text).toMatch(/SEARCH a USING INTEGER PRIMARY KEY/);
      // Backwards (the page before a cursor): the same index, read from the cursor down, still no sort.
      const back = PairsRepo.pageSql({ pairSetId, ...f }, 'backward');
      const backText = (app.db.prepare(`EXPLAIN QUERY PLAN ${back.sql}`).all(...back.params, 50_000, 100) as { detail: string }[])
        .map((r) => r.detail)
        .join(' | ');
      expect(backText, backText).toMatch(/SEARCH p USING (COVERING )?INDEX pairs_by_set\w* \(pair_set_id=\?.* AND (row)?id<\?\)/);
      expect(backText, backText).not.toMatch(/SCAN p\b/);
      expect(backText, backText).not.toMatch(/TEMP B-TREE/);
      expect(backText, backText).toMatch(/SEARCH a USING INTEGER PRIMARY KEY/);
      const countPlan = (
        app.db
          .prepare(
            `EXPLAIN QUERY PLAN SELECT count(*) FROM pairs p WHERE p.pair_set_id = ?${f.split ? ' AND p.split = ?' : ''}${f.label !== undefined ? ' AND p.label = ?' : ''}`,
          )
          .all(...params) as { detail: string }[]
      )
        .map((r) => r.detail)
        .join(' | ');
      expect(countPlan, countPlan).toMatch(/SEARCH p USING COVERING INDEX/);
    }

    // And the page itself is right in the middle of the set.
    const mid = await app.call('pairs.page', { datasetId, pairSetId, split: 'val', label: 1, afterId: 60_000, limit: 3 });
    expect(mid.rows).toHaveLength(3);
    expect(mid.rows.every((r) => r.id > 60_000 && r.split === 'val' && r.label === 1)).toBe(true);
    expect(mid.total).toBe(pairs.filter((p) => p.split === 'val' && p.label === 1).length);
    // The page before a cursor in the middle: the nearest matching pairs below it, in id order.
    const nearest = (
      app.db
        .prepare("SELECT id FROM pairs WHERE pair_set_id = ? AND split = 'val' AND label = 1 AND id < 60000 ORDER BY id DESC LIMIT 3")
        .all(pairSetId) as { id: number }[]
    )
      .map((r) => r.id)
      .reverse();
    const prev = await app.call('pairs.page', { datasetId, pairSetId, split: 'val', label: 1, beforeId: 60_000, limit: 3 });
    expect(prev.rows.map((r) => r.id)).toEqual(nearest);
    expect(prev.rows.every((r) => r.split === 'val' && r.label === 1)).toBe(true);
    expect(prev.prevBeforeId).toBe(nearest[0]);
    expect(prev.total).toBe(mid.total);
    // Back from past the end: the set's last pairs; the older set in front stays out of it.
    const tail = await app.call('pairs.page', { datasetId, pairSetId, beforeId: 1_000_000, limit: 2 });
    expect(tail.rows.map((r) => r.id)).toEqual([1000 + 99_999, 1000 + 100_000]);
    const head = await app.call('pairs.page', { datasetId, pairSetId, beforeId: 1003, limit: 5 });
    expect(head.rows.map((r) => r.id)).toEqual([1001, 1002]);
    expect(head.prevBeforeId).toBeNull();
    const last = await app.call('pairs.page', { datasetId, pairSetId, split: undefined, label: undefined, afterId: undefined, limit: 500 });
    expect(last.total).toBe(100_000);
    expect(last.nextAfterId).toBe(last.rows[499].id);
  });
});
