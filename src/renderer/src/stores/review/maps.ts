import { defineStore } from 'pinia';
import { computed, ref, shallowReactive } from 'vue';
import type { ColormapName, ExplainMethod, ExplanationDto, ReviewQueueItemDto } from '../../../../shared/dto';
import { errorMessage, useApi } from '../../api';
import { useModelChoice } from '../explain/model-choice';
import {
  IMAGE_SIDES,
  MAP_KINDS,
  panelStateOf,
  useOverlayCache,
  type ImageSide,
  type MapKind,
  type PanelState,
} from '../explain/overlay-cache';
import type { ShowMode } from '../explain/overlay-cache';
import { AUTO_RELIABILITY_MAX_SIDE, useReliability } from '../explain/reliability';
import { clampOpacity } from '../explain/shortcuts';
import { useThumbnailsStore } from '../thumbnails';
import { aheadFromSetting } from './prefetch';

type Entry = { state: 'loading'; since: number } | { state: 'ready'; e: ExplanationDto } | { state: 'error'; message: string };

/** Explanations kept (pair x method); the overlays have their own bound. */
const MAX_EXPLANATIONS = 600;
/**
 * Thumbnails are at most this many pixels a side (main's THUMBNAIL_SIDE): a larger image is drawn
 * from the image itself (an overlay at opacity 0 is the image alone, at its own size), kept here.
 */
const THUMBNAIL_SIDE = 128;
const MAX_FULL_IMAGES = 200;
/**
 * The reliability hint (a few dozen forwards in main's engine, not stored) is asked for once the
 * reviewer has stayed on a pair this long: moving on quickly asks for none, so the maps of the
 * next pairs are never queued behind hints nobody looked at.
 */
export const RELIABILITY_DWELL_MS = 700;
/** localStorage key of the prefetch depth ('0': none; the bench measures without it). */
export const PREFETCH_SETTING = 'simlens.review.prefetch';

function storedSetting(key: string): string | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage.getItem(key);
  } catch {
    return null;
  }
}

/** Decodes an image URL ahead of time, so drawing it later costs no decode (no-op outside a browser). */
async function decode(url: string | undefined): Promise<void> {
  if (!url || typeof Image === 'undefined') return;
  const img = new Image();
  img.src = url;
  await img.decode().catch(() => undefined);
}

/**
 * The maps of the review view: the version's methods (its default, the most faithful one, first),
 * the explanation and overlays of the pair shown and of the pairs prepared ahead (prefetch, one
 * request at a time so the pair shown always goes first), how they are shown (factual /
 * counterfactual / both / raw, opacity, colormap), and the reliability hint of the maps shown.
 */
export const useReviewMapsStore = defineStore('review-maps', () => {
  const api = useApi();
  const thumbs = useThumbnailsStore();
  const choice = useModelChoice();
  const { models, modelId, layersInfo, method, methods, methodInfo, effectiveLayer } = choice;
  const overlayCache = useOverlayCache();
  const explanations = shallowReactive(new Map<string, Entry>());
  const pending = new Map<string, Promise<ExplanationDto | null>>();
  /** full-size images by image id (those larger than a thumbnail) */
  const fullImages = shallowReactive(new Map<number, string>());

  const colormap = ref<ColormapName>('jet');
  const opacity = ref(0.5);
  const show = ref<ShowMode>('both');
  /** the images alone, maps hidden */
  const raw = ref(false);
  const pairId = ref<number | null>(null);
  /** pairs prepared ahead of the one shown (0: none) */
  const ahead = ref(aheadFromSetting(storedSetting(PREFETCH_SETTING)));

  const keyOf = (pid: number) => `${modelId.value}/${pid}/${method.value}/${effectiveLayer.value ?? ''}`;
  const entry = computed(() => (pairId.value === null ? null : (explanations.get(keyOf(pairId.value)) ?? null)));
  const explanation = computed(() => (entry.value?.state === 'ready' ? entry.value.e : null));
  const computing = computed(() => entry.value?.state === 'loading');
  const computingSince = computed(() => (entry.value?.state === 'loading' ? entry.value.since : null));
  const explainError = computed(() => (entry.value?.state === 'error' ? entry.value.message : null));
  const why = () => methodInfo.value?.counterfactualHow ?? 'This method defines no counterfactual map.';

  const reliabilityHint = useReliability(() => {
    const e = explanation.value;
    return e ? { pairId: e.pairId, modelId: e.modelId, method: e.method, ...(e.layer !== 'input' ? { layer: e.layer } : {}) } : null;
  });

  /** The pair's explanation under the current model, method and layer: held, on its way, or asked for now. */
  function explain(pid: number): Promise<ExplanationDto | null> {
    const key = keyOf(pid);
    const have = explanations.get(key);
    if (have?.state === 'ready') return Promise.resolve(have.e);
    const waiting = pending.get(key);
    if (waiting) return waiting;
    const mid = modelId.value;
    if (mid === null) return Promise.resolve(null);
    const layer = effectiveLayer.value;
    explanations.set(key, { state: 'loading', since: Date.now() });
    const run = api['explain.pair']({ pairId: pid, modelId: mid, method: method.value, ...(layer ? { layer } : {}) })
      .then((e) => {
        explanations.set(key, { state: 'ready', e });
        return e;
      })
      .catch((error: unknown) => {
        explanations.set(key, { state: 'error', message: errorMessage(error) });
        return null;
      })
      .finally(() => {
        pending.delete(key);
        while (explanations.size > MAX_EXPLANATIONS) explanations.delete(explanations.keys().next().value!);
      });
    pending.set(key, run);
    return run;
  }

  /** Everything one pair needs on screen: its images, explanation and maps (decoded too, when `decodeAll`). */
  async function prepare(item: ReviewQueueItemDto, decodeAll: boolean): Promise<void> {
    const images = thumbs.ensure([item.a.id, item.b.id]);
    const e = await explain(item.pairId);
    if (e) await overlayCache.loadFor(e, colormap.value, why());
    if (e) await Promise.all(IMAGE_SIDES.map((side) => fullImage(item, side, e)));
    await images;
    if (!decodeAll) return;
    const urls = [image(item.a.id), image(item.b.id)];
    if (e) for (const side of IMAGE_SIDES) for (const kind of MAP_KINDS) urls.push(readyUrl(e, side, kind));
    await Promise.all(urls.map(decode));
  }

  /** The image as drawn: full size when larger than its thumbnail (fetched by prepare), else the thumbnail. */
  const image = (id: number): string | undefined => fullImages.get(id) ?? thumbs.get(id);

  async function fullImage(item: ReviewQueueItemDto, side: ImageSide, e: ExplanationDto): Promise<void> {
    const id = side === 'a' ? item.a.id : item.b.id;
    const size = MAP_KINDS.map((k) => panelStateOf(e, side, k, colormap.value, overlayCache.overlays, '')).find((s) => s.state === 'ready');
    if (fullImages.has(id) || !size || size.state !== 'ready' || Math.max(size.width, size.height) <= THUMBNAIL_SIDE) return;
    try {
      const o = await api['explain.overlay']({
        pairId: e.pairId,
        modelId: e.modelId,
        method: e.method,
        ...(e.layer !== 'input' ? { layer: e.layer } : {}),
        image: side,
        kind: 'factual',
        colormap: 'jet',
        opacity: 0,
      });
      fullImages.set(id, o.dataUrl);
      while (fullImages.size > MAX_FULL_IMAGES) fullImages.delete(fullImages.keys().next().value!);
    } catch {
      /* the thumbnail stands in */
    }
  }

  function readyUrl(e: ExplanationDto, side: ImageSide, kind: MapKind): string | undefined {
    const s = panelStateOf(e, side, kind, colormap.value, overlayCache.overlays, '');
    return s.state === 'ready' ? s.url : undefined;
  }

  let shown: Promise<void> = Promise.resolve();
  let prefetchGen = 0;

  let dwell: ReturnType<typeof setTimeout> | null = null;

  /** Shows a pair: prepares it first, then (small inputs, the reviewer still on it) checks its maps against a random map. */
  function showPair(item: ReviewQueueItemDto | null): Promise<void> {
    pairId.value = item?.pairId ?? null;
    reliabilityHint.clearReliability();
    if (dwell) clearTimeout(dwell);
    if (!item) return (shown = Promise.resolve());
    shown = prepare(item, false).then(() => {
      if (pairId.value !== item.pairId || !explanation.value) return;
      const side = Math.max(...(layersInfo.value?.inputShape.slice(0, 2) ?? [Infinity]));
      if (side > AUTO_RELIABILITY_MAX_SIDE) return;
      const method = explanation.value.method;
      dwell = setTimeout(() => {
        if (pairId.value === item.pairId && explanation.value?.method === method) void reliabilityHint.checkReliability();
      }, RELIABILITY_DWELL_MS);
    });
    return shown;
  }

  /**
   * Prepares these pairs (the prefetch window, nearest first) once the pair shown is: their
   * explanations asked for together (maps not stored yet then queue together in main's engine,
   * ahead of background jobs, instead of each waiting for a worker anew), then each pair's
   * overlays, decoded, one pair at a time. A newer call replaces it.
   */
  async function prefetch(items: ReviewQueueItemDto[]): Promise<void> {
    const mine = ++prefetchGen;
    if (items.length === 0) return;
    void thumbs.ensure(items.flatMap((x) => [x.a.id, x.b.id]));
    await shown;
    if (mine !== prefetchGen) return;
    for (const item of items) void explain(item.pairId);
    for (const item of items) {
      if (mine !== prefetchGen) return;
      await prepare(item, true);
    }
  }

  /** The state of one map panel of the pair shown. */
  function panel(side: ImageSide, kind: MapKind): PanelState {
    const en = entry.value;
    if (!en || en.state === 'loading') return { state: 'loading' };
    if (en.state === 'error') return { state: 'error', message: en.message };
    return panelStateOf(en.e, side, kind, colormap.value, overlayCache.overlays, why());
  }

  async function setModel(id: number | null): Promise<void> {
    if (models.value.length === 0 || (id !== null && !models.value.some((m) => m.id === id))) await choice.loadModels();
    modelId.value = id;
    choice.layer.value = null;
    await choice.loadLayers();
  }

  function setMethod(m: ExplainMethod): boolean {
    if (!methods.value.some((x) => x.id === m) || m === method.value) return false;
    method.value = m;
    return true;
  }

  function setColormap(c: ColormapName): void {
    colormap.value = c;
  }

  function setOpacity(v: number): void {
    opacity.value = clampOpacity(v);
  }

  /** Asks again for the pair's explanation and maps (after an error). */
  function retry(item: ReviewQueueItemDto | null): void {
    if (item) explanations.delete(keyOf(item.pairId));
    void showPair(item);
  }

  return {
    models,
    modelId,
    model: choice.model,
    layersInfo,
    method,
    methods,
    methodInfo,
    effectiveLayer,
    colormap,
    opacity,
    show,
    raw,
    ahead,
    pairId,
    explanation,
    computing,
    computingSince,
    explainError,
    reliability: reliabilityHint.reliability,
    reliabilityRunning: reliabilityHint.reliabilityRunning,
    reliabilityError: reliabilityHint.reliabilityError,
    checkReliability: reliabilityHint.checkReliability,
    loadModels: choice.loadModels,
    setModel,
    setMethod,
    setColormap,
    setOpacity,
    showPair,
    prefetch,
    panel,
    retry,
    image,
  };
});
