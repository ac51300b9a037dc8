import type { DatasetDto, ImportSourceKind, Split } from '../../shared/dto';
import type { Db } from './db';

interface DatasetRow {
  id: number;
  name: string;
  source_kind: ImportSourceKind;
  source_path: string;
  has_official_test: number;
  created_at: string;
  image_count: number;
}

const toDto = (r: DatasetRow): DatasetDto => ({
  id: r.id,
  name: r.name,
  sourceKind: r.source_kind,
  sourcePath: r.source_path,
  createdAt: r.created_at,
  imageCount: r.image_count,
  hasOfficialTest: r.has_official_test === 1,
});

const SELECT = `SELECT d.*, (SELECT count(*) FROM images i WHERE i.dataset_id = d.id) AS image_count FROM datasets d`;

/** Rows per class label with their split in one pair set (null split = not in it). */
export interface ClassSplitCount {
  classLabel: string | null;
  split: Split | null;
  count: number;
}

/** All SQL for datasets (and the read-only summaries of their images and pair sets). */
export class DatasetsRepo {
  constructor(private readonly db: Db) {}

  create(fields: { name: string; sourceKind: ImportSourceKind; sourcePath: string; hasOfficialTest?: boolean }): number {
    const { lastInsertRowid } = this.db
      .prepare('INSERT INTO datasets (name, source_kind, source_path, has_official_test) VALUES (?, ?, ?, ?)')
      .run(fields.name, fields.sourceKind, fields.sourcePath, fields.hasOfficialTest ? 1 : 0);
    return Number(lastInsertRowid);
  }

  get(id: number): DatasetDto | undefined {
    const row = this.db.prepare(`${SELECT} WHERE d.id = ?`).get(id) as DatasetRow | undefined;
    return row && toDto(row);
  }

  list(): DatasetDto[] {
    return (this.db.prepare(`${SELECT} ORDER BY d.id`).all() as DatasetRow[]).map(toDto);
  }

  exists(id: number): boolean {
    return this.db.prepare('SELECT 1 FROM datasets WHERE id = ?').get(id) !== undefined;
  }

  /** `base`, or `base (2)`, `base (3)`, ... whichever is free. */
  uniqueName(base: string): string {
    const taken = new Set(
      (
        this.db
          .prepare("SELECT name FROM datasets WHERE name = ? OR name LIKE ? ESCAPE '\\'")
          .all(base, `${base.replace(/[\\%_]/g, '\\$&')} (%)`) as { name: string }[]
      ).map((r) => r.name),
    );
    if (!taken.has(base)) return base;
    for (let n = 2; ; n++) if (!taken.has(`${base} (${n})`)) return `${base} (${n})`;
  }

  setHasOfficialTest(id: number): void {
    this.db.prepare('UPDATE datasets SET has_official_test = 1 WHERE id = ?').run(id);
  }

  /** Deletes the dataset; its images, pair sets, pairs and what hangs on them cascade. */
  delete(id: number): boolean {
    return this.db.transaction(() => {
      // Detach import report rows first: one statement instead of a lookup per deleted image.
      this.db.prepare('UPDATE import_reports SET image_id = NULL WHERE image_id IN (SELECT id FROM images WHERE dataset_id = ?)').run(id);
      // Pair sets first so their pairs go by the indexed pair_set_id, not per image.
      this.db.prepare('DELETE FROM pair_sets WHERE dataset_id = ?').run(id);
      return this.db.prepare('DELETE FROM datasets WHERE id = ?').run(id).changes > 0;
    })();
  }

  newestPairSetId(datasetId: number): number | null {
    const row = this.db.prepare('SELECT id FROM pair_sets WHERE dataset_id = ? ORDER BY id DESC LIMIT 1').get(datasetId) as
      { id: number } | undefined;
    return row?.id ?? null;
  }

  classSplitCounts(datasetId: number, pairSetId: number | null): ClassSplitCount[] {
    return this.db
      .prepare(
        `SELECT i.class_label AS classLabel, s.split AS split, count(*) AS count
         FROM images i LEFT JOIN image_splits s ON s.image_id = i.id AND s.pair_set_id = ?
         WHERE i.dataset_id = ? GROUP BY i.class_label, s.split ORDER BY i.class_label`,
      )
      .all(pairSetId ?? -1, datasetId) as ClassSplitCount[];
  }
}
