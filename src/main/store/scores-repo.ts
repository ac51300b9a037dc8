// All SQL for the scores table: one row per (model version, pair).
import type { Db } from './db';

export interface ScoreRow {
  pairId: number;
  score: number;
  distance: number;
}

export class ScoresRepo {
  constructor(private readonly db: Db) {}

  /** Writes (or overwrites) scores of a model, in one transaction. */
  upsert(modelId: number, rows: ScoreRow[]): void {
    const stmt = this.db.prepare('INSERT OR REPLACE INTO scores (pair_id, model_id, score, distance) VALUES (?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const r of rows) stmt.run(r.pairId, modelId, r.score, r.distance);
    })();
  }

  forModel(modelId: number, pairIds?: number[]): ScoreRow[] {
    if (pairIds === undefined) {
      return this.db
        .prepare('SELECT pair_id AS pairId, score, distance FROM scores WHERE model_id = ? ORDER BY pair_id')
        .all(modelId) as ScoreRow[];
    }
    const stmt = this.db.prepare('SELECT pair_id AS pairId, score, distance FROM scores WHERE model_id = ? AND pair_id = ?');
    return pairIds.map((id) => stmt.get(modelId, id) as ScoreRow | undefined).filter((r): r is ScoreRow => r !== undefined);
  }

  count(modelId: number): number {
    return (this.db.prepare('SELECT count(*) AS n FROM scores WHERE model_id = ?').get(modelId) as { n: number }).n;
  }

  deleteForModel(modelId: number): number {
    return this.db.prepare('DELETE FROM scores WHERE model_id = ?').run(modelId).changes;
  }
}
