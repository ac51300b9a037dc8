// All SQL of the review queue's "heatmap energy mostly outside the mask" filter: its cache
// (mask_energy, migration 0007), the pairs whose cached row is missing or stale, and the count.
import type { Split } from '../../shared/dto';
import type { Db } from './db';

/** A pair of a split with a mask on an image, whose cached measurement is missing or stale. */
export interface StalePair {
  pair_id: number;
  /** the map row to measure: the method's row at the preferred layer, else its newest */
  explanation_id: number;
  explanation_at: string;
  /** the images' newest masks (any author), null for an image without one */
  mask_a: number | null;
  mask_b: number | null;
}

/** What the measurement needs of a map row. */
export interface EnergyMapRow {
  id: number;
  map_height: number;
  map_width: number;
  a_factual: Buffer | null;
  b_factual: Buffer | null;
  meta: string | null;
}

export interface EnergyRow {
  modelId: number;
  method: string;
  pairId: number;
  explanationId: number;
  explanationAt: string;
  maskA: number | null;
  maskB: number | null;
  insideA: number | null;
  insideB: number | null;
  outside: 0 | 1;
}

export class MaskEnergyRepo {
  private readonly upsertStmt;

  constructor(private readonly db: Db) {
    this.upsertStmt = db.prepare(
      `INSERT OR REPLACE INTO mask_energy (model_id, method, pair_id, explanation_id, explanation_at, mask_a, mask_b, inside_a, inside_b, outside)
       VALUES (@modelId, @method, @pairId, @explanationId, @explanationAt, @maskA, @maskB, @insideA, @insideB, @outside)`,
    );
  }

  /** Whether the workspace has any mask (else there is nothing to measure). */
  anyMask(): boolean {
    return (this.db.prepare('SELECT EXISTS (SELECT 1 FROM masks) AS x').get() as { x: number }).x === 1;
  }

  /**
   * The split's pairs with a masked image and a stored map of the method whose cache row is
   * missing, or was measured on another map row, an older map, or other masks.
   */
  stale(q: { modelId: number; pairSetId: number; split: Split; method: string; layer: string | null }): StalePair[] {
    return this.db
      .prepare(MaskEnergyRepo.staleSql())
      .all({ model: q.modelId, set: q.pairSetId, split: q.split, method: q.method, layer: q.layer }) as StalePair[];
  }

  /** SQL of stale() (static for the query-plan test). */
  static staleSql(): string {
    return `WITH masked AS (
           SELECT p.id AS pair_id, p.image_a, p.image_b
             FROM pairs p INDEXED BY pairs_by_set_split
            WHERE p.pair_set_id = @set AND p.split = @split
              AND (EXISTS (SELECT 1 FROM masks m WHERE m.image_id = p.image_a) OR EXISTS (SELECT 1 FROM masks m WHERE m.image_id = p.image_b))
         ),
         wanted AS (
           SELECT pair_id,
                  (SELECT x.id FROM explanations x WHERE x.pair_id = masked.pair_id AND x.model_id = @model AND x.method = @method
                    ORDER BY x.layer IS @layer DESC, x.created_at DESC, x.id DESC LIMIT 1) AS explanation_id,
                  (SELECT m.id FROM masks m INDEXED BY masks_by_image_time WHERE m.image_id = masked.image_a ORDER BY m.created_at DESC, m.id DESC LIMIT 1) AS mask_a,
                  (SELECT m.id FROM masks m INDEXED BY masks_by_image_time WHERE m.image_id = masked.image_b ORDER BY m.created_at DESC, m.id DESC LIMIT 1) AS mask_b
             FROM masked
         )
         SELECT w.pair_id, w.explanation_id, x.created_at AS explanation_at, w.mask_a, w.mask_b
           FROM wanted w
           JOIN explanations x ON x.id = w.explanation_id
           LEFT JOIN mask_energy e ON e.model_id = @model AND e.method = @method AND e.pair_id = w.pair_id
          WHERE e.pair_id IS NULL OR e.explanation_id <> w.explanation_id OR e.explanation_at <> x.created_at
             OR e.mask_a IS NOT w.mask_a OR e.mask_b IS NOT w.mask_b
          ORDER BY w.pair_id`;
  }

  mapRow(id: number): EnergyMapRow | undefined {
    return this.db.prepare('SELECT id, map_height, map_width, a_factual, b_factual, meta FROM explanations WHERE id = ?').get(id) as
      EnergyMapRow | undefined;
  }

  /** Writes measured rows (one transaction). */
  put(rows: readonly EnergyRow[]): void {
    this.db.transaction(() => {
      for (const r of rows) this.upsertStmt.run(r);
    })();
  }

  /** The cached row of a pair (tests, diagnostics). */
  get(modelId: number, method: string, pairId: number): Record<string, unknown> | undefined {
    return this.db.prepare('SELECT * FROM mask_energy WHERE model_id = ? AND method = ? AND pair_id = ?').get(modelId, method, pairId) as
      Record<string, unknown> | undefined;
  }
}
