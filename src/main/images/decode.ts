// Decoding and normalising image files with sharp. Every image that enters the store
// goes through normalise(): EXIF orientation applied, sRGB, alpha flattened onto
// white, the longest side capped, and reduced to 1 channel when it is grey. The
// identity of an image is the sha256 of those normalised pixels plus their shape, so
// the same picture saved twice (or re-encoded losslessly) is recognised as one.
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { BmpError, bmpSize, decodeBmpAsync } from './bmp';

/** Formats SimLens imports (sharp's names). BMP is decoded by ./bmp when sharp cannot. */
export const SUPPORTED_FORMATS: ReadonlySet<string> = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'bmp']);
/** File extensions the folder/CSV importers treat as images (others are reported as skipped). */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(['.jpg', '.jpeg', '.jfif', '.png', '.webp', '.gif', '.tif', '.tiff', '.bmp']);

export const DEFAULT_MAX_SIDE = 1024;
export const THUMBNAIL_SIDE = 128;
/** Decompression-bomb guard: images declaring more pixels than this are refused before decoding. */
export const DEFAULT_MAX_INPUT_PIXELS = 100_000_000;

export interface NormaliseOptions {
  /** Longest side after normalising (aspect kept, never enlarged). */
  maxSide?: number;
  /** Refuse inputs with more pixels than this (width x height of the source). */
  maxInputPixels?: number;
}

/** The normalised image: uint8 pixels, row-major HWC. */
export interface RawImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Buffer;
}

export interface NormalisedImage extends RawImage {
  sha256: string;
  /** The source format as sharp named it (jpeg, png, ...). */
  format: string;
}

/** A file SimLens will not import; `kind` decides the report status. */
export class ImageRejectedError extends Error {
  constructor(
    readonly kind: 'skipped' | 'error',
    message: string,
  ) {
    super(message);
    this.name = 'ImageRejectedError';
  }
}

/** sha256 over the shape and the HWC bytes: the identity of a normalised image. */
export function pixelHash(width: number, height: number, channels: number, data: Uint8Array): string {
  return createHash('sha256').update(`${width}x${height}x${channels}\n`).update(data).digest('hex');
}

/** True when every pixel of a 3-channel buffer has R == G == B. */
function isGrey(data: Buffer): boolean {
  for (let i = 0; i < data.length; i += 3) {
    if (data[i] !== data[i + 1] || data[i] !== data[i + 2]) return false;
  }
  return true;
}

function firstChannel(data: Buffer, channels: number): Buffer {
  const out = Buffer.allocUnsafe(data.length / channels);
  for (let i = 0, j = 0; j < out.length; i += channels, j++) out[j] = data[i];
  return out;
}

/** Recognises a few formats sharp may lack (so the report can say 'unsupported' rather than 'corrupt'). */
export function sniffFormat(head: Uint8Array): string {
  const ascii = (start: number, end: number) => String.fromCharCode(...head.subarray(start, end));
  if (ascii(0, 2) === 'BM' && head.length >= 26) return 'bmp';
  if (ascii(4, 8) === 'ftyp') return 'heif/avif';
  if (ascii(0, 4) === '8BPS') return 'psd';
  if (head[0] === 0x00 && head[1] === 0x00 && head[2] === 0x01 && head[3] === 0x00) return 'ico';
  return 'unknown';
}

/**
 * Whether a JPEG or PNG stops before its end marker (EOI / IEND). libvips usually says
 * so itself, but under concurrent decodes its error text can come back as "Unknown
 * error"; the container's own structure is the reliable answer.
 */
export function looksTruncated(bytes: Uint8Array): boolean {
  const n = bytes.length;
  if (n >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    // JPEG: the EOI marker FF D9 ends the stream (some writers pad a few bytes after it).
    for (let i = n - 2; i >= Math.max(2, n - 64); i--) if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return false;
    return true;
  }
  if (n >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    const tail = Buffer.from(bytes.subarray(Math.max(0, n - 64))).toString('latin1');
    return !tail.includes('IEND');
  }
  return false;
}

/** Turns sharp/libvips messages into a reason a user can act on. */
function explain(error: unknown, maxInputPixels: number, input?: string | Buffer): ImageRejectedError {
  const message = error instanceof Error ? error.message : String(error);
  if (/pixel limit/i.test(message)) {
    return new ImageRejectedError(
      'error',
      `image too large: more than ${maxInputPixels.toLocaleString('en-US')} pixels (decompression-bomb guard)`,
    );
  }
  if (/unsupported image format/i.test(message)) {
    return new ImageRejectedError('error', 'corrupt or not an image: the content is not in any format sharp can read');
  }
  if (/premature end|truncated|unexpected end|read error|end of (file|stream)/i.test(message)) {
    return new ImageRejectedError('error', `truncated image: ${firstLine(message)}`);
  }
  if (input !== undefined && typeof input !== 'string' && looksTruncated(input)) {
    return new ImageRejectedError('error', `truncated image: the file ends before its end marker (${firstLine(message)})`);
  }
  return new ImageRejectedError('error', `corrupt or unreadable image: ${firstLine(message)}`);
}

const firstLine = (s: string) => s.split('\n')[0].trim().slice(0, 200);

/**
 * Decodes one image file (path or bytes) and normalises it. Throws ImageRejectedError
 * with a user-facing reason for unsupported, corrupt, truncated or oversized inputs.
 */
export async function normalise(input: string | Buffer, options: NormaliseOptions = {}): Promise<NormalisedImage> {
  const maxSide = options.maxSide ?? DEFAULT_MAX_SIDE;
  const maxInputPixels = options.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS;
  // pages: 1 → the first frame of an animated GIF/WebP or multi-page TIFF.
  let open = () => sharp(input, { limitInputPixels: maxInputPixels, failOn: 'truncated', pages: 1, page: 0 });
  let format: string;
  const sniffed = typeof input === 'string' ? null : sniffFormat(input);
  try {
    const meta = await open().metadata();
    format = meta.format ?? 'unknown';
    if (meta.width && meta.height && meta.width * meta.height > maxInputPixels) {
      throw new Error('Input image exceeds pixel limit');
    }
  } catch (error) {
    if (sniffed === 'bmp' && typeof input !== 'string') {
      // sharp's libvips has no BMP loader: decode the common variants ourselves.
      const size = bmpSize(input);
      if (size && size.width * size.height > maxInputPixels) throw explain(new Error('Input image exceeds pixel limit'), maxInputPixels);
      let bmp;
      try {
        bmp = await decodeBmpAsync(input);
      } catch (bmpError) {
        const e = bmpError as BmpError;
        throw new ImageRejectedError(
          e.unsupported ? 'skipped' : 'error',
          e.unsupported ? `unsupported image format: ${e.message}` : `corrupt or unreadable image: ${e.message}`,
        );
      }
      format = 'bmp';
      open = () => sharp(bmp.data, { raw: { width: bmp.width, height: bmp.height, channels: 3 } });
    } else {
      if (sniffed && sniffed !== 'unknown')
        throw new ImageRejectedError('skipped', `unsupported image format: ${sniffed} (this sharp build cannot decode it)`);
      throw explain(error, maxInputPixels, input);
    }
  }
  if (!SUPPORTED_FORMATS.has(format)) {
    throw new ImageRejectedError('skipped', `unsupported image format: ${format}`);
  }
  try {
    const { data, info } = await open()
      .autoOrient()
      .flatten({ background: '#ffffff' })
      .resize({ width: maxSide, height: maxSide, fit: 'inside', withoutEnlargement: true })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    // toColourspace('srgb') after flatten gives 3 bands; stay safe if a build differs.
    let pixels: Buffer = data;
    let channels: 1 | 3 = 3;
    if (info.channels === 1 || info.channels === 2) {
      pixels = info.channels === 1 ? data : firstChannel(data, 2);
      channels = 1;
    } else if (info.channels > 3) {
      pixels = Buffer.allocUnsafe(info.width * info.height * 3);
      for (let i = 0, j = 0; j < pixels.length; i += info.channels, j += 3) data.copy(pixels, j, i, i + 3);
    }
    if (channels === 3 && isGrey(pixels)) {
      pixels = firstChannel(pixels, 3);
      channels = 1;
    }
    return {
      width: info.width,
      height: info.height,
      channels,
      data: pixels,
      format,
      sha256: pixelHash(info.width, info.height, channels, pixels),
    };
  } catch (error) {
    if (error instanceof ImageRejectedError) throw error;
    throw explain(error, maxInputPixels, input);
  }
}

/** A sharp pipeline over normalised pixels that keeps grey images 1-channel. */
const fromRaw = (img: RawImage) => {
  const s = sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels } });
  return img.channels === 1 ? s.toColourspace('b-w') : s;
};

/** Lossless PNG of normalised pixels (what images.pixels holds for pixel_encoding 'png'). */
export async function encodePng(img: RawImage): Promise<Buffer> {
  // Level 3: about twice as fast as zlib's default 6 on photos, for ~2% more bytes.
  return fromRaw(img).png({ compressionLevel: 3 }).toBuffer();
}

/** PNG thumbnail with the longest side at most THUMBNAIL_SIDE (small images are kept as they are). */
export async function makeThumbnail(img: RawImage): Promise<Buffer> {
  return fromRaw(img)
    .resize({ width: THUMBNAIL_SIDE, height: THUMBNAIL_SIDE, fit: 'inside', withoutEnlargement: true })
    .png({ compressionLevel: 6 })
    .toBuffer();
}

/** Stored pixels back to uint8 HWC, whatever their encoding. */
export async function decodeStoredPixels(
  encoding: 'raw' | 'png',
  blob: Buffer,
  shape: { width: number; height: number; channels: number },
): Promise<RawImage> {
  const channels = shape.channels === 1 ? 1 : 3;
  if (encoding === 'raw') return { width: shape.width, height: shape.height, channels, data: blob };
  const { data, info } = await sharp(blob).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  const pixels = info.channels === channels ? data : firstChannel(data, info.channels);
  return { width: info.width, height: info.height, channels, data: pixels };
}
