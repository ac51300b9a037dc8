// All SQL for verdict rows, their tags and tombstones. A verdict is never updated in place: each
// change is a new row, and `current` marks the newest row (created_at, then id) of each
// (pair, model, reviewer); every write here keeps that mark right (refreshCurrent).
import type { ExplainMethod, HeatmapAnswer, SimilarityAnswer, VerdictDto } from '../../shared/dto';
import type { Db } from './db';

export interface NewVerdict {
  uid: string;
  pairId: number;
  modelId: number;
  reviewer: string;
  similarity: SimilarityAnswer | null;
  heatmapA: HeatmapAnswer | null;
  heatmapB: HeatmapAnswer | null;
  method: ExplainMethod | null;
  layer: string | null;
  note: string | null;
  /** normalised, without duplicates */
  tags: string[];
  origin: 'local' | 'imported';
  /** ISO time with milliseconds (what new Date().toISOString() gives) */
  createdAt: string;
}

export interface VerdictRow {
  id: number;
  uid: string;
  pair_id: number;
  model_id: number | null;
  reviewer: string;
  similarity: SimilarityAnswer | null;
  heatmap_a: HeatmapAnswer | null;
  heatmap_b: HeatmapAnswer | null;
  method: ExplainMethod | null;
  layer: string | null;
  note: string | null;
  current: 0 | 1;
  origin: 'local' | 'imported';
  created_at: string;
  /** the row's tags joined by ';' (tags never contain one), or null */
  tags: string | null;
}

/** The verdict columns and the row's tags; `v` is the verdicts alias. */
export const VERDICT_COLUMNS = `v.id, v.uid, v.pair_id, v.model_id, v.reviewer, v.similarity, v.heatmap_a, v.heatmap_b, v.method, v.layer, v.note,
  v.current, v.origin, v.created_at, (SELECT group_concat(t.tag, ';') FROM verdict_tags t WHERE t.verdict_id = v.id) AS tags`;

export function verdictFrom(r: VerdictRow): VerdictDto {
  return {
    id: r.id,
    uid: r.uid,
    pairId: r.pair_id,
    modelId: r.model_id,
    reviewer: r.reviewer,
    similarity: r.similarity,
    heatmapA: r.heatmap_a,
    heatmapB: r.heatmap_b,
    method: r.method,
    layer: r.layer,
    note: r.note,
    tags: r.tags === null ? [] : r.tags.split(';').sort(),
    complete: r.similarity !== null && r.heatmap_a !== null && r.heatmap_b !== null,
    current: r.current === 1,
    origin: r.origin,
    createdAt: r.created_at,
  };
}

export class VerdictsRepo {
  constructor(private readonly db: Db) {}

  /** Runs fn in one transaction (all-or-nothing; nested calls become savepoints). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** Adds verdict rows with their tags, then marks the newest row of each group they touch; returns their ids. */
  insert(verdicts: readonly NewVerdict[]): number[] {
    const row = this.db.prepare(
      `INSERT INTO verdicts (uid, pair_id, model_id, reviewer, similarity, heatmap_a, heatmap_b, method, layer, note, origin, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const tag = this.db.prepare('INSERT INTO verdict_tags (verdict_id, tag) VALUES (?, ?)');
    return this.transaction(() => {
      const ids: number[] = [];
      const groups = new Map<string, [number, number, string]>();
      for (const x of verdicts) {
        const id = Number(
          row.run(
            x.uid,
            x.pairId,
            x.modelId,
            x.reviewer,
            x.similarity,
            x.heatmapA,
            x.heatmapB,
            x.method,
            x.layer,
            x.note,
            x.origin,
            x.createdAt,
          ).lastInsertRowid,
        );
        for (const t of new Set(x.tags)) tag.run(id, t);
        ids.push(id);
        groups.set(JSON.stringify([x.pairId, x.modelId, x.reviewer]), [x.pairId, x.modelId, x.reviewer]);
      }
      for (const [pairId, modelId, reviewer] of groups.values()) this.refreshCurrent(pairId, modelId, reviewer);
      return ids;
    });
  }

  /** Marks the newest row of (pair, model, reviewer) current and no other (call inside a transaction). */
  private refreshCurrent(pairId: number, modelId: number, reviewer: string): void {
    // clear first: the unique index allows one current row per group at any moment
    this.db
      .prepare('UPDATE verdicts SET current = 0 WHERE model_id = ? AND pair_id = ? AND reviewer = ? AND current = 1')
      .run(modelId, pairId, reviewer);
    this.db
      .prepare(
        `UPDATE verdicts SET current = 1 WHERE id = (
           SELECT id FROM verdicts WHERE pair_id = ? AND model_id = ? AND reviewer = ? ORDER BY created_at DESC, id DESC LIMIT 1)`,
      )
      .run(pairId, modelId, reviewer);
  }

  /** Removes a row (its uid is remembered, so an import does not bring it back); the group's previous row becomes current. */
  remove(id: number): void {
    const row = this.db.prepare('SELECT uid, pair_id, model_id, reviewer FROM verdicts WHERE id = ?').get(id) as
      { uid: string; pair_id: number; model_id: number | null; reviewer: string } | undefined;
    if (!row) return;
    this.transaction(() => {
      this.db.prepare('INSERT OR IGNORE INTO verdict_tombstones (uid) VALUES (?)').run(row.uid);
      this.db.prepare('DELETE FROM verdicts WHERE id = ?').run(id);
      if (row.model_id !== null) this.refreshCurrent(row.pair_id, row.model_id, row.reviewer);
    });
  }

  get(id: number): VerdictDto | undefined {
    const row = this.db.prepare(`SELECT ${VERDICT_COLUMNS} FROM verdicts v WHERE v.id = ?`).get(id) as VerdictRow | undefined;
    return row && verdictFrom(row);
  }

  byUid(uid: string): VerdictDto | undefined {
    const row = this.db.prepare(`SELECT ${VERDICT_COLUMNS} FROM verdicts v WHERE v.uid = ?`).get(uid) as VerdictRow | undefined;
    return row && verdictFrom(row);
  }

  isTombstoned(uid: string): boolean {
    return this.db.prepare('SELECT 1 FROM verdict_tombstones WHERE uid = ?').get(uid) !== undefined;
  }

  /** The reviewer's verdict in force on the pair for the version. */
  current(pairId: number, modelId: number, reviewer: string): VerdictDto | undefined {
    const row = this.db
      .prepare(`SELECT ${VERDICT_COLUMNS} FROM verdicts v WHERE v.model_id = ? AND v.pair_id = ? AND v.reviewer = ? AND v.current = 1`)
      .get(modelId, pairId, reviewer) as VerdictRow | undefined;
    return row && verdictFrom(row);
  }

  /** Every row of the pair and version (of one reviewer, or all), newest first. */
  history(pairId: number, modelId: number, reviewer?: string): VerdictDto[] {
    const rows = (
      reviewer === undefined
        ? this.db
            .prepare(
              `SELECT ${VERDICT_COLUMNS} FROM verdicts v WHERE v.pair_id = ? AND v.model_id = ? ORDER BY v.created_at DESC, v.id DESC`,
            )
            .all(pairId, modelId)
        : this.db
            .prepare(
              `SELECT ${VERDICT_COLUMNS} FROM verdicts v WHERE v.pair_id = ? AND v.model_id = ? AND v.reviewer = ? ORDER BY v.created_at DESC, v.id DESC`,
            )
            .all(pairId, modelId, reviewer)
    ) as VerdictRow[];
    return rows.map(verdictFrom);
  }

  /** The pair of the reviewer's most recently recorded verdict on the version (highest id). */
  lastJudgedPair(modelId: number, reviewer: string): number | undefined {
    const row = this.db
      .prepare('SELECT pair_id FROM verdicts WHERE model_id = ? AND reviewer = ? ORDER BY id DESC LIMIT 1')
      .get(modelId, reviewer) as { pair_id: number } | undefined;
    return row?.pair_id;
  }

  /** Every reviewer with a verdict in the workspace, by name. */
  reviewers(): string[] {
    return (this.db.prepare('SELECT DISTINCT reviewer FROM verdicts ORDER BY reviewer').all() as { reviewer: string }[]).map(
      (r) => r.reviewer,
    );
  }

  /** Tags in use on current verdicts (of one version, or all), with how many carry each. */
  tagCounts(modelId?: number): { tag: string; count: number }[] {
    const sql = `SELECT t.tag, count(*) AS count FROM verdict_tags t JOIN verdicts v ON v.id = t.verdict_id
                  WHERE v.current = 1 ${modelId === undefined ? '' : 'AND v.model_id = ?'} GROUP BY t.tag ORDER BY t.tag`;
    return this.db.prepare(sql).all(...(modelId === undefined ? [] : [modelId])) as { tag: string; count: number }[];
  }
}
