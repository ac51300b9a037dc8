// Images and pairs as the engine wants them: one Float32Array of [n, H, W, C] pixels
// in [0, 1] at the model's input size, and pairs as index arrays into it. Built from
// image rows read by the store (pixel_encoding 'raw' = uint8 HWC, 'png' = PNG bytes),
// decoded and resized with sharp. No SQL here.
import sharp from 'sharp';

export type Shape3 = [number, number, number];

export interface ImageSet {
  /** [H, W, C] of every image */
  shape: Shape3;
  count: number;
  /** count * H * W * C floats in [0, 1], image after image, HWC */
  pixels: Float32Array;
}

/** Pairs as indices into an ImageSet; label 1 = same. */
export interface PairList {
  a: Int32Array;
  b: Int32Array;
  label: Uint8Array;
  /** store ids of the pairs, when they come from the store */
  ids?: Int32Array;
}

export interface ImageRow {
  width: number;
  height: number;
  channels: number;
  pixel_encoding: 'raw' | 'png';
  pixels: Buffer | Uint8Array;
}

export const imageSize = (shape: Shape3) => shape[0] * shape[1] * shape[2];

/** Decodes one stored image to [H, W, C] floats in [0, 1] at `shape` (resize: bilinear; grey <-> RGB as needed). */
export async function decodeImage(row: ImageRow, shape: Shape3): Promise<Float32Array> {
  const [h, w, c] = shape;
  const out = new Float32Array(h * w * c);
  if (row.pixel_encoding === 'raw' && row.width === w && row.height === h && row.channels === c) {
    const px = row.pixels;
    if (px.length !== h * w * c) throw new Error(`raw image has ${px.length} bytes, expected ${h * w * c}`);
    for (let i = 0; i < out.length; i++) out[i] = px[i] / 255;
    return out;
  }
  let img =
    row.pixel_encoding === 'raw'
      ? sharp(Buffer.from(row.pixels.buffer, row.pixels.byteOffset, row.pixels.byteLength), {
          raw: { width: row.width, height: row.height, channels: row.channels as 1 | 3 },
        })
      : sharp(Buffer.from(row.pixels.buffer, row.pixels.byteOffset, row.pixels.byteLength));
  if (c === 1) img = img.greyscale();
  img = img.removeAlpha();
  if (row.width !== w || row.height !== h) img = img.resize(w, h, { fit: 'fill', kernel: 'linear' });
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  if (info.width !== w || info.height !== h) throw new Error(`decoded ${info.width}x${info.height}, expected ${w}x${h}`);
  if (info.channels === c) {
    for (let i = 0; i < out.length; i++) out[i] = data[i] / 255;
  } else if (info.channels === 1 && c === 3) {
    for (let p = 0; p < h * w; p++) out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = data[p] / 255;
  } else if (c === 1) {
    // any other channel count: average the first three
    const k = info.channels;
    for (let p = 0; p < h * w; p++) out[p] = (data[k * p] + data[k * p + 1] + data[k * p + 2]) / (3 * 255);
  } else {
    throw new Error(`cannot convert ${info.channels} channels to ${c}`);
  }
  return out;
}

/** Decodes many rows into one ImageSet (in row order). */
export async function buildImageSet(rows: ImageRow[], shape: Shape3, onProgress?: (done: number) => void): Promise<ImageSet> {
  const size = imageSize(shape);
  const pixels = new Float32Array(rows.length * size);
  for (let i = 0; i < rows.length; i++) {
    pixels.set(await decodeImage(rows[i], shape), i * size);
    if (onProgress && i % 1000 === 999) onProgress(i + 1);
  }
  return { shape, count: rows.length, pixels };
}

/** ImageSet from uint8 HWC bytes already at the right size (e.g. idx files). */
export function imageSetFromBytes(bytes: Uint8Array, count: number, shape: Shape3): ImageSet {
  const size = imageSize(shape);
  if (bytes.length < count * size) throw new Error(`need ${count * size} bytes, got ${bytes.length}`);
  const pixels = new Float32Array(count * size);
  for (let i = 0; i < pixels.length; i++) pixels[i] = bytes[i] / 255;
  return { shape, count, pixels };
}

/** The [H, W, C] an input should have for images of this size: their own (the small CNN takes any size). */
export function inputShapeFor(rows: Pick<ImageRow, 'width' | 'height' | 'channels'>[], maxSide = 64): Shape3 {
  if (rows.length === 0) throw new Error('no images');
  const h = Math.max(...rows.map((r) => r.height));
  const w = Math.max(...rows.map((r) => r.width));
  const c = rows.some((r) => r.channels === 3) ? 3 : 1;
  const scale = Math.min(1, maxSide / Math.max(h, w));
  return [Math.max(1, Math.round(h * scale)), Math.max(1, Math.round(w * scale)), c];
}

export function pairListFrom(rows: { a: number; b: number; label: number; id?: number }[]): PairList {
  return {
    a: Int32Array.from(rows, (r) => r.a),
    b: Int32Array.from(rows, (r) => r.b),
    label: Uint8Array.from(rows, (r) => r.label),
    ...(rows.length > 0 && rows[0].id !== undefined ? { ids: Int32Array.from(rows, (r) => r.id ?? 0) } : {}),
  };
}
