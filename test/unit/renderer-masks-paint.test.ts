// Type-checked with the renderer (tsconfig.web.json). The painting logic of the masks UI, as the
// components run it: brush capsules, polygon fill (dragged lasso and polygon by clicks), the magic
// wand (a scanline fill against a plain breadth-first reference), the heatmap seed, undo / redo
// (run-length steps, at least 100 per image), the save queue, the viewport and the keys.
import { describe, expect, it } from 'vitest';
import { decodeRuns, encodeRuns, MAX_UNDO, MaskEditor } from '../../src/renderer/src/stores/masks/editor';
import {
  fillPolygon,
  floodRegion,
  maskArea,
  stampSegment,
  thresholdMap,
  unionRect,
  type ImagePixels,
  type Point,
} from '../../src/renderer/src/stores/masks/paint';
import { canClose, CLOSE_RADIUS_PX, polygonClick, REPEAT_RADIUS_PX } from '../../src/renderer/src/stores/masks/polygon';
import { SaveQueue } from '../../src/renderer/src/stores/masks/saver';
import { maskKeyAction, maskKeyHelp, toolKeyLabel } from '../../src/renderer/src/stores/masks/shortcuts';
import { fitTransform, toImage, zoomAt } from '../../src/renderer/src/stores/masks/viewport';
import { reviewKeyAction } from '../../src/renderer/src/stores/review/keys';
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

describe('polygon by clicks', () => {
  it('adds vertices, ignores a repeat on the last one, closes on the first once it has 3, in screen pixels', () => {
    // at 4 screen pixels per image pixel: closing within 8 / 4 = 2 image pixels, a repeat within 3 / 4
    expect(CLOSE_RADIUS_PX / 4).toBe(2);
    expect(REPEAT_RADIUS_PX / 4).toBe(0.75);
    const a = { x: 2, y: 2 };
    expect(polygonClick([], a, 4)).toEqual({ kind: 'add', points: [a] });
    expect(polygonClick([a], { x: 2.5, y: 2.5 }, 4)).toEqual({ kind: 'repeat' }); // 0.71 from a
    expect(polygonClick([a], { x: 2.6, y: 2.6 }, 4)).toEqual({ kind: 'add', points: [a, { x: 2.6, y: 2.6 }] }); // 0.85
    const b = { x: 10, y: 2 };
    // two vertices: a click on the first adds (nothing to fill yet)
    expect(polygonClick([a, b], { x: 3, y: 3 }, 4)).toEqual({ kind: 'add', points: [a, b, { x: 3, y: 3 }] });
    const three = [a, b, { x: 10, y: 6 }];
    expect(canClose(three)).toBe(true);
    expect(polygonClick(three, { x: 3.4, y: 3.4 }, 4)).toEqual({ kind: 'close' }); // 1.98 from a
    expect(polygonClick(three, { x: 3.5, y: 3.5 }, 4).kind).toBe('add'); // 2.12
    // zoomed out to 1 screen pixel per image pixel the same hand distance is 8 image pixels
    expect(polygonClick(three, { x: 7, y: 7 }, 1)).toEqual({ kind: 'close' }); // 7.07
  });

  it('an L placed by six clicks and closed on its first vertex fills the 48 pixels inside', () => {
    let pts: Point[] = [];
    const clicks = [
      { x: 2, y: 2 },
      { x: 10, y: 2 },
      { x: 10, y: 6 },
      { x: 6, y: 6 },
      { x: 6, y: 10 },
      { x: 2, y: 10 },
      { x: 2.3, y: 1.8 }, // on the first vertex: closes
    ];
    let closed = false;
    for (const c of clicks) {
      const click = polygonClick(pts, c, 4);
      if (click.kind === 'add') pts = click.points;
      closed = click.kind === 'close';
    }
    expect(closed).toBe(true);
    expect(pts).toHaveLength(6);
    const m = new Uint8Array(12 * 12);
    expect(fillPolygon(m, 12, 12, pts, 1)).toEqual({ x: 2, y: 2, w: 8, h: 8 });
    const l = rows(m, 12);
    expect(l.slice(0, 2)).toEqual(['............', '............']);
    expect(l.slice(2, 6)).toEqual(Array(4).fill('..########..'));
    expect(l.slice(6, 10)).toEqual(Array(4).fill('..####......'));
    expect(l.slice(10)).toEqual(['............', '............']);
    expect(maskArea(m)).toBe(8 * 4 + 4 * 4);
    // the same L from pycocotools' polygon rasteriser (COCO import): the same 48 pixels
    expect(Array.from(polygonsToMask([pts.flatMap((p) => [p.x, p.y])], 12, 12))).toEqual(Array.from(m));
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
  const img: ImagePixels = { data: rgba, width: w, height: h, channels: 4 };

  it('takes the connected pixels within the tolerance', () => {
    const tight = floodRegion(img, 0.5, 0.5, 10);
    expect(rows(tight.region, w)).toEqual(['###...', '#.#...', '###...', '###...']);
    expect(tight.rect).toEqual({ x: 0, y: 0, w: 3, h: 4 });
    // the pink pixel is 40 * sqrt(3) / sqrt(3) = 40 away: in at tolerance 40
    expect(maskArea(floodRegion(img, 0.5, 0.5, 40).region)).toBe(12);
    // blue vs red: distance sqrt(2 * 180^2 / 3) = 147: everything at 150
    expect(maskArea(floodRegion(img, 0.5, 0.5, 150).region)).toBe(24);
    expect(floodRegion(img, -1, 0, 10).rect).toBeNull();
  });

  it('reads grey (1 channel) and RGB (3 channels) images; grey distance is the plain difference', () => {
    // a grey ramp 0, 10, 20, ... across 8 columns
    const grey: ImagePixels = { data: Uint8Array.from({ length: 16 }, (_, i) => (i % 8) * 10), width: 8, height: 2, channels: 1 };
    expect(rows(floodRegion(grey, 0.5, 0.5, 20).region, 8)).toEqual(['###.....', '###.....']);
    expect(rows(floodRegion(grey, 4.5, 1.5, 10).region, 8)).toEqual(['...###..', '...###..']);
    const rgb: ImagePixels = { data: Uint8Array.from([10, 10, 10, 10, 10, 40, 90, 90, 90]), width: 3, height: 1, channels: 3 };
    // (10,10,40) is 30 / sqrt(3) = 17.3 from the seed
    expect(rows(floodRegion(rgb, 0.5, 0.5, 17).region, 3)).toEqual(['#..']);
    expect(rows(floodRegion(rgb, 0.5, 0.5, 18).region, 3)).toEqual(['##.']);
  });

  it('follows a winding corridor down and back up (runs a scanline fill must seed above as well as below)', () => {
    // walls '#', floor '.': one corridor from the top left down, up, down, up and down again; below
    // a full wall, a floor the fill must not reach
    const maze = ['.#...#...', '.#.#.#.#.', '.#.#.#.#.', '...#...#.', '#########', '.......#.'];
    const W = maze[0].length;
    const data = Uint8Array.from(maze.join(''), (c) => (c === '#' ? 255 : 0));
    const { region, rect } = floodRegion({ data, width: W, height: maze.length, channels: 1 }, 0.5, 0.5, 0);
    expect(rows(region, W)).toEqual(['#.###.###', '#.#.#.#.#', '#.#.#.#.#', '###.###.#', '.........', '.........']);
    expect(rect).toEqual({ x: 0, y: 0, w: 9, h: 4 });
  });

  it('equals a breadth-first reference fill on 200 random images of few colours', () => {
    /** the plain fill: a queue of 4-neighbours, each tested once */
    function reference(im: ImagePixels, x: number, y: number, tol: number): Uint8Array {
      const out = new Uint8Array(im.width * im.height);
      const c = im.channels;
      const s = (y * im.width + x) * c;
      const near = (p: number) => {
        let d = 0;
        for (let k = 0; k < Math.min(c, 3); k++) d += (im.data[p * c + k] - im.data[s + k]) ** 2;
        return (c === 1 ? 3 * d : d) <= tol * tol * 3;
      };
      const queue = [y * im.width + x];
      out[queue[0]] = 1;
      while (queue.length) {
        const p = queue.shift()!;
        const px = p % im.width;
        const py = (p - px) / im.width;
        for (const [qx, qy] of [
          [px - 1, py],
          [px + 1, py],
          [px, py - 1],
          [px, py + 1],
        ]) {
          const q = qy * im.width + qx;
          if (qx < 0 || qy < 0 || qx >= im.width || qy >= im.height || out[q] || !near(q)) continue;
          out[q] = 1;
          queue.push(q);
        }
      }
      return out;
    }
    let seed = 7;
    const rand = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
    let nonTrivial = 0;
    for (let t = 0; t < 200; t++) {
      const width = 1 + rand(23);
      const height = 1 + rand(17);
      const channels = t % 2 ? 3 : 1;
      const data = Uint8Array.from({ length: width * height * channels }, () => 60 * rand(3));
      const im: ImagePixels = { data, width, height, channels };
      const x = rand(width);
      const y = rand(height);
      const tol = [0, 40, 70][rand(3)];
      const got = floodRegion(im, x + 0.5, y + 0.5, tol);
      const want = reference(im, x, y, tol);
      expect(Array.from(got.region)).toEqual(Array.from(want));
      const area = maskArea(want);
      if (area > 1 && area < width * height) nonTrivial++;
    }
    // most cases fill part of the image, not one pixel or all of it
    expect(nonTrivial).toBeGreaterThan(100);
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
    expect(k('g')).toEqual({ kind: 'tool', tool: 'polygon' });
    expect(k('P', { shiftKey: true })).toBeNull();
    expect(k('f')).toBeNull();
    expect(k('z', { altKey: true, ctrlKey: true })).toBeNull();
  });

  type Mods = Partial<{ ctrlKey: boolean; shiftKey: boolean; metaKey: boolean; altKey: boolean }>;
  const press = (key: string, mods: Mods = {}) => ({ key, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods });

  it("maps the review view's painting keys: Shift + letter, Shift+[ ]", () => {
    const k = (key: string, mods: Mods = {}) => maskKeyAction(press(key, mods), 'shifted');
    expect(k('P', { shiftKey: true })).toEqual({ kind: 'tool', tool: 'brush' });
    expect(k('E', { shiftKey: true })).toEqual({ kind: 'tool', tool: 'eraser' });
    expect(k('L', { shiftKey: true })).toEqual({ kind: 'tool', tool: 'lasso' });
    expect(k('G', { shiftKey: true })).toEqual({ kind: 'tool', tool: 'polygon' });
    expect(k('W', { shiftKey: true })).toEqual({ kind: 'tool', tool: 'wand' });
    expect(k('{', { shiftKey: true })).toEqual({ kind: 'brush', dir: -1 });
    expect(k('}', { shiftKey: true })).toEqual({ kind: 'brush', dir: 1 });
    expect(k('z', { ctrlKey: true })).toEqual({ kind: 'undo' });
    expect(k('Z', { ctrlKey: true, shiftKey: true })).toEqual({ kind: 'redo' });
    // plain letters and [ ] stay the view's
    for (const key of ['p', 'e', 'l', 'g', 'w', '[', ']']) expect(k(key)).toBeNull();
    expect(toolKeyLabel('polygon', 'shifted')).toBe('Shift+G');
    expect(toolKeyLabel('wand', 'plain')).toBe('W');
    expect(toolKeyLabel('polygon', 'shifted', true)).toBe('⇧G');
    expect(maskKeyHelp('shifted')[0].keys).toEqual(['Shift+P', 'Shift+E', 'Shift+L', 'Shift+G', 'Shift+W']);
  });

  it('no painting key of the review scheme is a review key, but d (paint on / off) and Ctrl+Z (a mask step while painting)', () => {
    const keys = [
      ...'abcdefghijklmnopqrstuvwxyz0123456789[]{}?+-=_'.split('').flatMap((c) => [press(c), press(c.toUpperCase(), { shiftKey: true })]),
      press('{', { shiftKey: true }),
      press('}', { shiftKey: true }),
      press('Enter'),
      press('Backspace'),
    ];
    const both = keys.filter((e) => maskKeyAction(e, 'shifted', true) !== null && reviewKeyAction(e) !== null);
    expect(both).toEqual([]);
    expect(reviewKeyAction(press('d'))).toEqual({ kind: 'paint' });
    // the one shared key, on purpose: while painting Ctrl+Z undoes a stroke (u still undoes the verdict)
    expect(reviewKeyAction(press('z', { ctrlKey: true }))).toEqual({ kind: 'undo' });
    expect(maskKeyAction(press('z', { ctrlKey: true }), 'shifted')).toEqual({ kind: 'undo' });
  });

  it('while a polygon is placed: Enter fills (Shift+Enter cuts), Escape drops, Backspace removes a vertex', () => {
    expect(maskKeyAction(press('Enter'), 'plain', true)).toEqual({ kind: 'polygon', op: 'close', value: 1 });
    expect(maskKeyAction(press('Enter', { shiftKey: true }), 'shifted', true)).toEqual({ kind: 'polygon', op: 'close', value: 0 });
    expect(maskKeyAction(press('Escape'), 'shifted', true)).toEqual({ kind: 'polygon', op: 'cancel' });
    expect(maskKeyAction(press('Backspace'), 'plain', true)).toEqual({ kind: 'polygon', op: 'back' });
    // no polygon: the view keeps them (Escape leaves a field, Enter submits)
    for (const key of ['Enter', 'Escape', 'Backspace']) expect(maskKeyAction(press(key), 'shifted', false)).toBeNull();
  });
});
