// Type-checked with the renderer (tsconfig.web.json). The painting logic of the masks UI, as the
// components run it: brush capsules, polygon fill, the magic wand, the heatmap seed, undo / redo
// (run-length steps, at least 100 per image), the save queue, the viewport and the keys.
import { describe, expect, it } from 'vitest';
import { decodeRuns, encodeRuns, MAX_UNDO, MaskEditor } from '../../src/renderer/src/stores/masks/editor';
import { fillPolygon, floodRegion, maskArea, stampSegment, thresholdMap, unionRect } from '../../src/renderer/src/stores/masks/paint';
import { SaveQueue } from '../../src/renderer/src/stores/masks/saver';
import { maskKeyAction } from '../../src/renderer/src/stores/masks/shortcuts';
import { fitTransform, toImage, zoomAt } from '../../src/renderer/src/stores/masks/viewport';
import { polygonsToMask } from '../../src/shared/mask-rle';

/** The mask as rows of '#' and '.', for readable expectations. */
const rows = (m: Uint8Array, w: number) =>
  Array.from({ length: m.length / w }, (_, i) => [...m.subarray(i * w, (i + 1) * w)].map((v) => (v ? '#' : '.')).join(''));

describe('stampSegment (round brush)', () => {
  it('a click of diameter 1 at a pixel centre sets that pixel only', () => {
    const m = new Uint8Array(25);
    const r = stampSegment(m, 5, 5, { x: 2.5, y: 1.5 }, { x: 2.5, y: 1.5 }, 0.5, 1);
    expect(rows(m, 5)).toEqual(['.....', '..#..', '.....', '.....', '.....']);
    expect(r).toEqual({ x: 2, y: 1, w: 1, h: 1 });
  });

  it('a disc of radius 2 covers the 13 pixels whose centres are within 2', () => {
    const m = new Uint8Array(49);
    stampSegment(m, 7, 7, { x: 3.5, y: 3.5 }, { x: 3.5, y: 3.5 }, 2, 1);
    expect(rows(m, 7)).toEqual(['.......', '...#...', '..###..', '.#####.', '..###..', '...#...', '.......']);
    expect(maskArea(m)).toBe(13);
  });

  it('a fast segment leaves no gap (a capsule, not stamps at the points), and the eraser clears', () => {
    const m = new Uint8Array(10 * 20);
    stampSegment(m, 20, 10, { x: 1.5, y: 4.5 }, { x: 18.5, y: 4.5 }, 1, 1);
    // on the axis the round ends reach one pixel further than the points; one row off, they do not
    expect(rows(m, 20)[4]).toBe('#'.repeat(20));
    expect(rows(m, 20)[3]).toBe('.' + '#'.repeat(18) + '.');
    expect(rows(m, 20)[2]).toBe('.'.repeat(20));
    stampSegment(m, 20, 10, { x: 10, y: 0 }, { x: 10, y: 10 }, 1, 0);
    expect(rows(m, 20)[4]).toBe('#'.repeat(9) + '..' + '#'.repeat(9));
  });

  it('clips at the edges and returns null entirely outside', () => {
    const m = new Uint8Array(16);
    expect(stampSegment(m, 4, 4, { x: -1, y: -1 }, { x: -1, y: -1 }, 2.2, 1)).toEqual({ x: 0, y: 0, w: 2, h: 2 });
    expect(rows(m, 4)).toEqual(['#...', '....', '....', '....']);
    expect(stampSegment(m, 4, 4, { x: 10, y: 10 }, { x: 12, y: 12 }, 1, 1)).toBeNull();
  });
});

describe('fillPolygon (lasso)', () => {
  it('fills pixels whose centres are inside, equal to the COCO polygon rasteriser on a square', () => {
    const m = new Uint8Array(8 * 8);
    const r = fillPolygon(
      m,
      8,
      8,
      [
        { x: 2, y: 1 },
        { x: 6, y: 1 },
        { x: 6, y: 5 },
        { x: 2, y: 5 },
      ],
      1,
    );
    expect(maskArea(m)).toBe(16);
    expect(r).toEqual({ x: 2, y: 1, w: 4, h: 4 });
    expect(rows(m, 8)[1]).toBe('..####..');
    expect(rows(m, 8)[5]).toBe('........');
    // pycocotools' rasteriser on the same square (its own pixel convention): the same pixels
    expect(Array.from(polygonsToMask([[2, 1, 6, 1, 6, 5, 2, 5]], 8, 8)).reduce((a, b) => a + b, 0)).toBe(16);
  });

  it('fills a triangle by the even-odd rule, and a cut (value 0) removes', () => {
    const m = new Uint8Array(10 * 10).fill(1);
    fillPolygon(
      m,
      10,
      10,
      [
        { x: 0, y: 0 },
        { x: 10, y: 0 },
        { x: 0, y: 10 },
      ],
      0,
    );
    // centres (j + .5, i + .5) with j + i + 1 < 10 are cut: 45 pixels
    expect(maskArea(m)).toBe(100 - 45);
    expect(
      fillPolygon(
        m,
        10,
        10,
        [
          { x: 1, y: 1 },
          { x: 2, y: 2 },
        ],
        1,
      ),
    ).toBeNull();
  });
});

describe('floodRegion (magic wand)', () => {
  // a 6 x 4 image: a red block (columns 0-2), a blue block (3-5), one pinkish pixel inside the red one
  const w = 6;
  const h = 4;
  const rgba = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w; j++) {
      const p = (i * w + j) * 4;
      rgba.set(j < 3 ? [200, 20, 20, 255] : [20, 20, 200, 255], p);
    }
  rgba.set([230, 60, 60, 255], (1 * w + 1) * 4);

  it('takes the connected pixels within the tolerance', () => {
    const tight = floodRegion(rgba, w, h, 0.5, 0.5, 10);
    expect(rows(tight.region, w)).toEqual(['###...', '#.#...', '###...', '###...']);
    expect(tight.rect).toEqual({ x: 0, y: 0, w: 3, h: 4 });
    // the pink pixel is 40 * sqrt(3) / sqrt(3) = 40 away: in at tolerance 40
    expect(maskArea(floodRegion(rgba, w, h, 0.5, 0.5, 40).region)).toBe(12);
    // blue vs red: distance sqrt(2 * 180^2 / 3) = 147: everything at 150
    expect(maskArea(floodRegion(rgba, w, h, 0.5, 0.5, 150).region)).toBe(24);
    expect(floodRegion(rgba, w, h, -1, 0, 10).rect).toBeNull();
  });
});

describe('thresholdMap (seed from the heatmap)', () => {
  it('keeps values >= threshold * max; empty for a zero map', () => {
    expect([...thresholdMap([0, 1, 2, 3, 4], 0.5)]).toEqual([0, 0, 1, 1, 1]);
    expect([...thresholdMap([0, 0, 0], 0.5)]).toEqual([0, 0, 0]);
  });
});

describe('MaskEditor (strokes, operations, undo / redo)', () => {
  it('run-length steps round-trip any rectangle', () => {
    const w = 13;
    const m = Uint8Array.from({ length: w * 11 }, (_, i) => ((i * 7919) % 5 < 2 ? 1 : 0));
    const r = { x: 2, y: 3, w: 9, h: 6 };
    const out = new Uint8Array(m.length);
    decodeRuns(encodeRuns(m, w, r), out, w, r);
    for (let i = 0; i < m.length; i++) {
      const x = i % w;
      const y = Math.floor(i / w);
      const inside = x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h;
      expect(out[i]).toBe(inside ? m[i] : 0);
    }
    // a rectangle starting with 1 begins with an empty run of 0
    expect(encodeRuns(Uint8Array.from([1, 1, 0]), 3, { x: 0, y: 0, w: 3, h: 1 })).toEqual(Uint32Array.from([0, 2, 1]));
  });

  it('two strokes, undo one: the first stroke is left; redo brings the second back; a new op drops the redo', () => {
    const ed = new MaskEditor(20, 20);
    ed.beginStroke('brush', 2, { x: 2, y: 2 });
    ed.strokeTo({ x: 10, y: 2 });
    expect(ed.endStroke()).toBe(true);
    const first = Uint8Array.from(ed.mask);
    ed.beginStroke('brush', 4, { x: 5, y: 10 });
    ed.strokeTo({ x: 5, y: 18 });
    ed.endStroke();
    const both = Uint8Array.from(ed.mask);
    expect(maskArea(both)).toBeGreaterThan(maskArea(first));
    expect(ed.undoDepth).toBe(2);
    ed.undo();
    expect(ed.mask).toEqual(first);
    expect(ed.canRedo).toBe(true);
    ed.redo();
    expect(ed.mask).toEqual(both);
    ed.undo();
    ed.invert();
    expect(ed.canRedo).toBe(false);
    expect(maskArea(ed.mask)).toBe(400 - maskArea(first));
    ed.undo();
    ed.undo();
    expect(maskArea(ed.mask)).toBe(0);
    expect(ed.canUndo).toBe(false);
  });

  it('a stroke that changes nothing is no step; cancel restores the pixels', () => {
    const ed = new MaskEditor(10, 10);
    ed.beginStroke('eraser', 3, { x: 5, y: 5 });
    expect(ed.endStroke()).toBe(false);
    expect(ed.undoDepth).toBe(0);
    ed.beginStroke('brush', 3, { x: 5, y: 5 });
    expect(ed.area()).toBeGreaterThan(0);
    ed.cancelStroke();
    expect(ed.area()).toBe(0);
  });

  it(`keeps ${MAX_UNDO} steps (at least 100) per image and undoes them all in order`, () => {
    expect(MAX_UNDO).toBeGreaterThanOrEqual(100);
    const ed = new MaskEditor(64, 64);
    const states: number[] = [ed.area()];
    for (let k = 0; k < MAX_UNDO + 20; k++) {
      if (k % 50 === 49) ed.invert();
      else {
        ed.beginStroke(k % 3 === 0 ? 'eraser' : 'brush', 3, { x: (k * 13) % 64, y: (k * 7) % 64 });
        ed.strokeTo({ x: (k * 5) % 64, y: (k * 11) % 64 });
        if (!ed.endStroke()) continue;
      }
      states.push(ed.area());
    }
    expect(ed.undoDepth).toBe(MAX_UNDO);
    for (let k = 0; k < MAX_UNDO; k++) {
      ed.undo();
      expect(ed.area()).toBe(states[states.length - 2 - k]);
    }
    expect(ed.canUndo).toBe(false);
  });

  it('a seed says "seeded" until painted on; undo goes back to the source before', () => {
    const ed = new MaskEditor(4, 4);
    ed.seed(Uint8Array.from({ length: 16 }, (_, i) => (i < 8 ? 1 : 0)));
    expect(ed.source).toBe('seeded');
    expect(ed.area()).toBe(8);
    ed.beginStroke('eraser', 1, { x: 0.5, y: 0.5 });
    ed.endStroke();
    expect(ed.source).toBe('painted');
    expect(ed.area()).toBe(7);
    ed.undo();
    expect(ed.source).toBe('seeded');
    ed.applyRegion(
      Uint8Array.from({ length: 16 }, (_, i) => (i === 15 ? 1 : 0)),
      { x: 3, y: 3, w: 1, h: 1 },
    );
    expect(ed.area()).toBe(9);
  });

  it('unionRect', () => {
    expect(unionRect(null, { x: 1, y: 1, w: 1, h: 1 })).toEqual({ x: 1, y: 1, w: 1, h: 1 });
    expect(unionRect({ x: 0, y: 5, w: 2, h: 2 }, { x: 4, y: 1, w: 1, h: 1 })).toEqual({ x: 0, y: 1, w: 5, h: 6 });
  });
});

describe('SaveQueue', () => {
  it('one save in flight; asks meanwhile become one save of the newest state, in order', async () => {
    let state = 0;
    const sent: number[] = [];
    const release: (() => void)[] = [];
    const q = new SaveQueue<number>({
      snapshot: () => state,
      send: (s) => {
        sent.push(s);
        return new Promise<void>((r) => release.push(r));
      },
    });
    state = 1;
    q.request();
    state = 2;
    q.request();
    state = 3;
    q.request();
    expect(sent).toEqual([1]);
    release.shift()!();
    await new Promise((r) => setTimeout(r, 0));
    expect(sent).toEqual([1, 3]);
    release.shift()!();
    await q.idle();
    expect(sent).toEqual([1, 3]);
    expect(q.busy).toBe(false);
  });

  it('a failed save is reported and the next ask sends again', async () => {
    const errors: unknown[] = [];
    let fail = true;
    const q = new SaveQueue<number>({
      snapshot: () => 1,
      send: async () => {
        if (fail) throw new Error('offline');
      },
      settled: (e) => {
        errors.push(e);
        // the last save is reported as done, not busy
        expect(q.busy).toBe(false);
      },
    });
    q.request();
    await q.idle();
    fail = false;
    q.request();
    await q.idle();
    expect(errors.map((e) => (e ? (e as Error).message : null))).toEqual(['offline', null]);
  });
});

describe('viewport and keys', () => {
  it('fits, zooms about a point, maps box points to image pixels', () => {
    const t = fitTransform(280, 200, 28, 28);
    expect(t.scale).toBeCloseTo(200 / 28);
    expect(t.x).toBeCloseTo(40);
    const z = zoomAt(t, 2, 140, 100);
    expect(toImage(z, 140, 100).x).toBeCloseTo(toImage(t, 140, 100).x);
    expect(toImage(z, 140, 100).y).toBeCloseTo(14);
  });

  it('maps the painting keys', () => {
    const k = (key: string, mods: Partial<{ ctrlKey: boolean; shiftKey: boolean; metaKey: boolean; altKey: boolean }> = {}) =>
      maskKeyAction({ key, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods });
    expect(k('z', { ctrlKey: true })).toEqual({ kind: 'undo' });
    expect(k('Z', { ctrlKey: true, shiftKey: true })).toEqual({ kind: 'redo' });
    expect(k('y', { metaKey: true })).toEqual({ kind: 'redo' });
    expect(k('[')).toEqual({ kind: 'brush', dir: -1 });
    expect(k(']')).toEqual({ kind: 'brush', dir: 1 });
    expect(k('e')).toEqual({ kind: 'tool', tool: 'eraser' });
    expect(k('w')).toEqual({ kind: 'tool', tool: 'wand' });
    expect(k('f')).toBeNull();
    expect(k('z', { altKey: true, ctrlKey: true })).toBeNull();
  });
});
