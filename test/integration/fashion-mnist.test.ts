// The real Fashion-MNIST (the Debian package dataset-fashion-mnist, /usr/share/datasets/fashion-mnist,
// or $SIMLENS_FASHION_MNIST), read by the app's own idx reader: the bundled demo subset is exactly
// what resources/demo/README.md says it is (the first 60 images of each class of the train set and
// the first 10 of each class of t10k, in file order), and a slice of the real files imports through
// the app with its classes, its official test split and its pixels intact. Small and fast: the full
// dataset is imported by `npm run bench` (import section) and used by the scripts (train-fashion,
// explain-fashion, bench-cam/deletion-fashion, make-demo-data).
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimLensApp } from '../../src/main/app';
import { readIdx, writeIdx, type IdxArray } from '../../src/main/images/idx';
import { FASHION_MNIST_CLASSES } from '../../src/main/import/idx-source';
import { jobResult } from '../../src/shared/job-result';

const FASHION = process.env.SIMLENS_FASHION_MNIST ?? '/usr/share/datasets/fashion-mnist';
const DEMO = resolve(__dirname, '../../resources/demo/fashion-mnist');
const SIZE = 28 * 28;

interface Part {
  images: IdxArray;
  labels: IdxArray;
}
let real: Record<'train' | 't10k', Part>;
let dir: string;

beforeAll(async () => {
  if (!existsSync(join(FASHION, 't10k-images-idx3-ubyte.gz')))
    throw new Error(
      `Fashion-MNIST is not installed at ${FASHION}: apt-get install dataset-fashion-mnist (or set SIMLENS_FASHION_MNIST to a folder with its idx files)`,
    );
  const load = async (prefix: string): Promise<Part> => ({
    images: await readIdx(join(FASHION, `${prefix}-images-idx3-ubyte.gz`)),
    labels: await readIdx(join(FASHION, `${prefix}-labels-idx1-ubyte.gz`)),
  });
  real = { train: await load('train'), t10k: await load('t10k') };
  dir = mkdtempSync(join(tmpdir(), 'simlens-fashion-'));
}, 60_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the real Fashion-MNIST', () => {
  it('has 60,000 train and 10,000 t10k images of 28x28, 10 classes of 6,000 and 1,000', () => {
    for (const [prefix, n] of [
      ['train', 60_000],
      ['t10k', 10_000],
    ] as const) {
      expect(real[prefix].images.dims).toEqual([n, 28, 28]);
      expect(real[prefix].labels.dims).toEqual([n]);
      const perClass = new Array<number>(10).fill(0);
      for (const l of real[prefix].labels.data) perClass[l]++;
      expect(perClass).toEqual(new Array(10).fill(n / 10));
    }
  });

  it('the bundled demo is the first 60 (train) and 10 (t10k) images of each class, in file order', async () => {
    for (const [prefix, perClass] of [
      ['train', 60],
      ['t10k', 10],
    ] as const) {
      const { images, labels } = real[prefix];
      const picked: number[] = [];
      const taken = new Array<number>(10).fill(0);
      for (let i = 0; i < labels.dims[0] && picked.length < 10 * perClass; i++)
        if (taken[labels.data[i]] < perClass) {
          taken[labels.data[i]]++;
          picked.push(i);
        }
      const demoImages = await readIdx(join(DEMO, `${prefix}-images-idx3-ubyte.gz`));
      const demoLabels = await readIdx(join(DEMO, `${prefix}-labels-idx1-ubyte.gz`));
      expect(demoImages.dims).toEqual([10 * perClass, 28, 28]);
      expect(Array.from(demoLabels.data)).toEqual(picked.map((i) => labels.data[i]));
      picked.forEach((src, j) => {
        const same = Buffer.compare(demoImages.data.subarray(j * SIZE, (j + 1) * SIZE), images.data.subarray(src * SIZE, (src + 1) * SIZE));
        expect(same, `${prefix} demo image ${j} = original image ${src}`).toBe(0);
      });
    }
  });

  it('a slice of the real files imports through the app: classes, official test split, pixels', async () => {
    // the first 500 train and 100 t10k images, in a folder named like the dataset (its class names apply)
    const slice = join(dir, 'fashion-mnist-slice');
    mkdirSync(slice);
    const part = (prefix: 'train' | 't10k', n: number) => {
      writeIdx(join(slice, `${prefix}-images-idx3-ubyte.gz`), [n, 28, 28], real[prefix].images.data.subarray(0, n * SIZE));
      writeIdx(join(slice, `${prefix}-labels-idx1-ubyte.gz`), [n], real[prefix].labels.data.subarray(0, n));
    };
    part('train', 500);
    part('t10k', 100);
    const app = new SimLensApp({ dbPath: join(dir, 'ws', 'simlens.db'), shell: 'cli' });
    try {
      const job = await app.jobs.wait((await app.call('datasets.import', { path: slice, kind: 'idx' })).jobId);
      expect(job.status, job.error ?? '').toBe('done');
      const { datasetId, totals } = jobResult(job, 'import')!;
      // duplicates are images with the same pixels as an earlier one (Fashion-MNIST has a few)
      expect(totals.imported + totals.duplicate).toBe(600);
      expect(totals.error).toBe(0);
      const detail = await app.call('datasets.get', { id: datasetId });
      expect(detail).toMatchObject({ sourceKind: 'idx', hasOfficialTest: true, imageCount: totals.imported });
      expect(detail.classes.map((c) => c.classLabel).sort()).toEqual([...FASHION_MNIST_CLASSES].sort());
      // every stored image is a real one, with its real class, in its split of origin
      const rows = app.db
        .prepare('SELECT source_path, class_label, official_split, pixel_encoding, pixels FROM images WHERE dataset_id = ?')
        .all(datasetId) as {
        source_path: string;
        class_label: string;
        official_split: string | null;
        pixel_encoding: string;
        pixels: Buffer;
      }[];
      expect(rows).toHaveLength(totals.imported);
      for (const r of rows) {
        const m = /(train|t10k)-images-idx3-ubyte\.gz#(\d+)$/.exec(r.source_path);
        expect(m, r.source_path).not.toBeNull();
        const [prefix, index] = [m![1] as 'train' | 't10k', Number(m![2])];
        expect(r.class_label).toBe(FASHION_MNIST_CLASSES[real[prefix].labels.data[index]]);
        expect(r.official_split).toBe(prefix === 't10k' ? 'test' : 'train');
        expect(r.pixel_encoding).toBe('raw');
        expect(Buffer.compare(r.pixels, real[prefix].images.data.subarray(index * SIZE, (index + 1) * SIZE)), r.source_path).toBe(0);
      }
    } finally {
      await app.close();
    }
  }, 60_000);
});
