// A small BMP decoder for the common uncompressed variants, because the libvips that
// ships with sharp has no BMP loader: 1/4/8-bit palette, 24-bit, and 32-bit (BI_RGB or
// BI_BITFIELDS with byte-aligned masks), bottom-up or top-down. Compressed BMPs
// (RLE, JPEG/PNG inside) are refused as unsupported.
export interface BmpImage {
  width: number;
  height: number;
  /** RGB, row-major, top row first */
  data: Buffer;
}

export class BmpError extends Error {
  constructor(
    message: string,
    readonly unsupported = false,
  ) {
    super(message);
    this.name = 'BmpError';
  }
}

export function bmpSize(buf: Buffer): { width: number; height: number } | null {
  if (buf.length < 26 || buf.toString('latin1', 0, 2) !== 'BM') return null;
  const headerSize = buf.readUInt32LE(14);
  if (headerSize === 12) return { width: buf.readUInt16LE(18), height: buf.readUInt16LE(20) };
  return { width: Math.abs(buf.readInt32LE(18)), height: Math.abs(buf.readInt32LE(22)) };
}

/** What decoding a BMP's rows needs, read and checked from its headers. */
interface BmpLayout {
  width: number;
  height: number;
  topDown: boolean;
  bpp: number;
  stride: number;
  dataOffset: number;
  /** byte offsets (in bits) of R, G, B in a 32-bit pixel */
  shifts: number[];
  palette: Buffer | null;
}

function layoutOf(buf: Buffer): BmpLayout {
  if (buf.length < 26 || buf.toString('latin1', 0, 2) !== 'BM') throw new BmpError('not a BMP file');
  const dataOffset = buf.readUInt32LE(10);
  const headerSize = buf.readUInt32LE(14);
  if (headerSize < 40) throw new BmpError('OS/2 BMP headers are not supported', true);
  if (buf.length < 14 + 40) throw new BmpError('BMP header is truncated');
  const width = buf.readInt32LE(18);
  const rawHeight = buf.readInt32LE(22);
  const bpp = buf.readUInt16LE(28);
  const compression = buf.readUInt32LE(30);
  const height = Math.abs(rawHeight);
  if (width <= 0 || height === 0) throw new BmpError(`BMP has an invalid size ${width}x${rawHeight}`);
  let shifts = [16, 8, 0];
  if (compression === 3 && bpp === 32) {
    const masksAt = headerSize >= 52 ? 54 : 14 + headerSize;
    const masks = [buf.readUInt32LE(masksAt), buf.readUInt32LE(masksAt + 4), buf.readUInt32LE(masksAt + 8)];
    shifts = masks.map((m) => [0, 8, 16, 24].find((s) => m >>> s === 0xff) ?? -1);
    if (shifts.includes(-1)) throw new BmpError('BMP bit masks other than whole bytes are not supported', true);
  } else if (compression !== 0) {
    throw new BmpError(`compressed BMP (compression ${compression}) is not supported`, true);
  }
  if (![1, 4, 8, 24, 32].includes(bpp)) throw new BmpError(`${bpp}-bit BMP is not supported`, true);
  const stride = Math.ceil((width * bpp) / 32) * 4;
  if (dataOffset + stride * height > buf.length) throw new BmpError('truncated BMP: the pixel data is shorter than its header says');
  let palette: Buffer | null = null;
  if (bpp <= 8) {
    const colours = buf.readUInt32LE(46) || 1 << bpp;
    const at = 14 + headerSize;
    palette = buf.subarray(at, Math.min(at + colours * 4, dataOffset));
  }
  return { width, height, topDown: rawHeight < 0, bpp, stride, dataOffset, shifts, palette };
}

/** Decodes rows [y0, y1) of the image (top row first) into `out` (RGB). */
function decodeRows(buf: Buffer, l: BmpLayout, out: Buffer, y0: number, y1: number): void {
  const { width, height, bpp, shifts, palette } = l;
  for (let y = y0; y < y1; y++) {
    const row = l.dataOffset + (l.topDown ? y : height - 1 - y) * l.stride;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      if (bpp === 24) {
        out[o] = buf[row + x * 3 + 2];
        out[o + 1] = buf[row + x * 3 + 1];
        out[o + 2] = buf[row + x * 3];
      } else if (bpp === 32) {
        const px = buf.readUInt32LE(row + x * 4);
        out[o] = (px >>> shifts[0]) & 0xff;
        out[o + 1] = (px >>> shifts[1]) & 0xff;
        out[o + 2] = (px >>> shifts[2]) & 0xff;
      } else {
        const perByte = 8 / bpp;
        const byte = buf[row + Math.floor(x / perByte)];
        const index = (byte >> (8 - bpp * ((x % perByte) + 1))) & ((1 << bpp) - 1);
        const p = index * 4;
        if (!palette || p + 2 >= palette.length) throw new BmpError(`BMP palette index ${index} is out of range`);
        out[o] = palette[p + 2];
        out[o + 1] = palette[p + 1];
        out[o + 2] = palette[p];
      }
    }
  }
}

export function decodeBmp(buf: Buffer): BmpImage {
  const layout = layoutOf(buf);
  const out = Buffer.alloc(layout.width * layout.height * 3);
  decodeRows(buf, layout, out, 0, layout.height);
  return { width: layout.width, height: layout.height, data: out };
}

/** Pixels decoded between two yields of decodeBmpAsync (a few ms of work). */
const PIXELS_PER_SLICE = 256 * 1024;
const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * decodeBmp in slices of rows, yielding to the event loop between them: a 10000x10000 BMP
 * (100 M pixels) takes seconds of JavaScript, which must not block the thread serving the UI.
 */
export async function decodeBmpAsync(buf: Buffer): Promise<BmpImage> {
  const layout = layoutOf(buf);
  const out = Buffer.alloc(layout.width * layout.height * 3);
  const rows = Math.max(1, Math.floor(PIXELS_PER_SLICE / layout.width));
  for (let y = 0; y < layout.height; y += rows) {
    decodeRows(buf, layout, out, y, Math.min(layout.height, y + rows));
    await nextTick();
  }
  return { width: layout.width, height: layout.height, data: out };
}
