// Builds the demo dataset shipped in resources/demo/fashion-mnist: a class-balanced
// subset of Fashion-MNIST (the first PER_CLASS_TRAIN images of each class from the
// train set and the first PER_CLASS_TEST of each class from t10k, in file order),
// written as gzipped idx files so the idx importer reads them like the originals.
// Deterministic: the same source files give byte-identical output.
//
//   npx tsx scripts/make-demo-data.ts [sourceDir] [outDir]
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readIdx, writeIdx } from '../src/main/images/idx';

const PER_CLASS_TRAIN = 60;
const PER_CLASS_TEST = 10;
const CLASSES = 10;

async function subset(sourceDir: string, prefix: 'train' | 't10k', perClass: number) {
  const images = await readIdx(join(sourceDir, `${prefix}-images-idx3-ubyte.gz`));
  const labels = await readIdx(join(sourceDir, `${prefix}-labels-idx1-ubyte.gz`));
  const [count, rows, cols] = images.dims;
  const size = rows * cols;
  const taken = new Array<number>(CLASSES).fill(0);
  const picked: number[] = [];
  for (let i = 0; i < count && picked.length < perClass * CLASSES; i++) {
    const label = labels.data[i];
    if (taken[label] < perClass) {
      taken[label]++;
      picked.push(i);
    }
  }
  if (taken.some((t) => t < perClass)) throw new Error(`${prefix}: not enough images of every class (${taken.join(',')})`);
  const outImages = Buffer.alloc(picked.length * size);
  const outLabels = Buffer.alloc(picked.length);
  picked.forEach((src, j) => {
    images.data.copy(outImages, j * size, src * size, (src + 1) * size);
    outLabels[j] = labels.data[src];
  });
  return { dims: [picked.length, rows, cols], images: outImages, labels: outLabels };
}

async function main() {
  const sourceDir = resolve(process.argv[2] ?? '/usr/share/datasets/fashion-mnist');
  const outDir = resolve(process.argv[3] ?? join(__dirname, '..', 'resources', 'demo', 'fashion-mnist'));
  mkdirSync(outDir, { recursive: true });
  for (const [prefix, perClass] of [
    ['train', PER_CLASS_TRAIN],
    ['t10k', PER_CLASS_TEST],
  ] as const) {
    const s = await subset(sourceDir, prefix, perClass);
    writeIdx(join(outDir, `${prefix}-images-idx3-ubyte.gz`), s.dims, s.images);
    writeIdx(join(outDir, `${prefix}-labels-idx1-ubyte.gz`), [s.dims[0]], s.labels);
    console.log(`${prefix}: ${s.dims[0]} images (${perClass} per class) → ${outDir}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
