// All SQL of masks: per image and author, append-only with history (the newest row by created_at,
// then id, of an (image, author) is its mask; an image's mask is its newest row of any author),
// the rows exports and bundles read with their images, and the images imports match against.
import type { MaskSource } from '../../shared/dto';
import type { Db } from './db';

/** A stored mask row. */
export interface MaskRow {
  id: number;
  uid: string;
  image_id: number;
  author: string;
  encoding: 'rle' | 'png';
  width: number;
  height: number;
  data: Buffer | string;
  source: MaskSource;
  origin: 'local' | 'imported';
  created_at: string;
}

export interface NewMask {
  uid: string;
  imageId: number;
  author: string;
  width: number;
  height: number;
  /** JSON {"size": [h, w], "counts": "..."} (images/mask.ts rleMaskData) */
  data: Buffer;
  source: MaskSource;
  origin: 'local' | 'imported';
  createdAt: string;
}

/** An image as masks see it: its size, dataset, file and class. */
export interface MaskImage {
  id: number;
  dataset_id: number;
  sha256: string;
  source_path: string;
  class_label: string | null;
  width: number;
  height: number;
}

/** A mask row with its image, as exports and bundles read them; `current`: the newest of its (image, author). */
export interface MaskExportRow extends MaskRow {
  current: 0 | 1;
  sha256: string;
  source_path: string;
  class_label: string | null;
  image_width: number;
  image_height: number;
}

const COLUMNS = 'm.id, m.uid, m.image_id, m.author, m.encoding, m.width, m.height, m.data, m.source, m.origin, m.created_at';
const IMAGE_COLUMNS = 'id, dataset_id, sha256, source_path, class_label, width, height';

export class MasksRepo {
  private readonly newestOfAuthor;
  private readonly newestOfAny;
  private readonly insertStmt;
  private readonly imageStmt;

  constructor(private readonly db: Db) {
    this.newestOfAuthor = db.prepare(
      `SELECT ${COLUMNS} FROM masks m INDEXED BY masks_by_image WHERE m.image_id = ? AND m.author = ? ORDER BY m.created_at DESC, m.id DESC LIMIT 1`,
    );
    this.newestOfAny = db.prepare(
      `SELECT ${COLUMNS} FROM masks m INDEXED BY masks_by_image_time WHERE m.image_id = ? ORDER BY m.created_at DESC, m.id DESC LIMIT 1`,
    );
    this.insertStmt = db.prepare(
      `INSERT INTO masks (uid, image_id, author, encoding, width, height, data, source, origin, created_at)
       VALUES (@uid, @imageId, @author, 'rle', @width, @height, @data, @source, @origin, @createdAt)`,
    );
    this.imageStmt = db.prepare(`SELECT ${IMAGE_COLUMNS} FROM images WHERE id = ?`);
  }

  /** The newest mask of an image: the author's, or of anyone. */
  newest(imageId: number, author?: string): MaskRow | undefined {
    return (author === undefined ? this.newestOfAny.get(imageId) : this.newestOfAuthor.get(imageId, author)) as MaskRow | undefined;
  }

  /** An image's rows (one author's, or all), newest first; at most `limit`. */
  history(imageId: number, author?: string, limit?: number): MaskRow[] {
    return this.db
      .prepare(
        `SELECT ${COLUMNS} FROM masks m WHERE m.image_id = @image AND (@author IS NULL OR m.author = @author)
          ORDER BY m.created_at DESC, m.id DESC LIMIT @limit`,
      )
      .all({ image: imageId, author: author ?? null, limit: limit ?? -1 }) as MaskRow[];
  }

  get(id: number): MaskRow | undefined {
    return this.db.prepare(`SELECT ${COLUMNS} FROM masks m WHERE m.id = ?`).get(id) as MaskRow | undefined;
  }

  byUid(uid: string): MaskRow | undefined {
    return this.db.prepare(`SELECT ${COLUMNS} FROM masks m WHERE m.uid = ?`).get(uid) as MaskRow | undefined;
  }

  /** Inserts rows in one transaction (all or nothing); returns their ids. */
  insert(rows: readonly NewMask[]): number[] {
    return this.db.transaction(() => rows.map((r) => Number(this.insertStmt.run(r).lastInsertRowid)))();
  }

  // ---- images ----

  image(id: number): MaskImage | undefined {
    return this.imageStmt.get(id) as MaskImage | undefined;
  }

  /** Every image of a dataset (imports match files against them), by id. */
  datasetImages(datasetId: number): MaskImage[] {
    return this.db.prepare(`SELECT ${IMAGE_COLUMNS} FROM images WHERE dataset_id = ? ORDER BY id`).all(datasetId) as MaskImage[];
  }

  /** The image of a dataset with this content hash. */
  imageByHash(datasetId: number, sha256: string): MaskImage | undefined {
    return this.db.prepare(`SELECT ${IMAGE_COLUMNS} FROM images WHERE dataset_id = ? AND sha256 = ?`).get(datasetId, sha256) as
      MaskImage | undefined;
  }

  /** The datasets that have masks, by id. */
  datasetsWithMasks(): number[] {
    return (
      this.db.prepare('SELECT DISTINCT i.dataset_id FROM masks m JOIN images i ON i.id = m.image_id ORDER BY i.dataset_id').all() as {
        dataset_id: number;
      }[]
    ).map((r) => r.dataset_id);
  }

  // ---- exports and bundles ----

  /**
   * A dataset's mask rows with their images, by image, author and time: each (image, author)'s
   * newest row, or (history) every row; one author's only, when given. `perImage`: `current` is
   * each image's newest row of any (or the given) author instead.
   */
  exportRows(datasetId: number, opts: { author?: string; history: boolean; perImage?: boolean }): MaskExportRow[] {
    const partition = opts.perImage ? 'm.image_id' : 'm.image_id, m.author';
    return this.db
      .prepare(
        `SELECT * FROM (
           SELECT ${COLUMNS}, (row_number() OVER (PARTITION BY ${partition} ORDER BY m.created_at DESC, m.id DESC) = 1) AS current,
                  i.sha256, i.source_path, i.class_label, i.width AS image_width, i.height AS image_height
             FROM images i JOIN masks m ON m.image_id = i.id
            WHERE i.dataset_id = @dataset AND (@author IS NULL OR m.author = @author)
         ) WHERE @history OR current
         ORDER BY image_id, author, created_at, id`,
      )
      .all({ dataset: datasetId, author: opts.author ?? null, history: opts.history ? 1 : 0 }) as MaskExportRow[];
  }
}
