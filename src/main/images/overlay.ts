// Explanation maps on images: bilinear upsampling (src/shared/upsample.ts), colouring,
// alpha-blending onto the image (grey or RGB), PNG via sharp.
import sharp from 'sharp';
import { upsampleBilinear, type UpsampleOptions } from '../../shared/upsample';
import { colormapRgb, type ColormapName } from './colormap';

export { upsampleBilinear, type UpsampleOptions };

export interface RawImage {
  /** interleaved bytes, row-major */
  data: Uint8Array;
  width: number;
  height: number;
  /** 1 (grey), 3 (RGB) or 4 (RGBA; alpha ignored) */
  channels: number;
}

export interface OverlayOptions {
  colormap?: ColormapName;
  /** weight of the heatmap in the blend, in [0, 1] (default 0.5) */
  opacity?: number;
  /** multiply the opacity by the map value, so that 0 is fully transparent (default false) */
  weightByMap?: boolean;
  alignCorners?: boolean;
}

/**
 * out = (1 - a) * image + a * colormap(map), a = opacity (times the map value with
 * weightByMap), per pixel, RGB bytes [height * width * 3]. The map (h x w, values in
 * [0, 1]) is upsampled bilinearly to the image size first.
 */
export function blendOverlay(image: RawImage, map: ArrayLike<number>, h: number, w: number, opts: OverlayOptions = {}): Uint8Array {
  const { width: W, height: H, channels: c } = image;
  if (![1, 3, 4].includes(c)) throw new Error(`unsupported channel count ${c}`);
  if (image.data.length !== W * H * c) throw new Error('image data does not match its size');
  const opacity = Math.min(1, Math.max(0, opts.opacity ?? 0.5));
  const up = h === H && w === W ? map : upsampleBilinear(map, h, w, H, W, { alignCorners: opts.alignCorners });
  const name = opts.colormap ?? 'jet';
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) lut.set(colormapRgb(name, i / 255), 3 * i);
  const out = new Uint8Array(W * H * 3);
  const data = image.data;
  const weight = opts.weightByMap === true;
  // (x + 0.5) | 0 is Math.round(x) for the non-negative values here, at a fraction of the cost
  // (this loop runs over up to 1024 x 1024 pixels on the UI process).
  for (let p = 0, o = 0; p < W * H; p++, o += 3) {
    const raw = up[p];
    const v = raw > 0 ? (raw < 1 ? raw : 1) : 0; // NaN -> 0
    const li = ((v * 255 + 0.5) | 0) * 3;
    const a = weight ? opacity * v : opacity;
    const b = 1 - a;
    const s = p * c;
    const r = data[s];
    const g = c === 1 ? r : data[s + 1];
    const bl = c === 1 ? r : data[s + 2];
    out[o] = (b * r + a * lut[li] + 0.5) | 0;
    out[o + 1] = (b * g + a * lut[li + 1] + 0.5) | 0;
    out[o + 2] = (b * bl + a * lut[li + 2] + 0.5) | 0;
  }
  return out;
}

/** Decode any image sharp reads (path or buffer) to raw bytes (grey stays 1 channel). */
export async function decodeImage(input: string | Buffer, size?: { width: number; height: number }): Promise<RawImage> {
  const meta = await sharp(input).metadata();
  let pipeline = sharp(input).removeAlpha();
  // sharp outputs sRGB by default; keep grey images (1 channel, or grey + alpha) grey
  if ((meta.channels ?? 3) <= 2) pipeline = pipeline.toColourspace('b-w');
  if (size) pipeline = pipeline.resize(size.width, size.height, { fit: 'fill' });
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    width: info.width,
    height: info.height,
    channels: info.channels,
  };
}

/** A stored image: raw pixels (uint8 HWC) or an encoded file. */
export interface StoredImage {
  width: number;
  height: number;
  channels: number;
  pixel_encoding: 'raw' | 'png';
  pixels: Buffer;
}

/** A stored image as bytes for overlays (raw rows are used as they are). */
export async function rawImageOf(img: StoredImage): Promise<RawImage> {
  if (img.pixel_encoding === 'raw')
    return {
      data: new Uint8Array(img.pixels.buffer, img.pixels.byteOffset, img.pixels.byteLength),
      width: img.width,
      height: img.height,
      channels: img.channels,
    };
  return decodeImage(img.pixels);
}

/** Overlay of a map on an image, encoded as PNG. */
export async function overlayPng(
  image: RawImage,
  map: ArrayLike<number>,
  h: number,
  w: number,
  opts: OverlayOptions = {},
): Promise<Buffer> {
  const rgb = blendOverlay(image, map, h, w, opts);
  return sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.length), { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toBuffer();
}

/** The coloured map alone (upsampled to width x height), encoded as PNG. */
export async function heatmapPng(
  map: ArrayLike<number>,
  h: number,
  w: number,
  width: number,
  height: number,
  opts: Pick<OverlayOptions, 'colormap' | 'alignCorners'> = {},
): Promise<Buffer> {
  const up = upsampleBilinear(map, h, w, height, width, { alignCorners: opts.alignCorners });
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0; p < up.length; p++) rgb.set(colormapRgb(opts.colormap ?? 'jet', up[p]), 3 * p);
  return sharp(Buffer.from(rgb.buffer), { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}
