import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/main/errors';
import { encodeIdx } from '../../src/main/images/idx';
import { FASHION_MNIST_CLASSES } from '../../src/main/import/idx-source';
import { PairsRepo } from '../../src/main/store/pairs-repo';
import { count, createHarness, DEMO_DIR, solid, write, type Harness } from './import-helpers';

let h: Harness;
beforeAll(() => {
  h = createHarness();
});
afterAll(() => h.close());

const copyDemo = (to: string) => {
  mkdirSync(to, { recursive: true });
  for (const f of readdirSync(DEMO_DIR)) copyFileSync(join(DEMO_DIR, f), join(to, f));
  return to;
};

describe('idx import of the shipped demo data', () => {
  let datasetId: number;

  it('imports 700 Fashion-MNIST images, 70 per class, with the official test split', async () => {
    const updates: { status: string; progress: number; message: string | null }[] = [];
    const off = h.events.on('job.updated', (j) => updates.push({ status: j.status, progress: j.progress, message: j.message }));
    const job = await h.importAndWait({ path: DEMO_DIR });
    off();
    expect(job.status).toBe('done');
    expect(updates.map((u) => u.status)).toEqual(expect.arrayContaining(['queued', 'running', 'done']));
    expect(updates.filter((u) => u.status === 'running').at(-1)).toEqual({ status: 'running', progress: 1, message: '700/700 images' });
    datasetId = (job.result as { datasetId: number }).datasetId;
    expect(job.result).toMatchObject({ totals: { imported: 700, duplicate: 0, skipped: 0, error: 0 } });
    const detail = h.datasets.get(datasetId);
    expect(detail).toMatchObject({ name: 'fashion-mnist', sourceKind: 'idx', imageCount: 700, hasOfficialTest: true });
    expect(detail.classes.map((c) => c.classLabel).sort()).toEqual([...FASHION_MNIST_CLASSES].sort());
    for (const c of detail.classes) expect(c).toMatchObject({ total: 70, unassigned: 70 });
    const official = h.db
      .prepare('SELECT class_label AS c, official_split AS s, count(*) AS n FROM images WHERE dataset_id = ? GROUP BY 1, 2')
      .all(datasetId) as {
      c: string;
      s: string;
      n: number;
    }[];
    expect(official).toHaveLength(20);
    for (const row of official) expect(row.n).toBe(row.s === 'train' ? 60 : 10);
  });

  it('stores the raw 28x28 pixels exactly as in the idx file', () => {
    const file = gunzipSync(readFileSync(join(DEMO_DIR, 'train-images-idx3-ubyte.gz')));
    const labels = gunzipSync(readFileSync(join(DEMO_DIR, 'train-labels-idx1-ubyte.gz')));
    const row = h.db
      .prepare(
        "SELECT width, height, channels, pixel_encoding AS enc, pixels, class_label AS label, thumbnail FROM images WHERE dataset_id = ? AND source_path LIKE '%train-images-idx3-ubyte.gz#5'",
      )
      .get(datasetId) as {
      width: number;
      height: number;
      channels: number;
      enc: string;
      pixels: Buffer;
      label: string;
      thumbnail: Buffer | null;
    };
    expect([row.width, row.height, row.channels, row.enc, row.thumbnail]).toEqual([28, 28, 1, 'raw', null]);
    expect(row.pixels.equals(file.subarray(16 + 5 * 784, 16 + 6 * 784))).toBe(true);
    expect(row.label).toBe(FASHION_MNIST_CLASSES[labels[8 + 5]]);
  });

  it('generates thumbnails on first request and caches them', async () => {
    const ids = (h.db.prepare('SELECT id FROM images WHERE dataset_id = ? ORDER BY id LIMIT 3').all(datasetId) as { id: number }[]).map(
      (r) => r.id,
    );
    const first = await h.images.thumbnails(ids);
    expect(Object.keys(first)).toHaveLength(3);
    expect(count(h.db, `SELECT count(*) AS n FROM images WHERE id IN (${ids.join(',')}) AND thumbnail IS NOT NULL`)).toBe(3);
    const png = Buffer.from(first[ids[0]].split(',')[1], 'base64');
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['png', 28, 28, 1]);
    expect(await h.images.thumbnails(ids)).toEqual(first);
  });

  it('labels plain MNIST-style folders with the digit', async () => {
    const digits = copyDemo(join(h.dir, 'digits'));
    const job = await h.importAndWait({ path: join(digits, 'train-images-idx3-ubyte.gz') });
    const detail = h.datasets.get((job.result as { datasetId: number }).datasetId);
    expect(detail.name).toBe('digits');
    expect(detail.classes.map((c) => c.classLabel).sort()).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });
});

describe('malformed idx files are refused before a job starts', () => {
  const errorOf = async (path: string) => {
    try {
      await h.datasets.startImport({ path, kind: 'idx' });
    } catch (error) {
      if (error instanceof AppError) return [error.code, error.message];
      throw error;
    }
    throw new Error('expected an error');
  };
  const images = Buffer.alloc(4 * 3 * 3, 9);

  it('bad magic, counts that disagree, a missing labels file, a truncated file', async () => {
    const bad = join(h.dir, 'bad-magic');
    const file = encodeIdx([4, 3, 3], images);
    write(join(bad, 'train-images-idx3-ubyte'), Buffer.concat([Buffer.from([1, 2, 3, 4]), Buffer.alloc(40)]));
    write(join(bad, 'train-labels-idx1-ubyte.gz'), encodeIdx([4], Buffer.alloc(4)));
    expect(await errorOf(bad)).toEqual(['invalid_argument', 'train-images-idx3-ubyte: bad magic number (not an idx file)']);

    const counts = join(h.dir, 'counts');
    write(join(counts, 'train-images-idx3-ubyte.gz'), file);
    write(join(counts, 'train-labels-idx1-ubyte.gz'), encodeIdx([3], Buffer.alloc(3)));
    expect(await errorOf(counts)).toEqual([
      'invalid_argument',
      'counts disagree: train-images-idx3-ubyte.gz has 4 images but train-labels-idx1-ubyte.gz has 3 labels',
    ]);

    const lonely = join(h.dir, 'lonely');
    write(join(lonely, 'train-images-idx3-ubyte.gz'), file);
    expect(await errorOf(lonely)).toEqual([
      'invalid_argument',
      `train-images-idx3-ubyte.gz has no matching train-labels-idx1-ubyte(.gz) file in ${lonely}`,
    ]);

    const short = join(h.dir, 'short');
    write(join(short, 'train-images-idx3-ubyte'), encodeIdx([4, 3, 3], images, false).subarray(0, 30));
    write(join(short, 'train-labels-idx1-ubyte'), encodeIdx([4], Buffer.alloc(4), false));
    expect(await errorOf(short)).toEqual(['invalid_argument', 'train-images-idx3-ubyte: holds 30 bytes but its header (4x3x3) needs 52']);

    const fashion = join(h.dir, 'my-fashion');
    write(join(fashion, 't10k-images-idx3-ubyte.gz'), file);
    write(join(fashion, 't10k-labels-idx1-ubyte.gz'), encodeIdx([4], Buffer.from([0, 1, 12, 3])));
    expect(await errorOf(fashion)).toEqual([
      'invalid_argument',
      't10k-labels-idx1-ubyte.gz: label 12 at record 2 is not a Fashion-MNIST class (0-9)',
    ]);
  });
});

describe('cancel', () => {
  it('a cancelled import keeps the batches it committed, each complete with its report rows', async () => {
    let jobId = 0;
    const c = createHarness({ idxBatch: 100, afterBatch: (done) => void (done >= 200 && c.jobs.cancel(jobId)) });
    try {
      jobId = (await c.datasets.startImport({ path: DEMO_DIR })).id;
      const job = await c.jobs.wait(jobId);
      expect(job.status).toBe('cancelled');
      expect(job.error).toBe('Cancelled by the user');
      const [dataset] = c.datasets.list();
      expect(dataset.imageCount).toBe(200);
      const report = c.datasets.importReport({ jobId, limit: 1000 });
      expect(report.totals).toEqual({ imported: 200, duplicate: 0, skipped: 0, error: 0 });
      expect(count(c.db, 'SELECT count(*) AS n FROM images i JOIN import_reports r ON r.image_id = i.id AND r.job_id = ?', jobId)).toBe(
        200,
      );
      expect(c.db.pragma('foreign_key_check')).toEqual([]);
      expect(c.db.pragma('integrity_check', { simple: true })).toBe('ok');
      // importing again into the same dataset completes it: the 200 are duplicates
      const again = await c.importAndWait({ path: DEMO_DIR, datasetId: dataset.id });
      expect(again.result).toMatchObject({ totals: { imported: 500, duplicate: 200 } });
    } finally {
      await c.close();
    }
  });

  it('cancelling a folder import between batches keeps whole batches; cancelling before it starts creates nothing', async () => {
    let jobId = 0;
    const c = createHarness({ fileBatch: 4, afterBatch: (done) => void (done === 4 && c.jobs.cancel(jobId)) });
    try {
      const dir = join(c.dir, 'many');
      for (let i = 0; i < 12; i++) write(join(dir, 'k', `${i}.png`), await solid('png', 5 + i, 5, '#808000'));
      jobId = (await c.datasets.startImport({ path: dir })).id;
      expect((await c.jobs.wait(jobId)).status).toBe('cancelled');
      expect(c.datasets.list().map((d) => d.imageCount)).toEqual([4]);
      expect(c.datasets.importReport({ jobId }).total).toBe(4);

      const early = await c.datasets.startImport({ path: dir });
      c.jobs.cancel(early.id);
      expect((await c.jobs.wait(early.id)).status).toBe('cancelled');
      expect(c.datasets.list()).toHaveLength(1);
    } finally {
      await c.close();
    }
  });
});

describe('delete', () => {
  it('removes a dataset and all that hangs on it, and leaves the other datasets intact', async () => {
    const d = createHarness();
    try {
      const a = await d.importAndWait({ path: DEMO_DIR, name: 'A' });
      const b = await d.importAndWait({ path: DEMO_DIR, name: 'B' });
      const aId = (a.result as { datasetId: number }).datasetId;
      const bId = (b.result as { datasetId: number }).datasetId;
      // a pair set on each dataset
      const pairsRepo = new PairsRepo(d.db);
      for (const id of [aId, bId]) {
        const imgs = (d.db.prepare('SELECT id FROM images WHERE dataset_id = ? ORDER BY id LIMIT 4').all(id) as { id: number }[]).map(
          (r) => r.id,
        );
        pairsRepo.insertPairSet(
          { datasetId: id, source: 'generated', seed: 1, ratios: [80, 10, 10], pairsPerAnchor: 1 },
          new Map(imgs.map((x) => [x, 'train' as const])),
          [
            { imageA: imgs[0], imageB: imgs[1], label: 1, split: 'train' },
            { imageA: imgs[2], imageB: imgs[3], label: 0, split: 'train' },
          ],
        );
      }
      const bBefore = d.datasets.get(bId);
      expect(d.datasets.delete(aId)).toEqual({ deleted: true });
      expect(d.datasets.delete(aId)).toEqual({ deleted: false });
      expect(d.datasets.list().map((x) => x.name)).toEqual(['B']);
      expect(d.datasets.get(bId)).toEqual(bBefore);
      expect(bBefore.pairSets[0].pairCount).toBe(2);
      expect(count(d.db, 'SELECT count(*) AS n FROM images')).toBe(700);
      expect(count(d.db, 'SELECT count(*) AS n FROM pairs')).toBe(2);
      expect(count(d.db, 'SELECT count(*) AS n FROM image_splits')).toBe(4);
      expect(() => d.datasets.get(aId)).toThrow(`Dataset ${aId} does not exist`);
      // the deleted import's report survives, no longer pointing at images
      const report = d.datasets.importReport({ jobId: a.id, limit: 5 });
      expect(report.total).toBe(700);
      expect(report.entries.every((e) => e.imageId === null)).toBe(true);
      expect(d.db.pragma('foreign_key_check')).toEqual([]);
    } finally {
      await d.close();
    }
  });
});
