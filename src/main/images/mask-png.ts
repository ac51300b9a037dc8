// Mask files as PNG (sharp): exports write 8-bit grey 0/255 at the image's size; imports read any
// PNG and take every non-zero pixel as inside, refusing what is not a binary mask with the reason.
import { crc32, deflateSync, inflateSync } from 'node:zlib';
import sharp from 'sharp';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Mask PNGs declaring more pixels than this are refused before decoding. */
export const MASK_PNG_MAX_PIXELS = 64_000_000;

/** A mask file that cannot be imported; the message is the reason (for the report). */
export class MaskFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MaskFileError';
  }
}

export interface MaskPixels {
  h: number;
  w: number;
  /** row-major, 1 inside, 0 outside */
  mask: Uint8Array;
  /** pixels inside */
  area: number;
}

/**
 * An 8-bit grey PNG of a row-major 0/1 mask: 255 inside, 0 outside. Written here (zlib) rather
 * than by sharp: a mask PNG is a few hundred bytes and sharp's overhead per image would dominate
 * an export of thousands.
 */
export function writeMaskPng(mask: Uint8Array, h: number, w: number): Buffer {
  const rows = Buffer.alloc(h * (w + 1)); // each row: filter type 0 (none), then its bytes
  for (let y = 0, i = 0; y < h; y++) {
    const at = y * (w + 1) + 1;
    for (let x = 0; x < w; x++, i++) if (mask[i]) rows[at + x] = 255;
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth; colour type 0 (grey), compression 0, filter 0, no interlace
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * What a PNG's header says (size, bit depth, colour type, a tRNS chunk before the image data),
 * read from the bytes, so a file is decoded once; null when it does not start like a PNG.
 */
function pngHeader(bytes: Buffer): {
  w: number;
  h: number;
  sixteen: boolean;
  colourType: number;
  depth: number;
  interlaced: boolean;
  transparency: boolean;
  idat: Buffer[];
} | null {
  if (bytes.length < 33 || !bytes.subarray(0, 8).equals(PNG_SIGNATURE) || bytes.toString('latin1', 12, 16) !== 'IHDR') return null;
  let transparency = false;
  const idat: Buffer[] = [];
  for (let at = 8; at + 8 <= bytes.length;) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    if (type === 'IEND') break;
    if (type === 'tRNS') transparency = true;
    if (type === 'IDAT') idat.push(bytes.subarray(at + 8, Math.min(bytes.length, at + 8 + length)));
    at += 12 + length;
  }
  const depth = bytes[24];
  return {
    w: bytes.readUInt32BE(16),
    h: bytes.readUInt32BE(20),
    sixteen: depth === 16,
    depth,
    colourType: bytes[25],
    interlaced: bytes[28] !== 0,
    transparency,
    idat,
  };
}

/** The pixels of an 8-bit grey, non-interlaced PNG (what exports write), decoded here; throws on damaged data. */
function decodeGrey8(idat: Buffer[], h: number, w: number): Uint8Array {
  let raw: Buffer;
  try {
    raw = inflateSync(Buffer.concat(idat));
  } catch (error) {
    throw new Error(`its image data cannot be read: ${(error as Error).message}`);
  }
  if (raw.length !== h * (w + 1)) throw new Error('its image data do not match its size');
  const out = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) {
    const filter = raw[y * (w + 1)];
    const src = y * (w + 1) + 1;
    const row = y * w;
    const up = row - w; // the row above (decoded), when y > 0
    for (let x = 0; x < w; x++) {
      const a = x > 0 ? out[row + x - 1] : 0;
      const b = y > 0 ? out[up + x] : 0;
      const c = x > 0 && y > 0 ? out[up + x - 1] : 0;
      let v = raw[src + x];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (filter !== 0) throw new Error(`row ${y} has an unknown filter type ${filter}`);
      out[row + x] = v & 0xff;
    }
  }
  return out;
}

const describe = (px: ArrayLike<number>, at: number, channels: number) =>
  channels === 1 ? String(px[at]) : `(${Array.from({ length: channels }, (_, c) => px[at + c]).join(', ')})`;

/**
 * A mask from PNG bytes: a pixel is inside when a colour channel is non-zero (and, with alpha,
 * it is not fully transparent). Throws MaskFileError for an empty file, a file that is not a
 * readable PNG, and a PNG that is not binary (more than one non-zero value: a label map, a soft
 * or anti-aliased mask).
 */
export async function readMaskPng(bytes: Buffer): Promise<MaskPixels> {
  if (bytes.length === 0) throw new MaskFileError('the file is empty (0 bytes)');
  const head = pngHeader(bytes);
  if (!head) {
    // not a PNG: name what it is, when sharp knows
    let format: string | undefined;
    try {
      format = (await sharp(bytes, { limitInputPixels: MASK_PNG_MAX_PIXELS }).metadata()).format;
    } catch (error) {
      throw new MaskFileError(`not a readable PNG (${(error as Error).message})`);
    }
    throw new MaskFileError(
      format === 'png' ? 'not a readable PNG (a damaged header)' : `not a PNG (the file holds ${format ?? 'something else'})`,
    );
  }
  const { w, h } = head;
  if (w * h > MASK_PNG_MAX_PIXELS) throw new MaskFileError(`${w} x ${h} pixels is more than a mask may have (${MASK_PNG_MAX_PIXELS})`);
  const grey = head.colourType === 0 || head.colourType === 4;
  const hasAlpha = head.colourType === 4 || head.colourType === 6 || head.transparency;
  if (head.depth === 8 && head.colourType === 0 && !head.interlaced && !head.transparency) {
    // the common mask PNG (and what exports write): decoded here, without sharp's overhead
    let grey: Uint8Array;
    try {
      grey = decodeGrey8(head.idat, h, w);
    } catch (error) {
      throw new MaskFileError(`a damaged PNG (${(error as Error).message})`);
    }
    return binaryMask(grey, 1, -1, h, w);
  }
  let data: Uint8Array | Uint16Array;
  let channels: number;
  try {
    let read = sharp(bytes, { limitInputPixels: MASK_PNG_MAX_PIXELS });
    // the stored values as they are: 16-bit PNGs in their own 16-bit space (sharp would convert
    // them to 8-bit sRGB, where 1 of 65535 becomes 0), a grey PNG as its one channel
    if (head.sixteen) read = read.toColourspace(grey ? 'grey16' : 'rgb16');
    else if (grey && !hasAlpha) read = read.extractChannel(0);
    const out = await read.raw(head.sixteen ? { depth: 'ushort' } : {}).toBuffer({ resolveWithObject: true });
    channels = out.info.channels;
    if (out.info.width !== w || out.info.height !== h) throw new Error('its pixels do not match its size');
    const buf = out.data.byteOffset % 2 === 0 ? out.data : Buffer.from(out.data);
    data = head.sixteen
      ? new Uint16Array(buf.buffer, buf.byteOffset, buf.length / 2)
      : new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  } catch (error) {
    throw new MaskFileError(`a damaged PNG (${(error as Error).message})`);
  }
  if (data.length !== w * h * channels) throw new MaskFileError('a damaged PNG (its pixels do not match its size)');
  return binaryMask(data, channels, hasAlpha && (channels === 2 || channels === 4) ? channels - 1 : -1, h, w);
}

/** The mask of decoded pixels (inside: a non-zero colour, not fully transparent); throws MaskFileError when not binary. */
function binaryMask(data: Uint8Array | Uint16Array, channels: number, alpha: number, h: number, w: number): MaskPixels {
  const colours = alpha >= 0 ? channels - 1 : channels;
  const mask = new Uint8Array(w * h);
  let area = 0;
  let first = -1;
  for (let p = 0, at = 0; p < w * h; p++, at += channels) {
    if (alpha >= 0 && data[at + alpha] === 0) continue;
    let on = false;
    for (let c = 0; c < colours; c++) if (data[at + c] !== 0) on = true;
    if (!on) continue;
    if (first < 0) first = at;
    else {
      for (let c = 0; c < channels; c++)
        if (data[at + c] !== data[first + c]) {
          throw new MaskFileError(
            `not a binary mask: pixels of value ${describe(data, first, channels)} and ${describe(data, at, channels)} ` +
              '(a mask has 0 and one other value; this looks like a label map or a soft mask)',
          );
        }
    }
    mask[p] = 1;
    area++;
  }
  return { h, w, mask, area };
}
