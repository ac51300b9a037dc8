// All SQL of mask-guided retraining: the masks a retraining reads (the newest per image, of one
// author or any), how many images of a pair set's splits have one, and the snapshot of the masks a
// retrained version used (model_version_masks, migration 0008).
import type { Split } from '../../shared/dto';
import type { Db } from './db';

/** A stored mask as the retraining decodes it. */
export interface RetrainMaskRow {
  id: number;
  image_id: number;
  author: string;
  encoding: 'rle' | 'png';
  width: number;
  height: number;
  data: Buffer;
}

export interface MaskSnapshotRow {
  maskId: number;
  imageId: number;
  author: string;
}

export class RetrainRepo {
  constructor(private readonly db: Db) {}

  /**
   * The newest mask of each of `imageIds` that has one (of `author` when given; else of any author,
   * the newest row winning), in image order.
   */
  newestMasks(imageIds: number[], author?: string): RetrainMaskRow[] {
    const stmt = author
      ? this.db.prepare(
          'SELECT id, image_id, author, encoding, width, height, data FROM masks WHERE image_id = ? AND author = ? ORDER BY id DESC LIMIT 1',
        )
      : this.db.prepare(
          'SELECT id, image_id, author, encoding, width, height, data FROM masks WHERE image_id = ? ORDER BY id DESC LIMIT 1',
        );
    const out: RetrainMaskRow[] = [];
    for (const id of [...new Set(imageIds)].sort((a, b) => a - b)) {
      const row = (author ? stmt.get(id, author) : stmt.get(id)) as RetrainMaskRow | undefined;
      if (row) out.push(row);
    }
    return out;
  }

  /** Per split of a pair set: its images and those with a mask (of `author` when given, else of anyone). */
  coverage(pairSetId: number, author?: string): { split: Split; images: number; masked: number }[] {
    const rows = this.db
      .prepare(
        `SELECT s.split AS split, count(*) AS images,
                sum(CASE WHEN EXISTS (SELECT 1 FROM masks m WHERE m.image_id = s.image_id ${author ? 'AND m.author = ?' : ''}) THEN 1 ELSE 0 END) AS masked
         FROM image_splits s WHERE s.pair_set_id = ? GROUP BY s.split`,
      )
      .all(...(author ? [author, pairSetId] : [pairSetId])) as { split: Split; images: number; masked: number | null }[];
    return rows.map((r) => ({ split: r.split, images: r.images, masked: r.masked ?? 0 }));
  }

  /** Authors with masks on the images of a pair set's split, with their masked image counts. */
  authors(pairSetId: number, split: Split): { author: string; images: number }[] {
    return this.db
      .prepare(
        `SELECT m.author AS author, count(DISTINCT m.image_id) AS images
         FROM masks m JOIN image_splits s ON s.image_id = m.image_id
         WHERE s.pair_set_id = ? AND s.split = ? GROUP BY m.author ORDER BY m.author`,
      )
      .all(pairSetId, split) as { author: string; images: number }[];
  }

  insertSnapshot(modelId: number, rows: MaskSnapshotRow[]): void {
    const stmt = this.db.prepare('INSERT INTO model_version_masks (model_id, mask_id, image_id, author) VALUES (?, ?, ?, ?)');
    for (const r of rows) stmt.run(modelId, r.maskId, r.imageId, r.author);
  }

  /** A page of a version's mask snapshot, by mask id, and the total. */
  snapshot(modelId: number, offset = 0, limit = 1000): { total: number; rows: MaskSnapshotRow[] } {
    const total = (this.db.prepare('SELECT count(*) AS n FROM model_version_masks WHERE model_id = ?').get(modelId) as { n: number }).n;
    const rows = this.db
      .prepare(
        'SELECT mask_id AS maskId, image_id AS imageId, author FROM model_version_masks WHERE model_id = ? ORDER BY mask_id LIMIT ? OFFSET ?',
      )
      .all(modelId, limit, offset) as MaskSnapshotRow[];
    return { total, rows };
  }
}
