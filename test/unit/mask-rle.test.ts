// The RLE codec of masks (src/shared/mask-rle.ts): COCO counts (column-major, background first),
// COCO's compressed string, area, bounding box and polygon rasterisation. The expected strings
// and polygon counts are worked out by hand below; the polygon ones (and 9,000 random cases
// during development) agree with pycocotools' maskApi.c (rleToString, rleToBbox, rleFrPoly).
import { describe, expect, it } from 'vitest';
import {
  canonicalMaskString,
  countsArea,
  countsBbox,
  countsProblem,
  countsToString,
  decodeCounts,
  decodeMaskString,
  encodeCounts,
  encodeMaskString,
  normaliseCounts,
  polygonCounts,
  polygonProblem,
  polygonsToMask,
  RleError,
  stringToCounts,
} from '../../src/shared/mask-rle';

/** A row-major mask from rows of '0'/'1'. */
const grid = (...rows: string[]) => Uint8Array.from(rows.join(''), (c) => (c === '1' ? 1 : 0));

/** Byte equality of two masks (vitest's deep equality is slow on a million elements). */
const same = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));

/** Seeded random masks: blobs and noise. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The tight bounding box of a row-major mask, by looking at every pixel. */
function pixelBbox(mask: Uint8Array, h: number, w: number): [number, number, number, number] {
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      if (mask[y * w + x]) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
      }
  return x1 < 0 ? [0, 0, 0, 0] : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}

describe('COCO counts and the compressed string, worked by hand', () => {
  it('encodes a 3x3 mask', () => {
    // 0 1 0      column-major (top to bottom, left to right): 0 0 0 | 1 1 0 | 0 1 0
    // 0 1 1      runs: 3 zeros, 2 ones, 2 zeros, 1 one, 1 zero -> counts [3, 2, 2, 1, 1]
    // 0 0 0
    // string: the first three counts as they are: 3 -> '3' (48 + 3), 2 -> '2', 2 -> '2';
    // from the fourth on, the difference to the count two before: 1 - 2 = -1 and 1 - 2 = -1.
    // -1: low 5 bits 11111 = 31, -1 >> 5 = -1, sign bit (0x10) set and nothing left -> one
    // character 48 + 31 = 79 'O'. So "322OO".
    const mask = grid('010', '011', '000');
    expect(encodeCounts(mask, 3, 3)).toEqual([3, 2, 2, 1, 1]);
    expect(countsToString([3, 2, 2, 1, 1])).toBe('322OO');
    expect(encodeMaskString(mask, 3, 3)).toBe('322OO');
    expect(stringToCounts('322OO')).toEqual([3, 2, 2, 1, 1]);
    expect(decodeMaskString('322OO', 3, 3)).toEqual(mask);
    expect(countsArea([3, 2, 2, 1, 1])).toBe(3);
    expect(countsBbox([3, 2, 2, 1, 1], 3, 3)).toEqual([1, 0, 2, 2]);
  });

  it('encodes a 1x5 mask that starts inside (the first run of zeros is empty)', () => {
    // 1 1 0 1 1 (one row: column-major is the same order) -> counts [0, 2, 1, 2]
    // '0' '2' '1', then 2 - 2 = 0 -> '0': "0210"
    const mask = grid('11011');
    expect(encodeCounts(mask, 1, 5)).toEqual([0, 2, 1, 2]);
    expect(encodeMaskString(mask, 1, 5)).toBe('0210');
    expect(decodeMaskString('0210', 1, 5)).toEqual(mask);
    expect(countsBbox([0, 2, 1, 2], 1, 5)).toEqual([0, 0, 5, 1]);
  });

  it('writes counts of more than 5 bits in several characters, and negative differences with the sign bit', () => {
    // 100 = 0b11_00100: low 5 bits 4 with "more" (0x20) -> 48 + 36 = 'T'; then 3 -> '3'
    expect(countsToString([100])).toBe('T3');
    // 16 = 0b10000: the low 5 bits alone would read as negative (sign bit 0x10), so a second
    // character follows: 16 | 0x20 = 48 -> 48 + 48 = '`', then 0 -> '0'
    expect(countsToString([16])).toBe('`0');
    // [5, 50, 5, 10]: '5'; 50 = 0b1_10010 -> (18 | 0x20) + 48 = 'b', then 1 -> '1'; '5';
    // 10 - 50 = -40: low bits 11000 = 24 with more -> 56 + 48 = 'h'; -40 >> 5 = -2: 30, sign set,
    // nothing left -> 78 'N'
    expect(countsToString([5, 50, 5, 10])).toBe('5b15hN');
    for (const s of ['T3', '`0', '5b15hN']) expect(countsToString(stringToCounts(s))).toBe(s);
    expect(stringToCounts('5b15hN')).toEqual([5, 50, 5, 10]);
    expect(decodeMaskString('T3', 10, 10)).toEqual(new Uint8Array(100));
  });
});

describe('masks round trip', () => {
  const cases: [string, number, number, (i: number) => number][] = [
    ['empty', 7, 5, () => 0],
    ['full', 7, 5, () => 1],
    ['one pixel (top left)', 4, 6, (i) => (i === 0 ? 1 : 0)],
    ['one pixel (bottom right)', 4, 6, (i) => (i === 23 ? 1 : 0)],
    ['one pixel (middle)', 5, 5, (i) => (i === 12 ? 1 : 0)],
    ['1x1 inside', 1, 1, () => 1],
    ['1x1 outside', 1, 1, () => 0],
    ['1xN', 1, 17, (i) => (i % 3 === 0 ? 1 : 0)],
    ['Nx1', 17, 1, (i) => (i % 4 < 2 ? 1 : 0)],
    ['odd sizes', 13, 29, (i) => ((i * 7919) % 11 < 4 ? 1 : 0)],
    ['stripes across columns', 3, 8, (i) => (i % 8 < 4 ? 1 : 0)],
  ];
  it.each(cases)('%s', (_name, h, w, f) => {
    const mask = Uint8Array.from({ length: h * w }, (_, i) => f(i));
    const counts = encodeCounts(mask, h, w);
    expect(countsProblem(counts, h, w)).toBeNull();
    expect(counts.reduce((a, b) => a + b, 0)).toBe(h * w);
    expect(counts.slice(1).every((c) => c > 0)).toBe(true);
    expect(decodeCounts(counts, h, w)).toEqual(mask);
    const s = countsToString(counts);
    expect(s).toMatch(/^[0-o]*$/);
    expect(stringToCounts(s)).toEqual(counts);
    expect(decodeMaskString(s, h, w)).toEqual(mask);
    expect(countsArea(counts)).toBe(mask.reduce((a, b) => a + b, 0));
    expect(countsBbox(counts, h, w)).toEqual(pixelBbox(mask, h, w));
  });

  it('gives the expected counts at the edges', () => {
    expect(encodeCounts(new Uint8Array(35), 7, 5)).toEqual([35]);
    expect(encodeCounts(new Uint8Array(35).fill(1), 7, 5)).toEqual([0, 35]);
    expect(countsToString([35])).toBe('S1');
    expect(countsToString([0, 35])).toBe('0S1');
    // one pixel at row 2, column 3 of a 4 x 6 mask: column-major position 3 * 4 + 2 = 14
    const one = new Uint8Array(24);
    one[2 * 6 + 3] = 1;
    expect(encodeCounts(one, 4, 6)).toEqual([14, 1, 9]);
    expect(countsBbox([14, 1, 9], 4, 6)).toEqual([3, 2, 1, 1]);
    // non-zero values other than 1 are inside too
    expect(encodeCounts(Uint8Array.of(0, 255, 7, 0), 2, 2)).toEqual([1, 2, 1]);
  });

  it('round trips 500 random masks (noise and blobs, random sizes)', () => {
    const r = rng(42);
    for (let t = 0; t < 500; t++) {
      const h = 1 + Math.floor(r() * 60);
      const w = 1 + Math.floor(r() * 60);
      const mask = new Uint8Array(h * w);
      if (t % 2 === 0) {
        const p = r();
        for (let i = 0; i < mask.length; i++) mask[i] = r() < p ? 1 : 0;
      } else {
        const cx = r() * w;
        const cy = r() * h;
        const rx = 1 + r() * w;
        const ry = 1 + r() * h;
        for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) mask[y * w + x] = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1 ? 1 : 0;
      }
      const s = encodeMaskString(mask, h, w);
      expect(same(decodeMaskString(s, h, w), mask)).toBe(true);
      const counts = stringToCounts(s);
      expect(countsBbox(counts, h, w)).toEqual(pixelBbox(mask, h, w));
      expect(canonicalMaskString(s, h, w).string).toBe(s);
    }
  });

  it('round trips a 1024 x 1024 mask quickly', () => {
    const h = 1024;
    const w = 1024;
    const mask = new Uint8Array(h * w);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) mask[y * w + x] = (x - 500) ** 2 + (y - 400) ** 2 < 300 ** 2 || (x + y) % 97 === 0 ? 1 : 0;
    const t0 = performance.now();
    const s = encodeMaskString(mask, h, w);
    const back = decodeMaskString(s, h, w);
    const ms = performance.now() - t0;
    expect(same(back, mask)).toBe(true);
    expect(ms).toBeLessThan(1000); // a few tens of ms; generous for a loaded machine
  });
});

describe('canonical form', () => {
  it('merges empty runs inside and drops an empty run at the end', () => {
    expect(normaliseCounts([2, 0, 3, 1])).toEqual([5, 1]);
    expect(normaliseCounts([0, 2, 0, 2])).toEqual([0, 4]);
    expect(normaliseCounts([4, 0])).toEqual([4]);
    expect(normaliseCounts([0, 4])).toEqual([0, 4]);
    const { counts, string } = canonicalMaskString(countsToString([2, 0, 3, 1]), 2, 3);
    expect(counts).toEqual([5, 1]);
    expect(string).toBe(countsToString([5, 1]));
    expect(countsBbox([2, 0, 3, 1], 2, 3)).toEqual([2, 1, 1, 1]);
  });
});

describe('malformed counts are refused with a reason', () => {
  it.each<[string, () => unknown, RegExp]>([
    ['a character out of range', () => stringToCounts('32p'), /character 2 of the counts string is "p"/],
    ['a space', () => stringToCounts('3 2'), /character 1 of the counts string is " "/],
    ['a count cut off', () => stringToCounts('3T'), /ends inside a count \(at character 1\)/],
    ['a count of more than 6 characters', () => stringToCounts('TTTTTTT3'), /longer than 6 characters/],
    ['too few pixels', () => decodeMaskString('322O', 3, 3), /the runs cover 8 pixels, a 3 x 3 mask has 9/],
    ['too many pixels', () => decodeMaskString('322OO1', 3, 3), /the runs cover 11 pixels/],
    ['a negative run', () => decodeMaskString('3OOO', 3, 3), /counts\[1\] is -1: a run length is an integer >= 0/],
    ['a fractional run', () => decodeCounts([4.5, 4.5], 3, 3), /counts\[0\] is 4.5/],
    ['no counts', () => decodeCounts([], 3, 3), /the counts are empty/],
    ['a zero size', () => decodeCounts([0], 0, 3), /two positive integers/],
    ['a huge size', () => decodeCounts([1], 20000, 3), /at most 16384 pixels/],
    ['a wrong mask length', () => encodeCounts(new Uint8Array(8), 3, 3), /8 pixels, expected 3 x 3 = 9/],
  ])('%s', (_name, f, message) => {
    expect(f).toThrow(RleError);
    expect(f).toThrow(message);
  });
});

describe('polygons (as pycocotools rleFrPoly)', () => {
  it('rasterises a square, a rectangle at half pixels, a triangle and a polygon beyond the edges', () => {
    // [1,1]-[4,4] on 6 x 6: the pixels of columns 1-3, rows 1-3 (counts from maskApi.c: 7 3 3 3 3 3 14)
    expect(polygonCounts([1, 1, 4, 1, 4, 4, 1, 4], 6, 6)).toEqual([7, 3, 3, 3, 3, 3, 14]);
    expect(polygonsToMask([[1, 1, 4, 1, 4, 4, 1, 4]], 6, 6)).toEqual(grid('000000', '011100', '011100', '011100', '000000', '000000'));
    // [0.5,0.5]-[3.5,2.5]: columns 1-3, rows 1-2
    expect(polygonCounts([0.5, 0.5, 3.5, 0.5, 3.5, 2.5, 0.5, 2.5], 6, 6)).toEqual([7, 2, 4, 2, 4, 2, 15]);
    // a right triangle (0,0) (6,0) (0,4) on 5 x 7
    expect(polygonCounts([0, 0, 6, 0, 0, 4], 5, 7)).toEqual([0, 4, 1, 3, 2, 2, 3, 2, 3, 1, 14]);
    // a triangle on 10 x 10
    expect(polygonCounts([1, 1, 8, 2, 4, 8], 10, 10)).toEqual([11, 1, 9, 3, 7, 6, 4, 6, 5, 4, 6, 2, 8, 1, 27]);
    // a square around the whole 4 x 4 grid: every pixel
    expect(polygonCounts([-1, -1, 5, -1, 5, 5, -1, 5], 4, 4)).toEqual([0, 16]);
  });

  it('unites the polygons of one object', () => {
    const two = polygonsToMask(
      [
        [0, 0, 2, 0, 2, 2, 0, 2],
        [3, 3, 5, 3, 5, 5, 3, 5],
      ],
      6,
      6,
    );
    expect(two).toEqual(grid('110000', '110000', '000000', '000110', '000110', '000000'));
  });

  it('refuses malformed polygons', () => {
    expect(polygonProblem([1, 2, 3])).toMatch(/even number of coordinates, got 3/);
    expect(polygonProblem([1, 2, 3, 4])).toMatch(/at least 3 points/);
    expect(polygonProblem([1, 2, 3, 'x', 5, 6])).toMatch(/coordinate 3 is "x"/);
    expect(polygonProblem('nope')).toMatch(/an array of coordinates/);
    expect(() => polygonsToMask([], 3, 3)).toThrow(/at least one polygon/);
    expect(() => polygonCounts([0, 0, 1e7, 0, 0, 1e7], 4, 4)).toThrow(/too long/);
  });
});
