import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type {
  ReviewFilterCountsDto,
  ReviewFiltersDto,
  ReviewOrder,
  ReviewQueueDto,
  ReviewQueueItemDto,
  Split,
} from '../../../../shared/dto';
import { errorMessage, useApi } from '../../api';
import { useAppStore } from '../app';

/** A review session's queue: a model version's pairs of a split, filtered, in an order. */
export interface QueueSettings {
  modelId: number;
  split: Split;
  filters: ReviewFiltersDto;
  order: ReviewOrder;
  seed: number;
}

export const QUEUE_PAGE = 50;
/** Pairs loaded before a resume point, so "previous" needs no request at first. */
const BEFORE_RESUME = 5;

const sameSettings = (a: QueueSettings, b: QueueSettings) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The review queue as loaded: a window of the server's queue (review.queue pages, forward by
 * the last pair's cursor, backward by position), the pair on screen, the filter counts and the
 * progress ("n to go of m"). The loaded items are a snapshot: a pair judged stays where it is
 * even when a filter ("unreviewed") no longer keeps it, so previous and undo find it.
 */
export const useReviewQueueStore = defineStore('review-queue', () => {
  const api = useApi();
  const app = useAppStore();

  const settings = ref<QueueSettings | null>(null);
  const items = shallowRef<ReviewQueueItemDto[]>([]);
  const index = ref(0);
  /** pairs passing all filters, at the last load */
  const total = ref(0);
  const threshold = ref<number | null>(null);
  const counts = shallowRef<ReviewFilterCountsDto | null>(null);
  const hasMore = ref(false);
  const loading = ref(false);
  const error = ref<string | null>(null);
  /** this reviewer's pairs without a verdict in the queue (its filters but "unreviewed"), of all its pairs */
  const progress = ref<{ toGo: number; of: number } | null>(null);
  const current = computed(() => items.value[index.value] ?? null);
  /** no pair after the current one (loaded, or to load) */
  const atEnd = computed(() => index.value >= items.value.length - 1 && !hasMore.value);
  const atStart = computed(() => index.value <= 0 && (items.value[0]?.position ?? 0) === 0);

  let seq = 0;
  let paging: Promise<void> | null = null;

  const argsOf = (s: QueueSettings) => ({ modelId: s.modelId, split: s.split, filters: s.filters, order: s.order, seed: s.seed });

  function take(page: ReviewQueueDto): void {
    total.value = page.total;
    threshold.value = page.threshold;
    counts.value = page.counts;
  }

  /** Opens a queue at a pair (a session's resume point) or at its start. */
  async function open(s: QueueSettings, at?: { pairId: number; position: number } | null): Promise<void> {
    const mine = ++seq;
    settings.value = s;
    loading.value = true;
    error.value = null;
    paging = null;
    try {
      const offset = at ? Math.max(0, at.position - BEFORE_RESUME) : 0;
      const page = await api['review.queue']({ ...argsOf(s), offset, limit: QUEUE_PAGE });
      if (mine !== seq) return;
      take(page);
      items.value = page.items;
      hasMore.value = page.nextAfterPairId !== null;
      const found = at ? page.items.findIndex((x) => x.pairId === at.pairId) : 0;
      index.value = found >= 0 ? found : Math.min(Math.max(0, (at?.position ?? 0) - offset), Math.max(0, page.items.length - 1));
      void refreshProgress();
    } catch (e) {
      if (mine !== seq) return;
      items.value = [];
      index.value = 0;
      error.value = errorMessage(e);
    } finally {
      if (mine === seq) loading.value = false;
    }
  }

  /** Loads the page after the last loaded pair (one request at a time). */
  function loadMore(): Promise<void> {
    const s = settings.value;
    const last = items.value.at(-1);
    if (!s || !last || !hasMore.value) return Promise.resolve();
    paging ??= (async () => {
      const mine = seq;
      try {
        const page = await api['review.queue']({ ...argsOf(s), afterPairId: last.pairId, limit: QUEUE_PAGE });
        if (mine !== seq) return;
        const have = new Set(items.value.map((x) => x.pairId));
        items.value = [...items.value, ...page.items.filter((x) => !have.has(x.pairId))];
        hasMore.value = page.nextAfterPairId !== null;
        take(page);
      } catch (e) {
        if (mine === seq) app.notify(e);
      } finally {
        paging = null;
      }
    })();
    return paging;
  }

  /** Loads the pairs before the first loaded one (after a resume in the middle of the queue). */
  async function loadBefore(): Promise<void> {
    const s = settings.value;
    const first = items.value[0];
    if (!s || !first || first.position === 0) return;
    const mine = seq;
    const offset = Math.max(0, first.position - QUEUE_PAGE);
    try {
      const page = await api['review.queue']({ ...argsOf(s), offset, limit: first.position - offset });
      if (mine !== seq) return;
      const have = new Set(items.value.map((x) => x.pairId));
      const before = page.items.filter((x) => !have.has(x.pairId));
      items.value = [...before, ...items.value];
      index.value += before.length;
    } catch (e) {
      if (mine === seq) app.notify(e);
    }
  }

  /** Moves one pair forward or back (loading a page when needed); false at an end. */
  async function step(delta: 1 | -1): Promise<boolean> {
    if (delta === -1 && index.value === 0) await loadBefore();
    if (delta === 1 && index.value >= items.value.length - 1) await loadMore();
    const target = index.value + delta;
    if (target < 0 || target >= items.value.length) return false;
    index.value = target;
    return true;
  }

  function goTo(i: number): boolean {
    if (i < 0 || i >= items.value.length) return false;
    index.value = i;
    return true;
  }

  const indexOf = (pairId: number): number => items.value.findIndex((x) => x.pairId === pairId);

  /** The filter counts, the total and the progress again (after verdicts changed them). */
  async function refreshCounts(): Promise<void> {
    const s = settings.value;
    if (!s) return;
    const mine = seq;
    try {
      const page = await api['review.queue']({ ...argsOf(s), limit: 1 });
      if (mine !== seq || !settings.value || !sameSettings(settings.value, s)) return;
      take(page);
      await refreshProgress();
    } catch (e) {
      if (mine === seq) app.notify(e);
    }
  }

  async function refreshProgress(): Promise<void> {
    const s = settings.value;
    if (!s) return;
    const mine = seq;
    const { unreviewed, ...rest } = s.filters;
    try {
      const toGo = (await api['review.queue']({ ...argsOf(s), filters: { ...rest, unreviewed: 'me' }, limit: 1 })).total;
      const of = unreviewed ? (await api['review.queue']({ ...argsOf(s), filters: rest, limit: 1 })).total : total.value;
      if (mine === seq) progress.value = { toGo, of };
    } catch {
      /* the counter waits for the next refresh */
    }
  }

  /** Forgets the queue (another reviewer, or the version is gone). */
  function forget(): void {
    seq++;
    settings.value = null;
    items.value = [];
    index.value = 0;
    counts.value = null;
    progress.value = null;
  }

  return {
    settings,
    items,
    index,
    total,
    threshold,
    counts,
    hasMore,
    loading,
    error,
    progress,
    current,
    atEnd,
    atStart,
    open,
    loadMore,
    loadBefore,
    step,
    goTo,
    indexOf,
    refreshCounts,
    refreshProgress,
    forget,
  };
});
