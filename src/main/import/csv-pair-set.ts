// A CSV import's pair set, written after all its images in one transaction: the CSV's
// pairs whose two images made it in, with the CSV's splits or, when it gives none,
// splits dealt by connected component (seeded), so that no image is in two splits.
import { basename, dirname } from 'node:path';
import type { CsvPairSetResult, Split } from '../../shared/dto';
import type { ImagesRepo } from '../store/images-repo';
import { PairsRepo, type NewPair } from '../store/pairs-repo';
import { splitByComponents } from './components';
import { displayPath, labelWord, pairKey } from './csv';
import type { ImportTarget } from './target';
import type { CsvPair, DroppedRow, DroppedRowKind } from './types';

/** Seed and ratios for CSV pairs that come without splits. */
export const CSV_SPLIT_SEED = 1;
export const CSV_SPLIT_RATIOS: [number, number, number] = [80, 10, 10];

/** How the images were assigned to splits, as the pair set records it. */
interface ImageSplits {
  imageSplits: Map<number, Split>;
  seed: number | null;
  ratios: [number, number, number] | null;
}

/** The CSV as the pair set needs it: its path (for messages), its pairs and the rows planning dropped. */
export interface CsvSource {
  path: string;
  pairs: CsvPair[];
  hasSplits: boolean;
  droppedRows: DroppedRow[];
}

/**
 * `idOfPath`: the image id of every CSV file that is in the dataset, by path. Rows that
 * name one image twice or an image pair again, once identical content is known, are
 * dropped and reported like those planning dropped; contradicting labels fail the import.
 */
export function writeCsvPairSet(target: ImportTarget, csv: CsvSource, idOfPath: Map<string, number>): CsvPairSetResult {
  const { valid, dropped } = keepImportedPairs(csv, idOfPath);
  const kept = csv.pairs.length - dropped.length;
  const droppedPairs = kept - valid.length;
  if (valid.length === 0) throw new Error(`None of the ${kept} pairs could be kept: their images failed to import (see the report)`);
  const { imageSplits, seed, ratios } = csv.hasSplits ? givenSplits(valid, target.images) : componentSplits(valid);
  const name = basename(csv.path);
  const pairSetId = target.db.transaction(() => {
    for (const d of dropped) target.report(`${name} line ${d.line}`, 'skipped', d.reason, null);
    return new PairsRepo(target.db).insertPairSet(
      { datasetId: target.datasetId, source: 'csv', seed, ratios, pairsPerAnchor: null },
      imageSplits,
      valid,
    );
  })();
  const splitPairs: Record<Split, number> = { train: 0, val: 0, test: 0 };
  for (const p of valid) splitPairs[p.split]++;
  const droppedRows: Record<DroppedRowKind, number> = { duplicate: 0, reversed: 0, selfPair: 0 };
  for (const d of [...csv.droppedRows, ...dropped]) droppedRows[d.kind]++;
  return { pairSetId, pairs: valid.length, droppedPairs, splitPairs, droppedRows };
}

/**
 * The pairs whose two images are in the dataset, as image ids (split 'train' until assigned
 * when the CSV gives none), after the rules of csv.ts's dropRepeatedPairs applied to image
 * ids: two files of identical content are one image.
 */
function keepImportedPairs(csv: CsvSource, idOfPath: Map<string, number>): { valid: NewPair[]; dropped: DroppedRow[] } {
  const base = dirname(csv.path);
  const show = (path: string) => displayPath(base, path);
  /** "x and y have identical content" for the distinct paths of the two rows that are one image */
  const identical = (p: CsvPair, q?: CsvPair) => {
    const paths = q ? [q.a, q.b, p.a, p.b] : [p.a, p.b];
    const same: string[] = [];
    for (let i = 0; i < paths.length; i++)
      for (let j = i + 1; j < paths.length; j++)
        if (paths[i] !== paths[j] && idOfPath.get(paths[i]) === idOfPath.get(paths[j]))
          same.push(`${show(paths[i])} and ${show(paths[j])}`);
    return `${[...new Set(same)].join(', ')} have identical content`;
  };
  const valid: NewPair[] = [];
  const dropped: DroppedRow[] = [];
  const first = new Map<string, CsvPair>();
  for (const p of csv.pairs) {
    const a = idOfPath.get(p.a);
    const b = idOfPath.get(p.b);
    if (a === undefined || b === undefined) continue;
    if (a === b) {
      dropped.push({ line: p.line, kind: 'selfPair', reason: `a self-pair: ${identical(p)} (image ${a})` });
      continue;
    }
    const key = pairKey(a, b);
    const seen = first.get(key);
    if (seen && seen.label !== p.label) {
      throw new Error(
        `${basename(csv.path)}: line ${p.line} gives the pair of line ${seen.line} the other label (${labelWord(p.label)} vs ${labelWord(seen.label)}): ${identical(p, seen)}`,
      );
    }
    if (seen) {
      dropped.push({ line: p.line, kind: 'duplicate', reason: `duplicate of line ${seen.line}: ${identical(p, seen)}` });
      continue;
    }
    first.set(key, p);
    valid.push({ imageA: a, imageB: b, label: p.label, split: p.split ?? 'train' });
  }
  return { valid, dropped };
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
