// Pair generation as pure functions (no SQL, no I/O): split the images, then draw
// pairs inside each split. The service (services/pairs.ts) loads and stores.
import type { Split } from '../../shared/dto';
import { drawPairs, type DrawnPair, type LabelledImage, type SplitPairStats } from './draw';
import { splitImages, type Ratios, type SplitImage } from './split';

export { createRng, shuffleInPlace, type Rng } from './rng';
export { DEFAULT_OFFICIAL_RATIOS, DEFAULT_RATIOS, normaliseRatios, splitImages, type Ratios, type SplitImage, type SplitResult } from './split';
export { drawPairs, type DrawnPair, type DrawResult, type SplitPairStats } from './draw';

export const DEFAULT_PAIRS_PER_ANCHOR = 1;

export interface GenerateOptions {
  seed: number;
  ratios?: Ratios;
  pairsPerAnchor?: number;
  useOfficialTest?: boolean;
}

export interface GeneratedPairSet {
  assignment: Map<number, Split>;
  pairs: DrawnPair[];
  protocol: 'ratios' | 'official-test';
  ratios: Ratios;
  pairsPerAnchor: number;
  unlabelled: number;
  stats: Record<Split, SplitPairStats>;
  perClass: Map<string, Record<Split, number>>;
  warnings: string[];
}

export function generatePairSet(images: SplitImage[], options: GenerateOptions): GeneratedPairSet {
  const pairsPerAnchor = options.pairsPerAnchor ?? DEFAULT_PAIRS_PER_ANCHOR;
  const split = splitImages(images, options);
  const labelled: LabelledImage[] = [];
  for (const img of images) if (img.classLabel !== null && split.assignment.has(img.id)) labelled.push({ id: img.id, classLabel: img.classLabel });
  const drawn = drawPairs(labelled, split.assignment, pairsPerAnchor, options.seed);
  return {
    assignment: split.assignment,
    pairs: drawn.pairs,
    protocol: split.protocol,
    ratios: split.ratios,
    pairsPerAnchor,
    unlabelled: split.unlabelled,
    stats: drawn.stats,
    perClass: split.perClass,
    warnings: [...split.warnings, ...drawn.warnings],
  };
}
