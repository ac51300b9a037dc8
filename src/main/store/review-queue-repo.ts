// All SQL of the review queue: a model version's pairs of one split (the base set) with what the
// filters ask of each pair: its score and the model's decision, and a summary of the current
// verdicts on it. One pass over the base set counts the filters on scores (and the filtered total
// and a cursor's position), one over the split's judged pairs those on verdicts; a third reads
// one ordered page. They read the pairs through pairs_by_set_split, scores by their primary key
// and current verdicts through verdicts_current ("unreviewed" probes it per pair; the verdict
// summary is joined only for the filters on answers and tags), so a 20,000-pair split answers in
// tens of milliseconds (test/unit/review-queue.test.ts).
import type { ReviewFiltersDto, ReviewOrder, Split } from '../../shared/dto';
import { shuffleKey } from '../review/shuffle';
import type { Statement } from 'better-sqlite3';
import type { Db } from './db';

/** The queue's base set and how it is seen: whose verdicts are "mine", the threshold, the order. */
export interface QueueScope {
  modelId: number;
  pairSetId: number;
  /** the pair set's dataset */
  datasetId: number;
  split: Split;
  reviewer: string;
  /** the version's decision threshold; null: no decisions (not evaluated) */
  threshold: number | null;
  /** half-width of the near-threshold band */
  nearBand: number;
  order: ReviewOrder;
  seed: number;
  /** the method whose stored maps the maskOutside filter reads (the version's default method) */
  maskMethod: string;
}

/** A place in the queue's order: the sort key of a pair, and the pair. */
export interface QueueCursor {
  key: number;
  pairId: number;
}

/** A pair of the base set as the queue sees it. */
export interface QueueRow {
  pair_id: number;
  sort_key: number;
  label: 0 | 1;
  score: number | null;
  decision: 0 | 1 | null;
}

export interface QueueCounts {
  all: number;
  scored: number;
  unreviewedByMe: number;
  unreviewedByAnyone: number;
  falsePositive: number;
  falseNegative: number;
  nearThreshold: number;
  heatmapNotSensible: number;
  reviewersDisagree: number;
  /** pairs whose measured map energy is mostly outside an image's mask (mask_energy) */
  maskOutside: number;
  /** pairs passing all filters */
  total: number;
  /** of those, how many come up to the cursor, the cursor's pair included (0 without a cursor) */
  upTo: number;
}

/** The images and split of a queued pair. */
export interface QueueItemRow {
  id: number;
  split: Split;
  label: 0 | 1;
  a_id: number;
  a_class: string | null;
  a_path: string;
  b_id: number;
  b_class: string | null;
  b_path: string;
}

/** Each order's sort key (ascending; ties go by pair id). Pairs without a score come last in 'uncertainty'. */
const SORT_KEY: Record<ReviewOrder, string> = {
  uncertainty: 'coalesce(abs(s.score - @threshold), 2.0)',
  random: 'review_shuffle(@seed, p.id)',
  pair: 'p.id',
};

/** Each filter as a condition on the base set's columns. */
function filterConditions(filters: ReviewFiltersDto): string[] {
  const c: string[] = [];
  // "unreviewed": one probe of verdicts_current per pair (cheaper than joining the verdict summary)
  if (filters.unreviewed === 'me')
    c.push(
      'NOT EXISTS (SELECT 1 FROM verdicts v INDEXED BY verdicts_current WHERE v.model_id = @model AND v.pair_id = base.pair_id AND v.reviewer = @me AND v.current = 1)',
    );
  if (filters.unreviewed === 'anyone')
    c.push(
      'NOT EXISTS (SELECT 1 FROM verdicts v INDEXED BY verdicts_current WHERE v.model_id = @model AND v.pair_id = base.pair_id AND v.current = 1)',
    );
  if (filters.falsePositive) c.push('decision = 1 AND label = 0');
  if (filters.falseNegative) c.push('decision = 0 AND label = 1');
  if (filters.nearThreshold) c.push('abs(score - @threshold) <= @band');
  if (filters.heatmapNotSensible) c.push('not_sensible = 1');
  if (filters.reviewersDisagree) c.push('disagree = 1');
  if (filters.classLabel !== undefined) {
    // the class's images, read once from images_by_dataset_class, then tested per pair
    c.push(
      'image_a IN (SELECT id FROM images WHERE dataset_id = @dataset AND class_label = @cls) OR image_b IN (SELECT id FROM images WHERE dataset_id = @dataset AND class_label = @cls)',
    );
  }
  if (filters.tag !== undefined) c.push('tagged = 1');
  // "heatmap energy mostly outside the mask": the cache row of the pair (services/mask-energy.ts measures it before the queue counts)
  if (filters.maskOutside)
    c.push(
      'EXISTS (SELECT 1 FROM mask_energy me WHERE me.model_id = @model AND me.method = @maskMethod AND me.pair_id = base.pair_id AND me.outside = 1)',
    );
  return c;
}

const all = (conditions: string[]) => (conditions.length === 0 ? '1' : conditions.map((x) => `(${x})`).join(' AND '));

/** Do the filters look at verdicts (then the base set joins each pair's verdict summary)? */
const needsVerdicts = (f: ReviewFiltersDto) => Boolean(f.heatmapNotSensible) || Boolean(f.reviewersDisagree) || f.tag !== undefined;

/**
 * Each pair's current verdicts on the version, summed up (one GROUP BY over verdicts_current, in
 * pair order): does this reviewer have one, how many reviewers, was a heatmap judged not
 * sensible, do two reviewers answer a question differently, does one carry the tag.
 */
function verdictSummarySql(withTag: boolean, splitOnly: boolean): string {
  return `SELECT v.pair_id,
             max(v.reviewer = @me) AS mine,
             count(*) AS reviewers,
             coalesce(max(v.heatmap_a = 'not_sensible' OR v.heatmap_b = 'not_sensible'), 0) AS not_sensible,
             -- two different answers to a question: its min and max differ (both skip unanswered)
             coalesce(min(v.similarity) <> max(v.similarity) OR min(v.heatmap_a) <> max(v.heatmap_a) OR min(v.heatmap_b) <> max(v.heatmap_b), 0) AS disagree,
             ${withTag ? 'max(EXISTS (SELECT 1 FROM verdict_tags t WHERE t.verdict_id = v.id AND t.tag = @tag))' : '0'} AS tagged
        FROM verdicts v INDEXED BY verdicts_current
        ${splitOnly ? 'JOIN pairs p ON p.id = v.pair_id' : ''}
       WHERE v.model_id = @model AND v.current = 1 ${splitOnly ? 'AND p.pair_set_id = @set AND p.split = @split' : ''}
       GROUP BY v.pair_id`;
}

/**
 * The base set as a CTE: the split's pairs with their score, the model's decision and the sort
 * key, and (only when a filter needs it) their verdict summary.
 */
function baseSql(order: ReviewOrder, filters: ReviewFiltersDto): string {
  const verdicts = needsVerdicts(filters);
  return `WITH ${verdicts ? `vs AS (${verdictSummarySql(filters.tag !== undefined, false)}),` : ''}
    base AS (
      SELECT p.id AS pair_id, p.label, p.image_a, p.image_b, s.score,
             CASE WHEN s.score IS NULL OR @threshold IS NULL THEN NULL WHEN s.score >= @threshold THEN 1 ELSE 0 END AS decision,
             ${verdicts ? 'coalesce(vs.not_sensible, 0) AS not_sensible, coalesce(vs.disagree, 0) AS disagree, coalesce(vs.tagged, 0) AS tagged,' : ''}
             ${SORT_KEY[order]} AS sort_key
        FROM pairs p INDEXED BY pairs_by_set_split
        LEFT JOIN scores s ON s.model_id = @model AND s.pair_id = p.id
        ${verdicts ? 'LEFT JOIN vs ON vs.pair_id = p.id' : ''}
       WHERE p.pair_set_id = @set AND p.split = @split
    )`;
}

const UP_TO_CURSOR = '(sort_key < @key OR (sort_key = @key AND pair_id <= @after))';

/** Prepared statements kept at most (the SQL varies with the filters, the order and the cursor). */
const STATEMENT_CACHE = 256;

export class ReviewQueueRepo {
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly db: Db) {
    // the 'random' order's key (review/shuffle.ts), a pure function of (seed, pair id)
    db.function('review_shuffle', { deterministic: true }, (seed: unknown, id: unknown) => shuffleKey(Number(seed), Number(id)));
  }

  /** SQL of the counting pass over the base set (static for the query-plan test). */
  static countsSql(order: ReviewOrder, filters: ReviewFiltersDto, withCursor: boolean): string {
    const filtered = all(filterConditions(filters));
    return `${baseSql(order, filters)}
      SELECT count(*) AS "all", count(score) AS scored,
             coalesce(sum(decision = 1 AND label = 0), 0) AS falsePositive,
             coalesce(sum(decision = 0 AND label = 1), 0) AS falseNegative,
             coalesce(sum(abs(score - @threshold) <= @band), 0) AS nearThreshold,
             coalesce(sum(CASE WHEN ${filtered} THEN 1 ELSE 0 END), 0) AS total,
             ${withCursor ? `coalesce(sum(CASE WHEN ${filtered} AND ${UP_TO_CURSOR} THEN 1 ELSE 0 END), 0)` : '0'} AS upTo
        FROM base`;
  }

  /** SQL of the filters on verdicts counted over the split's judged pairs only (far fewer than its pairs). */
  static verdictCountsSql(): string {
    return `SELECT coalesce(sum(mine), 0) AS reviewedByMe, count(*) AS reviewedByAnyone,
                   coalesce(sum(not_sensible), 0) AS heatmapNotSensible, coalesce(sum(disagree), 0) AS reviewersDisagree
              FROM (${verdictSummarySql(false, true)})`;
  }

  /** SQL of the maskOutside filter's count: the split's pairs with a cache row that says "outside" (only masked pairs have rows). */
  static maskOutsideCountSql(): string {
    return `SELECT count(*) AS maskOutside FROM mask_energy e JOIN pairs p ON p.id = e.pair_id
             WHERE e.model_id = @model AND e.method = @maskMethod AND e.outside = 1 AND p.pair_set_id = @set AND p.split = @split`;
  }

  /** SQL of one page: the filtered pairs in order, from a cursor (exclusive, or inclusive) or an offset. */
  static pageSql(order: ReviewOrder, filters: ReviewFiltersDto, cursor: 'none' | 'after' | 'from'): string {
    const conditions = filterConditions(filters);
    if (cursor === 'after') conditions.push('sort_key > @key OR (sort_key = @key AND pair_id > @after)');
    if (cursor === 'from') conditions.push('sort_key > @key OR (sort_key = @key AND pair_id >= @after)');
    return `${baseSql(order, filters)}
      SELECT pair_id, sort_key, label, score, decision FROM base
       WHERE ${all(conditions)}
       ORDER BY sort_key, pair_id
       LIMIT @limit OFFSET @offset`;
  }

  /** The prepared statement of this SQL text, prepared once. */
  private statement(sql: string): Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      if (this.statements.size >= STATEMENT_CACHE) this.statements.clear();
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  private params(scope: QueueScope, filters: ReviewFiltersDto, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      model: scope.modelId,
      set: scope.pairSetId,
      dataset: scope.datasetId,
      split: scope.split,
      me: scope.reviewer,
      threshold: scope.threshold,
      band: scope.nearBand,
      seed: scope.seed,
      tag: filters.tag ?? null,
      cls: filters.classLabel ?? null,
      maskMethod: scope.maskMethod,
      ...extra,
    };
  }

  /** Every filter's count on the base set, the filtered total and (with a cursor) how many of those come up to it. */
  counts(scope: QueueScope, filters: ReviewFiltersDto, cursor?: QueueCursor): QueueCounts {
    const sql = ReviewQueueRepo.countsSql(scope.order, filters, cursor !== undefined);
    const base = this.statement(sql).get(this.params(scope, filters, cursor ? { key: cursor.key, after: cursor.pairId } : {})) as Omit<
      QueueCounts,
      'unreviewedByMe' | 'unreviewedByAnyone' | 'heatmapNotSensible' | 'reviewersDisagree' | 'maskOutside'
    >;
    const judged = this.statement(ReviewQueueRepo.verdictCountsSql()).get(this.params(scope, {})) as {
      reviewedByMe: number;
      reviewedByAnyone: number;
      heatmapNotSensible: number;
      reviewersDisagree: number;
    };
    return {
      ...base,
      unreviewedByMe: base.all - judged.reviewedByMe,
      unreviewedByAnyone: base.all - judged.reviewedByAnyone,
      heatmapNotSensible: judged.heatmapNotSensible,
      reviewersDisagree: judged.reviewersDisagree,
      maskOutside: (this.statement(ReviewQueueRepo.maskOutsideCountSql()).get(this.params(scope, {})) as { maskOutside: number })
        .maskOutside,
    };
  }

  /** How many reviewers have a current verdict on the pair for the version, and whether `reviewer` is one. */
  reviewersOf(modelId: number, pairId: number, reviewer: string): { reviewers: number; mine: 0 | 1 } {
    return this.db
      .prepare(
        'SELECT count(*) AS reviewers, coalesce(max(reviewer = ?), 0) AS mine FROM verdicts INDEXED BY verdicts_current WHERE model_id = ? AND pair_id = ? AND current = 1',
      )
      .get(reviewer, modelId, pairId) as { reviewers: number; mine: 0 | 1 };
  }

  /** Up to `limit` filtered pairs in order: after the cursor (`from`: from it on), or from `offset`. */
  page(
    scope: QueueScope,
    filters: ReviewFiltersDto,
    at: { cursor?: QueueCursor; inclusive?: boolean; offset?: number; limit: number },
  ): QueueRow[] {
    const kind = at.cursor === undefined ? 'none' : at.inclusive ? 'from' : 'after';
    const sql = ReviewQueueRepo.pageSql(scope.order, filters, kind);
    const extra = { limit: at.limit, offset: at.offset ?? 0, ...(at.cursor ? { key: at.cursor.key, after: at.cursor.pairId } : {}) };
    return this.statement(sql).all(this.params(scope, filters, extra)) as QueueRow[];
  }

  /** A pair's place in the scope's order, with its pair set and split (to check it belongs); undefined for an unknown pair. */
  cursorOf(scope: QueueScope, pairId: number): (QueueCursor & { pairSetId: number; split: Split }) | undefined {
    const row = this.db
      .prepare(
        `SELECT p.pair_set_id, p.split, ${SORT_KEY[scope.order]} AS sort_key
           FROM pairs p LEFT JOIN scores s ON s.model_id = @model AND s.pair_id = p.id
          WHERE p.id = @pair`,
      )
      .get({ model: scope.modelId, threshold: scope.threshold, seed: scope.seed, pair: pairId }) as
      { pair_set_id: number; split: Split; sort_key: number } | undefined;
    return row && { key: row.sort_key, pairId, pairSetId: row.pair_set_id, split: row.split };
  }

  /** The pair set and split of a pair; undefined for an unknown pair. */
  pairPlace(pairId: number): { pairSetId: number; split: Split } | undefined {
    const row = this.db.prepare('SELECT pair_set_id, split FROM pairs WHERE id = ?').get(pairId) as
      { pair_set_id: number; split: Split } | undefined;
    return row && { pairSetId: row.pair_set_id, split: row.split };
  }

  /** When the pair set was made: with its id, a key for what never changes in it (its pairs, their images' classes). */
  pairSetStamp(pairSetId: number): string | undefined {
    return (this.db.prepare('SELECT created_at FROM pair_sets WHERE id = ?').get(pairSetId) as { created_at: string } | undefined)
      ?.created_at;
  }

  /** Per class label, the split's pairs with an image of that class (a pair of two classes counts for both). */
  classCounts(pairSetId: number, split: Split): { classLabel: string; count: number }[] {
    return this.db
      .prepare(
        `SELECT c AS classLabel, count(*) AS count FROM (
           SELECT a.class_label AS c
             FROM pairs p INDEXED BY pairs_by_set_split JOIN images a ON a.id = p.image_a
            WHERE p.pair_set_id = @set AND p.split = @split
           UNION ALL
           SELECT b.class_label
             FROM pairs p INDEXED BY pairs_by_set_split JOIN images a ON a.id = p.image_a JOIN images b ON b.id = p.image_b
            WHERE p.pair_set_id = @set AND p.split = @split AND b.class_label IS NOT a.class_label
         ) WHERE c IS NOT NULL GROUP BY c ORDER BY c`,
      )
      .all({ set: pairSetId, split }) as { classLabel: string; count: number }[];
  }

  /** Per tag, the split's pairs whose current verdicts on the version carry it. */
  tagCounts(scope: QueueScope): { tag: string; count: number }[] {
    return this.db
      .prepare(
        `SELECT t.tag, count(DISTINCT v.pair_id) AS count
           FROM verdicts v INDEXED BY verdicts_current
           JOIN pairs p ON p.id = v.pair_id
           JOIN verdict_tags t ON t.verdict_id = v.id
          WHERE v.model_id = @model AND v.current = 1 AND p.pair_set_id = @set AND p.split = @split
          GROUP BY t.tag ORDER BY t.tag`,
      )
      .all({ model: scope.modelId, set: scope.pairSetId, split: scope.split }) as { tag: string; count: number }[];
  }

  /** The images, split and label of these pairs, in the order given. */
  items(pairIds: readonly number[]): QueueItemRow[] {
    const stmt = this.db.prepare(
      `SELECT p.id, p.split, p.label, a.id AS a_id, a.class_label AS a_class, a.source_path AS a_path,
              b.id AS b_id, b.class_label AS b_class, b.source_path AS b_path
         FROM pairs p JOIN images a ON a.id = p.image_a JOIN images b ON b.id = p.image_b
        WHERE p.id = ?`,
    );
    return pairIds.map((id) => stmt.get(id) as QueueItemRow);
  }
}
