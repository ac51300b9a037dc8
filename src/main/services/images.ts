import { decodeStoredPixels, makeThumbnail } from '../images/decode';
import type { Db } from '../store/db';
import { ImagesRepo } from '../store/images-repo';

/** Images: thumbnails as PNG data URLs, generated lazily (idx imports store none) and cached. */
export class ImageService {
  private readonly repo: ImagesRepo;

  constructor(private readonly db: Db) {
    this.repo = new ImagesRepo(db);
  }

  async thumbnails(ids: number[]): Promise<Record<number, string>> {
    const out: Record<number, string> = {};
    const rows = this.repo.thumbnails([...new Set(ids)]);
    const made: { id: number; png: Buffer }[] = [];
    for (const row of rows) {
      let png = row.thumbnail;
      if (!png) {
        const stored = this.repo.pixels(row.id);
        if (!stored) continue; // deleted meanwhile
        png = await makeThumbnail(await decodeStoredPixels(stored.pixelEncoding, stored.pixels, stored));
        made.push({ id: row.id, png });
      }
      out[row.id] = `data:image/png;base64,${png.toString('base64')}`;
    }
    if (made.length > 0) this.db.transaction(() => made.forEach((m) => this.repo.setThumbnail(m.id, m.png)))();
    return out;
  }
}
