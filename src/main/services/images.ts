import type { ImagePixelsDto } from '../../shared/dto';
import { notFound } from '../errors';
import { decodeStoredPixels, makeThumbnail } from '../images/decode';
import type { Db } from '../store/db';
import { ImagesRepo } from '../store/images-repo';

const GENERATE_CONCURRENCY = 8;

/** Images: thumbnails as PNG data URLs, generated lazily (idx imports store none) and cached; full pixels on request. */
export class ImageService {
  private readonly repo: ImagesRepo;

  constructor(private readonly db: Db) {
    this.repo = new ImagesRepo(db);
  }

  async thumbnails(ids: number[]): Promise<Record<number, string>> {
    const out: Record<number, string> = {};
    const rows = this.repo.thumbnails([...new Set(ids)]);
    const missing = rows.filter((r) => !r.thumbnail).map((r) => r.id);
    const made: { id: number; png: Buffer }[] = [];
    // Generate the missing ones a few at a time (sharp runs on the libuv thread pool).
    for (let i = 0; i < missing.length; i += GENERATE_CONCURRENCY) {
      const chunk = await Promise.all(
        missing.slice(i, i + GENERATE_CONCURRENCY).map(async (id) => {
          const stored = this.repo.pixels(id);
          if (!stored) return null; // deleted meanwhile
          return { id, png: await makeThumbnail(await decodeStoredPixels(stored.pixelEncoding, stored.pixels, stored)) };
        }),
      );
      for (const m of chunk) if (m) made.push(m);
    }
    if (made.length > 0) this.db.transaction(() => made.forEach((m) => this.repo.setThumbnail(m.id, m.png)))();
    const fresh = new Map(made.map((m) => [m.id, m.png]));
    for (const row of rows) {
      const png = row.thumbnail ?? fresh.get(row.id);
      if (png) out[row.id] = `data:image/png;base64,${png.toString('base64')}`;
    }
    return out;
  }

  /** An image's stored pixels, decoded (1 or 3 channels, as stored), base64. */
  async pixels(id: number): Promise<ImagePixelsDto> {
    const stored = this.repo.pixels(id);
    if (!stored) throw notFound('Image', id);
    const raw = await decodeStoredPixels(stored.pixelEncoding, stored.pixels, stored);
    const bytes = Buffer.from(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength);
    return { id, width: raw.width, height: raw.height, channels: raw.channels, data: bytes.toString('base64') };
  }
}
