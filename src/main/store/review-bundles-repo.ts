// All SQL of review bundles: the rows an export writes (verdicts with history, keyed by their
// images' content hashes), the look-ups an import matches with (images by hash, pairs by their
// two images), and the cache of model versions' fingerprints.
import type { ExplainMethod, HeatmapAnswer, SimilarityAnswer, Split } from '../../shared/dto';
import type { Db } from './db';

/** A verdict row as a bundle carries it, with its version's id and its images. */
export interface BundleSourceRow {
  uid: string;
  model_id: number;
  split: Split;
  label: 0 | 1;
  reviewer: string;
  similarity: SimilarityAnswer | null;
  heatmap_a: HeatmapAnswer | null;
  heatmap_b: HeatmapAnswer | null;
  method: ExplainMethod | null;
  layer: string | null;
  note: string | null;
  tags: string | null;
  created_at: string;
  a_sha256: string;
  a_class: string | null;
  a_path: string;
  b_sha256: string;
  b_class: string | null;
  b_path: string;
}

export class ReviewBundlesRepo {
  constructor(private readonly db: Db) {}

  /** Every verdict row (history included) of the version, of one reviewer or all, by pair, reviewer and time. */
  verdictRows(modelId: number, reviewer?: string): BundleSourceRow[] {
    return this.db
      .prepare(
        `SELECT v.uid, v.model_id, p.split, p.label, v.reviewer, v.similarity, v.heatmap_a, v.heatmap_b, v.method, v.layer, v.note,
                (SELECT group_concat(t.tag, ';') FROM verdict_tags t WHERE t.verdict_id = v.id) AS tags, v.created_at,
                a.sha256 AS a_sha256, a.class_label AS a_class, a.source_path AS a_path,
                b.sha256 AS b_sha256, b.class_label AS b_class, b.source_path AS b_path
           FROM verdicts v INDEXED BY verdicts_by_model_reviewer
           JOIN pairs p ON p.id = v.pair_id
           JOIN images a ON a.id = p.image_a
           JOIN images b ON b.id = p.image_b
          WHERE v.model_id = @model AND (@reviewer IS NULL OR v.reviewer = @reviewer)
          ORDER BY v.pair_id, v.reviewer, v.created_at, v.id`,
      )
      .all({ model: modelId, reviewer: reviewer ?? null }) as BundleSourceRow[];
  }

  /** The versions (of a dataset, or all) that have verdicts, by id. */
  modelsWithVerdicts(datasetId?: number): number[] {
    const rows = this.db
      .prepare(
        `SELECT m.id FROM model_versions m
          WHERE (@dataset IS NULL OR m.dataset_id = @dataset)
            AND EXISTS (SELECT 1 FROM verdicts v INDEXED BY verdicts_by_model_reviewer WHERE v.model_id = m.id)
          ORDER BY m.id`,
      )
      .all({ dataset: datasetId ?? null }) as { id: number }[];
    return rows.map((r) => r.id);
  }

  /** The dataset's image hashes, sorted (its fingerprint is their hash). */
  imageHashes(datasetId: number): string[] {
    return (this.db.prepare('SELECT sha256 FROM images WHERE dataset_id = ? ORDER BY sha256').all(datasetId) as { sha256: string }[]).map(
      (r) => r.sha256,
    );
  }

  datasetIds(): number[] {
    return (this.db.prepare('SELECT id FROM datasets ORDER BY id').all() as { id: number }[]).map((r) => r.id);
  }

  /** The image of a dataset with this content hash. */
  imageId(datasetId: number, sha256: string): number | undefined {
    const row = this.db.prepare('SELECT id FROM images WHERE dataset_id = ? AND sha256 = ?').get(datasetId, sha256) as
      { id: number } | undefined;
    return row?.id;
  }

  /**
   * The pair of a pair set made of these two images, preferably in this order (image A first);
   * `swapped` when only the other order exists.
   */
  findPair(pairSetId: number, imageA: number, imageB: number): { id: number; swapped: boolean } | undefined {
    const row = this.db
      .prepare(
        `SELECT id, image_a FROM pairs
          WHERE pair_set_id = @set AND ((image_a = @a AND image_b = @b) OR (image_a = @b AND image_b = @a))
          ORDER BY image_a = @a DESC, id LIMIT 1`,
      )
      .get({ set: pairSetId, a: imageA, b: imageB }) as { id: number; image_a: number } | undefined;
    return row && { id: row.id, swapped: row.image_a !== imageA };
  }

  fingerprint(modelId: number): string | undefined {
    const row = this.db.prepare('SELECT fingerprint FROM model_fingerprints WHERE model_id = ?').get(modelId) as
      { fingerprint: string } | undefined;
    return row?.fingerprint;
  }

  putFingerprint(modelId: number, fingerprint: string): void {
    this.db.prepare('INSERT OR REPLACE INTO model_fingerprints (model_id, fingerprint) VALUES (?, ?)').run(modelId, fingerprint);
  }
}
