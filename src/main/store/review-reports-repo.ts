// All SQL of the review summaries and the verdict exports: current verdicts of a version with
// their pairs' classes, labels and scores (review.stats), and verdict rows with their pairs'
// images and the version's name (review.export, CSV / JSON).
import type { ExplainMethod, HeatmapAnswer, SimilarityAnswer, Split } from '../../shared/dto';
import type { StatsVerdict } from '../review/stats';
import type { Db } from './db';

/** One exported verdict row (column names are the CSV header's). */
export interface ExportRow {
  uid: string;
  pair_id: number;
  split: Split;
  label: 0 | 1;
  image_a_id: number;
  image_a_path: string;
  image_a_class: string | null;
  image_b_id: number;
  image_b_path: string;
  image_b_class: string | null;
  model_id: number | null;
  model_name: string | null;
  reviewer: string;
  similarity: SimilarityAnswer | null;
  heatmap_a: HeatmapAnswer | null;
  heatmap_b: HeatmapAnswer | null;
  method: ExplainMethod | null;
  layer: string | null;
  note: string | null;
  /** joined by ';' */
  tags: string;
  created_at: string;
  current: 0 | 1;
  origin: 'local' | 'imported';
}

export interface ExportFilter {
  modelId?: number;
  datasetId?: number;
  reviewer?: string;
  /** superseded rows too */
  history: boolean;
}

export class ReviewReportsRepo {
  constructor(private readonly db: Db) {}

  /** The version's current verdicts with their pairs' classes, labels and scores. */
  statsVerdicts(modelId: number): StatsVerdict[] {
    const rows = this.db
      .prepare(
        `SELECT v.pair_id AS pairId, v.reviewer, v.similarity, v.heatmap_a AS heatmapA, v.heatmap_b AS heatmapB, v.method,
                (SELECT group_concat(t.tag, ';') FROM verdict_tags t WHERE t.verdict_id = v.id) AS tags,
                a.class_label AS classA, b.class_label AS classB, p.label, s.score
           FROM verdicts v INDEXED BY verdicts_current
           JOIN pairs p ON p.id = v.pair_id
           JOIN images a ON a.id = p.image_a
           JOIN images b ON b.id = p.image_b
           LEFT JOIN scores s ON s.model_id = v.model_id AND s.pair_id = v.pair_id
          WHERE v.model_id = ? AND v.current = 1
          ORDER BY v.pair_id, v.reviewer`,
      )
      .all(modelId) as (Omit<StatsVerdict, 'tags'> & { tags: string | null })[];
    return rows.map((r) => ({ ...r, tags: r.tags === null ? [] : r.tags.split(';').sort() }));
  }

  /** Rows of the version that a newer row of the same reviewer superseded. */
  supersededCount(modelId: number): number {
    return (this.db.prepare('SELECT count(*) AS n FROM verdicts WHERE model_id = ? AND current = 0').get(modelId) as { n: number }).n;
  }

  /** Verdict rows for an export, by version, pair, reviewer, then time. */
  exportRows(filter: ExportFilter): ExportRow[] {
    return this.db
      .prepare(
        `SELECT v.uid, v.pair_id, p.split, p.label,
                a.id AS image_a_id, a.source_path AS image_a_path, a.class_label AS image_a_class,
                b.id AS image_b_id, b.source_path AS image_b_path, b.class_label AS image_b_class,
                v.model_id, m.name AS model_name, v.reviewer, v.similarity, v.heatmap_a, v.heatmap_b, v.method, v.layer, v.note,
                coalesce((SELECT group_concat(tag, ';') FROM (SELECT t.tag FROM verdict_tags t WHERE t.verdict_id = v.id ORDER BY t.tag)), '') AS tags,
                v.created_at, v.current, v.origin
           FROM verdicts v
           JOIN pairs p ON p.id = v.pair_id
           JOIN images a ON a.id = p.image_a
           JOIN images b ON b.id = p.image_b
           LEFT JOIN model_versions m ON m.id = v.model_id
          WHERE (@history = 1 OR v.current = 1)
            AND (@model IS NULL OR v.model_id = @model)
            AND (@reviewer IS NULL OR v.reviewer = @reviewer)
            AND (@dataset IS NULL OR a.dataset_id = @dataset)
          ORDER BY v.model_id, v.pair_id, v.reviewer, v.created_at, v.id`,
      )
      .all({
        history: filter.history ? 1 : 0,
        model: filter.modelId ?? null,
        reviewer: filter.reviewer ?? null,
        dataset: filter.datasetId ?? null,
      }) as ExportRow[];
  }
}
