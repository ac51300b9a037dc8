import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { ImageRejectedError, decodeStoredPixels, encodePng, makeThumbnail, normalise, pixelHash } from '../../src/main/images/decode';
import { encodeIdx, inspectIdx, readIdx } from '../../src/main/images/idx';
import { parseCsv, parseLabel } from '../../src/main/import/csv';
import { splitByComponents } from '../../src/main/import/components';

const dir = mkdtempSync(join(tmpdir(), 'simlens-images-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A PNG whose header claims width x height but holds a tiny image: a decompression bomb. */
export async function bombPng(width: number, height: number): Promise<Buffer> {
  const png = Buffer.from(
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } })
      .png()
      .toBuffer(),
  );
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)) >>> 0, 29);
  return png;
}

describe('normalise', () => {
  it('keeps colour images as 3 channels and caps the longest side at 1024, keeping the aspect', async () => {
    const jpg = await sharp({ create: { width: 3000, height: 1000, channels: 3, background: { r: 200, g: 20, b: 40 } } })
      .jpeg()
      .toBuffer();
    const img = await normalise(jpg);
    expect([img.width, img.height, img.channels, img.format]).toEqual([1024, 341, 3, 'jpeg']);
    expect(img.data.length).toBe(1024 * 341 * 3);
    expect(img.sha256).toBe(pixelHash(1024, 341, 3, img.data));
  });

  it('does not enlarge small images and honours a smaller maxSide', async () => {
    const png = await sharp({ create: { width: 30, height: 20, channels: 3, background: '#123456' } })
      .png()
      .toBuffer();
    expect(await normalise(png).then((i) => [i.width, i.height])).toEqual([30, 20]);
    expect(await normalise(png, { maxSide: 15 }).then((i) => [i.width, i.height])).toEqual([15, 10]);
  });

  it('reduces grey images to 1 channel and flattens alpha onto white', async () => {
    const half = await sharp({ create: { width: 10, height: 10, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0.5 } } })
      .png()
      .toBuffer();
    const img = await normalise(half);
    expect(img.channels).toBe(1);
    expect(img.data.length).toBe(100);
    expect(img.data[0]).toBeGreaterThan(120);
    expect(img.data[0]).toBeLessThan(135); // black at 50% over white
  });

  it('applies the EXIF orientation', async () => {
    const rotated = await sharp({ create: { width: 40, height: 20, channels: 3, background: '#ff0000' } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const img = await normalise(rotated);
    expect([img.width, img.height]).toEqual([20, 40]);
  });

  it('gives the same identity to the same pixels in different lossless files', async () => {
    const raw = Buffer.alloc(16 * 12 * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 37) % 251;
    const input = { raw: { width: 16, height: 12, channels: 3 as const } };
    const png = await sharp(raw, input).png().toBuffer();
    const webp = await sharp(raw, input).webp({ lossless: true }).toBuffer();
    const tiff = await sharp(raw, input).tiff({ compression: 'lzw' }).toBuffer();
    const [a, b, c] = await Promise.all([normalise(png), normalise(webp), normalise(tiff)]);
    expect(a.sha256).toBe(b.sha256);
    expect(a.sha256).toBe(c.sha256);
    expect(a.data.equals(raw)).toBe(true);
  });

  it('takes the first frame of an animated GIF', async () => {
    const frames = Buffer.concat([Buffer.alloc(8 * 8 * 3, 255), Buffer.alloc(8 * 8 * 3, 0)]);
    const gif = await sharp(frames, { raw: { width: 8, height: 16, channels: 3, pageHeight: 8 } })
      .gif()
      .toBuffer();
    expect((await sharp(gif, { pages: -1 }).metadata()).pages).toBe(2);
    const img = await normalise(gif);
    expect([img.width, img.height, img.channels, img.data[0]]).toEqual([8, 8, 1, 255]);
  });

  it('rejects corrupt, truncated, unsupported and oversized inputs with a reason', async () => {
    const jpg = await sharp({
      create: { width: 64, height: 64, channels: 3, background: '#000000', noise: { type: 'gaussian', mean: 128, sigma: 40 } },
    })
      .jpeg()
      .toBuffer();
    const reject = (input: Buffer, opts = {}) =>
      normalise(input, opts).then(
        () => null,
        (e: ImageRejectedError) => [e.kind, e.message],
      );
    expect(await reject(jpg.subarray(0, jpg.length >> 1))).toEqual(['error', expect.stringMatching(/^truncated image/)]);
    expect(await reject(Buffer.from('definitely not an image'))).toEqual(['error', expect.stringMatching(/^corrupt or not an image/)]);
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>');
    expect(await reject(svg)).toEqual(['skipped', 'unsupported image format: svg']);
    expect(await reject(await bombPng(50_000, 50_000))).toEqual([
      'error',
      expect.stringMatching(/image too large: more than 100,000,000 pixels/),
    ]);
    expect(await reject(jpg, { maxInputPixels: 1000 })).toEqual([
      'error',
      expect.stringMatching(/image too large: more than 1,000 pixels/),
    ]);
  });
});

describe('stored pixels and thumbnails', () => {
  it('round-trips normalised pixels through PNG and makes thumbnails of at most 128 px', async () => {
    const jpg = await sharp({
      create: { width: 600, height: 300, channels: 3, background: '#000000', noise: { type: 'gaussian', mean: 100, sigma: 30 } },
    })
      .jpeg()
      .toBuffer();
    const img = await normalise(jpg);
    const png = await encodePng(img);
    const back = await decodeStoredPixels('png', png, img);
    expect(back.data.equals(img.data)).toBe(true);
    const thumb = await sharp(await makeThumbnail(img)).metadata();
    expect([thumb.format, thumb.width, thumb.height]).toEqual(['png', 128, 64]);
    const grey = await decodeStoredPixels('raw', Buffer.alloc(28 * 28, 7), { width: 28, height: 28, channels: 1 });
    const small = await sharp(await makeThumbnail(grey)).metadata();
    expect([small.width, small.height, small.channels]).toEqual([28, 28, 1]);
  });
});

describe('idx files', () => {
  const images = Buffer.from(Array.from({ length: 3 * 2 * 2 }, (_, i) => i));

  it('reads gzipped and plain files and checks their headers cheaply', async () => {
    writeFileSync(join(dir, 'a-idx3-ubyte.gz'), encodeIdx([3, 2, 2], images));
    writeFileSync(join(dir, 'a-idx3-ubyte'), encodeIdx([3, 2, 2], images, false));
    for (const name of ['a-idx3-ubyte.gz', 'a-idx3-ubyte']) {
      expect((await inspectIdx(join(dir, name))).dims).toEqual([3, 2, 2]);
      const arr = await readIdx(join(dir, name));
      expect(arr.dims).toEqual([3, 2, 2]);
      expect([...arr.data]).toEqual([...images]);
    }
  });

  it('rejects a bad magic number and sizes that disagree with the header', async () => {
    const badMagic = encodeIdx([3, 2, 2], images, false);
    badMagic[0] = 0x42;
    writeFileSync(join(dir, 'bad-idx3-ubyte'), badMagic);
    await expect(inspectIdx(join(dir, 'bad-idx3-ubyte'))).rejects.toThrow(/bad magic number/);
    const truncatedRaw = encodeIdx([4, 2, 2], Buffer.alloc(16), false).subarray(0, 20);
    writeFileSync(join(dir, 'short-idx3-ubyte'), truncatedRaw);
    await expect(inspectIdx(join(dir, 'short-idx3-ubyte'))).rejects.toThrow(/holds 20 bytes but its header \(4x2x2\) needs 32/);
    // a gzip whose content is shorter than its header says
    writeFileSync(join(dir, 'short-idx3-ubyte.gz'), gzipSync(truncatedRaw));
    await expect(inspectIdx(join(dir, 'short-idx3-ubyte.gz'))).rejects.toThrow(/needs 32/);
  });
});

describe('pairs CSV parsing', () => {
  it('parses quotes, CRLF and a BOM', () => {
    expect(parseCsv('\ufeffpath_a,path_b,label\r\n"a,1.png","b ""x"".png",1\nc.png,d.png,same')).toEqual([
      ['path_a', 'path_b', 'label'],
      ['a,1.png', 'b "x".png', '1'],
      ['c.png', 'd.png', 'same'],
    ]);
  });

  it('accepts 1/0, same/different, true/false labels', () => {
    expect(['1', '0', 'Same', 'different', 'TRUE', 'false'].map(parseLabel)).toEqual([1, 0, 1, 0, 1, 0]);
    expect(parseLabel('maybe')).toBeUndefined();
  });
});

describe('splitByComponents', () => {
  // 200 small components (pairs 2k-2k+1), plus one chain a-b-c-d linking four images.
  const pairs = Array.from({ length: 200 }, (_, k) => ({ a: 2 * k + 1, b: 2 * k + 2 }));
  pairs.push({ a: 1001, b: 1002 }, { a: 1002, b: 1003 }, { a: 1003, b: 1004 });

  it('puts both images of every pair, and every connected image, in one split', () => {
    const { imageSplits, components, pairCounts } = splitByComponents(pairs, [80, 10, 10], 7);
    expect(components).toBe(201);
    for (const p of pairs) expect(imageSplits.get(p.a)).toBe(imageSplits.get(p.b));
    expect(new Set([1001, 1002, 1003, 1004].map((id) => imageSplits.get(id))).size).toBe(1);
    expect(pairCounts.train + pairCounts.val + pairCounts.test).toBe(203);
    expect(pairCounts.train).toBeGreaterThanOrEqual(158);
    expect(pairCounts.train).toBeLessThanOrEqual(166);
    expect(pairCounts.val).toBeGreaterThanOrEqual(18);
    expect(pairCounts.test).toBeGreaterThanOrEqual(18);
  });

  it('is reproducible for a seed and differs across seeds', () => {
    const a = [...splitByComponents(pairs, [80, 10, 10], 7).imageSplits];
    const b = [...splitByComponents(pairs, [80, 10, 10], 7).imageSplits];
    const c = [...splitByComponents(pairs, [80, 10, 10], 8).imageSplits];
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });
});

describe('BMP (decoded by SimLens; sharp has no BMP loader)', () => {
  function header(width: number, height: number, bpp: number, compression: number, dataOffset: number, total: number, colours = 0): Buffer {
    const b = Buffer.alloc(total);
    b.write('BM');
    b.writeUInt32LE(total, 2);
    b.writeUInt32LE(dataOffset, 10);
    b.writeUInt32LE(40, 14);
    b.writeInt32LE(width, 18);
    b.writeInt32LE(height, 22);
    b.writeUInt16LE(1, 26);
    b.writeUInt16LE(bpp, 28);
    b.writeUInt32LE(compression, 30);
    b.writeUInt32LE(colours, 46);
    return b;
  }

  it('reads an 8-bit palette BMP', async () => {
    // 2x2, palette: 0 = blue, 1 = red; stride 4; bottom-up rows [1,0] then [0,1]
    const b = header(2, 2, 8, 0, 54 + 8, 54 + 8 + 8, 2);
    b.set([255, 0, 0, 0, 0, 0, 255, 0], 54); // BGRA entries
    b.set([1, 0, 0, 0, 0, 1, 0, 0], 62);
    const img = await normalise(b);
    expect([img.format, img.width, img.height, img.channels]).toEqual(['bmp', 2, 2, 3]);
    expect([...img.data]).toEqual([0, 0, 255, 255, 0, 0, 255, 0, 0, 0, 0, 255]);
  });

  it('reads a top-down 32-bit BI_BITFIELDS BMP', async () => {
    const b = header(2, -1, 32, 3, 66, 66 + 8);
    b.writeUInt32LE(0x00ff0000, 54); // R
    b.writeUInt32LE(0x0000ff00, 58); // G
    b.writeUInt32LE(0x000000ff, 62); // B
    b.writeUInt32LE(0x00102030, 66);
    b.writeUInt32LE(0x00405060, 70);
    const img = await normalise(b);
    expect([img.width, img.height, ...img.data]).toEqual([2, 1, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60]);
  });

  it('reports truncated, compressed and oversized BMPs', async () => {
    const reject = (input: Buffer) =>
      normalise(input).then(
        () => null,
        (e: ImageRejectedError) => [e.kind, e.message],
      );
    const truncated = header(100, 100, 24, 0, 54, 54 + 100);
    expect(await reject(truncated)).toEqual([
      'error',
      'corrupt or unreadable image: truncated BMP: the pixel data is shorter than its header says',
    ]);
    expect(await reject(header(4, 4, 8, 1, 54, 200))).toEqual([
      'skipped',
      'unsupported image format: compressed BMP (compression 1) is not supported',
    ]);
    expect(await reject(header(20_000, 20_000, 24, 0, 54, 64))).toEqual(['error', expect.stringMatching(/^image too large/)]);
  });
});
