// Type-checked with the renderer (tsconfig.web.json). The masks store's polygon tool and magic
// wand as the views drive them, against a transport that answers like main: the polygon placed by
// clicks (repeats ignored, Backspace, Escape, closing on the first vertex) fills once, as one undo
// step, and is saved; the wand fills on the stored image at full size (images.pixels, fetched
// once per image), so a disc on a 256 x 256 image comes back pixel for pixel, which a fill on a
// 128 px thumbnail scaled up cannot do.
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { setTransport, type Transport } from '../../src/renderer/src/api';
import { useMasksStore } from '../../src/renderer/src/stores/masks';
import { floodRegion, maskArea } from '../../src/renderer/src/stores/masks/paint';
import { decodeBase64 } from '../../src/renderer/src/stores/masks/pixels';
import type { Envelope } from '../../src/shared/bridge';
import type { ImagePixelsDto } from '../../src/shared/dto';
import { decodeMaskString } from '../../src/shared/mask-rle';

const IMAGE = 7;
const SIDE = 256;
/** the disc the wand should take: centre and radius in image pixels (off the pixel grid on purpose) */
const DISC = { x: 121.3, y: 133.8, r: 47.6 };
const inDisc = (i: number, j: number) => (j + 0.5 - DISC.x) ** 2 + (i + 0.5 - DISC.y) ** 2 <= DISC.r ** 2;

/** A grey background with noise, a red disc with noise (RGB, 3 channels), as images.pixels sends it. */
function discImage(): ImagePixelsDto {
  let s = 99;
  const noise = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24) % 9; // 0..8
  const data = new Uint8Array(SIDE * SIDE * 3);
  for (let i = 0; i < SIDE; i++)
    for (let j = 0; j < SIDE; j++)
      data.set(inDisc(i, j) ? [200 + noise(), 40 + noise(), 40] : [110 + noise(), 110, 110 + noise()], (i * SIDE + j) * 3);
  let bin = '';
  for (let k = 0; k < data.length; k += 0x8000) bin += String.fromCharCode(...data.subarray(k, k + 0x8000));
  return { id: IMAGE, width: SIDE, height: SIDE, channels: 3, data: btoa(bin) };
}

let calls: { name: string; args: Record<string, unknown> }[];
let saves: { counts: string; size: [number, number] }[];

function fakeMain(): Transport {
  const answer = (name: string, args: Record<string, unknown>): unknown => {
    switch (name) {
      case 'review.reviewer':
        return { name: 'Ann', known: ['Ann'] };
      case 'masks.get':
        return null;
      case 'masks.save': {
        saves.push({ counts: args.counts as string, size: args.size as [number, number] });
        return { mask: { id: saves.length, createdAt: new Date(0).toISOString() }, changed: true };
      }
      case 'images.pixels':
        return discImage();
      default:
        throw new Error(`unexpected call ${name}`);
    }
  };
  return {
    kind: 'http',
    async call(name, args): Promise<Envelope> {
      calls.push({ name, args: args as Record<string, unknown> });
      return { ok: true, value: answer(name, args as Record<string, unknown>) };
    },
    on: () => () => undefined,
  };
}

beforeEach(() => {
  calls = [];
  saves = [];
  setTransport(fakeMain());
  setActivePinia(createPinia());
});

async function openMask() {
  const masks = useMasksStore();
  await masks.open(IMAGE, SIDE, SIDE);
  expect(masks.info(IMAGE)?.status).toBe('ready');
  return masks;
}

describe('polygon tool (masks store)', () => {
  it('clicks place vertices, Backspace removes one, a click on the first vertex fills once and saves', async () => {
    const masks = await openMask();
    masks.tool = 'polygon';
    // at 2 screen pixels per image pixel: a repeat within 1.5 image pixels, closing within 4
    masks.polygonAt(IMAGE, { x: 20, y: 20 }, 2);
    masks.polygonAt(IMAGE, { x: 20.5, y: 20.5 }, 2); // a double-click's second click: no vertex
    masks.polygonAt(IMAGE, { x: 60, y: 20 }, 2);
    masks.polygonAt(IMAGE, { x: 99, y: 99 }, 2); // a slip
    expect(masks.polygon?.points).toHaveLength(3);
    masks.removePolygonVertex(); // Backspace
    masks.polygonAt(IMAGE, { x: 60, y: 50 }, 2);
    masks.polygonAt(IMAGE, { x: 20, y: 50 }, 2);
    expect(masks.polygon).toEqual({
      imageId: IMAGE,
      points: [
        { x: 20, y: 20 },
        { x: 60, y: 20 },
        { x: 60, y: 50 },
        { x: 20, y: 50 },
      ],
    });
    expect(masks.info(IMAGE)?.area).toBe(0); // nothing filled while placing
    masks.polygonAt(IMAGE, { x: 21, y: 22 }, 2); // 2.2 image px from the first vertex: closes
    expect(masks.polygon).toBeNull();
    // the 40 x 30 rectangle's pixel centres
    expect(masks.info(IMAGE)).toMatchObject({ area: 1200, undoDepth: 1 });
    await masks.flushSaves();
    expect(saves).toHaveLength(1);
    const stored = decodeMaskString(saves[0].counts, SIDE, SIDE);
    expect(stored.reduce((a, b) => a + b, 0)).toBe(1200);
    expect([stored[20 * SIDE + 20], stored[49 * SIDE + 59], stored[50 * SIDE + 60], stored[19 * SIDE + 20]]).toEqual([1, 1, 0, 0]);
  });

  it('Escape drops the polygon, another tool too; Enter (closePolygon) with 2 vertices does nothing; Shift cuts', async () => {
    const masks = await openMask();
    masks.tool = 'polygon';
    masks.polygonAt(IMAGE, { x: 10, y: 10 }, 1);
    masks.polygonAt(IMAGE, { x: 30, y: 10 }, 1);
    expect(masks.closePolygon()).toBe(false);
    expect(masks.polygon?.points).toHaveLength(2);
    masks.cancelPolygon();
    expect(masks.polygon).toBeNull();
    masks.polygonAt(IMAGE, { x: 10, y: 10 }, 1);
    masks.tool = 'brush';
    expect(masks.polygon).toBeNull();
    // fill a square, then cut its left half with a polygon closed by Enter with value 0
    masks.tool = 'polygon';
    for (const p of [
      { x: 0, y: 0 },
      { x: 10, y: 0 },
      { x: 10, y: 10 },
      { x: 0, y: 10 },
    ])
      masks.polygonAt(IMAGE, p, 1);
    expect(masks.closePolygon(1)).toBe(true);
    for (const p of [
      { x: 0, y: 0 },
      { x: 5, y: 0 },
      { x: 5, y: 10 },
      { x: 0, y: 10 },
    ])
      masks.polygonAt(IMAGE, p, 1);
    expect(masks.closePolygon(0)).toBe(true);
    expect(masks.info(IMAGE)).toMatchObject({ area: 50, undoDepth: 2 });
    masks.undo(IMAGE);
    expect(masks.info(IMAGE)?.area).toBe(100);
  });
});

describe('magic wand (masks store)', () => {
  it('fills the disc on the stored image at full size, pixel for pixel, fetching the pixels once', async () => {
    const masks = await openMask();
    let want = 0;
    for (let i = 0; i < SIDE; i++) for (let j = 0; j < SIDE; j++) if (inDisc(i, j)) want++;
    // noise up to 8 per channel: within 2 * 8 / sqrt(3) ≈ 9.2 of any seed; the background is ~100 away
    masks.tolerance = 20;
    expect(await masks.wand(IMAGE, { x: DISC.x, y: DISC.y })).toBe(true);
    expect(masks.info(IMAGE)?.area).toBe(want);
    await masks.flushSaves();
    const stored = decodeMaskString(saves.at(-1)!.counts, SIDE, SIDE);
    for (let i = 0; i < SIDE; i += 3) for (let j = 0; j < SIDE; j += 3) expect(stored[i * SIDE + j]).toBe(inDisc(i, j) ? 1 : 0);
    expect(masks.lastWandMs).toBeGreaterThanOrEqual(0);
    // Shift + click removes the region again; the pixels are not fetched a second time
    expect(await masks.wand(IMAGE, { x: DISC.x + 10, y: DISC.y - 10 }, 0)).toBe(true);
    expect(masks.info(IMAGE)?.area).toBe(0);
    expect(calls.filter((c) => c.name === 'images.pixels')).toEqual([{ name: 'images.pixels', args: { id: IMAGE } }]);

    // what the wand did before: the 128 px thumbnail drawn at the mask's size (nearest neighbour), filled there
    const full = decodeBase64(discImage().data);
    const upscaled = new Uint8Array(full.length);
    for (let i = 0; i < SIDE; i++)
      for (let j = 0; j < SIDE; j++)
        upscaled.set(full.subarray(((i & ~1) * SIDE + (j & ~1)) * 3, ((i & ~1) * SIDE + (j & ~1)) * 3 + 3), (i * SIDE + j) * 3);
    const coarse = floodRegion({ data: upscaled, width: SIDE, height: SIDE, channels: 3 }, DISC.x, DISC.y, 20);
    expect(maskArea(coarse.region)).not.toBe(want);
  });

  it('refuses pixels of another size than the mask, and says so', async () => {
    const masks = useMasksStore();
    await masks.open(IMAGE, 128, 128);
    expect(await masks.wand(IMAGE, { x: 5, y: 5 })).toBe(false);
    expect(masks.info(IMAGE)?.area).toBe(0);
  });
});
