import { describe, expect, it } from 'vitest';
import { SPLITS, type Split } from '../../src/shared/dto';
import { createRng, drawPairs, generatePairSet, normaliseRatios, shuffleInPlace, splitImages, type SplitImage } from '../../src/main/pairs';

/** `perClass` images for each class name, ids from 1; optional official split per image. */
function makeImages(perClass: Record<string, number>, official?: (i: number) => 'train' | 'test'): SplitImage[] {
  const images: SplitImage[] = [];
  let id = 1;
  for (const [label, n] of Object.entries(perClass)) {
    for (let i = 0; i < n; i++, id++) images.push({ id, classLabel: label, officialSplit: official ? official(i) : null });
  }
  return images;
}

const tenClasses = (n: number) => Object.fromEntries(Array.from({ length: 10 }, (_, c) => [`class${c}`, n]));

function classOf(images: SplitImage[]): Map<number, string | null> {
  return new Map(images.map((i) => [i.id, i.classLabel]));
}

describe('seeded rng', () => {
  it('repeats its sequence for a seed and differs across seeds and streams', () => {
    const seq = (seed: number, stream = 0) => {
      const r = createRng(seed, stream);
      return Array.from({ length: 20 }, () => r.next());
    };
    expect(seq(7)).toEqual(seq(7));
    expect(seq(7)).not.toEqual(seq(8));
    expect(seq(7, 1)).not.toEqual(seq(7, 2));
    for (const x of seq(123)) expect(x >= 0 && x < 1).toBe(true);
  });

  it('shuffles into a permutation', () => {
    const items = Array.from({ length: 100 }, (_, i) => i);
    const shuffled = shuffleInPlace([...items], createRng(1));
    expect(shuffled).not.toEqual(items);
    expect([...shuffled].sort((a, b) => a - b)).toEqual(items);
  });
});

describe('splitImages', () => {
  it('stratifies: every class is cut by the ratios', () => {
    const images = makeImages({ ...tenClasses(100), odd: 37 });
    const { perClass, assignment } = splitImages(images, { seed: 3 });
    for (let c = 0; c < 10; c++) expect(perClass.get(`class${c}`)).toEqual({ train: 80, val: 10, test: 10 });
    const odd = perClass.get('odd')!;
    expect(odd.train + odd.val + odd.test).toBe(37);
    expect(Math.abs(odd.train - 37 * 0.8)).toBeLessThanOrEqual(1);
    expect(Math.abs(odd.val - 37 * 0.1)).toBeLessThanOrEqual(1);
    expect(Math.abs(odd.test - 37 * 0.1)).toBeLessThanOrEqual(1);
    expect(assignment.size).toBe(1037);
  });

  it('keeps the totals near the ratios over many small classes', () => {
    const images = makeImages(Object.fromEntries(Array.from({ length: 100 }, (_, c) => [`c${c}`, 5])));
    const totals = { train: 0, val: 0, test: 0 };
    for (const split of splitImages(images, { seed: 1 }).assignment.values()) totals[split]++;
    expect(totals).toEqual({ train: 400, val: 50, test: 50 });
  });

  it('honours custom ratios and rejects impossible ones', () => {
    const images = makeImages(tenClasses(20));
    const totals = { train: 0, val: 0, test: 0 };
    for (const split of splitImages(images, { seed: 1, ratios: [50, 0, 50] }).assignment.values()) totals[split]++;
    expect(totals).toEqual({ train: 100, val: 0, test: 100 });
    expect(() => normaliseRatios([0, 0, 0])).toThrow(/zero/);
    expect(() => normaliseRatios([0, 50, 50])).toThrow(/train ratio/);
    expect(() => normaliseRatios([80, -1, 21])).toThrow(/non-negative/);
  });

  it('does not depend on the order the images are listed in', () => {
    const images = makeImages(tenClasses(30));
    const a = splitImages(images, { seed: 9 }).assignment;
    const b = splitImages(shuffleInPlace([...images], createRng(5)), { seed: 9 }).assignment;
    expect([...b.entries()].sort((x, y) => x[0] - y[0])).toEqual([...a.entries()].sort((x, y) => x[0] - y[0]));
  });

  it('leaves out unlabelled images and counts them', () => {
    const images = [
      ...makeImages(tenClasses(10)),
      { id: 1000, classLabel: null, officialSplit: null },
      { id: 1001, classLabel: '', officialSplit: null },
    ];
    const res = splitImages(images, { seed: 1 });
    expect(res.unlabelled).toBe(2);
    expect(res.assignment.has(1000)).toBe(false);
    expect(res.assignment.size).toBe(100);
  });

  it('official-test protocol: official test images are the test split, the rest is split 90/10 by default', () => {
    const images = makeImages(tenClasses(120), (i) => (i < 20 ? 'test' : 'train'));
    const res = splitImages(images, { seed: 4, useOfficialTest: true });
    expect(res.protocol).toBe('official-test');
    expect(res.ratios).toEqual([90, 10, 0]);
    for (const img of images) {
      const split = res.assignment.get(img.id);
      if (img.officialSplit === 'test') expect(split).toBe('test');
      else expect(split).not.toBe('test');
    }
    for (let c = 0; c < 10; c++) expect(res.perClass.get(`class${c}`)).toEqual({ train: 90, val: 10, test: 20 });
    expect(res.warnings).toEqual([]);
  });

  it('official-test protocol with given ratios uses train:val and says the test ratio was ignored', () => {
    const images = makeImages(tenClasses(120), (i) => (i < 20 ? 'test' : 'train'));
    const res = splitImages(images, { seed: 4, useOfficialTest: true, ratios: [80, 20, 10] });
    expect(res.ratios).toEqual([80, 20, 0]);
    expect(res.perClass.get('class0')).toEqual({ train: 80, val: 20, test: 20 });
    expect(res.warnings.join(' ')).toMatch(/test ratio \(10\) was ignored/);
  });
});

describe('generatePairSet', () => {
  it('never puts an image in two splits, and every pair stays inside one split (several seeds)', () => {
    const images = makeImages({ ...tenClasses(50), small: 3, tiny: 1 });
    for (const seed of [0, 1, 2, 42, 1234567]) {
      const res = generatePairSet(images, { seed, pairsPerAnchor: 2 });
      const seen = new Map<number, Split>();
      const violations: string[] = [];
      for (const p of res.pairs) {
        for (const img of [p.imageA, p.imageB]) {
          if (res.assignment.get(img) !== p.split)
            violations.push(`image ${img} of a ${p.split} pair is assigned to ${res.assignment.get(img)}`);
          const before = seen.get(img);
          if (before && before !== p.split) violations.push(`image ${img} in ${before} and ${p.split} pairs`);
          seen.set(img, p.split);
        }
      }
      expect(violations).toEqual([]);
      expect(res.pairs.length).toBeGreaterThan(0);
      // The assignment is a function: each image id maps to exactly one split.
      const ids = [...res.assignment.keys()];
      expect(new Set(ids).size).toBe(ids.length);
    }
  });

  it('draws balanced, correctly labelled, non-repeating pairs', () => {
    const images = makeImages({ ...tenClasses(40), big: 200 });
    const cls = classOf(images);
    const res = generatePairSet(images, { seed: 5, pairsPerAnchor: 3 });
    const keys = new Set<string>();
    for (const split of SPLITS) {
      const inSplit = res.pairs.filter((p) => p.split === split);
      const pos = inSplit.filter((p) => p.label === 1).length;
      expect(pos).toBeGreaterThan(0);
      expect(inSplit.length - pos).toBe(pos);
      expect(res.stats[split].positives).toBe(pos);
      expect(res.stats[split].negatives).toBe(pos);
    }
    const violations: string[] = [];
    for (const p of res.pairs) {
      if (p.imageA === p.imageB) violations.push(`self pair ${p.imageA}`);
      if ((cls.get(p.imageA) === cls.get(p.imageB)) !== (p.label === 1)) violations.push(`wrong label ${JSON.stringify(p)}`);
      const key = [p.imageA, p.imageB].sort((a, b) => a - b).join(',');
      if (keys.has(key)) violations.push(`repeated pair ${key}`);
      keys.add(key);
    }
    expect(violations).toEqual([]);
    // K = 3 partners of each kind per anchor wherever the class allows it.
    const train = res.stats.train;
    expect(train.positives).toBe(train.images * 3);
  });

  it('is deterministic for a seed and differs for another seed', () => {
    const images = makeImages(tenClasses(30));
    const a = generatePairSet(images, { seed: 11 });
    const b = generatePairSet(images, { seed: 11 });
    const c = generatePairSet(images, { seed: 12 });
    expect(b.pairs).toEqual(a.pairs);
    expect([...b.assignment]).toEqual([...a.assignment]);
    expect(c.pairs).not.toEqual(a.pairs);
  });

  it('keeps the split when only pairsPerAnchor changes', () => {
    const images = makeImages(tenClasses(30));
    const a = generatePairSet(images, { seed: 11, pairsPerAnchor: 1 });
    const b = generatePairSet(images, { seed: 11, pairsPerAnchor: 4 });
    expect([...b.assignment]).toEqual([...a.assignment]);
    expect(b.pairs.length).toBeGreaterThan(a.pairs.length);
  });

  it('explains degenerate splits: single-image classes and single-class splits', () => {
    // 'solo' has one image (train); val/test get images of class 'a' only.
    const images = makeImages({ a: 10, b: 2, solo: 1 });
    const res = generatePairSet(images, { seed: 1 });
    expect(res.assignment.get(13)).toBe('train');
    expect(res.stats.train.anchorsWithoutPairs).toBeGreaterThanOrEqual(1);
    expect(res.warnings.join(' ')).toMatch(/single image \(solo\)/);
    expect(res.stats.val.classes).toBe(1);
    expect(res.stats.val.positives).toBe(0);
    expect(res.warnings.join(' ')).toMatch(/val split holds images of a single class \(a\)/);
    // Balance still holds in the splits that do have pairs.
    expect(res.stats.train.positives).toBe(res.stats.train.negatives);
  });

  it('handles a heavily imbalanced split (negatives drawn from the few other images)', () => {
    const images = makeImages({ many: 500, few: 3 });
    const res = drawPairs(
      images.map((i) => ({ id: i.id, classLabel: i.classLabel! })),
      new Map(images.map((i) => [i.id, 'train'])),
      1,
      7,
    );
    const s = res.stats.train;
    expect(s.positives).toBe(s.negatives);
    // Only 500 * 3 distinct negative pairs exist; every anchor can still get one.
    expect(s.positives).toBeGreaterThan(490);
  });
});
