// All SQL for the review workbench's workspace settings (the current reviewer) and the
// reviewers' sessions (one per reviewer and model version).
import type { ReviewFiltersDto, ReviewOrder, Split } from '../../shared/dto';
import type { Db } from './db';

const REVIEWER_KEY = 'reviewer';

export interface StoredSession {
  reviewer: string;
  modelId: number;
  split: Split;
  filters: ReviewFiltersDto;
  order: ReviewOrder;
  seed: number;
  pairId: number | null;
  position: number;
  updatedAt: string;
}

interface SessionRow {
  reviewer: string;
  model_id: number;
  split: Split;
  filters: string;
  sort_order: ReviewOrder;
  seed: number;
  pair_id: number | null;
  position: number;
  updated_at: string;
}

const fromRow = (r: SessionRow): StoredSession => ({
  reviewer: r.reviewer,
  modelId: r.model_id,
  split: r.split,
  filters: JSON.parse(r.filters) as ReviewFiltersDto,
  order: r.sort_order,
  seed: r.seed,
  pairId: r.pair_id,
  position: r.position,
  updatedAt: r.updated_at,
});

export class ReviewSessionsRepo {
  constructor(private readonly db: Db) {}

  reviewer(): string | null {
    const row = this.db.prepare('SELECT value FROM review_settings WHERE key = ?').get(REVIEWER_KEY) as { value: string } | undefined;
    return row?.value ?? null;
  }

  setReviewer(name: string): void {
    this.db
      .prepare('INSERT INTO review_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
      .run(REVIEWER_KEY, name);
  }

  /** Creates or replaces the reviewer's session on the version. */
  put(s: StoredSession): void {
    this.db
      .prepare(
        `INSERT INTO review_sessions (reviewer, model_id, split, filters, sort_order, seed, pair_id, position, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (reviewer, model_id) DO UPDATE SET split = excluded.split, filters = excluded.filters, sort_order = excluded.sort_order,
           seed = excluded.seed, pair_id = excluded.pair_id, position = excluded.position, updated_at = excluded.updated_at`,
      )
      .run(s.reviewer, s.modelId, s.split, JSON.stringify(s.filters), s.order, s.seed, s.pairId, s.position, s.updatedAt);
  }

  /** The reviewer's session on the version, or (without a version) their most recently updated one. */
  get(reviewer: string, modelId?: number): StoredSession | undefined {
    const row = (
      modelId === undefined
        ? this.db.prepare('SELECT * FROM review_sessions WHERE reviewer = ? ORDER BY updated_at DESC LIMIT 1').get(reviewer)
        : this.db.prepare('SELECT * FROM review_sessions WHERE reviewer = ? AND model_id = ?').get(reviewer, modelId)
    ) as SessionRow | undefined;
    return row && fromRow(row);
  }
}
