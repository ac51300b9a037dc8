// Step 2 of pair generation: inside each split, draw balanced positive ("same class")
// and negative ("different class") pairs around every image as anchor. Pairs never
// cross splits, because both partners are drawn from the anchor's own split.
import { SPLITS, type Split } from '../../shared/dto';
import { createRng, shuffleInPlace, type Rng } from './rng';

export interface LabelledImage {
  id: number;
  classLabel: string;
}

export interface DrawnPair {
  imageA: number;
  imageB: number;
  label: 0 | 1;
  split: Split;
}

export interface SplitPairStats {
  images: number;
  classes: number;
  positives: number;
  negatives: number;
  /** Images that anchor no pair: their class has no other image in the split, or there is no other class. */
  anchorsWithoutPairs: number;
}

export interface DrawResult {
  pairs: DrawnPair[];
  stats: Record<Split, SplitPairStats>;
  warnings: string[];
}

/** Stream numbers for the RNG, so each split's draw is independent of the others. */
const SPLIT_STREAM: Record<Split, number> = { train: 101, val: 102, test: 103 };

/** An element of arr[lo, hi) outside arr[holeLo, holeHi), uniformly; the hole must lie inside the range. */
function sampleOutsideHole(arr: number[], lo: number, hi: number, holeLo: number, holeHi: number, rng: Rng): number {
  const holeSize = holeHi - holeLo;
  let idx = lo + rng.int(hi - lo - holeSize);
  if (idx >= holeLo) idx += holeSize;
  return arr[idx];
}

/**
 * Up to `need` distinct ids accepted by `accept`: rejection sampling first (cheap when
 * most candidates are acceptable), then, if that stalls, an exhaustive seeded pick
 * among the remaining acceptable candidates. Deterministic for a given rng state.
 */
function pickDistinct(need: number, sample: () => number, accept: (id: number) => boolean, enumerate: () => number[], rng: Rng): number[] {
  const chosen: number[] = [];
  const seen = new Set<number>();
  for (let attempt = 0; attempt < need * 8 + 8 && chosen.length < need; attempt++) {
    const id = sample();
    if (!seen.has(id) && accept(id)) {
      seen.add(id);
      chosen.push(id);
    }
  }
  if (chosen.length < need) {
    const rest = enumerate().filter((id) => !seen.has(id) && accept(id));
    for (let i = 0; i < rest.length && chosen.length < need; i++) {
      const j = i + rng.int(rest.length - i);
      const tmp = rest[i];
      rest[i] = rest[j];
      rest[j] = tmp;
      chosen.push(rest[i]);
    }
  }
  return chosen;
}

function listFew(names: string[], max = 5): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/**
 * For each image of a split (in seeded random order) as anchor: m = min(K, class size - 1)
 * positive partners from its class and as many negative partners from other classes,
 * none repeating a pair already drawn in either orientation. Every anchor contributes
 * as many positives as negatives, so each split is exactly balanced.
 */
export function drawPairs(images: LabelledImage[], assignment: Map<number, Split>, pairsPerAnchor: number, seed: number): DrawResult {
  if (!Number.isInteger(pairsPerAnchor) || pairsPerAnchor < 1)
    throw new Error(`pairsPerAnchor must be a positive integer, got ${pairsPerAnchor}`);
  const pairs: DrawnPair[] = [];
  const warnings: string[] = [];
  const stats = {} as Record<Split, SplitPairStats>;

  for (const split of SPLITS) {
    const rng = createRng(seed, SPLIT_STREAM[split]);
    // Images of this split grouped by class: one array, classes in sorted order, ids ascending.
    const byClass = new Map<string, number[]>();
    for (const img of images) {
      if (assignment.get(img.id) !== split) continue;
      let list = byClass.get(img.classLabel);
      if (!list) byClass.set(img.classLabel, (list = []));
      list.push(img.id);
    }
    const labels = [...byClass.keys()].sort();
    const all: number[] = [];
    const block = new Map<string, { lo: number; hi: number }>();
    const classOf = new Map<number, string>();
    const position = new Map<number, number>();
    for (const label of labels) {
      const ids = byClass.get(label)!.sort((a, b) => a - b);
      block.set(label, { lo: all.length, hi: all.length + ids.length });
      for (const id of ids) {
        classOf.set(id, label);
        position.set(id, all.length);
        all.push(id);
      }
    }
    const s: SplitPairStats = { images: all.length, classes: labels.length, positives: 0, negatives: 0, anchorsWithoutPairs: 0 };
    stats[split] = s;
    if (all.length === 0) continue;
    if (labels.length === 1) {
      s.anchorsWithoutPairs = all.length;
      warnings.push(
        `The ${split} split holds images of a single class (${labels[0]}): no negative pair is possible, so no pairs were drawn in it.`,
      );
      continue;
    }
    const singletons = labels.filter((l) => byClass.get(l)!.length === 1);
    if (singletons.length > 0) {
      warnings.push(
        `In the ${split} split, ${singletons.length} class(es) have a single image (${listFew(singletons)}): those images anchor no pair (no positive partner).`,
      );
    }

    const used = new Set<string>();
    const key = (a: number, b: number) => (a < b ? `${a},${b}` : `${b},${a}`);
    const splitPairs: DrawnPair[] = [];
    const anchors = shuffleInPlace([...all], rng);
    for (const anchor of anchors) {
      const label = classOf.get(anchor)!;
      const { lo, hi } = block.get(label)!;
      const m = Math.min(pairsPerAnchor, hi - lo - 1);
      if (m === 0) {
        s.anchorsWithoutPairs++;
        continue;
      }
      const pos = position.get(anchor)!;
      const fresh = (id: number) => !used.has(key(anchor, id));
      const positives = pickDistinct(
        m,
        () => sampleOutsideHole(all, lo, hi, pos, pos + 1, rng),
        fresh,
        () => all.slice(lo, hi).filter((id) => id !== anchor),
        rng,
      );
      if (positives.length === 0) {
        s.anchorsWithoutPairs++;
        continue;
      }
      const negatives = pickDistinct(
        positives.length,
        () => sampleOutsideHole(all, 0, all.length, lo, hi, rng),
        fresh,
        () => [...all.slice(0, lo), ...all.slice(hi)],
        rng,
      );
      const n = Math.min(positives.length, negatives.length);
      if (n === 0) {
        s.anchorsWithoutPairs++;
        continue;
      }
      for (let i = 0; i < n; i++) {
        used.add(key(anchor, positives[i]));
        used.add(key(anchor, negatives[i]));
        splitPairs.push({ imageA: anchor, imageB: positives[i], label: 1, split });
        splitPairs.push({ imageA: anchor, imageB: negatives[i], label: 0, split });
      }
      s.positives += n;
      s.negatives += n;
    }
    // Mix the order, so browsing the set by id does not walk one anchor at a time.
    shuffleInPlace(splitPairs, rng);
    for (const p of splitPairs) pairs.push(p);
  }
  return { pairs, stats, warnings };
}
