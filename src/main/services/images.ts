import type { Db } from '../store/db';

// SKELETON: to be implemented (thumbnails as PNG data URLs, generated lazily and cached in the store).
export class ImageService {
  constructor(private readonly db: Db) {}

  async thumbnails(ids: number[]): Promise<Record<number, string>> {
    throw new Error(`not implemented ${ids.length} ${String(this.db)}`);
  }
}
