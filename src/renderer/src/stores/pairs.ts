import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { PairDto, PairPageDto, PairSetDto, Split } from '../../../shared/dto';
import { useApi } from '../api';
import { useAppStore } from './app';
import { useThumbnailsStore } from './thumbnails';

export const PAGE_SIZES = [25, 50, 100, 200] as const;

/**
 * The pairs browser: keyset paging over one pair set with optional split/label
 * filters. Only one page is ever held (plus the next one, prefetched), and moving
 * back uses a stack of the cursors that led here, so it stays fast at any size.
 */
export const usePairsStore = defineStore('pairs', () => {
  const api = useApi();
  const app = useAppStore();
  const thumbs = useThumbnailsStore();

  const datasetId = ref<number | null>(null);
  const pairSetId = ref<number | null>(null);
  /** The chosen dataset's pair sets (newest last). */
  const pairSets = ref<PairSetDto[]>([]);
  const split = ref<Split | null>(null);
  const label = ref<0 | 1 | null>(null);
  const pageSize = ref<number>(50);

  const rows = ref<PairDto[]>([]);
  const total = ref(0);
  const nextAfterId = ref<number | null>(null);
  /** afterId of each page before this one; the current page's afterId is `cursor`. */
  const history = ref<number[]>([]);
  const cursor = ref(0);
  const loading = ref(false);
  const error = ref<string | null>(null);

  const pageIndex = computed(() => history.value.length);
  const firstRow = computed(() => (rows.value.length ? pageIndex.value * pageSize.value + 1 : 0));
  const lastRow = computed(() => pageIndex.value * pageSize.value + rows.value.length);
  const hasNext = computed(() => nextAfterId.value !== null);
  const hasPrev = computed(() => history.value.length > 0);

  let seq = 0;
  const prefetched = new Map<string, Promise<PairPageDto>>();

  function query(afterId: number) {
    return {
      datasetId: datasetId.value!,
      ...(pairSetId.value ? { pairSetId: pairSetId.value } : {}),
      ...(split.value ? { split: split.value } : {}),
      ...(label.value !== null ? { label: label.value } : {}),
      afterId,
      limit: pageSize.value,
    };
  }

  function fetchPage(afterId: number): Promise<PairPageDto> {
    const q = query(afterId);
    const key = JSON.stringify(q);
    const hit = prefetched.get(key);
    if (hit) {
      prefetched.delete(key);
      return hit;
    }
    return api['pairs.page'](q);
  }

  function prefetch(afterId: number): void {
    const key = JSON.stringify(query(afterId));
    if (prefetched.has(key)) return;
    prefetched.clear();
    const p = api['pairs.page'](query(afterId));
    p.then((page) => thumbs.ensure(page.rows.flatMap((r) => [r.a.id, r.b.id]))).catch(() => prefetched.delete(key));
    prefetched.set(key, p);
  }

  async function loadAt(afterId: number, newHistory: number[]): Promise<void> {
    if (datasetId.value === null || pairSetId.value === null) {
      rows.value = [];
      total.value = 0;
      nextAfterId.value = null;
      return;
    }
    const mine = ++seq;
    loading.value = true;
    error.value = null;
    try {
      const page = await fetchPage(afterId);
      if (mine !== seq) return;
      rows.value = page.rows;
      total.value = page.total;
      nextAfterId.value = page.nextAfterId;
      cursor.value = afterId;
      history.value = newHistory;
      await thumbs.ensure(page.rows.flatMap((r) => [r.a.id, r.b.id]));
      if (mine === seq && page.nextAfterId !== null) prefetch(page.nextAfterId);
    } catch (e) {
      if (mine !== seq) return;
      error.value = e instanceof Error ? e.message : String(e);
      app.notify(e);
    } finally {
      if (mine === seq) loading.value = false;
    }
  }

  /** Back to the first page (after any change of dataset, set, filter or page size). */
  function reload(): Promise<void> {
    prefetched.clear();
    return loadAt(0, []);
  }

  function next(): Promise<void> {
    if (nextAfterId.value === null || loading.value) return Promise.resolve();
    return loadAt(nextAfterId.value, [...history.value, cursor.value]);
  }

  function prev(): Promise<void> {
    if (!history.value.length || loading.value) return Promise.resolve();
    const h = [...history.value];
    const afterId = h.pop()!;
    return loadAt(afterId, h);
  }

  function first(): Promise<void> {
    if (!history.value.length || loading.value) return Promise.resolve();
    return loadAt(0, []);
  }

  /** Chooses a dataset and one of its pair sets (the newest unless given). */
  async function setDataset(id: number | null, setId: number | null = null): Promise<void> {
    datasetId.value = id;
    pairSetId.value = setId;
    pairSets.value = [];
    rows.value = [];
    total.value = 0;
    nextAfterId.value = null;
    history.value = [];
    if (id === null) return;
    try {
      const detail = await api['datasets.get']({ id });
      if (datasetId.value !== id) return;
      pairSets.value = [...detail.pairSets].sort((x, y) => x.id - y.id);
      if (setId === null || !pairSets.value.some((p) => p.id === setId)) pairSetId.value = pairSets.value.at(-1)?.id ?? null;
    } catch (e) {
      app.notify(e);
      return;
    }
    if (pairSetId.value === null) return;
    await reload();
  }

  function setPairSet(id: number | null): Promise<void> {
    pairSetId.value = id;
    return reload();
  }

  function setSplit(value: Split | null): Promise<void> {
    split.value = value;
    return reload();
  }

  function setLabel(value: 0 | 1 | null): Promise<void> {
    label.value = value;
    return reload();
  }

  function setPageSize(value: number): Promise<void> {
    pageSize.value = value;
    return reload();
  }

  return {
    datasetId,
    pairSetId,
    pairSets,
    split,
    label,
    pageSize,
    rows,
    total,
    nextAfterId,
    loading,
    error,
    pageIndex,
    firstRow,
    lastRow,
    hasNext,
    hasPrev,
    reload,
    next,
    prev,
    first,
    setDataset,
    setPairSet,
    setSplit,
    setLabel,
    setPageSize,
  };
});
