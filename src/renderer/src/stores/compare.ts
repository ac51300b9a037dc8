import { defineStore } from 'pinia';
import { computed, ref, shallowReactive } from 'vue';
import type { ArgsOf } from '../../../shared/contract';
import type { CompareDto, ComparePairDto, CompareVersionDto, ModelVersionDto, Split } from '../../../shared/dto';
import { jobResult } from '../../../shared/job-result';
import { errorMessage, useApi } from '../api';
import { useAppStore } from './app';
import { isFinished, useJobsStore, useTrackedJob } from './jobs';
import { useThumbnailsStore } from './thumbnails';
import type { PanelState } from './explain/overlays';

/** Pairs fetched per models.comparePairs page. */
const PAGE = 100;

/** The two versions to compare by default: the newest retrained version and its parent, else the two newest. */
export function defaultPair(versions: readonly ModelVersionDto[]): { a: number | null; b: number | null } {
  const child = [...versions].sort((x, y) => y.id - x.id).find((v) => v.parentId !== null && versions.some((p) => p.id === v.parentId));
  if (child) return { a: child.parentId, b: child.id };
  const newest = [...versions].sort((x, y) => y.id - x.id);
  return { a: newest[1]?.id ?? null, b: newest[0]?.id ?? null };
}

/** The compare view's keys: j / ↓ next pair (maps moved less), k / ↑ previous (null: not ours). */
export function compareKey(key: string): 1 | -1 | null {
  if (key === 'j' || key === 'ArrowDown' || key === 'ArrowRight') return 1;
  if (key === 'k' || key === 'ArrowUp' || key === 'ArrowLeft') return -1;
  return null;
}

export type CompareSide = 'a' | 'b';

/**
 * Comparing two model versions: the 'compare' job (models.compare) with progress and cancel, its
 * result (metrics of both, deltas, review tallies), the pairs ordered by how much their maps moved
 * (models.comparePairs, paged), a cursor over them, and the two versions' maps of the current pair.
 */
export const useCompareStore = defineStore('compare', () => {
  const api = useApi();
  const app = useAppStore();
  const jobs = useJobsStore();
  const thumbs = useThumbnailsStore();

  const a = ref<number | null>(null);
  const b = ref<number | null>(null);
  const split = ref<Split>('test');
  const limit = ref(300);
  const maskedOnly = ref(false);

  const result = ref<CompareDto | null>(null);
  const pairs = ref<ComparePairDto[]>([]);
  const total = ref(0);
  const cursor = ref(0);
  const loadingPairs = ref(false);
  const startError = ref<string | null>(null);
  /** map overlays by `${modelId}/${layer}/${pairId}/${image}` */
  const maps = shallowReactive(new Map<string, PanelState>());

  const run = useTrackedJob({
    what: 'Comparison',
    async onFinished(job) {
      const r = jobResult(job, 'compare');
      if (job.status === 'done' && r) await adopt(r);
    },
  });

  const current = computed<ComparePairDto | null>(() => pairs.value[cursor.value] ?? null);

  async function adopt(r: CompareDto): Promise<void> {
    result.value = r;
    a.value = r.a.modelId;
    b.value = r.b.modelId;
    split.value = r.split;
    await loadPairs(true);
  }

  /** On opening the view: the result of the newest comparison job (this window's, or one found done or running). */
  async function init(): Promise<void> {
    if (result.value || run.running.value) return;
    try {
      const list = await api['jobs.list']({ limit: 50 });
      const running = list.find((j) => j.kind === 'compare' && !isFinished(j));
      if (running) {
        jobs.put(running);
        run.follow(running.id);
        return;
      }
      const done = list.find((j) => j.kind === 'compare' && j.status === 'done');
      const r = jobResult(done, 'compare');
      if (r) await adopt(r);
    } catch (error) {
      app.notify(error);
    }
  }

  /** Starts comparing version `aId` (before) with `bId` (after). */
  async function start(aId: number | null = a.value, bId: number | null = b.value): Promise<void> {
    startError.value = null;
    if (aId === null || bId === null) {
      startError.value = 'Choose two versions.';
      return;
    }
    if (aId === bId) {
      startError.value = 'Choose two different versions.';
      return;
    }
    a.value = aId;
    b.value = bId;
    try {
      const args: ArgsOf<'models.compare'> = { a: aId, b: bId, split: split.value, limit: limit.value };
      const { jobId } = await api['models.compare'](args);
      result.value = null;
      pairs.value = [];
      total.value = 0;
      cursor.value = 0;
      run.follow(jobId);
    } catch (error) {
      startError.value = errorMessage(error);
    }
  }

  /** The pairs by movement (most first), from the start (`reset`) or the next page. */
  async function loadPairs(reset = false): Promise<void> {
    const r = result.value;
    if (!r || loadingPairs.value) return;
    if (!reset && pairs.value.length >= total.value) return;
    loadingPairs.value = true;
    try {
      const page = await api['models.comparePairs']({
        a: r.a.modelId,
        b: r.b.modelId,
        split: r.split,
        method: r.a.method,
        maskedOnly: maskedOnly.value,
        offset: reset ? 0 : pairs.value.length,
        limit: PAGE,
      });
      pairs.value = reset ? page.items : [...pairs.value, ...page.items];
      total.value = page.total;
      if (reset) cursor.value = 0;
    } catch (error) {
      app.notify(error);
    } finally {
      loadingPairs.value = false;
    }
    void loadCurrent();
  }

  function setMaskedOnly(on: boolean): void {
    maskedOnly.value = on;
    void loadPairs(true);
  }

  const mapKey = (v: CompareVersionDto, pairId: number, image: 'a' | 'b') => `${v.modelId}/${v.method}/${v.layer}/${pairId}/${image}`;

  /** One version's map of one image of the current pair. */
  function map(side: CompareSide, image: 'a' | 'b'): PanelState {
    const r = result.value;
    const p = current.value;
    if (!r || !p) return { state: 'idle' };
    return maps.get(mapKey(r[side], p.pairId, image)) ?? { state: 'loading' };
  }

  async function fetchMap(v: CompareVersionDto, pairId: number, image: 'a' | 'b'): Promise<void> {
    const key = mapKey(v, pairId, image);
    const have = maps.get(key);
    if (have && have.state !== 'error') return;
    maps.set(key, { state: 'loading' });
    try {
      const o = await api['explain.overlay']({
        pairId,
        modelId: v.modelId,
        method: v.method,
        ...(v.layer !== 'input' ? { layer: v.layer } : {}),
        image,
        kind: 'factual',
        colormap: 'jet',
        opacity: 1,
      });
      maps.set(key, o.noEvidence ? { state: 'no-evidence' } : { state: 'ready', url: o.dataUrl, width: o.width, height: o.height });
    } catch (error) {
      maps.set(key, { state: 'error', message: errorMessage(error) });
    }
    if (maps.size > 400) {
      const first = maps.keys().next().value;
      if (first !== undefined) maps.delete(first);
    }
  }

  /** The current pair's images and both versions' maps (and the next pair's, ahead). */
  async function loadCurrent(): Promise<void> {
    const r = result.value;
    const p = current.value;
    if (!r || !p) return;
    const next = pairs.value[cursor.value + 1];
    void thumbs.ensure([...p.images, ...(next?.images ?? [])].map((i) => i.imageId));
    const wanted: Promise<void>[] = [];
    for (const side of ['a', 'b'] as const) for (const image of ['a', 'b'] as const) wanted.push(fetchMap(r[side], p.pairId, image));
    await Promise.all(wanted);
    if (next) for (const side of ['a', 'b'] as const) for (const image of ['a', 'b'] as const) void fetchMap(r[side], next.pairId, image);
  }

  function goTo(index: number): void {
    if (!pairs.value.length) return;
    cursor.value = Math.max(0, Math.min(pairs.value.length - 1, index));
    if (cursor.value >= pairs.value.length - 5) void loadPairs();
    void loadCurrent();
  }

  const step = (delta: 1 | -1): void => goTo(cursor.value + delta);

  return {
    a,
    b,
    split,
    limit,
    maskedOnly,
    result,
    pairs,
    total,
    cursor,
    current,
    loadingPairs,
    startError,
    job: run.job,
    running: run.running,
    init,
    start,
    cancel: run.cancel,
    loadPairs,
    setMaskedOnly,
    map,
    goTo,
    step,
  };
});
