import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import type { ColormapName, ExplainMethod, ModelVersionDto, ReviewFiltersDto, ReviewSessionDto } from '../../../shared/dto';
import { normaliseNote } from '../../../shared/review';
import { errorMessage, useApi } from '../api';
import { useAppStore } from './app';
import { useReviewBundlesStore } from './review/bundles';
import { useReviewMapsStore } from './review/maps';
import { needsMore, PREFETCH_BEHIND, prefetchWindow } from './review/prefetch';
import { useReviewQueueStore, type QueueSettings } from './review/queue';
import { useReviewerStore } from './review/reviewer';
import { completesVerdict, isComplete, nextToReview, toggleTag, withChange, type Answers } from './review/rules';
import { useReviewStatsStore } from './review/stats';
import { useReviewVerdictsStore } from './review/verdicts';

/** Pages skip may load looking for a pair still to review. */
const SKIP_PAGES = 20;
const FLASH_MS = 4000;

/** A version the review can open: weights to explain with, a pair set to draw pairs from. */
const reviewable = (m: ModelVersionDto) => !!m.weightsPath && m.pairSetId !== null && m.datasetId !== null;

/** Drops filters that are off (false, empty), as main stores them. */
export function cleanFilters(f: ReviewFiltersDto): ReviewFiltersDto {
  return Object.fromEntries(Object.entries(f).filter(([, v]) => v !== false && v !== undefined && v !== '')) as ReviewFiltersDto;
}

/**
 * The review workbench: ties its parts (./review/) together. Who reviews, which queue, the pair
 * shown and the pairs prepared around it, answers (saved at once, auto-advance after a
 * complete verdict), undo, skip, and the session that resumes where it stopped.
 */
export const useReviewStore = defineStore('review', () => {
  const api = useApi();
  const app = useAppStore();
  const reviewer = useReviewerStore();
  const queue = useReviewQueueStore();
  const maps = useReviewMapsStore();
  const verdicts = useReviewVerdictsStore();
  const stats = useReviewStatsStore();
  const bundles = useReviewBundlesStore();

  const started = ref(false);
  const starting = ref(false);
  const noModel = ref(false);
  const autoAdvance = ref(true);
  const historyOpen = ref(false);
  /** a short message about the last key (refused, end of queue, undone) */
  const flash = ref<{ text: string; kind: 'info' | 'warn' } | null>(null);
  let flashTimer: ReturnType<typeof setTimeout> | null = null;

  const current = computed(() => queue.current);
  const verdict = computed(() => (current.value && maps.modelId !== null ? verdicts.of(maps.modelId, current.value.pairId) : null));

  function say(text: string, kind: 'info' | 'warn' = 'info'): void {
    flash.value = { text, kind };
    if (flashTimer) clearTimeout(flashTimer);
    flashTimer = setTimeout(() => (flash.value = null), FLASH_MS);
  }

  // ---- starting, sessions ----

  /** Opens the view: the reviewer (asked once per workspace), then their last session, or the newest version's test pairs. */
  async function init(): Promise<void> {
    if (started.value || starting.value) {
      if (started.value) void queue.refreshCounts();
      return;
    }
    if (!reviewer.loaded) await reviewer.load();
    if (reviewer.name === null) return; // the dialog asks; setReviewer() starts
    await start();
  }

  /** A version to open on (from the models view), else the last session's. */
  let wanted: number | null = null;

  async function start(): Promise<void> {
    starting.value = true;
    try {
      await maps.loadModels();
      let session: ReviewSessionDto | null = null;
      try {
        session = await api['review.session'](wanted !== null ? { modelId: wanted } : {});
      } catch (error) {
        app.notify(error);
      }
      const fromSession = session && maps.models.find((m) => m.id === session.modelId && reviewable(m));
      const model =
        fromSession ?? maps.models.find((m) => reviewable(m) && (wanted === null || m.id === wanted)) ?? maps.models.find(reviewable);
      wanted = null;
      noModel.value = !model;
      if (!model) return;
      const s: QueueSettings =
        fromSession && session
          ? { modelId: model.id, split: session.split, filters: session.filters, order: session.order, seed: session.seed }
          : { modelId: model.id, split: 'test', filters: {}, order: 'uncertainty', seed: 0 };
      await openQueue(s, fromSession ? session!.next : null);
      started.value = true;
    } finally {
      starting.value = false;
    }
  }

  /** Reviews this version (the models view's "Review" button): its session where it stopped, else its test pairs. */
  async function openVersion(modelId: number): Promise<void> {
    wanted = modelId;
    if (queue.settings?.modelId === modelId) {
      wanted = null;
      return;
    }
    if (started.value && !starting.value) {
      started.value = false;
      await start();
    }
  }

  async function setReviewer(name: string): Promise<boolean> {
    const before = reviewer.name;
    if (!(await reviewer.set(name))) return false;
    if (before !== reviewer.name) {
      verdicts.reset();
      started.value = false;
      queue.forget();
      await start();
    }
    return true;
  }

  async function openQueue(s: QueueSettings, at: { pairId: number; position: number } | null): Promise<void> {
    if (maps.modelId !== s.modelId || !maps.layersInfo) await maps.setModel(s.modelId);
    await queue.open(s, at);
    verdicts.seed(s.modelId, queue.items);
    void verdicts.loadTags(s.modelId);
    void stats.load(s.modelId);
    arrived();
  }

  /** Another model, split, filter, order or seed: the queue from its start. */
  async function configure(change: Partial<QueueSettings>): Promise<void> {
    const s = queue.settings;
    if (!s) return;
    const next = { ...s, ...change, filters: cleanFilters(change.filters ?? s.filters) };
    if (change.modelId !== undefined && change.modelId !== s.modelId) verdicts.clearHistory();
    await openQueue(next, null);
  }

  let sessionWrite: Promise<void> | null = null;
  let sessionAgain = false;
  /** Stores where the reviewer is (coalesced: one write on its way, the newest state after it). */
  function saveSession(): void {
    if (sessionWrite) {
      sessionAgain = true;
      return;
    }
    sessionWrite = (async () => {
      do {
        sessionAgain = false;
        const s = queue.settings;
        const item = queue.current;
        if (!s) return;
        try {
          await api['review.saveSession']({ ...s, ...(item ? { pairId: item.pairId, position: item.position } : {}) });
        } catch (error) {
          app.notify(new Error(`Where you are in the queue was not saved: ${errorMessage(error)}`));
        }
      } while (sessionAgain);
    })().finally(() => (sessionWrite = null));
  }

  // ---- moving ----

  /** A new pair is current: show it, prepare the next ones, remember where we are. */
  function arrived(): void {
    void maps.showPair(queue.current);
    prepareAround();
    if (historyOpen.value && current.value && maps.modelId !== null) void verdicts.loadHistory(maps.modelId, current.value.pairId);
    saveSession();
  }

  function prepareAround(): void {
    const ahead = maps.ahead;
    const window = prefetchWindow(queue.index, queue.items.length, ahead, ahead > 0 ? PREFETCH_BEHIND : 0);
    void maps.prefetch(window.map((i) => queue.items[i]));
    if (needsMore(queue.index, queue.items.length, queue.hasMore)) {
      void queue.loadMore().then(() => maps.modelId !== null && verdicts.seed(maps.modelId, queue.items));
    }
  }

  async function move(delta: 1 | -1): Promise<void> {
    const moved = await queue.step(delta);
    if (maps.modelId !== null) verdicts.seed(maps.modelId, queue.items);
    if (moved) arrived();
    else say(delta === 1 ? 'This is the last pair of the queue.' : 'This is the first pair of the queue.');
  }

  const completeAt = (i: number) => maps.modelId !== null && isComplete(verdicts.of(maps.modelId, queue.items[i].pairId).answers);

  /** To the next pair without a complete verdict of mine (skip, and auto-advance after a verdict). */
  async function skip(): Promise<void> {
    for (let pages = 0; pages <= SKIP_PAGES; pages++) {
      const i = nextToReview(queue.items.length, queue.index, completeAt);
      if (i !== null) {
        queue.goTo(i);
        arrived();
        return;
      }
      if (!queue.hasMore) break;
      await queue.loadMore();
      if (maps.modelId !== null) verdicts.seed(maps.modelId, queue.items);
    }
    say('No pair after this one is left to review in this queue.');
  }

  // ---- verdicts ----

  function apply(next: Answers): void {
    const item = current.value;
    const mid = maps.modelId;
    if (!item || mid === null) return;
    const e = maps.explanation;
    const shown = e && e.pairId === item.pairId ? { method: e.method, layer: e.layer } : null;
    const res = verdicts.change(mid, item.pairId, next, shown);
    if (!res.ok) {
      say(res.reason, 'warn');
      return;
    }
    if (res.changed && autoAdvance.value && completesVerdict(res.before, res.after)) void skip();
  }

  const answers = (): Answers | null => verdict.value?.answers ?? null;

  function answer(change: Partial<Answers>): void {
    const a = answers();
    if (a) apply(withChange(a, change));
  }

  function toggleTagAt(index: number): void {
    const tag = verdicts.tags[index]?.tag;
    if (tag) toggleTagNamed(tag);
  }

  function toggleTagNamed(tag: string): void {
    const a = answers();
    if (a) apply(toggleTag(a, tag));
  }

  /** Adds a tag typed by the reviewer to the pair; false (with a message) when refused. */
  function addTag(raw: string): boolean {
    const a = answers();
    if (!a) return false;
    try {
      const tag = verdicts.addTag(raw);
      if (!a.tags.includes(tag)) apply(toggleTag(a, tag));
      return true;
    } catch (error) {
      say(errorMessage(error), 'warn');
      return false;
    }
  }

  function setNote(raw: string): boolean {
    const a = answers();
    if (!a) return false;
    try {
      apply(withChange(a, { note: normaliseNote(raw) }));
      return true;
    } catch (error) {
      say(errorMessage(error), 'warn');
      return false;
    }
  }

  async function undo(): Promise<void> {
    const mid = maps.modelId;
    if (mid === null) return;
    const pairId = await verdicts.undo(mid);
    if (pairId === null) return;
    const i = queue.indexOf(pairId);
    if (i >= 0 && i !== queue.index) {
      queue.goTo(i);
      arrived();
    }
    say(`Undid your last verdict on pair #${pairId}.`);
  }

  function retrySave(): void {
    const item = current.value;
    const e = maps.explanation;
    if (item && maps.modelId !== null) verdicts.retry(maps.modelId, item.pairId, e ? { method: e.method, layer: e.layer } : null);
  }

  function toggleHistory(): void {
    historyOpen.value = !historyOpen.value;
    if (historyOpen.value && current.value && maps.modelId !== null) void verdicts.loadHistory(maps.modelId, current.value.pairId);
  }

  // ---- maps ----

  function refreshMaps(): void {
    void maps.showPair(queue.current);
    prepareAround();
  }

  function setMethod(m: ExplainMethod): void {
    if (maps.setMethod(m)) refreshMaps();
  }

  function setMethodIndex(i: number): void {
    const m = maps.methods[i];
    if (m) setMethod(m.id);
  }

  function setColormap(c: ColormapName): void {
    if (c === maps.colormap) return;
    maps.setColormap(c);
    refreshMaps();
  }

  // Verdicts change the counts, the progress and the summary: refreshed shortly after a burst of writes.
  let countsTimer: ReturnType<typeof setTimeout> | null = null;
  watch(
    () => verdicts.saves,
    () => {
      if (countsTimer) clearTimeout(countsTimer);
      countsTimer = setTimeout(() => {
        void queue.refreshCounts();
        if (maps.modelId !== null) void stats.load(maps.modelId);
      }, 400);
    },
  );
  // An imported bundle brings verdicts (others', or mine from elsewhere): reload where we are.
  watch(
    () => bundles.imports,
    async () => {
      const s = queue.settings;
      const item = queue.current;
      verdicts.reset();
      void reviewer.load();
      if (s) await openQueue(s, item ? { pairId: item.pairId, position: item.position } : null);
    },
  );

  return {
    started,
    starting,
    noModel,
    autoAdvance,
    historyOpen,
    flash,
    current,
    verdict,
    init,
    openVersion,
    setReviewer,
    configure,
    next: () => move(1),
    prev: () => move(-1),
    skip,
    answer,
    toggleTagAt,
    toggleTagNamed,
    addTag,
    setNote,
    undo,
    retrySave,
    toggleHistory,
    setMethod,
    setMethodIndex,
    setColormap,
    say,
  };
});
