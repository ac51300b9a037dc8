// Pair generation as pure functions (no SQL, no I/O); services/pairs.ts loads and stores.
//
// The protocol (SCIENCE.md §1: split IMAGES first, then pair inside each split):
// 1. Split (split.ts). Images without a class label are left out (counted). Each
//    class's images, shuffled with a seeded stream of their own, are cut by the
//    ratios (default 80/10/10), with largest-remainder rounding that carries the
//    rounding deficit across classes so the totals follow the ratios too.
//    Official test split: when the dataset carries one (Fashion-MNIST's t10k:
//    images.official_split = 'test', datasets.has_official_test = 1), those images
//    ARE the test split, untouched; the other images are split train:val by the
//    first two ratios (default 90:10; a given third ratio is ignored with a warning).
// 2. Pairs (draw.ts). In each split, every image anchors m = min(K, class size - 1)
//    positive partners (same class) and m negative partners (another class, uniform
//    over the split's other images), K = pairsPerAnchor (default 1); no pair repeats
//    in either orientation. So positives == negatives in every split, and no pair
//    crosses splits. A split with one class gets no pairs (no negative is possible),
//    a class with one image in a split anchors none; both are reported as warnings.
// 3. Determinism: the outcome depends only on the seed, the options and the set of
//    (id, class, official split) triples; the split does not depend on K.
import type { Split } from '../../shared/dto';
import { drawPairs, type DrawnPair, type LabelledImage, type SplitPairStats } from './draw';
import { splitImages, type Ratios, type SplitImage } from './split';

export { createRng, shuffleInPlace, type Rng } from './rng';
export {
  DEFAULT_OFFICIAL_RATIOS,
  DEFAULT_RATIOS,
  normaliseRatios,
  splitImages,
  type Ratios,
  type SplitImage,
  type SplitResult,
} from './split';
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
  for (const img of images)
    if (img.classLabel !== null && split.assignment.has(img.id)) labelled.push({ id: img.id, classLabel: img.classLabel });
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
