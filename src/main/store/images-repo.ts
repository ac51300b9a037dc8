import type { ImageDto } from '../../shared/dto';
import type { Db } from './db';

export interface NewImage {
  datasetId: number;
  sha256: string;
  sourcePath: string;
  classLabel: string | null;
  officialSplit: 'train' | 'test' | null;
  width: number;
  height: number;
  channels: 1 | 3;
  pixelEncoding: 'raw' | 'png';
  pixels: Buffer;
  thumbnail: Buffer | null;
}

export interface StoredPixels {
  id: number;
  width: number;
  height: number;
  channels: 1 | 3;
  pixelEncoding: 'raw' | 'png';
  pixels: Buffer;
}

export type InsertOutcome = { inserted: true; id: number } | { inserted: false; duplicateOf: number; duplicatePath: string };

/** All SQL for images. */
export class ImagesRepo {
  private readonly insertStmt;
  private readonly findStmt;

  constructor(private readonly db: Db) {
    this.insertStmt = db.prepare(
      `INSERT INTO images (dataset_id, sha256, source_path, class_label, official_split, width, height, channels, pixel_encoding, pixels, thumbnail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dataset_id, sha256) DO NOTHING RETURNING id`,
    );
    this.findStmt = db.prepare('SELECT id, source_path FROM images WHERE dataset_id = ? AND sha256 = ?');
  }

  /** Inserts unless the dataset already holds the same content; call inside the caller's transaction. */
  insertUnlessDuplicate(img: NewImage): InsertOutcome {
    const row = this.insertStmt.get(
      img.datasetId,
      img.sha256,
      img.sourcePath,
      img.classLabel,
      img.officialSplit,
      img.width,
      img.height,
      img.channels,
      img.pixelEncoding,
      img.pixels,
      img.thumbnail,
    ) as { id: number } | undefined;
    if (row) return { inserted: true, id: row.id };
    const existing = this.findStmt.get(img.datasetId, img.sha256) as { id: number; source_path: string };
    return { inserted: false, duplicateOf: existing.id, duplicatePath: existing.source_path };
  }

  findId(datasetId: number, sha256: string): number | undefined {
    return (this.findStmt.get(datasetId, sha256) as { id: number } | undefined)?.id;
  }

  findDuplicate(datasetId: number, sha256: string): { id: number; sourcePath: string } | undefined {
    const row = this.findStmt.get(datasetId, sha256) as { id: number; source_path: string } | undefined;
    return row && { id: row.id, sourcePath: row.source_path };
  }

  count(datasetId: number): number {
    return (this.db.prepare('SELECT count(*) AS n FROM images WHERE dataset_id = ?').get(datasetId) as { n: number }).n;
  }

  get(id: number): ImageDto | undefined {
    return this.db
      .prepare(
        `SELECT id, dataset_id AS datasetId, sha256, source_path AS sourcePath, class_label AS classLabel, width, height, channels
         FROM images WHERE id = ?`,
      )
      .get(id) as ImageDto | undefined;
  }

  /** Cached thumbnails (null where not generated yet) for the ids that exist. */
  thumbnails(ids: number[]): { id: number; thumbnail: Buffer | null }[] {
    if (ids.length === 0) return [];
    const out: { id: number; thumbnail: Buffer | null }[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      out.push(
        ...(this.db.prepare(`SELECT id, thumbnail FROM images WHERE id IN (${chunk.map(() => '?').join(',')})`).all(...chunk) as {
          id: number;
          thumbnail: Buffer | null;
        }[]),
      );
    }
    return out;
  }

  pixels(id: number): StoredPixels | undefined {
    return this.db
      .prepare('SELECT id, width, height, channels, pixel_encoding AS pixelEncoding, pixels FROM images WHERE id = ?')
      .get(id) as StoredPixels | undefined;
  }

  setThumbnail(id: number, thumbnail: Buffer): void {
    this.db.prepare('UPDATE images SET thumbnail = ? WHERE id = ? AND thumbnail IS NULL').run(thumbnail, id);
  }
}
