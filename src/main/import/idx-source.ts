// Source (3): MNIST-format idx files in a folder: train-images-idx3-ubyte(.gz) with
// train-labels-idx1-ubyte(.gz), optionally t10k-* (the official test split).
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { invalid } from '../errors';
import { IdxFormatError, inspectIdx, readIdx } from '../images/idx';
import type { IdxSet } from './types';

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

const IDX_NAME = /^(train|t10k)-(images|labels)[-.]idx([13])-ubyte(\.gz)?$/i;

export function isIdxFileName(name: string): boolean {
  return IDX_NAME.test(name);
}

/** True when the folder holds at least one idx images or labels file. */
export async function folderHasIdx(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).some(isIdxFileName);
  } catch {
    return false;
  }
}

/**
 * A labels file's labels, read as a stream: its header must say 1 dimension of `count`
 * labels before anything else is inflated, and it may hold no more than that.
 */
async function readLabels(path: string, count: number, imagesName: string): Promise<Uint8Array> {
  const name = basename(path);
  const labels = await readIdx(path, {
    checkHeader: ({ dims }) => {
      if (dims.length !== 1) throw new IdxFormatError(`${name}: a labels file has 1 dimension, this one has ${dims.length}`);
      if (dims[0] !== count)
        throw new IdxFormatError(`counts disagree: ${imagesName} has ${count} images but ${name} has ${dims[0]} labels`);
    },
  });
  return labels.data;
}

/** Finds and checks the idx files of a folder (headers, sizes, counts, labels). */
export async function planIdx(dir: string, fashion: boolean): Promise<{ sets: IdxSet[]; classNames: string[] | null }> {
  const found = new Map<string, string>();
  for (const name of (await readdir(dir)).sort()) {
    const m = IDX_NAME.exec(name);
    if (!m) continue;
    const key = `${m[1].toLowerCase()}-${m[2].toLowerCase()}`;
    // Prefer the uncompressed file when both exist (no gunzip needed).
    if (!found.has(key) || !name.endsWith('.gz')) found.set(key, join(dir, name));
  }
  const sets: IdxSet[] = [];
  try {
    for (const prefix of ['train', 't10k'] as const) {
      const imagesPath = found.get(`${prefix}-images`);
      const labelsPath = found.get(`${prefix}-labels`);
      if (!imagesPath && !labelsPath) continue;
      if (!imagesPath || !labelsPath) {
        throw invalid(
          `${basename((imagesPath ?? labelsPath)!)} has no matching ${prefix}-${imagesPath ? 'labels-idx1' : 'images-idx3'}-ubyte(.gz) file in ${dir}`,
        );
      }
      const header = await inspectIdx(imagesPath);
      if (header.dims.length !== 3)
        throw new IdxFormatError(`${basename(imagesPath)}: an images file has 3 dimensions, this one has ${header.dims.length}`);
      const [count, rows, cols] = header.dims;
      if (rows === 0 || cols === 0) throw new IdxFormatError(`${basename(imagesPath)}: images of ${rows}x${cols} pixels`);
      const labels = await readLabels(labelsPath, count, basename(imagesPath));
      if (fashion) {
        const bad = labels.findIndex((l) => l >= FASHION_MNIST_CLASSES.length);
        if (bad >= 0)
          throw new IdxFormatError(`${basename(labelsPath)}: label ${labels[bad]} at record ${bad} is not a Fashion-MNIST class (0-9)`);
      }
      sets.push({ officialSplit: prefix === 'train' ? 'train' : 'test', imagesPath, labels, count, rows, cols });
    }
  } catch (error) {
    if (error instanceof IdxFormatError) throw invalid(error.message);
    throw error;
  }
  if (sets.length === 0)
    throw invalid(`${dir} holds no idx images/labels files (expected train-images-idx3-ubyte(.gz) and train-labels-idx1-ubyte(.gz))`);
  if (sets.every((s) => s.count === 0)) throw invalid(`The idx files in ${dir} hold no images`);
  return { sets, classNames: fashion ? FASHION_MNIST_CLASSES : null };
}
