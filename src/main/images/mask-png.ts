// Mask files as PNG (sharp): exports write 8-bit grey 0/255 at the image's size; imports read any
// PNG and take every non-zero pixel as inside, refusing what is not a binary mask with the reason.
import sharp, { type Metadata } from 'sharp';

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

/** An 8-bit grey PNG of a row-major 0/1 mask: 255 inside, 0 outside. */
export async function writeMaskPng(mask: Uint8Array, h: number, w: number): Promise<Buffer> {
  const grey = Buffer.alloc(h * w);
  for (let i = 0; i < grey.length; i++) if (mask[i]) grey[i] = 255;
  return sharp(grey, { raw: { width: w, height: h, channels: 1 } })
    .toColourspace('b-w')
    .png({ compressionLevel: 6, adaptiveFiltering: false })
    .toBuffer();
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
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: MASK_PNG_MAX_PIXELS }).metadata();
  } catch (error) {
    throw new MaskFileError(`not a readable PNG (${(error as Error).message})`);
  }
  if (meta.format !== 'png') throw new MaskFileError(`not a PNG (the file holds ${meta.format ?? 'something else'})`);
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (w * h > MASK_PNG_MAX_PIXELS) throw new MaskFileError(`${w} x ${h} pixels is more than a mask may have (${MASK_PNG_MAX_PIXELS})`);
  let data: Uint8Array | Uint16Array;
  let channels: number;
  try {
    const sixteen = meta.depth === 'ushort';
    let read = sharp(bytes, { limitInputPixels: MASK_PNG_MAX_PIXELS });
    // the stored values as they are: 16-bit PNGs in their own 16-bit space (sharp would convert
    // them to 8-bit sRGB, where 1 of 65535 becomes 0), a grey PNG as its one channel
    if (sixteen) read = read.toColourspace((meta.channels ?? 1) <= 2 ? 'grey16' : 'rgb16');
    else if (meta.channels === 1) read = read.extractChannel(0);
    const out = await read.raw(sixteen ? { depth: 'ushort' } : {}).toBuffer({ resolveWithObject: true });
    channels = out.info.channels;
    data = sixteen
      ? new Uint16Array(out.data.buffer, out.data.byteOffset, out.data.length / 2)
      : new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.length);
  } catch (error) {
    throw new MaskFileError(`a damaged PNG (${(error as Error).message})`);
  }
  if (data.length !== w * h * channels) throw new MaskFileError('a damaged PNG (its pixels do not match its size)');
  const alpha = meta.hasAlpha ? channels - 1 : -1;
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
