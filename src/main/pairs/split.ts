// Step 1 of pair generation: split IMAGES (not pairs) into train/val/test, stratified
// by class and seeded, so that no image can ever appear in two splits.
import { SPLITS, type Split } from '../../shared/dto';
import { createRng, hashString, shuffleInPlace } from './rng';

export type Ratios = [number, number, number];

export const DEFAULT_RATIOS: Ratios = [80, 10, 10];
/** train:val used for the official train images when the dataset has its own test split. */
export const DEFAULT_OFFICIAL_RATIOS: Ratios = [90, 10, 0];

export interface SplitImage {
  id: number;
  classLabel: string | null;
  officialSplit: 'train' | 'test' | null;
}

export interface SplitOptions {
  seed: number;
  /** [train, val, test] weights; normalised by their sum. */
  ratios?: Ratios;
  /**
   * Official-test protocol: images whose officialSplit is 'test' form the test split
   * as they are; all others are split into train/val by ratios[0]:ratios[1]
   * (ratios[2] is ignored; default 90:10).
   */
  useOfficialTest?: boolean;
}

export interface SplitResult {
  assignment: Map<number, Split>;
  protocol: 'ratios' | 'official-test';
  /** The ratios actually used (for the official protocol: [train, val, 0] of the non-test images). */
  ratios: Ratios;
  /** Images left out because they have no class label (they cannot form labelled pairs). */
  unlabelled: number;
  /** Images per class and split. */
  perClass: Map<string, Record<Split, number>>;
  warnings: string[];
}

/** Validates and normalises ratio weights; throws a plain Error with a user-facing message. */
export function normaliseRatios(ratios: Ratios): Ratios {
  if (ratios.some((r) => !Number.isFinite(r) || r < 0))
    throw new Error(`Split ratios must be non-negative numbers, got ${ratios.join('/')}`);
  const sum = ratios[0] + ratios[1] + ratios[2];
  if (sum <= 0) throw new Error(`Split ratios must not all be zero, got ${ratios.join('/')}`);
  if (ratios[0] <= 0) throw new Error(`The train ratio must be above zero, got ${ratios.join('/')}`);
  return ratios.map((r) => r / sum) as Ratios;
}

/**
 * How many of `n` images go to each split. Largest-remainder rounding, where the
 * remainders are weighed together with the deficit accumulated over the classes
 * already allocated, so the totals over many small classes still follow the ratios
 * (plain per-class rounding would send every 5-image class's spare image to val).
 */
function allocate(n: number, shares: Ratios, expected: number[], assigned: number[]): [number, number, number] {
  const counts = shares.map((p) => Math.floor(n * p)) as [number, number, number];
  let left = n - counts[0] - counts[1] - counts[2];
  while (left > 0) {
    let best = -1;
    let bestPriority = -Infinity;
    for (let i = 0; i < 3; i++) {
      if (shares[i] <= 0) continue;
      const priority = expected[i] + n * shares[i] - (assigned[i] + counts[i]);
      if (priority > bestPriority + 1e-9) {
        best = i;
        bestPriority = priority;
      }
    }
    counts[best]++;
    left--;
  }
  for (let i = 0; i < 3; i++) {
    expected[i] += n * shares[i];
    assigned[i] += counts[i];
  }
  return counts;
}

/**
 * Assigns every labelled image to exactly one split. Within each class (classes in
 * sorted order, images by id) the images are shuffled with a per-class seeded stream
 * and cut by the ratios, so the outcome depends only on the seed and the set of
 * images, not on the order the caller lists them in.
 */
export function splitImages(images: SplitImage[], options: SplitOptions): SplitResult {
  const warnings: string[] = [];
  const official = options.useOfficialTest ?? false;
  let ratios: Ratios;
  if (official) {
    const given = options.ratios ?? DEFAULT_OFFICIAL_RATIOS;
    if (options.ratios && options.ratios[2] > 0) {
      warnings.push(
        `The test ratio (${options.ratios[2]}) was ignored: the dataset's official test images form the test split, and its other images were split train:val = ${given[0]}:${given[1]}.`,
      );
    }
    ratios = [given[0], given[1], 0];
  } else {
    ratios = options.ratios ?? DEFAULT_RATIOS;
  }
  const shares = normaliseRatios(ratios);

  const assignment = new Map<number, Split>();
  const perClass = new Map<string, Record<Split, number>>();
  const byClass = new Map<string, number[]>();
  let unlabelled = 0;
  let officialTest = 0;
  for (const img of images) {
    if (img.classLabel === null || img.classLabel === '') {
      unlabelled++;
      continue;
    }
    if (!perClass.has(img.classLabel)) perClass.set(img.classLabel, { train: 0, val: 0, test: 0 });
    if (official && img.officialSplit === 'test') {
      assignment.set(img.id, 'test');
      perClass.get(img.classLabel)!.test++;
      officialTest++;
      continue;
    }
    let list = byClass.get(img.classLabel);
    if (!list) byClass.set(img.classLabel, (list = []));
    list.push(img.id);
  }
  if (official && officialTest === 0)
    warnings.push(
      'The dataset is marked as having an official test split, but none of its labelled images belongs to it: the test split is empty.',
    );

  const expected = [0, 0, 0];
  const assigned = [0, 0, 0];
  for (const label of [...byClass.keys()].sort()) {
    const ids = byClass.get(label)!.sort((a, b) => a - b);
    shuffleInPlace(ids, createRng(options.seed, hashString(label)));
    const counts = allocate(ids.length, shares, expected, assigned);
    const row = perClass.get(label)!;
    let k = 0;
    SPLITS.forEach((split, i) => {
      for (let c = 0; c < counts[i]; c++) assignment.set(ids[k++], split);
      row[split] += counts[i];
    });
  }
  return { assignment, protocol: official ? 'official-test' : 'ratios', ratios, unlabelled, perClass, warnings };
}
