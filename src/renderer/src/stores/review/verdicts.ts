import { defineStore } from 'pinia';
import { ref, shallowReactive } from 'vue';
import type { ReviewQueueItemDto, ReviewTagDto, VerdictDto } from '../../../../shared/dto';
import { normaliseTag } from '../../../../shared/review';
import { errorMessage, useApi } from '../../api';
import { useAppStore } from '../app';
import { answersOf, isEmpty, sameAnswers, shownFor, type Answers, type Shown } from './rules';

/** One pair's verdict as the view knows it: the answers on screen and whether main has them. */
export interface PairVerdict {
  answers: Answers;
  /** the verdict in force in main, as last heard (null: none) */
  stored: VerdictDto | null;
  /** 'saving': a write of these answers is on its way; 'error': the last write failed (retry resends) */
  state: 'none' | 'saving' | 'saved' | 'error';
  error: string | null;
}

export type ChangeResult = { ok: true; changed: boolean; before: Answers; after: Answers } | { ok: false; before: Answers; reason: string };

const keyOf = (modelId: number, pairId: number) => `${modelId}:${pairId}`;

/**
 * The reviewer's verdicts: every change is written at once (review.verdict with the full new
 * state), in the order made, while the view moves on; the saved state per pair; undo of the
 * last verdict; a pair's history; the tags to offer.
 */
export const useReviewVerdictsStore = defineStore('review-verdicts', () => {
  const api = useApi();
  const app = useAppStore();
  const byPair = shallowReactive(new Map<string, PairVerdict>());
  /** writes queued or on their way */
  const writing = ref(0);
  /** successful writes so far (the counts and the summary follow it) */
  const saves = ref(0);
  const tags = ref<ReviewTagDto[]>([]);
  const history = ref<VerdictDto[] | null>(null);
  const historyOf = ref<{ modelId: number; pairId: number } | null>(null);
  const historyError = ref<string | null>(null);
  /** the pairs written here, newest last: what undo takes back first */
  const written: { modelId: number; pairId: number }[] = [];
  let chain: Promise<unknown> = Promise.resolve();

  /** Runs `work` after every write before it. */
  function enqueue<T>(work: () => Promise<T>): Promise<T> {
    writing.value++;
    const run = chain.then(work);
    chain = run.catch(() => undefined).finally(() => writing.value--);
    return run;
  }

  const none = (): PairVerdict => ({ answers: answersOf(null), stored: null, state: 'none', error: null });
  const of = (modelId: number, pairId: number): PairVerdict => byPair.get(keyOf(modelId, pairId)) ?? none();

  /** Takes main's verdicts of newly loaded queue items (a pair known here keeps what it has: it may be newer). */
  function seed(modelId: number, items: readonly ReviewQueueItemDto[]): void {
    for (const item of items) {
      if (byPair.has(keyOf(modelId, item.pairId))) continue;
      byPair.set(keyOf(modelId, item.pairId), {
        answers: answersOf(item.verdict),
        stored: item.verdict,
        state: item.verdict ? 'saved' : 'none',
        error: null,
      });
    }
  }

  /** Forgets what is known of verdicts (another reviewer; verdicts imported): the next queue load tells again. */
  function reset(): void {
    for (const [key, v] of [...byPair]) if (v.state !== 'saving' && v.state !== 'error') byPair.delete(key);
    written.length = 0;
  }

  /**
   * Records the pair's new answers: on screen at once, written to main in order. Refused (with
   * the reason) when a heatmap answer has no map on screen to name, or nothing would be left.
   */
  function change(modelId: number, pairId: number, next: Answers, shown: Shown | null): ChangeResult {
    const cur = of(modelId, pairId);
    const before = cur.answers;
    if (sameAnswers(before, next) && cur.state !== 'error') return { ok: true, changed: false, before, after: next };
    if (isEmpty(next)) return { ok: false, before, reason: 'A verdict keeps at least one answer, a note or a tag: undo (u) removes it.' };
    const rec = shownFor(before, next, cur.stored, shown);
    if ((next.heatmapA !== null || next.heatmapB !== null) && !rec) {
      return { ok: false, before, reason: 'The heatmaps are not on screen yet: judge them once they are drawn.' };
    }
    byPair.set(keyOf(modelId, pairId), { ...cur, answers: next, state: 'saving', error: null });
    void write(modelId, pairId, next, rec);
    return { ok: true, changed: true, before, after: next };
  }

  function write(modelId: number, pairId: number, a: Answers, rec: Shown | null): Promise<void> {
    return enqueue(async () => {
      try {
        const res = await api['review.verdict']({
          pairId,
          modelId,
          ...(a.similarity ? { similarity: a.similarity } : {}),
          ...(a.heatmapA ? { heatmapA: a.heatmapA } : {}),
          ...(a.heatmapB ? { heatmapB: a.heatmapB } : {}),
          ...(rec ? { method: rec.method, layer: rec.layer } : {}),
          ...(a.note !== null ? { note: a.note } : {}),
          tags: a.tags,
        });
        if (res.changed) written.push({ modelId, pairId });
        const now = byPair.get(keyOf(modelId, pairId)) ?? { ...none(), answers: a };
        // a later change may be queued already: it stays "saving" until its own write
        const latest = sameAnswers(now.answers, a);
        byPair.set(keyOf(modelId, pairId), { ...now, stored: res.verdict, state: latest ? 'saved' : now.state, error: null });
        saves.value++;
        if (isHistoryOf(modelId, pairId)) void loadHistory(modelId, pairId);
      } catch (error) {
        const now = of(modelId, pairId);
        byPair.set(keyOf(modelId, pairId), { ...now, state: 'error', error: errorMessage(error) });
        app.notify(new Error(`The verdict on pair ${pairId} was not saved: ${errorMessage(error)}`));
      }
    });
  }

  /** Writes the pair's answers again (after a failed write). */
  function retry(modelId: number, pairId: number, shown: Shown | null): void {
    const cur = of(modelId, pairId);
    if (cur.state !== 'error') return;
    const rec = shownFor(answersOf(cur.stored), cur.answers, cur.stored, shown);
    byPair.set(keyOf(modelId, pairId), { ...cur, state: 'saving', error: null });
    void write(modelId, pairId, cur.answers, rec);
  }

  /**
   * Takes back the reviewer's last verdict on the version (after the writes before it): the
   * newest written here, else main's most recent one. Resolves to the pair it was on (null: none).
   */
  function undo(modelId: number): Promise<number | null> {
    return enqueue(async () => {
      let last = written.pop();
      while (last && last.modelId !== modelId) last = written.pop();
      try {
        const res = await api['review.undo']({ modelId, ...(last ? { pairId: last.pairId } : {}) });
        if (!res.undone) {
          app.notify('Nothing to undo: you have no verdict on this version.', 'info');
          return null;
        }
        const pairId = res.undone.pairId;
        byPair.set(keyOf(modelId, pairId), {
          answers: answersOf(res.current),
          stored: res.current,
          state: res.current ? 'saved' : 'none',
          error: null,
        });
        saves.value++;
        if (isHistoryOf(modelId, pairId)) void loadHistory(modelId, pairId);
        return pairId;
      } catch (error) {
        if (last) written.push(last);
        app.notify(error);
        return null;
      }
    });
  }

  const isHistoryOf = (modelId: number, pairId: number) => historyOf.value?.modelId === modelId && historyOf.value.pairId === pairId;

  /** Every verdict row of the pair and version (all reviewers, newest first). */
  async function loadHistory(modelId: number, pairId: number): Promise<void> {
    if (!isHistoryOf(modelId, pairId)) history.value = null;
    historyOf.value = { modelId, pairId };
    historyError.value = null;
    try {
      const rows = await api['review.history']({ modelId, pairId });
      if (isHistoryOf(modelId, pairId)) history.value = rows;
    } catch (error) {
      if (isHistoryOf(modelId, pairId)) historyError.value = errorMessage(error);
    }
  }

  function clearHistory(): void {
    history.value = null;
    historyOf.value = null;
  }

  async function loadTags(modelId: number): Promise<void> {
    try {
      const list = await api['review.tags']({ modelId });
      const own = tags.value.filter((t) => !t.builtin && !list.some((x) => x.tag === t.tag));
      tags.value = [...list, ...own];
    } catch (error) {
      app.notify(error);
    }
  }

  /** A new tag typed by the reviewer, normalised (lower case, trimmed); throws the reason it is refused. */
  function addTag(raw: string): string {
    const tag = normaliseTag(raw);
    if (!tags.value.some((t) => t.tag === tag)) tags.value = [...tags.value, { tag, count: 0, builtin: false }];
    return tag;
  }

  return {
    byPair,
    writing,
    saves,
    tags,
    history,
    historyOf,
    historyError,
    of,
    seed,
    reset,
    change,
    retry,
    undo,
    loadHistory,
    clearHistory,
    loadTags,
    addTag,
  };
});
