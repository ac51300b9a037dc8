// The review workbench: reviewers record verdicts on pairs for a model version (similarity
// correct / wrong, each heatmap sensible / not sensible / unsure, note, tags), work through a
// filtered, ordered queue in sessions that resume, undo their last verdict, and read a
// version's summary with the agreement between reviewers. Bundles and exports: review-bundles.ts.
import { randomUUID } from 'node:crypto';
import type { ArgsOf } from '../../shared/contract';
import {
  DEFAULT_REVIEW_TAGS,
  type ReviewerDto,
  type ReviewFiltersDto,
  type ReviewQueueDto,
  type ReviewQueueItemDto,
  type ReviewSessionDto,
  type ReviewStatsDto,
  type ReviewTagDto,
  type VerdictDto,
  type VerdictResultDto,
  type VerdictUndoDto,
  type ExplainMethod,
} from '../../shared/dto';
import { NEAR_BAND_DEFAULT } from '../../shared/review';
import { AppError, invalid, notFound } from '../errors';
import { reviewStats } from '../review/stats';
import type { Db } from '../store/db';
import { FaithfulnessRepo } from '../store/faithfulness-repo';
import { ModelsRepo } from '../store/models-repo';
import { ReviewQueueRepo, type QueueCursor, type QueueRow, type QueueScope } from '../store/review-queue-repo';
import { ReviewReportsRepo } from '../store/review-reports-repo';
import { ReviewSessionsRepo, type StoredSession } from '../store/review-sessions-repo';
import { VerdictsRepo } from '../store/verdicts-repo';

export const DEFAULT_QUEUE_LIMIT = 50;
/** Class counts of this many (pair set, split)s are kept. */
const CLASS_COUNT_CACHE = 16;

/** A version as the review sees it: its pair set and decision threshold. */
interface ReviewedVersion {
  id: number;
  pairSetId: number;
  datasetId: number;
  threshold: number | null;
}

/** The filters as stored and answered: flags that are off are dropped. */
export function normaliseFilters(filters: ReviewFiltersDto = {}): ReviewFiltersDto {
  return Object.fromEntries(Object.entries(filters).filter(([, value]) => value !== false && value !== undefined)) as ReviewFiltersDto;
}

const sameAnswers = (
  a: VerdictDto,
  b: Omit<VerdictDto, 'id' | 'uid' | 'pairId' | 'modelId' | 'reviewer' | 'complete' | 'current' | 'origin' | 'createdAt'>,
) =>
  a.similarity === b.similarity &&
  a.heatmapA === b.heatmapA &&
  a.heatmapB === b.heatmapB &&
  a.method === b.method &&
  a.layer === b.layer &&
  a.note === b.note &&
  a.tags.join(';') === b.tags.join(';');

export class ReviewService {
  readonly verdicts: VerdictsRepo;
  private readonly models: ModelsRepo;
  private readonly sessions: ReviewSessionsRepo;
  private readonly queueRepo: ReviewQueueRepo;
  private readonly reports: ReviewReportsRepo;
  /** the versions' default methods (the maskOutside filter reads their maps) */
  private readonly faithfulness: FaithfulnessRepo;
  /** A split's class counts never change (pair sets and class labels are written once): kept, by set, split and the set's creation time. */
  private readonly classCountCache = new Map<string, { classLabel: string; count: number }[]>();

  constructor(db: Db) {
    this.verdicts = new VerdictsRepo(db);
    this.models = new ModelsRepo(db);
    this.sessions = new ReviewSessionsRepo(db);
    this.queueRepo = new ReviewQueueRepo(db);
    this.reports = new ReviewReportsRepo(db);
    this.faithfulness = new FaithfulnessRepo(db);
  }

  // ---- reviewers ----

  reviewer(): ReviewerDto {
    return { name: this.sessions.reviewer(), known: this.verdicts.reviewers() };
  }

  /** `name` comes checked and trimmed (src/shared/review.ts). */
  setReviewer(name: string): ReviewerDto {
    this.sessions.setReviewer(name);
    return this.reviewer();
  }

  /** The reviewer a call acts for: the one it names, else the workspace's current one. */
  reviewerOf(given?: string): string {
    const name = given ?? this.sessions.reviewer();
    if (name === null) throw new AppError('conflict', 'No reviewer is set for this workspace: set your name first (review.setReviewer)');
    return name;
  }

  // ---- versions and pairs ----

  private version(modelId: number): ReviewedVersion {
    const row = this.models.get(modelId);
    if (!row) throw notFound('Model version', modelId);
    if (row.pair_set_id === null || row.dataset_id === null) {
      throw new AppError('conflict', `Model version ${modelId} has no pair set (it was deleted): none of its pairs can be reviewed`);
    }
    return { id: row.id, pairSetId: row.pair_set_id, datasetId: row.dataset_id, threshold: row.metrics?.threshold ?? null };
  }

  private scope(
    version: ReviewedVersion,
    s: { split: QueueScope['split']; reviewer: string; filters: ReviewFiltersDto; order?: QueueScope['order']; seed?: number },
  ): QueueScope {
    return {
      modelId: version.id,
      pairSetId: version.pairSetId,
      datasetId: version.datasetId,
      split: s.split,
      reviewer: s.reviewer,
      threshold: version.threshold,
      nearBand: s.filters.nearBand ?? NEAR_BAND_DEFAULT,
      order: s.order ?? 'uncertainty',
      seed: s.seed ?? 0,
      maskMethod: this.maskMethodOf(version.id),
    };
  }

  /** The pair's place in the scope's order; not_found for an unknown pair, invalid_argument for one outside the split. */
  private cursorIn(scope: QueueScope, pairId: number, what: string): QueueCursor {
    const place = this.queueRepo.cursorOf(scope, pairId);
    if (!place) throw notFound('Pair', pairId);
    if (place.pairSetId !== scope.pairSetId || place.split !== scope.split) {
      throw invalid(
        `${what}: pair ${pairId} is not among the ${scope.split} pairs of model version ${scope.modelId}'s pair set ${scope.pairSetId}`,
      );
    }
    return place;
  }

  /** Checks that the pair exists and belongs to the version's pair set. */
  private checkPair(version: ReviewedVersion, pairId: number): void {
    const place = this.queueRepo.pairPlace(pairId);
    if (!place) throw notFound('Pair', pairId);
    if (place.pairSetId !== version.pairSetId)
      throw invalid(`Pair ${pairId} is not in model version ${version.id}'s pair set ${version.pairSetId}`);
  }

  // ---- verdicts ----

  verdict(args: ArgsOf<'review.verdict'>): VerdictResultDto {
    const reviewer = this.reviewerOf(args.reviewer);
    const version = this.version(args.modelId);
    this.checkPair(version, args.pairId);
    const next = {
      similarity: args.similarity ?? null,
      heatmapA: args.heatmapA ?? null,
      heatmapB: args.heatmapB ?? null,
      method: args.method ?? null,
      layer: args.layer ?? null,
      note: args.note ?? null,
      tags: args.tags ?? [],
    };
    if (next.similarity === null && next.heatmapA === null && next.heatmapB === null && next.note === null && next.tags.length === 0) {
      throw invalid('A verdict needs at least one answer (similarity, heatmapA, heatmapB), a note or a tag');
    }
    if ((next.heatmapA !== null || next.heatmapB !== null) && (next.method === null || next.layer === null)) {
      throw invalid('args.method, args.layer: a heatmap answer needs the method and layer of the map that was shown');
    }
    const history = this.verdicts.history(args.pairId, version.id, reviewer);
    const current = history[0];
    if (current && sameAnswers(current, next)) return { verdict: current, changed: false, previous: history[1] ?? null };
    // A change always becomes the verdict in force, even after an imported row stamped later
    // by another machine's clock.
    let createdAt = new Date().toISOString();
    if (current && current.createdAt >= createdAt) createdAt = new Date(Date.parse(current.createdAt) + 1).toISOString();
    const [id] = this.verdicts.insert([
      { uid: randomUUID(), pairId: args.pairId, modelId: version.id, reviewer, ...next, origin: 'local', createdAt },
    ]);
    return { verdict: this.verdicts.get(id)!, changed: true, previous: current ? { ...current, current: false } : null };
  }

  /** Removes the reviewer's newest verdict on the pair (default: on the pair they judged last). */
  undo(args: ArgsOf<'review.undo'>): VerdictUndoDto {
    const reviewer = this.reviewerOf(args.reviewer);
    const version = this.version(args.modelId);
    if (args.pairId !== undefined) this.checkPair(version, args.pairId);
    const pairId = args.pairId ?? this.verdicts.lastJudgedPair(version.id, reviewer);
    const newest = pairId === undefined ? undefined : this.verdicts.current(pairId, version.id, reviewer);
    if (pairId === undefined || !newest) return { undone: null, current: null };
    this.verdicts.remove(newest.id);
    return { undone: { ...newest, current: false }, current: this.verdicts.current(pairId, version.id, reviewer) ?? null };
  }

  history(args: ArgsOf<'review.history'>): VerdictDto[] {
    const version = this.version(args.modelId);
    this.checkPair(version, args.pairId);
    return this.verdicts.history(args.pairId, version.id, args.reviewer);
  }

  /** The defaults first, then the reviewers' own tags by name; counts on current verdicts. */
  tags(modelId?: number): ReviewTagDto[] {
    if (modelId !== undefined && !this.models.get(modelId)) throw notFound('Model version', modelId);
    const counts = new Map(this.verdicts.tagCounts(modelId).map((t) => [t.tag, t.count]));
    const own = this.verdicts
      .tagCounts()
      .map((t) => t.tag)
      .filter((t) => !DEFAULT_REVIEW_TAGS.includes(t));
    return [
      ...DEFAULT_REVIEW_TAGS.map((tag) => ({ tag, count: counts.get(tag) ?? 0, builtin: true })),
      ...own.map((tag) => ({ tag, count: counts.get(tag) ?? 0, builtin: false })),
    ];
  }

  // ---- the queue and sessions ----

  queue(args: ArgsOf<'review.queue'>): ReviewQueueDto {
    const reviewer = this.reviewerOf(args.reviewer);
    const version = this.version(args.modelId);
    const filters = normaliseFilters(args.filters);
    const scope = this.scope(version, { split: args.split, reviewer, filters, order: args.order, seed: args.seed });
    const limit = args.limit ?? DEFAULT_QUEUE_LIMIT;
    const cursor = args.afterPairId === undefined ? undefined : this.cursorIn(scope, args.afterPairId, 'args.afterPairId');
    const { total, upTo, ...counts } = this.queueRepo.counts(scope, filters, cursor);
    const rows = this.queueRepo.page(scope, filters, { cursor, offset: args.offset, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const offset = cursor ? upTo : (args.offset ?? 0);
    return {
      modelId: version.id,
      pairSetId: version.pairSetId,
      split: args.split,
      reviewer,
      filters,
      order: scope.order,
      seed: scope.seed,
      threshold: version.threshold,
      items: this.items(scope, page, offset),
      total,
      offset,
      nextAfterPairId: rows.length > limit ? page[page.length - 1].pair_id : null,
      counts: { ...counts, classes: this.classCounts(version.pairSetId, args.split), tags: this.tagCountsIn(scope) },
    };
  }

  private classCounts(pairSetId: number, split: QueueScope['split']): { classLabel: string; count: number }[] {
    // the creation time guards against a reused id (SQLite may reuse the largest id after a delete)
    const key = `${pairSetId}:${split}:${this.queueRepo.pairSetStamp(pairSetId)}`;
    let counts = this.classCountCache.get(key);
    if (!counts) {
      counts = this.queueRepo.classCounts(pairSetId, split);
      if (this.classCountCache.size >= CLASS_COUNT_CACHE) this.classCountCache.delete(this.classCountCache.keys().next().value!);
      this.classCountCache.set(key, counts);
    }
    return counts;
  }

  /** Per tag (the defaults and every tag in use), the base set's pairs whose current verdicts carry it. */
  private tagCountsIn(scope: QueueScope): { tag: string; count: number }[] {
    const inSplit = new Map(this.queueRepo.tagCounts(scope).map((t) => [t.tag, t.count]));
    const names = [...new Set([...DEFAULT_REVIEW_TAGS, ...this.verdicts.tagCounts().map((t) => t.tag)])];
    return names.map((tag) => ({ tag, count: inSplit.get(tag) ?? 0 }));
  }

  private items(scope: QueueScope, rows: QueueRow[], offset: number): ReviewQueueItemDto[] {
    const details = this.queueRepo.items(rows.map((r) => r.pair_id));
    return rows.map((r, i) => {
      const d = details[i];
      const judged = this.queueRepo.reviewersOf(scope.modelId, r.pair_id, scope.reviewer);
      return {
        pairId: r.pair_id,
        position: offset + i,
        split: d.split,
        label: r.label,
        a: { id: d.a_id, classLabel: d.a_class, sourcePath: d.a_path },
        b: { id: d.b_id, classLabel: d.b_class, sourcePath: d.b_path },
        score: r.score,
        decision: r.decision,
        modelRight: r.decision === null ? null : r.decision === r.label,
        verdict: judged.mine ? (this.verdicts.current(r.pair_id, scope.modelId, scope.reviewer) ?? null) : null,
        othersReviewed: judged.reviewers - judged.mine,
      };
    });
  }

  session(args: ArgsOf<'review.session'>): ReviewSessionDto | null {
    const reviewer = this.reviewerOf(args.reviewer);
    if (args.modelId !== undefined && !this.models.get(args.modelId)) throw notFound('Model version', args.modelId);
    const stored = this.sessions.get(reviewer, args.modelId);
    return stored ? { ...stored, next: this.resumePoint(stored) } : null;
  }

  saveSession(args: ArgsOf<'review.saveSession'>): ReviewSessionDto {
    const reviewer = this.reviewerOf(args.reviewer);
    const version = this.version(args.modelId);
    const filters = normaliseFilters(args.filters);
    const scope = this.scope(version, { split: args.split, reviewer, filters, order: args.order, seed: args.seed });
    if (args.pairId !== undefined) this.cursorIn(scope, args.pairId, 'args.pairId');
    const stored: StoredSession = {
      reviewer,
      modelId: version.id,
      split: args.split,
      filters,
      order: scope.order,
      seed: scope.seed,
      pairId: args.pairId ?? null,
      position: args.position ?? 0,
      updatedAt: new Date().toISOString(),
    };
    this.sessions.put(stored);
    return { ...stored, next: this.resumePoint(stored) };
  }

  /**
   * Where a session resumes: the first pair of its queue (its filters and order) without a verdict
   * of its reviewer, from the pair it stopped at on; else from the start; null when none is left.
   */
  private resumePoint(s: StoredSession): ReviewSessionDto['next'] {
    const row = this.models.get(s.modelId);
    if (!row || row.pair_set_id === null || row.dataset_id === null) return null;
    const scope = this.scope(this.version(s.modelId), s);
    const unreviewed: ReviewFiltersDto = { ...s.filters, unreviewed: s.filters.unreviewed === 'anyone' ? 'anyone' : 'me' };
    const stoppedAt = s.pairId === null ? undefined : this.queueRepo.cursorOf(scope, s.pairId);
    const inQueue = stoppedAt && stoppedAt.pairSetId === scope.pairSetId && stoppedAt.split === scope.split ? stoppedAt : undefined;
    const next =
      (inQueue && this.queueRepo.page(scope, unreviewed, { cursor: inQueue, inclusive: true, limit: 1 })[0]) ||
      this.queueRepo.page(scope, unreviewed, { limit: 1 })[0];
    if (!next) return null;
    const { upTo } = this.queueRepo.counts(scope, s.filters, { key: next.sort_key, pairId: next.pair_id });
    return { pairId: next.pair_id, position: upTo - 1 };
  }

  /** The method whose maps the maskOutside filter reads: the version's default method (explain.layers), Grad-CAM without a faithfulness summary. */
  maskMethodOf(modelId: number): ExplainMethod {
    return this.faithfulness.get(modelId)?.defaultMethod ?? 'gradcam';
  }

  // ---- summaries ----

  stats(modelId: number): ReviewStatsDto {
    const row = this.models.get(modelId);
    if (!row) throw notFound('Model version', modelId);
    const threshold = row.metrics?.threshold ?? null;
    return reviewStats(modelId, threshold, this.reports.statsVerdicts(modelId), this.reports.supersededCount(modelId));
  }
}
