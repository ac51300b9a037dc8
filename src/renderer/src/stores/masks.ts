import { defineStore } from 'pinia';
import { ref, shallowReactive, watch } from 'vue';
import type { ExplainMapsDto, ExplainMethod } from '../../../shared/dto';
import { maskAgreement, prepareMap, type MaskAgreement, type PreparedMap } from '../../../shared/mask-agreement';
import { decodeMaskString, encodeMaskString } from '../../../shared/mask-rle';
import { errorMessage, useApi } from '../api';
import { useAppStore } from './app';
import { MaskEditor } from './masks/editor';
import { floodRegion, thresholdMap, type Point, type Rect } from './masks/paint';
import { PixelCache } from './masks/pixels';
import { canClose, polygonClick } from './masks/polygon';
import { SaveQueue } from './masks/saver';

export type MaskTool = 'brush' | 'eraser' | 'lasso' | 'polygon' | 'wand';
export type MapKind = 'factual' | 'counterfactual';

/** What the UI shows of one image's mask (the pixels live in its MaskEditor, outside Vue). */
export interface MaskInfo {
  status: 'loading' | 'ready' | 'error';
  error: string | null;
  h: number;
  w: number;
  area: number;
  canUndo: boolean;
  canRedo: boolean;
  undoDepth: number;
  /** a save is in flight */
  saving: boolean;
  /** the newest stored row's id and time (null: nothing stored yet) */
  savedId: number | null;
  savedAt: string | null;
  source: 'seeded' | 'painted';
}

export interface AgreementInfo extends MaskAgreement {
  /** time of the measure (ms) */
  ms: number;
  /** nothing painted yet: the measures say nothing (EPG 0%, a miss) and are not shown */
  maskEmpty: boolean;
}

export const BRUSH_MIN = 1;
export const BRUSH_MAX = 256;

type Redraw = (rect: Rect) => void;

/**
 * Masks being painted, per image, for the current author (the workspace's reviewer): the tools'
 * settings, each image's editor (pixels, undo / redo), saving per completed operation through
 * masks.save (no save button), and the live agreement of the shown maps with each mask.
 * Components (components/masks/) draw the pixels and send strokes; every other change goes
 * through here and is pushed to the canvases that show the image (onRedraw).
 */
export const useMasksStore = defineStore('masks', () => {
  const api = useApi();
  const app = useAppStore();

  // ---- who paints, and the tools ----
  const author = ref<string | null>(null);
  const tool = ref<MaskTool>('brush');
  /** brush / eraser diameter in image pixels */
  const brushSize = ref(4);
  /** magic wand colour distance (0-255) */
  const tolerance = ref(32);
  /** heatmap seed: pixels >= threshold * the map's max */
  const seedThreshold = ref(0.5);
  /** time of the last magic wand fill (ms) */
  const lastWandMs = ref<number | null>(null);
  const colour = ref('#ff2bd6');
  const opacity = ref(0.5);
  const visible = ref(true);
  /** the image the keys (undo, redo) act on: the one last painted or pointed at */
  const activeImageId = ref<number | null>(null);
  /** the polygon being placed by clicks (image pixels), on one image; null: none */
  const polygon = ref<{ imageId: number; points: Point[] } | null>(null);
  // another tool drops a polygon in progress
  watch(tool, () => (polygon.value = null), { flush: 'sync' });

  const editors = new Map<number, MaskEditor>();
  const queues = new Map<number, SaveQueue<{ h: number; w: number; counts: string; source: 'seeded' | 'painted' }>>();
  const infos = shallowReactive(new Map<number, MaskInfo>());
  const redraws = new Map<number, Set<Redraw>>();
  const opening = new Map<number, Promise<void>>();
  const pixels = new PixelCache((id) => api['images.pixels']({ id }));

  // ---- maps and the live agreement ----
  const prepared = new Map<string, PreparedMap>();
  const agreement = shallowReactive(new Map<string, AgreementInfo>());
  const mapsKey = ref<string | null>(null);
  let loadingMaps: string | null = null;
  const agreementKey = (imageId: number, kind: MapKind) => `${imageId}/${kind}`;

  /** The author was asked for (the workspace's reviewer; null: not set yet). */
  const authorLoaded = ref(false);
  let authorLoad: Promise<void> | null = null;
  /** Reads the workspace's reviewer once; every mask load waits for it. */
  function loadAuthor(): Promise<void> {
    authorLoad ??= (async () => {
      try {
        author.value = (await api['review.reviewer']({})).name;
      } catch (error) {
        app.notify(error);
      } finally {
        authorLoaded.value = true;
      }
    })();
    return authorLoad;
  }

  async function setAuthor(name: string): Promise<boolean> {
    try {
      author.value = (await api['review.setReviewer']({ name })).name;
      for (const id of [...editors.keys()]) await open(id, editors.get(id)!.h, editors.get(id)!.w, true);
      return true;
    } catch (error) {
      app.notify(error);
      return false;
    }
  }

  function setBrushSize(n: number): void {
    brushSize.value = Math.min(BRUSH_MAX, Math.max(BRUSH_MIN, Math.round(n)));
  }
  /** `]` grows and `[` shrinks the brush by about 15% (at least one pixel). */
  function stepBrush(dir: 1 | -1): void {
    const s = brushSize.value;
    setBrushSize(dir > 0 ? Math.max(s + 1, s * 1.15) : Math.min(s - 1, s / 1.15));
  }

  // ---- images ----

  const info = (imageId: number): MaskInfo | undefined => infos.get(imageId);
  const editor = (imageId: number): MaskEditor | undefined => editors.get(imageId);

  function refresh(imageId: number): void {
    const ed = editors.get(imageId);
    const cur = infos.get(imageId);
    if (!ed || !cur) return;
    infos.set(imageId, {
      ...cur,
      area: ed.area(),
      canUndo: ed.canUndo,
      canRedo: ed.canRedo,
      undoDepth: ed.undoDepth,
      saving: queues.get(imageId)?.busy ?? false,
      source: ed.source,
    });
  }

  /**
   * Loads an image's newest mask of the author (empty when none) for painting; `force` reloads.
   * Layers that show the same image at once (the review view's factual and counterfactual) share one load.
   */
  function open(imageId: number, h: number, w: number, force = false): Promise<void> {
    const have = editors.get(imageId);
    if (have && have.h === h && have.w === w && !force) return Promise.resolve();
    const inFlight = opening.get(imageId);
    if (inFlight && !force) return inFlight;
    const p = load(imageId, h, w).finally(() => opening.get(imageId) === p && opening.delete(imageId));
    opening.set(imageId, p);
    return p;
  }

  async function load(imageId: number, h: number, w: number): Promise<void> {
    infos.set(imageId, {
      status: 'loading',
      error: null,
      h,
      w,
      area: 0,
      canUndo: false,
      canRedo: false,
      undoDepth: 0,
      saving: false,
      savedId: null,
      savedAt: null,
      source: 'painted',
    });
    try {
      await loadAuthor();
      const row = author.value ? await api['masks.get']({ imageId, author: author.value }) : null;
      if (row && (row.size[0] !== h || row.size[1] !== w))
        throw new Error(`the stored mask is ${row.size[0]} x ${row.size[1]}, the image ${h} x ${w}`);
      const ed = editors.get(imageId) ?? new MaskEditor(h, w);
      const source = row?.source === 'seeded' ? 'seeded' : 'painted';
      ed.reset(row ? decodeMaskString(row.counts, h, w) : new Uint8Array(h * w), source);
      editors.set(imageId, ed);
      infos.set(imageId, { ...infos.get(imageId)!, status: 'ready', savedId: row?.id ?? null, savedAt: row?.createdAt ?? null });
      refresh(imageId);
      redrawAll(imageId);
      measure(imageId);
    } catch (error) {
      infos.set(imageId, { ...infos.get(imageId)!, status: 'error', error: errorMessage(error) });
    }
  }

  function onRedraw(imageId: number, fn: Redraw): () => void {
    let set = redraws.get(imageId);
    if (!set) redraws.set(imageId, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }
  function redraw(imageId: number, rect: Rect, except?: Redraw): void {
    for (const fn of redraws.get(imageId) ?? []) if (fn !== except) fn(rect);
  }
  function redrawAll(imageId: number): void {
    const ed = editors.get(imageId);
    if (ed) redraw(imageId, { x: 0, y: 0, w: ed.w, h: ed.h });
  }

  // ---- after every completed operation: redraw elsewhere, measure, save ----

  /** Called when an operation on an image is complete (a stroke ended, a fill, undo...). */
  function committed(imageId: number, rect: Rect | null, drawnBy?: Redraw): void {
    if (!rect) return;
    activeImageId.value = imageId;
    redraw(imageId, rect, drawnBy);
    measure(imageId);
    save(imageId);
    refresh(imageId);
  }

  function save(imageId: number): void {
    const ed = editors.get(imageId);
    if (!ed) return;
    let q = queues.get(imageId);
    if (!q) {
      q = new SaveQueue({
        snapshot: () => ({ h: ed.h, w: ed.w, counts: encodeMaskString(ed.mask, ed.h, ed.w), source: ed.source }),
        send: async (s) => {
          const who = author.value;
          if (!who) throw new Error('enter your name to save masks');
          const res = await api['masks.save']({ imageId, author: who, size: [s.h, s.w], counts: s.counts, source: s.source });
          const cur = infos.get(imageId);
          if (cur) infos.set(imageId, { ...cur, savedId: res.mask.id, savedAt: res.mask.createdAt, error: null });
        },
        settled: (error) => {
          const cur = infos.get(imageId);
          if (cur) infos.set(imageId, { ...cur, saving: queues.get(imageId)?.busy ?? false, error: error ? errorMessage(error) : null });
          if (error) app.notify(error);
        },
      });
      queues.set(imageId, q);
    }
    q.request();
  }

  /** Resolves when every save asked for so far has been answered. */
  async function flushSaves(): Promise<void> {
    await Promise.all([...queues.values()].map((q) => q.idle()));
    for (const id of queues.keys()) refresh(id);
  }

  // ---- the operations (each one undo step) ----

  function apply(imageId: number, op: (ed: MaskEditor) => Rect | null): boolean {
    const ed = editors.get(imageId);
    if (!ed) return false;
    const rect = op(ed);
    committed(imageId, rect);
    return rect !== null;
  }
  const undo = (imageId: number) => apply(imageId, (ed) => ed.undo());
  const redo = (imageId: number) => apply(imageId, (ed) => ed.redo());
  const invert = (imageId: number) => apply(imageId, (ed) => ed.invert());
  const clear = (imageId: number) => apply(imageId, (ed) => ed.clear());
  const lasso = (imageId: number, pts: readonly Point[], value: 0 | 1 = 1) => apply(imageId, (ed) => ed.fillPolygon(pts, value));

  // ---- the polygon tool: vertices by clicks, then one fill (one undo step) ----

  /** A click of the polygon tool at `p` (image pixels), at `scale` screen pixels per image pixel: adds a vertex or closes. */
  function polygonAt(imageId: number, p: Point, scale: number, value: 0 | 1 = 1): void {
    activeImageId.value = imageId;
    const placed = polygon.value?.imageId === imageId ? polygon.value.points : [];
    const click = polygonClick(placed, p, scale);
    if (click.kind === 'close') closePolygon(value);
    else if (click.kind === 'add') polygon.value = { imageId, points: click.points };
  }
  /** Fills the polygon placed so far (or cuts it out with `value` 0); false when it has fewer than 3 vertices. */
  function closePolygon(value: 0 | 1 = 1): boolean {
    const draft = polygon.value;
    if (!draft || !canClose(draft.points)) return false;
    polygon.value = null;
    lasso(draft.imageId, draft.points, value);
    return true;
  }
  function cancelPolygon(): void {
    polygon.value = null;
  }
  function removePolygonVertex(): void {
    const draft = polygon.value;
    if (!draft) return;
    polygon.value = draft.points.length > 1 ? { imageId: draft.imageId, points: draft.points.slice(0, -1) } : null;
  }

  /** Replaces the mask with {shown map >= threshold * max}; false when the map is not loaded or all zero. */
  function seedFromMap(imageId: number, kind: MapKind, threshold = seedThreshold.value): boolean {
    const p = prepared.get(agreementKey(imageId, kind));
    if (!p || p.peak < 0) return false;
    return apply(imageId, (ed) => (p.h === ed.h && p.w === ed.w ? ed.seed(thresholdMap(p.values, threshold)) : null));
  }

  /** Fetches the image's full-size pixels ahead of the wand's first click (no-op once fetched). */
  function preparePixels(imageId: number): void {
    pixels.get(imageId).catch(() => undefined);
  }

  /**
   * The magic wand at `at` (image pixels): adds the connected region of similar colour, read from
   * the stored image at full size (or removes it with `value` 0). `ms` is the time of the fill.
   */
  async function wand(imageId: number, at: Point, value: 0 | 1 = 1): Promise<boolean> {
    const ed = editors.get(imageId);
    if (!ed) return false;
    try {
      const img = await pixels.get(imageId);
      if (img.width !== ed.w || img.height !== ed.h)
        throw new Error(`the image is ${img.height} x ${img.width}, its mask ${ed.h} x ${ed.w}`);
      const t0 = performance.now();
      const { region, rect } = floodRegion(img, at.x, at.y, tolerance.value);
      lastWandMs.value = performance.now() - t0;
      return apply(imageId, (e) => e.applyRegion(region, rect, value));
    } catch (error) {
      app.notify(error);
      return false;
    }
  }

  // ---- live agreement ----

  /** Takes a pair's raw maps (explain.maps) and measures them against the open masks. */
  function setMaps(dto: ExplainMapsDto | null): void {
    prepared.clear();
    agreement.clear();
    mapsKey.value = dto ? `${dto.pairId}/${dto.modelId}/${dto.method}/${dto.layer}` : null;
    if (!dto) return;
    for (const side of [dto.a, dto.b]) {
      const [H, W] = side.imageSize;
      const grid = (data: number[]) => ({ data, h: dto.mapHeight, w: dto.mapWidth });
      prepared.set(agreementKey(side.imageId, 'factual'), prepareMap(grid(side.factual), H, W));
      if (side.counterfactual) prepared.set(agreementKey(side.imageId, 'counterfactual'), prepareMap(grid(side.counterfactual), H, W));
      measure(side.imageId);
    }
  }

  /** Fetches a pair's raw maps (once per pair, model, method and layer) for the live agreement and the seed. */
  async function loadMaps(args: { pairId: number; modelId: number; method: ExplainMethod; layer: string }): Promise<void> {
    const key = `${args.pairId}/${args.modelId}/${args.method}/${args.layer}`;
    if (mapsKey.value === key || loadingMaps === key) return;
    loadingMaps = key;
    try {
      const dto = await api['explain.maps'](args);
      if (loadingMaps === key) setMaps(dto);
    } catch (error) {
      app.notify(error);
    } finally {
      if (loadingMaps === key) loadingMaps = null;
    }
  }

  function measure(imageId: number): void {
    const ed = editors.get(imageId);
    if (!ed) return;
    for (const kind of ['factual', 'counterfactual'] as const) {
      const key = agreementKey(imageId, kind);
      const p = prepared.get(key);
      if (!p || p.h !== ed.h || p.w !== ed.w) {
        agreement.delete(key);
        continue;
      }
      const t0 = performance.now();
      const a = maskAgreement(p, ed.mask);
      agreement.set(key, { ...a, ms: performance.now() - t0, maskEmpty: !ed.mask.some((v) => v > 0) });
    }
  }

  const agreementOf = (imageId: number, kind: MapKind): AgreementInfo | undefined => agreement.get(agreementKey(imageId, kind));
  /** A map of that kind with evidence is loaded for the image (so it can seed a mask). */
  const hasMap = (imageId: number, kind: MapKind): boolean => (prepared.get(agreementKey(imageId, kind))?.peak ?? -1) >= 0;

  return {
    author,
    authorLoaded,
    tool,
    brushSize,
    tolerance,
    seedThreshold,
    colour,
    opacity,
    visible,
    activeImageId,
    polygon,
    lastWandMs,
    infos,
    agreement,
    mapsKey,
    loadAuthor,
    setAuthor,
    setBrushSize,
    stepBrush,
    info,
    editor,
    open,
    onRedraw,
    committed,
    flushSaves,
    undo,
    redo,
    invert,
    clear,
    lasso,
    polygonAt,
    closePolygon,
    cancelPolygon,
    removePolygonVertex,
    seedFromMap,
    preparePixels,
    wand,
    setMaps,
    loadMaps,
    agreementOf,
    hasMap,
  };
});
