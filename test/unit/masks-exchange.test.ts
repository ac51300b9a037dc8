// Masks as files (src/main/services/masks-exchange.ts) on hand-built workspaces and real PNG
// files written with sharp in a temp folder: PNG, COCO and CSV exports (names, pixels, sizes,
// history, categories), PNG and COCO imports (matching by id, stem and file name; every bad file
// or annotation reported by name with the reason while the rest is imported; nothing stored
// replaced), and the round trips PNG -> import -> export and COCO -> import -> export.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMaskPng, writeMaskPng } from '../../src/main/images/mask-png';
import { parseCsv } from '../../src/main/review/csv';
import type { MaskImportDto, MaskImportEntryDto } from '../../src/shared/dto';
import { countsToString, decodeMaskString, encodeCounts, encodeMaskString, polygonsToMask } from '../../src/shared/mask-rle';
import { disc, maskWorkspace, rect, rle, type MaskWorkspace } from './masks-fixture';

let a: MaskWorkspace;
let tmp: string;
const made: MaskWorkspace[] = [];

/** A fresh workspace, closed after the tests. */
function workspace(options: { reversed?: boolean } = {}): MaskWorkspace {
  const ws = maskWorkspace(options);
  made.push(ws);
  return ws;
}

const save = (ws: MaskWorkspace, name: string, mask: Uint8Array, author: string) =>
  ws.app.call('masks.save', { imageId: ws.image[name], author, size: ws.size[name], counts: rle(mask, ws.size[name]), source: 'painted' });

/** A grey PNG of `values` (row-major h x w). */
const greyPng = (values: ArrayLike<number>, h: number, w: number) =>
  sharp(Buffer.from(Array.from(values)), { raw: { width: w, height: h, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
/** A 16-bit grey PNG of `values`, written byte by byte (sharp writes 16-bit PNGs of its own 16-bit input only). */
function png16(values: ArrayLike<number>, h: number, w: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([head, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 16; // bit depth; colour type 0 (grey), deflate, filter 0, no interlace
  const rows = Buffer.alloc(h * (1 + 2 * w)); // each row: filter type 0, then big-endian samples
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rows.writeUInt16BE(values[y * w + x], y * (1 + 2 * w) + 1 + 2 * x);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

/** A PNG's pixels as a row-major 0/1 mask (any non-zero channel), with its size and distinct grey values. */
async function readPng(path: string): Promise<{ h: number; w: number; mask: Uint8Array; values: number[]; channels: number }> {
  const bytes = readFileSync(path);
  const { channels } = await sharp(bytes).metadata();
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  const mask = new Uint8Array(info.width * info.height);
  for (let p = 0; p < mask.length; p++) mask[p] = data[p * info.channels] ? 1 : 0;
  return { h: info.height, w: info.width, mask, values: [...new Set(data)].sort((x, y) => x - y), channels: channels! };
}

const rows = (ws: MaskWorkspace) => ws.app.db.prepare('SELECT id, uid, image_id, author, data, created_at FROM masks ORDER BY id').all();
const byName = (r: MaskImportDto) => Object.fromEntries(r.entries.map((e) => [e.name, e]));

// the masks of workspace A
const SHIRT_RECT = rect(28, 28, 4, 6, 10, 9);
const SHIRT_DISC = disc(28, 28, 14, 14, 5);
const SHIRT_BOB = rect(28, 28, 0, 0, 3, 3);
const DRESS = disc(28, 28, 10, 10, 4);
const WIDE = rect(12, 40, 30, 2, 38, 10);
const IDX = rect(28, 28, 0, 27, 28, 28);

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'simlens-masks-files-'));
  a = workspace();
  await save(a, 'shirt1', SHIRT_RECT, 'Ann');
  await save(a, 'shirt1', SHIRT_DISC, 'Ann');
  await save(a, 'shirt1', SHIRT_BOB, 'Bob');
  await save(a, 'dress1', DRESS, 'Ann');
  await save(a, 'wide', WIDE, 'Ann');
  await save(a, 'idx', IDX, 'Ann');
  await save(a, 'odd', new Uint8Array(17 * 9), 'Ann'); // erased: an empty mask
});
afterAll(async () => {
  for (const ws of made) await ws.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('mask PNG files', () => {
  const mask = disc(9, 11, 5, 4, 3);
  const on = (values: Uint8Array | Uint16Array, channels: number, value: number[]) => {
    for (let p = 0; p < mask.length; p++) if (mask[p]) values.set(value, p * channels);
    return values;
  };
  it('reads any binary PNG: grey 0/255 and 0/1, 16-bit, palette, RGB, RGBA on transparency', async () => {
    const files: [string, Buffer][] = [
      ['written', writeMaskPng(mask, 9, 11)],
      ['grey 0/1', await greyPng(mask, 9, 11)],
      ['16-bit 0/1', png16(on(new Uint16Array(99), 1, [1]), 9, 11)],
      [
        'palette',
        await sharp(Buffer.from(on(new Uint8Array(99 * 3), 3, [200, 30, 30])), { raw: { width: 11, height: 9, channels: 3 } })
          .png({ palette: true })
          .toBuffer(),
      ],
      [
        'RGBA',
        await sharp(Buffer.from(on(new Uint8Array(99 * 4), 4, [0, 0, 255, 255])), { raw: { width: 11, height: 9, channels: 4 } })
          .png()
          .toBuffer(),
      ],
    ];
    for (const [name, bytes] of files) {
      const got = await readMaskPng(bytes);
      expect([name, got.h, got.w, got.area]).toEqual([name, 9, 11, mask.reduce((x, y) => x + y, 0)]);
      expect(got.mask, name).toEqual(mask);
    }
    const meta = await sharp(files[0][1]).metadata();
    expect([meta.channels, meta.depth, meta.format]).toEqual([1, 'uchar', 'png']);
  });

  it('decodes 8-bit grey PNGs itself exactly as sharp does (any row filter), interlaced ones through sharp', async () => {
    let seed = 7;
    const r = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    for (let t = 0; t < 20; t++) {
      const h = 1 + Math.floor(r() * 40);
      const w = 1 + Math.floor(r() * 40);
      const m = Uint8Array.from({ length: h * w }, () => (r() < 0.4 ? 1 : 0));
      m[0] = 1; // never empty
      const raw = sharp(Buffer.from(m.map((v) => v * 200)), { raw: { width: w, height: h, channels: 1 } }).toColourspace('b-w');
      for (const png of [
        await raw.clone().png({ adaptiveFiltering: true }).toBuffer(),
        await raw.clone().png({ adaptiveFiltering: false, compressionLevel: 9 }).toBuffer(),
        await raw.clone().png({ progressive: true }).toBuffer(), // Adam7: sharp decodes it
      ]) {
        expect((await readMaskPng(png)).mask).toEqual(m);
      }
      // what exports write, read by sharp
      const { data } = await sharp(writeMaskPng(m, h, w))
        .extractChannel(0)
        .raw()
        .toBuffer({ resolveWithObject: true });
      expect(Uint8Array.from(data, (v) => (v === 255 ? 1 : v))).toEqual(m);
    }
  });

  it('refuses what is not a binary mask PNG, with the reason', async () => {
    await expect(readMaskPng(Buffer.alloc(0))).rejects.toThrow(/^the file is empty \(0 bytes\)$/);
    await expect(readMaskPng(Buffer.from('not an image'))).rejects.toThrow(/^not a readable PNG/);
    await expect(
      readMaskPng(
        await sharp({ create: { width: 2, height: 2, channels: 3, background: '#fff' } })
          .webp()
          .toBuffer(),
      ),
    ).rejects.toThrow(/^not a PNG \(the file holds webp\)$/);
    await expect(readMaskPng(await greyPng([0, 1, 2, 0], 2, 2))).rejects.toThrow(/^not a binary mask: pixels of value 1 and 2/);
    // a soft edge: the same colour at two opacities
    await expect(
      readMaskPng(
        await sharp(Buffer.from([0, 0, 0, 0, 255, 0, 0, 255, 255, 0, 0, 128, 0, 0, 0, 0]), { raw: { width: 2, height: 2, channels: 4 } })
          .png()
          .toBuffer(),
      ),
    ).rejects.toThrow(/^not a binary mask: pixels of value \(255, 0, 0, 255\) and \(255, 0, 0, 128\)/);
    // cut short
    const whole = writeMaskPng(mask, 9, 11);
    await expect(readMaskPng(whole.subarray(0, whole.length - 30))).rejects.toThrow(/^a damaged PNG \(its image data cannot be read/);
    const rgb = await sharp(Buffer.alloc(27, 9), { raw: { width: 3, height: 3, channels: 3 } })
      .png()
      .toBuffer();
    await expect(readMaskPng(rgb.subarray(0, rgb.length - 30))).rejects.toThrow(/^a damaged PNG/);
  });
});

describe('masks.export', () => {
  it('writes a 0/255 grey PNG per image at its size, named <imageId>_<file stem>.png: the newest mask of anyone', async () => {
    const out = join(tmp, 'png-newest');
    const r = await a.app.call('masks.export', { format: 'png', out });
    expect(r).toEqual({
      format: 'png',
      datasetId: a.datasetId,
      path: out,
      masks: 4,
      images: 4,
      author: null,
      history: false,
      category: null,
      skippedEmpty: 1,
    });
    const { shirt1, dress1, wide, idx } = a.image;
    expect(readdirSync(out).sort()).toEqual(
      [`${shirt1}_img_001.png`, `${dress1}_img_001.png`, `${wide}_wide one.png`, `${idx}_train-images-idx3-ubyte-42.png`].sort(),
    );
    for (const [file, mask, h, w] of [
      [`${shirt1}_img_001.png`, SHIRT_BOB, 28, 28],
      [`${dress1}_img_001.png`, DRESS, 28, 28],
      [`${wide}_wide one.png`, WIDE, 12, 40],
      [`${idx}_train-images-idx3-ubyte-42.png`, IDX, 28, 28],
    ] as const) {
      const png = await readPng(join(out, file));
      expect([png.h, png.w, png.channels, png.values]).toEqual([h, w, 1, [0, 255]]);
      expect(png.mask).toEqual(mask);
    }
  });

  it("writes one author's newest masks, and with history the superseded ones in history/", async () => {
    const out = join(tmp, 'png-ann');
    const r = await a.app.call('masks.export', { format: 'png', out, author: 'Ann', history: true });
    expect(r).toMatchObject({ masks: 5, images: 4, author: 'Ann', history: true, skippedEmpty: 1 });
    const older = (await a.app.call('masks.history', { imageId: a.image.shirt1, author: 'Ann' }))[1];
    expect(readdirSync(join(out, 'history'))).toEqual([`${a.image.shirt1}_img_001.mask${older.id}.png`]);
    expect((await readPng(join(out, `${a.image.shirt1}_img_001.png`))).mask).toEqual(SHIRT_DISC);
    expect((await readPng(join(out, 'history', `${a.image.shirt1}_img_001.mask${older.id}.png`))).mask).toEqual(SHIRT_RECT);
  });

  it('writes COCO JSON: images with file names and sizes, a category per class, RLE annotations with area, bbox, iscrowd and attributes', async () => {
    const r = await a.app.call('masks.export', { format: 'coco', out: join(tmp, 'coco') });
    expect(r).toMatchObject({
      format: 'coco',
      path: join(tmp, 'coco', 'masks.coco.json'),
      masks: 5,
      images: 4,
      category: 'class',
      skippedEmpty: 1,
    });
    const coco = JSON.parse(readFileSync(r.path, 'utf8'));
    expect(coco.images).toEqual([
      { id: a.image.shirt1, file_name: 'shirt/img_001.jpg', width: 28, height: 28 },
      { id: a.image.dress1, file_name: 'dress/img_001.jpg', width: 28, height: 28 },
      { id: a.image.wide, file_name: 'dress/wide one.png', width: 40, height: 12 },
      { id: a.image.idx, file_name: 'train-images-idx3-ubyte.gz#42', width: 28, height: 28 },
    ]);
    expect(coco.categories).toEqual([
      { id: 1, name: '(unlabelled)', supercategory: 'class' },
      { id: 2, name: 'dress', supercategory: 'class' },
      { id: 3, name: 'shirt', supercategory: 'class' },
    ]);
    const anns = coco.annotations as {
      image_id: number;
      category_id: number;
      segmentation: { size: number[]; counts: string };
      area: number;
      bbox: number[];
      iscrowd: number;
      attributes: Record<string, unknown>;
    }[];
    expect(anns.map((x) => [x.image_id, x.attributes.author, x.category_id])).toEqual([
      [a.image.shirt1, 'Ann', 3],
      [a.image.shirt1, 'Bob', 3],
      [a.image.dress1, 'Ann', 2],
      [a.image.wide, 'Ann', 2],
      [a.image.idx, 'Ann', 1],
    ]);
    const wide = anns[3];
    expect(wide).toMatchObject({
      segmentation: { size: [12, 40], counts: encodeMaskString(WIDE, 12, 40) },
      area: 64,
      bbox: [30, 2, 8, 8],
      iscrowd: 1,
    });
    expect(wide.attributes).toMatchObject({ author: 'Ann', source: 'painted', current: true });
    expect(decodeMaskString(anns[0].segmentation.counts, 28, 28)).toEqual(SHIRT_DISC);
    // one "relevant" category, and the superseded row with history
    const rel = JSON.parse(
      readFileSync(
        (await a.app.call('masks.export', { format: 'coco', out: join(tmp, 'rel.json'), category: 'relevant', history: true })).path,
        'utf8',
      ),
    );
    expect(rel.categories).toEqual([{ id: 1, name: 'relevant', supercategory: 'mask' }]);
    expect(rel.annotations.map((x: { category_id: number }) => x.category_id)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(rel.annotations.filter((x: { attributes: { current: boolean } }) => !x.attributes.current)).toHaveLength(1);
  });

  it('writes a CSV list, one row per mask', async () => {
    const r = await a.app.call('masks.export', { format: 'csv', out: join(tmp, 'list.csv'), history: true });
    expect(r).toMatchObject({ path: join(tmp, 'list.csv'), masks: 6 });
    const [header, ...lines] = parseCsv(readFileSync(r.path, 'utf8'));
    expect(header).toEqual([
      'mask_id',
      'uid',
      'image_id',
      'file',
      'class',
      'author',
      'source',
      'origin',
      'width',
      'height',
      'area',
      'bbox_x',
      'bbox_y',
      'bbox_w',
      'bbox_h',
      'created_at',
      'current',
    ]);
    expect(lines).toHaveLength(6);
    const wide = lines.find((l) => l[3] === 'dress/wide one.png')!;
    expect([wide[2], wide[4], wide[5], wide[6], wide[8], wide[9], wide[10], wide.slice(11, 15), wide[16]]).toEqual([
      String(a.image.wide),
      'dress',
      'Ann',
      'painted',
      '40',
      '12',
      '64',
      ['30', '2', '8', '8'],
      '1',
    ]);
    expect(lines.filter((l) => l[16] === '0')).toHaveLength(1);
  });

  it('refuses an unknown dataset and an unknown export target kind', async () => {
    await expect(a.app.call('masks.export', { format: 'png', out: join(tmp, 'x'), datasetId: 99 })).rejects.toThrow(
      /Dataset 99 does not exist/,
    );
    writeFileSync(join(tmp, 'a-file'), 'x');
    await expect(a.app.call('masks.export', { format: 'coco', out: join(tmp, 'a-file') })).rejects.toThrow(
      /is a file: give a folder, or a .json file/,
    );
    const empty = workspace();
    await expect(empty.app.call('masks.export', { format: 'csv', out: join(tmp, 'none.csv') })).rejects.toThrow(
      /no masks in this workspace/,
    );
  });
});

describe('masks.import: PNG', () => {
  it('PNG -> import -> export reproduces the masks exactly (and importing again changes nothing)', async () => {
    const first = join(tmp, 'rt-png-1');
    await a.app.call('masks.export', { format: 'png', out: first });
    const b = workspace();
    const r = await b.app.call('masks.import', { path: first, author: 'Ann' });
    expect([r.format, r.imported, r.unchanged, r.unmatched, r.errors]).toEqual(['png', 4, 0, 0, 0]);
    for (const e of r.entries)
      expect(e).toMatchObject({ status: 'imported', reason: null, imageId: expect.any(Number), maskId: expect.any(Number) });
    const second = join(tmp, 'rt-png-2');
    await b.app.call('masks.export', { format: 'png', out: second });
    expect(readdirSync(second).sort()).toEqual(readdirSync(first).sort());
    for (const f of readdirSync(first)) expect(readFileSync(join(second, f)).equals(readFileSync(join(first, f))), f).toBe(true);
    // the rows are the workspace's own, source "imported", author given
    expect(await b.app.call('masks.get', { imageId: b.image.wide })).toMatchObject({
      author: 'Ann',
      source: 'imported',
      counts: rle(WIDE, [12, 40]),
    });
    const before = rows(b);
    const again = await b.app.call('masks.import', { path: first, author: 'Ann' });
    expect([again.imported, again.unchanged]).toEqual([0, 4]);
    expect(again.entries.map((e) => e.maskId).sort()).toEqual(r.entries.map((e) => e.maskId).sort());
    expect(rows(b)).toEqual(before);
  });

  it('matches by stem where ids differ (another workspace), and refuses a stem several images have', async () => {
    const out = join(tmp, 'rt-png-1');
    const c = workspace({ reversed: true });
    const r = await c.app.call('masks.import', { path: out });
    const e = byName(r);
    expect(e[`${a.image.wide}_wide one.png`]).toMatchObject({ status: 'imported', imageId: c.image.wide });
    expect(e[`${a.image.idx}_train-images-idx3-ubyte-42.png`]).toMatchObject({ status: 'imported', imageId: c.image.idx });
    // img_001 is the stem of shirt1 and dress1: the id in the name is another image here
    expect(e[`${a.image.shirt1}_img_001.png`]).toMatchObject({ status: 'unmatched', imageId: null, maskId: null });
    expect(e[`${a.image.shirt1}_img_001.png`].reason).toMatch(
      /"img_001" is the file stem of 2 images \(ids \d+, \d+\): name the file <imageId>_img_001.png; image \d+ is "/,
    );
    expect(await c.app.call('masks.get', { imageId: c.image.wide })).toMatchObject({ author: 'import', counts: rle(WIDE, [12, 40]) });
  });

  it('reports every bad file by name with the reason, imports the rest, and replaces nothing', async () => {
    const dir = join(tmp, 'mixed');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    const { shirt1, shirt2, dress1, wide, odd, idx } = a.image;
    const w = (name: string, data: Buffer | string) => writeFileSync(join(dir, name), data);
    const square = rect(28, 28, 2, 2, 8, 8);
    w(
      `${shirt2}_img_002.png`,
      await greyPng(
        Array.from(square, (v) => v * 255),
        28,
        28,
      ),
    ); // by id
    w('img_002.png', await greyPng(rect(28, 28, 5, 5, 9, 20), 28, 28)); // by stem, values 0/1
    // RGBA: a red mask on a transparent background
    const rgba = Buffer.alloc(12 * 40 * 4);
    for (let p = 0; p < 12 * 40; p++) if (WIDE[p]) rgba.set([255, 0, 0, 255], p * 4);
    w(
      'wide one.png',
      await sharp(rgba, { raw: { width: 40, height: 12, channels: 4 } })
        .png()
        .toBuffer(),
    );
    // RGB green mask, named by an id whose stem is no image's
    const rgb = Buffer.alloc(28 * 28 * 3);
    for (let p = 0; p < 28 * 28; p++) if (IDX[p]) rgb.set([0, 200, 0], p * 3);
    w(
      `${idx}_anything.png`,
      await sharp(rgb, { raw: { width: 28, height: 28, channels: 3 } })
        .png()
        .toBuffer(),
    );
    // bad ones
    w(`${shirt1}_img_001.png`, Buffer.alloc(0));
    w(
      `${dress1}_img_001.png`,
      await greyPng(
        Array.from({ length: 784 }, (_, i) => (i % 3) * 127),
        28,
        28,
      ),
    );
    w(
      `${wide}_wide one.png`,
      await greyPng(
        square.map((v) => v * 255),
        28,
        28,
      ),
    );
    w(`${odd}_odd.png`, Buffer.from('\x89PNG\r\n\x1a\nthis is not really a png'));
    w('notes.txt', 'masks are in the PNGs');
    w(
      `${shirt2}_img_002 copy.png`,
      await sharp(Buffer.alloc(28 * 28 * 3, 200), { raw: { width: 28, height: 28, channels: 3 } })
        .jpeg()
        .toBuffer(),
    );
    w('999_nothing.png', await greyPng(square, 28, 28));
    w('img_001.png', await greyPng(square, 28, 28));
    w(`${idx}_black.png`, await greyPng(new Uint8Array(784), 28, 28));
    w('.DS_Store', 'x');
    w(join('sub', 'ignored.png'), 'x');

    const before = rows(a);
    const r = await a.app.call('masks.import', { path: dir, author: 'Imp' });
    const e = byName(r);
    expect([r.imported, r.unchanged, r.unmatched, r.errors]).toEqual([4, 0, 2, 7]);
    expect(r.entries).toHaveLength(13);
    const reasons: Record<string, [MaskImportEntryDto['status'], RegExp | null]> = {
      [`${shirt2}_img_002.png`]: ['imported', null],
      'img_002.png': ['imported', null],
      'wide one.png': ['imported', null],
      [`${idx}_anything.png`]: ['imported', null],
      [`${shirt1}_img_001.png`]: ['error', /^the file is empty \(0 bytes\)$/],
      [`${dress1}_img_001.png`]: ['error', /^not a binary mask: pixels of value 127 and 254 \(a mask has 0 and one other value/],
      [`${wide}_wide one.png`]: ['error', new RegExp(`^wrong size: the mask is 28 x 28 \\(width x height\\), image ${wide} is 40 x 12$`)],
      [`${odd}_odd.png`]: ['error', /^not a readable PNG \(/],
      'notes.txt': ['error', /^not a \.png file: mask folders hold PNGs \(\.txt\)$/],
      [`${shirt2}_img_002 copy.png`]: ['error', /^not a PNG \(the file holds jpeg\)$/],
      '999_nothing.png': ['unmatched', /^no image of dataset \d+ has id 999 or the file stem "nothing"$/],
      'img_001.png': ['unmatched', /^"img_001" is the file stem of 2 images/],
      [`${idx}_black.png`]: ['error', /^an empty mask \(no non-zero pixel\): nothing to import$/],
    };
    for (const [name, [status, reason]] of Object.entries(reasons)) {
      expect(e[name], name).toMatchObject({ status });
      if (reason) expect(e[name].reason, name).toMatch(reason);
      else expect(e[name].reason).toBeNull();
    }
    // the rows before are all there, unchanged; four rows were added
    const after = rows(a);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after).toHaveLength(before.length + 4);
    // two masks of shirt2 by Imp: the later file is the newest; Ann's masks are still hers
    const hist = await a.app.call('masks.history', { imageId: shirt2, author: 'Imp' });
    expect(hist.map((m) => m.counts)).toEqual([rle(rect(28, 28, 5, 5, 9, 20), [28, 28]), rle(square, [28, 28])]);
    expect((await a.app.call('masks.get', { imageId: wide, author: 'Imp' }))!.counts).toBe(rle(WIDE, [12, 40]));
    expect((await a.app.call('masks.get', { imageId: idx, author: 'Imp' }))!.counts).toBe(rle(IDX, [28, 28]));
    expect((await a.app.call('masks.get', { imageId: wide, author: 'Ann' }))!.source).toBe('painted');
  });

  it('stores nothing when every file is bad, and refuses a missing path', async () => {
    const dir = join(tmp, 'all-bad');
    mkdirSync(dir);
    writeFileSync(join(dir, `${a.image.shirt1}_img_001.png`), Buffer.alloc(0));
    writeFileSync(join(dir, 'nobody.png'), await greyPng(new Uint8Array(4).fill(255), 2, 2));
    const before = rows(a);
    const r = await a.app.call('masks.import', { path: dir });
    expect([r.imported, r.unmatched, r.errors]).toEqual([0, 1, 1]);
    expect(rows(a)).toEqual(before);
    await expect(a.app.call('masks.import', { path: join(tmp, 'nowhere') })).rejects.toThrow(/No file or folder at .*nowhere/);
  });
});

describe('masks.import: COCO', () => {
  it('COCO -> import -> export reproduces the masks exactly, history and authors included', async () => {
    const first = (await a.app.call('masks.export', { format: 'coco', out: join(tmp, 'rt1.json'), history: true })).path;
    const one = JSON.parse(readFileSync(first, 'utf8'));
    expect(one.annotations.length).toBeGreaterThanOrEqual(6);
    const b = workspace({ reversed: true });
    const r = await b.app.call('masks.import', { path: first });
    expect([r.format, r.imported, r.errors, r.unmatched]).toEqual(['coco', one.annotations.length, 0, 0]);
    const second = (await b.app.call('masks.export', { format: 'coco', out: join(tmp, 'rt2.json'), history: true })).path;
    const key = (coco: {
      images: { id: number; file_name: string }[];
      annotations: {
        image_id: number;
        segmentation: unknown;
        area: number;
        bbox: number[];
        attributes: { author: string; current: boolean };
      }[];
    }) => {
      const file = new Map(coco.images.map((i) => [i.id, i.file_name]));
      return coco.annotations
        .map((x) => JSON.stringify([file.get(x.image_id), x.attributes.author, x.segmentation, x.area, x.bbox, x.attributes.current]))
        .sort();
    };
    const two = JSON.parse(readFileSync(second, 'utf8'));
    expect(key(two)).toEqual(key(one));
    expect(two.images.map((i: { file_name: string }) => i.file_name).sort()).toEqual(
      one.images.map((i: { file_name: string }) => i.file_name).sort(),
    );
    // Ann's older shirt mask is history there too
    const hist = await b.app.call('masks.history', { imageId: b.image.shirt1, author: 'Ann' });
    expect(hist.map((m) => m.counts)).toEqual([rle(SHIRT_DISC, [28, 28]), rle(SHIRT_RECT, [28, 28])]);
  });

  it("reads compressed and uncompressed RLE and polygons, unites an image's annotations, and reports each bad annotation", async () => {
    const d = workspace();
    const oddCounts = encodeCounts(rect(17, 9, 2, 3, 7, 12), 17, 9);
    const coco = {
      images: [
        { id: 10, file_name: 'shirt/img_002.jpg', width: 28, height: 28 },
        { id: 11, file_name: 'odd.webp', width: 9, height: 17 },
        { id: 12, file_name: 'img_001.jpg', width: 28, height: 28 },
        { id: 13, file_name: 'dress/wide one.png', width: 40, height: 10 },
        { id: 14, file_name: 'nope.jpg', width: 28, height: 28 },
        { id: 15, file_name: 'train-images-idx3-ubyte.gz#42', width: 28, height: 28 },
      ],
      annotations: [
        { id: 1, image_id: 10, segmentation: { size: [28, 28], counts: encodeMaskString(rect(28, 28, 20, 20, 25, 25), 28, 28) } },
        { id: 2, image_id: 10, segmentation: [[1, 1, 4, 1, 4, 4, 1, 4]] },
        { id: 3, image_id: 11, segmentation: { size: [17, 9], counts: oddCounts } },
        { id: 4, image_id: 11, segmentation: { size: [17, 9], counts: 'x' }, attributes: { author: 'Zed' } },
        { id: 5, image_id: 12, segmentation: [[0, 0, 5, 0, 5, 5]] },
        { id: 6, image_id: 13, segmentation: [[0, 0, 5, 0, 5, 5]] },
        { id: 7, image_id: 99, segmentation: [[0, 0, 5, 0, 5, 5]] },
        { id: 8, image_id: 10, segmentation: { size: [27, 28], counts: '0' }, attributes: { author: 'Yan' } },
        { id: 9, image_id: 15, segmentation: { size: [28, 28], counts: [10, 5, 10] }, attributes: { author: 'Zed' } },
        { id: 10, image_id: 15, segmentation: [[0, 0, 3]] },
        { id: 11, image_id: 15, segmentation: { size: [28, 28], counts: [784] }, attributes: { author: 'Xi' } },
        { id: 12, image_id: 15, segmentation: [[2, 2, 6, 2, 6, 6]], attributes: { author: 'Zed' } },
      ],
    };
    const file = join(tmp, 'mixed.coco.json');
    writeFileSync(file, JSON.stringify(coco));
    const r = await d.app.call('masks.import', { path: file });
    const status = r.entries.map((e) => [e.name.replace('mixed.coco.json: ', ''), e.status]);
    expect(status).toEqual([
      ['annotations[0] (id 1)', 'imported'],
      ['annotations[1] (id 2)', 'imported'],
      ['annotations[2] (id 3)', 'imported'],
      ['annotations[3] (id 4)', 'error'],
      ['annotations[4] (id 5)', 'unmatched'],
      ['annotations[5] (id 6)', 'error'],
      ['annotations[6] (id 7)', 'error'],
      ['annotations[7] (id 8)', 'error'],
      ['annotations[8] (id 9)', 'error'],
      ['annotations[9] (id 10)', 'error'],
      ['annotations[10] (id 11)', 'error'],
      ['annotations[11] (id 12)', 'error'],
    ]);
    const reason = (i: number) => r.entries[i].reason;
    expect(reason(3)).toBe("bad counts: character 0 of the counts string is \"x\": COCO's compressed counts use '0' to 'o'");
    expect(reason(4)).toMatch(/^file_name "img_001.jpg" names 2 images of dataset \d+/);
    expect(reason(5)).toBe(`wrong size: "dress/wide one.png" is 40 x 10 (width x height), image ${d.image.wide} is 40 x 12`);
    expect(reason(6)).toBe("image_id 99 is none of the file's images");
    expect(reason(7)).toBe('segmentation.size is [27,28], its image is [28, 28] (height, width)');
    expect(reason(8)).toBe('bad counts: the runs cover 25 pixels, a 28 x 28 mask has 784');
    expect(reason(9)).toBe('segmentation[0]: a polygon has an even number of coordinates, got 3');
    expect(reason(10)).toBe('an empty mask (no pixel inside): nothing to import');
    // Zed's other annotation of that image is fine, but his mask of it is refused whole
    expect(reason(11)).toMatch(/^another annotation of this image and author is bad \(annotations\[8\] \(id 9\): bad counts/);
    expect([r.imported, r.unmatched, r.errors]).toEqual([3, 1, 8]);
    // the two annotations of shirt2 (default author "import") are one mask: their union
    const shirt2 = (await d.app.call('masks.get', { imageId: d.image.shirt2 }))!;
    const union = rect(28, 28, 20, 20, 25, 25);
    polygonsToMask([[1, 1, 4, 1, 4, 4, 1, 4]], 28, 28).forEach((v, i) => (union[i] |= v));
    expect(shirt2).toMatchObject({ author: 'import', source: 'imported', counts: rle(union, [28, 28]) });
    expect(r.entries[0].maskId).toBe(shirt2.id);
    expect(r.entries[1].maskId).toBe(shirt2.id);
    expect((await d.app.call('masks.get', { imageId: d.image.odd }))!.counts).toBe(countsToString(oddCounts));
    expect((await d.app.call('masks.history', { imageId: d.image.idx })).length).toBe(0);
  });

  it('refuses a file that is not COCO JSON, storing nothing', async () => {
    const before = rows(a);
    for (const [name, text, message] of [
      ['broken.json', '{"images": [', /broken.json is not JSON/],
      ['other.json', '{"verdicts": []}', /other.json is not a COCO file: it has no "images" and "annotations" arrays/],
      ['empty.json', '', /empty.json is empty \(0 bytes\)/],
    ] as const) {
      writeFileSync(join(tmp, name), text);
      const res = await a.app.dispatch('masks.import', { path: join(tmp, name) });
      expect(res.ok).toBe(false);
      if (!res.ok) expect([res.error.code, res.error.message]).toEqual(['invalid_argument', expect.stringMatching(message)]);
    }
    expect(rows(a)).toEqual(before);
    expect(existsSync(join(tmp, 'broken.json'))).toBe(true);
  });
});
