// A CSV import's pair set, written after all its images in one transaction: the CSV's
// pairs whose two images made it in, with the CSV's splits or, when it gives none,
// splits dealt by connected component (seeded), so that no image is in two splits.
import type { CsvPairSetResult, Split } from '../../shared/dto';
import type { ImagesRepo } from '../store/images-repo';
import { PairsRepo, type NewPair } from '../store/pairs-repo';
import { splitByComponents } from './components';
import type { ImportTarget } from './target';
import type { CsvPair } from './types';

/** Seed and ratios for CSV pairs that come without splits. */
export const CSV_SPLIT_SEED = 1;
export const CSV_SPLIT_RATIOS: [number, number, number] = [80, 10, 10];

/** How the images were assigned to splits, as the pair set records it. */
interface ImageSplits {
  imageSplits: Map<number, Split>;
  seed: number | null;
  ratios: [number, number, number] | null;
}

/** `idOfPath`: the image id of every CSV file that is in the dataset, by path. */
export function writeCsvPairSet(
  target: ImportTarget,
  csv: { pairs: CsvPair[]; hasSplits: boolean },
  idOfPath: Map<string, number>,
): CsvPairSetResult {
  const valid = keepImportedPairs(csv.pairs, idOfPath);
  const droppedPairs = csv.pairs.length - valid.length;
  if (valid.length === 0)
    throw new Error(`None of the ${csv.pairs.length} pairs could be kept: their images failed to import (see the report)`);
  const { imageSplits, seed, ratios } = csv.hasSplits ? givenSplits(valid, target.images) : componentSplits(valid);
  const pairSetId = new PairsRepo(target.db).insertPairSet(
    { datasetId: target.datasetId, source: 'csv', seed, ratios, pairsPerAnchor: null },
    imageSplits,
    valid,
  );
  const splitPairs: Record<Split, number> = { train: 0, val: 0, test: 0 };
  for (const p of valid) splitPairs[p.split]++;
  return { pairSetId, pairs: valid.length, droppedPairs, splitPairs };
}

/** The pairs whose two images are in the dataset, as image ids (split 'train' until assigned when the CSV gives none). */
function keepImportedPairs(pairs: CsvPair[], idOfPath: Map<string, number>): NewPair[] {
  const valid: NewPair[] = [];
  for (const p of pairs) {
    const a = idOfPath.get(p.a);
    const b = idOfPath.get(p.b);
    if (a !== undefined && b !== undefined) valid.push({ imageA: a, imageB: b, label: p.label, split: p.split ?? 'train' });
  }
  return valid;
}

/**
 * The CSV's own splits per image. The CSV was checked for paths in two splits; this
 * catches two files with identical content (one image) in different splits.
 */
function givenSplits(valid: NewPair[], images: ImagesRepo): ImageSplits {
  const imageSplits = new Map<number, Split>();
  for (const p of valid) {
    for (const id of [p.imageA, p.imageB]) {
      const prev = imageSplits.get(id);
      if (prev && prev !== p.split) {
        throw new Error(
          `Image ${id} (${images.get(id)?.sourcePath}) is in split ${prev} and in ${p.split}: two files in different splits have identical content`,
        );
      }
      imageSplits.set(id, p.split);
    }
  }
  return { imageSplits, seed: null, ratios: null };
}

/** Splits dealt by connected component (CSV_SPLIT_SEED, CSV_SPLIT_RATIOS); sets each pair's split. */
function componentSplits(valid: NewPair[]): ImageSplits {
  const { imageSplits } = splitByComponents(
    valid.map((p) => ({ a: p.imageA, b: p.imageB })),
    CSV_SPLIT_RATIOS,
    CSV_SPLIT_SEED,
  );
  for (const p of valid) p.split = imageSplits.get(p.imageA)!;
  return { imageSplits, seed: CSV_SPLIT_SEED, ratios: CSV_SPLIT_RATIOS };
}
