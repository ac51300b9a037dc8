// The full-size pixels of the images the magic wand is used on (images.pixels: the stored image,
// not its thumbnail of at most 128 px, so a 1024 px image is filled at 1024 px). Fetched once per
// image and kept for the few most recent images (a 1024 x 1024 RGB image is 3 MB).
import type { ImagePixelsDto } from '../../../../shared/dto';
import type { ImagePixels } from './paint';

/** Images whose pixels are kept. */
export const PIXELS_KEPT = 6;

/** base64 to bytes. */
export function decodeBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function pixelsOf(dto: ImagePixelsDto): ImagePixels {
  const data = decodeBase64(dto.data);
  if (data.length !== dto.width * dto.height * dto.channels)
    throw new Error(`image ${dto.id}: ${data.length} bytes for ${dto.width} x ${dto.height} x ${dto.channels}`);
  return { data, width: dto.width, height: dto.height, channels: dto.channels };
}

export class PixelCache {
  private readonly entries = new Map<number, Promise<ImagePixels>>();

  constructor(
    private readonly fetch: (imageId: number) => Promise<ImagePixelsDto>,
    private readonly kept = PIXELS_KEPT,
  ) {}

  /** The image's pixels (fetched on first use; a failed fetch is asked again next time). */
  get(imageId: number): Promise<ImagePixels> {
    let p = this.entries.get(imageId);
    if (p) {
      // most recently used last
      this.entries.delete(imageId);
      this.entries.set(imageId, p);
      return p;
    }
    p = this.fetch(imageId).then(pixelsOf);
    p.catch(() => this.entries.get(imageId) === p && this.entries.delete(imageId));
    this.entries.set(imageId, p);
    while (this.entries.size > this.kept) this.entries.delete(this.entries.keys().next().value!);
    return p;
  }
}
