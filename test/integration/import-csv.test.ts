import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Split } from '../../src/shared/dto';
import { AppError } from '../../src/main/errors';
import { count, createHarness, solid, write, type Harness } from './import-helpers';

let h: Harness;
let base: string;
const N = 24;

beforeAll(async () => {
  h = createHarness();
  base = join(h.dir, 'csvset');
  await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const colour = `#${(i * 10).toString(16).padStart(2, '0')}${(255 - i * 7).toString(16).padStart(2, '0')}40`;
      write(join(base, 'imgs', `p${i}.png`), await solid('png', 16 + i, 16, colour));
    }),
  );
  write(join(base, 'imgs', 'broken.png'), 'not a png');
});
afterAll(() => h.close());

const LABEL_WORDS = ['1', '0', 'same', 'different', 'true', 'false'];

function pairSetRows(pairSetId: number) {
  const splits = new Map(
    (
      h.db.prepare('SELECT image_id, split FROM image_splits WHERE pair_set_id = ?').all(pairSetId) as { image_id: number; split: Split }[]
    ).map((r) => [r.image_id, r.split]),
  );
  const pairs = h.db.prepare('SELECT image_a, image_b, label, split FROM pairs WHERE pair_set_id = ? ORDER BY id').all(pairSetId) as {
    image_a: number;
    image_b: number;
    label: number;
    split: Split;
  }[];
  return { splits, pairs };
}

describe('CSV of pairs', () => {
  it('imports a header-less CSV with relative and absolute paths and assigns splits by connected component', async () => {
    // 12 components of two pairs each: (p0,p1),(p1,p2) ... plus one pair given by absolute path.
    const lines: string[] = [];
    for (let c = 0; c < 8; c++) {
      const [a, b, d] = [3 * c, 3 * c + 1, 3 * c + 2];
      lines.push(`imgs/p${a}.png,imgs/p${b}.png,${LABEL_WORDS[c % 6]}`);
      lines.push(`imgs/p${b}.png,${join(base, 'imgs', `p${d}.png`)},${LABEL_WORDS[(c + 1) % 6]}`);
    }
    const csv = write(join(base, 'pairs.csv'), lines.join('\n') + '\n');
    const job = await h.importAndWait({ path: csv });
    expect(job.status).toBe('done');
    const result = job.result as {
      datasetId: number;
      pairSetId: number;
      pairs: number;
      droppedPairs: number;
      splitPairs: Record<Split, number>;
    };
    expect(result).toMatchObject({ pairs: 16, droppedPairs: 0, totals: { imported: 24, duplicate: 0, skipped: 0, error: 0 } });
    const detail = h.datasets.get(result.datasetId);
    expect(detail).toMatchObject({ name: 'pairs', sourceKind: 'csv', imageCount: 24 });
    expect(detail.pairSets).toHaveLength(1);
    expect(detail.pairSets[0]).toMatchObject({ id: result.pairSetId, source: 'csv', seed: 1, ratios: [80, 10, 10], pairCount: 16 });
    expect(detail.pairSets[0].counts.reduce((a, c) => a + c.count, 0)).toBe(16);
    // labels as written: 1/same/true → 1, 0/different/false → 0
    const { splits, pairs } = pairSetRows(result.pairSetId);
    expect(pairs.map((p) => p.label)).toEqual(lines.map((l) => (['1', 'same', 'true'].includes(l.split(',')[2]) ? 1 : 0)));
    // no image in two splits, no pair across splits, every image assigned once
    expect(splits.size).toBe(24);
    for (const p of pairs) {
      expect(splits.get(p.image_a)).toBe(p.split);
      expect(splits.get(p.image_b)).toBe(p.split);
    }
    // 8 components of 2 pairs → 80/10/10 by pairs gives 6/1/1 components
    expect(result.splitPairs).toEqual({ train: 12, val: 2, test: 2 });
    expect(detail.classes).toEqual([{ classLabel: '(unlabelled)', total: 24, train: 18, val: 3, test: 3, unassigned: 0 }]);
  });

  it('uses the splits a CSV gives, with a header in any column order', async () => {
    const csv = write(
      join(base, 'given.csv'),
      [
        'label,split,path_a,path_b',
        '1,train,imgs/p0.png,imgs/p1.png',
        '0,train,imgs/p1.png,imgs/p2.png',
        '1,test,imgs/p3.png,imgs/p4.png',
        '0,validation,imgs/p5.png,imgs/p6.png',
      ].join('\r\n'),
    );
    const job = await h.importAndWait({ path: csv, name: 'given splits' });
    expect(job.status).toBe('done');
    const result = job.result as { datasetId: number; pairSetId: number };
    expect(h.datasets.get(result.datasetId).pairSets[0]).toMatchObject({ seed: null, ratios: null, pairCount: 4 });
    const { pairs, splits } = pairSetRows(result.pairSetId);
    expect(pairs.map((p) => [p.label, p.split])).toEqual([
      [1, 'train'],
      [0, 'train'],
      [1, 'test'],
      [0, 'val'],
    ]);
    expect([...splits.values()].sort()).toEqual(['test', 'test', 'train', 'train', 'train', 'val', 'val']);
  });

  it('keeps the pairs whose images imported and reports the broken file', async () => {
    const csv = write(join(base, 'partly.csv'), 'path_a,path_b,label\nimgs/p0.png,imgs/p1.png,1\nimgs/p1.png,imgs/broken.png,0\n');
    const job = await h.importAndWait({ path: csv });
    expect(job.result).toMatchObject({ pairs: 1, droppedPairs: 1, totals: { imported: 2, error: 1 } });
    const report = h.datasets.importReport({ jobId: job.id, status: 'error' });
    expect(report.entries).toEqual([
      { path: 'imgs/broken.png', status: 'error', reason: expect.stringMatching(/^corrupt or not an image/), imageId: null },
    ]);
  });

  it('imports the images into an existing dataset without duplicating them', async () => {
    const first = h.datasets.list().find((d) => d.name === 'pairs')!;
    const before = count(h.db, 'SELECT count(*) AS n FROM images WHERE dataset_id = ?', first.id);
    const job = await h.importAndWait({ path: join(base, 'given.csv'), datasetId: first.id });
    expect(job.result).toMatchObject({ datasetId: first.id, totals: { imported: 0, duplicate: 7 } });
    expect(count(h.db, 'SELECT count(*) AS n FROM images WHERE dataset_id = ?', first.id)).toBe(before);
    expect(h.datasets.get(first.id).pairSets).toHaveLength(2);
  });
});

describe('CSV errors (thrown before a job starts)', () => {
  const errorOf = async (csvText: string, name = 'bad.csv') => {
    const path = write(join(base, name), csvText);
    try {
      await h.datasets.startImport({ path });
    } catch (error) {
      if (error instanceof AppError) return [error.code, error.message];
      throw error;
    }
    throw new Error('expected an error');
  };

  it('names missing columns', async () => {
    expect(await errorOf('path_a,path_b\nimgs/p0.png,imgs/p1.png\n')).toEqual([
      'invalid_argument',
      'bad.csv is missing column(s) label: its header is "path_a,path_b", expected path_a,path_b,label[,split]',
    ]);
    expect(await errorOf('imgs/p0.png,imgs/p1.png,1\nimgs/p0.png,imgs/p2.png\n')).toEqual([
      'invalid_argument',
      'bad.csv: line 2 has 2 column(s), expected path_a,path_b,label[,split]',
    ]);
  });

  it('lists the first few paths that do not exist', async () => {
    const [code, message] = (await errorOf('a,b,label\nimgs/p0.png,imgs/nope1.png,1\nimgs/nope2.png,sub/nope3.png,0\n'))!;
    expect(code).toBe('not_found');
    expect(message).toBe(
      `bad.csv names 3 file(s) that do not exist: imgs/nope1.png, imgs/nope2.png, sub/nope3.png (relative paths are read from ${base})`,
    );
  });

  it('refuses bad labels, an image in two given splits, and mixed split/no split', async () => {
    expect(await errorOf('imgs/p0.png,imgs/p1.png,maybe\n')).toEqual([
      'invalid_argument',
      'bad.csv: line 1: label "maybe" is not 1/0, same/different or true/false',
    ]);
    expect(await errorOf('path_a,path_b,label,split\nimgs/p0.png,imgs/p1.png,1,train\nimgs/p2.png,imgs/p1.png,0,test\n')).toEqual([
      'invalid_argument',
      'bad.csv: imgs/p1.png is in split train (line 2) and in test (line 3); an image may be in one split only',
    ]);
    expect((await errorOf('path_a,path_b,label,split\nimgs/p0.png,imgs/p1.png,1,train\nimgs/p2.png,imgs/p3.png,0,\n'))?.[1]).toMatch(
      /some pairs have a split and some do not \(line 3/,
    );
    expect(await errorOf('')).toEqual(['invalid_argument', 'bad.csv is empty: expected rows of path_a,path_b,label[,split]']);
  });
});
