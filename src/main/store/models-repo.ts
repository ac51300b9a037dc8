// All SQL for model_versions, plus the reads a training/evaluation job needs
// (the images of a pair set with their split and pixels, the pairs of a split).
import type { ModelArch, ModelMetricsDto, ModelVersionConfigDto, Split } from '../../shared/dto';
import type { Db } from './db';

/** A model_versions row with its JSON columns (config, metrics) parsed. */
export interface ModelVersionRow {
  id: number;
  name: string;
  dataset_id: number | null;
  pair_set_id: number | null;
  parent_id: number | null;
  job_id: number | null;
  arch: ModelArch;
  config: ModelVersionConfigDto;
  weights_path: string | null;
  seed: number | null;
  backend: string | null;
  metrics: ModelMetricsDto | null;
  created_at: string;
}

/** The row as stored: JSON text in config and metrics. */
type StoredRow = Omit<ModelVersionRow, 'config' | 'metrics'> & { config: string; metrics: string | null };

const parsed = (r: StoredRow): ModelVersionRow => ({
  ...r,
  config: JSON.parse(r.config) as ModelVersionConfigDto,
  metrics: r.metrics === null ? null : (JSON.parse(r.metrics) as ModelMetricsDto),
});

export interface NewModelVersion {
  name: string;
  datasetId: number | null;
  pairSetId: number | null;
  parentId: number | null;
  jobId: number | null;
  arch: ModelArch;
  config: ModelVersionConfigDto;
  weightsPath: string | null;
  seed: number | null;
  backend: string | null;
  metrics: ModelMetricsDto | null;
}

/** An image of a pair set with what the engine needs to decode it. */
export interface SplitImageRow {
  id: number;
  class_label: string | null;
  split: Split;
  width: number;
  height: number;
  channels: number;
  pixel_encoding: 'raw' | 'png';
  pixels: Buffer;
}

export interface PairRow {
  id: number;
  image_a: number;
  image_b: number;
  label: 0 | 1;
  split: Split;
}

export class ModelsRepo {
  constructor(private readonly db: Db) {}

  insert(v: NewModelVersion): number {
    const res = this.db
      .prepare(
        `INSERT INTO model_versions (name, dataset_id, pair_set_id, parent_id, job_id, arch, config, weights_path, seed, backend, metrics)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        v.name,
        v.datasetId,
        v.pairSetId,
        v.parentId,
        v.jobId,
        v.arch,
        JSON.stringify(v.config),
        v.weightsPath,
        v.seed,
        v.backend,
        v.metrics === null ? null : JSON.stringify(v.metrics),
      );
    return Number(res.lastInsertRowid);
  }

  /** The id the next insert will most likely get (for naming a folder before the row exists). */
  nextIdHint(): number {
    const row = this.db.prepare('SELECT max(id) AS id FROM model_versions').get() as { id: number | null };
    return (row.id ?? 0) + 1;
  }

  setWeightsPath(id: number, weightsPath: string): void {
    this.db.prepare('UPDATE model_versions SET weights_path = ? WHERE id = ?').run(weightsPath, id);
  }

  setMetrics(id: number, metrics: ModelMetricsDto): void {
    this.db.prepare('UPDATE model_versions SET metrics = ? WHERE id = ?').run(JSON.stringify(metrics), id);
  }

  get(id: number): ModelVersionRow | undefined {
    const row = this.db.prepare('SELECT * FROM model_versions WHERE id = ?').get(id) as StoredRow | undefined;
    return row && parsed(row);
  }

  list(datasetId?: number): ModelVersionRow[] {
    const rows =
      datasetId === undefined
        ? (this.db.prepare('SELECT * FROM model_versions ORDER BY id DESC').all() as StoredRow[])
        : (this.db.prepare('SELECT * FROM model_versions WHERE dataset_id = ? ORDER BY id DESC').all(datasetId) as StoredRow[]);
    return rows.map(parsed);
  }

  delete(id: number): boolean {
    return this.db.prepare('DELETE FROM model_versions WHERE id = ?').run(id).changes > 0;
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM model_versions').get() as { n: number }).n;
  }

  /** Ids of jobs some process still runs (or left unfinished): their model folders are not orphans. */
  unfinishedJobIds(): number[] {
    return (this.db.prepare("SELECT id FROM jobs WHERE status IN ('queued', 'running')").all() as { id: number }[]).map((r) => r.id);
  }

  /** Runs fn in one transaction (all-or-nothing). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  // ---- reads for training / evaluation ----

  pairSet(pairSetId: number): { id: number; datasetId: number } | undefined {
    const row = this.db.prepare('SELECT id, dataset_id FROM pair_sets WHERE id = ?').get(pairSetId) as
      { id: number; dataset_id: number } | undefined;
    return row && { id: row.id, datasetId: row.dataset_id };
  }

  latestPairSetId(datasetId: number): number | undefined {
    const row = this.db.prepare('SELECT max(id) AS id FROM pair_sets WHERE dataset_id = ?').get(datasetId) as { id: number | null };
    return row.id ?? undefined;
  }

  datasetExists(datasetId: number): boolean {
    return this.db.prepare('SELECT 1 FROM datasets WHERE id = ?').get(datasetId) !== undefined;
  }

  /** Size summary of the images of a pair set (to choose the input shape without reading pixels). */
  imageSizes(pairSetId: number): { width: number; height: number; channels: number }[] {
    return this.db
      .prepare(
        `SELECT DISTINCT i.width, i.height, i.channels FROM image_splits s JOIN images i ON i.id = s.image_id WHERE s.pair_set_id = ?`,
      )
      .all(pairSetId) as { width: number; height: number; channels: number }[];
  }

  /** The images of a pair set in the given splits, with pixels, ordered by id. */
  splitImages(pairSetId: number, splits: Split[]): SplitImageRow[] {
    const marks = splits.map(() => '?').join(', ');
    return this.db
      .prepare(
        `SELECT i.id, i.class_label, s.split, i.width, i.height, i.channels, i.pixel_encoding, i.pixels
         FROM image_splits s JOIN images i ON i.id = s.image_id
         WHERE s.pair_set_id = ? AND s.split IN (${marks}) ORDER BY i.id`,
      )
      .all(pairSetId, ...splits) as SplitImageRow[];
  }

  /** The images with these ids (for pairs whose images have no split row, e.g. CSV pair sets). */
  imagesById(ids: number[]): Omit<SplitImageRow, 'split'>[] {
    const out: Omit<SplitImageRow, 'split'>[] = [];
    const stmt = this.db.prepare('SELECT id, class_label, width, height, channels, pixel_encoding, pixels FROM images WHERE id = ?');
    for (const id of ids) {
      const row = stmt.get(id) as Omit<SplitImageRow, 'split'> | undefined;
      if (row) out.push(row);
    }
    return out;
  }

  pairs(pairSetId: number, split: Split): PairRow[] {
    return this.db
      .prepare('SELECT id, image_a, image_b, label, split FROM pairs WHERE pair_set_id = ? AND split = ? ORDER BY id')
      .all(pairSetId, split) as PairRow[];
  }
}
