import { defineStore } from 'pinia';
import { computed, ref, shallowReactive } from 'vue';
import { SCORECAM_CAP_RANGE } from '../../../shared/contract';
import {
  EXPLAIN_METHODS,
  type ColormapName,
  type ExplainLayersDto,
  type ExplainMethod,
  type ExplainMetricsDto,
  type ExplanationDto,
  type ModelVersionDto,
  type OverlayDto,
  type PairDto,
  type SanityDto,
  type ScoreCamChannelsDto,
  type Split,
} from '../../../shared/dto';
import { errorMessage, useApi } from '../api';
import { useAppStore } from './app';
import { useTrackedJob } from './jobs';
import { useThumbnailsStore } from './thumbnails';

export type MapKind = 'factual' | 'counterfactual';
export type ShowMode = 'both' | MapKind;
export type ImageSide = 'a' | 'b';

/** Where prev/next pair move: the pair set and the filters the pair was opened with. */
export interface PairContext {
  datasetId: number;
  pairSetId: number | null;
  split: Split | null;
  label: 0 | 1 | null;
}

export const OPACITY_STEP = 0.1;

export type KeyAction =
  | { kind: 'method'; index: number }
  | { kind: 'show'; mode: ShowMode }
  | { kind: 'opacity'; delta: number }
  | { kind: 'pair'; delta: 1 | -1 };

/** The explanation view's keyboard shortcuts (null: not ours). */
export function keyAction(key: string): KeyAction | null {
  if (/^[1-9]$/.test(key)) return { kind: 'method', index: Number(key) - 1 };
  switch (key) {
    case 'f':
      return { kind: 'show', mode: 'factual' };
    case 'c':
      return { kind: 'show', mode: 'counterfactual' };
    case 'b':
      return { kind: 'show', mode: 'both' };
    case '[':
      return { kind: 'opacity', delta: -OPACITY_STEP };
    case ']':
      return { kind: 'opacity', delta: OPACITY_STEP };
    case 'ArrowLeft':
      return { kind: 'pair', delta: -1 };
    case 'ArrowRight':
      return { kind: 'pair', delta: 1 };
    default:
      return null;
  }
}

export const clampOpacity = (v: number): number => Math.round(Math.min(1, Math.max(0, v)) * 100) / 100;

export interface OverlayKey {
  modelId: number;
  pairId: number;
  method: ExplainMethod;
  layer: string;
  image: ImageSide;
  kind: MapKind;
  colormap: ColormapName;
  /** which stored map (its createdAt): a recomputed map (refresh, another Score-CAM cap) is fetched anew */
  stamp?: string;
}
export const overlayKey = (k: OverlayKey): string => `${k.modelId}/${k.pairId}/${k.method}/${k.layer}/${k.image}/${k.kind}/${k.colormap}${k.stamp ? `/${k.stamp}` : ''}`;

/** Score-CAM's default channel cap: main's (DEFAULT_SCORECAM_MAX_CHANNELS in its engine) when none is given. */
export const SCORECAM_DEFAULT_CAP = 256;

/** A typed channel cap: an integer in the contract's range, else null. */
export function parseChannelCap(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isInteger(n) && n >= SCORECAM_CAP_RANGE.min && n <= SCORECAM_CAP_RANGE.max ? n : null;
}

/**
 * One line on how many channels Score-CAM masked, e.g. "Score-CAM: 256 of 2048 channels (cap 256)";
 * per image when A and B differ; says why fewer than the cap were used (the others are constant).
 */
export function scoreCamChannelsText(ch: ScoreCamChannelsDto): string {
  const [ua, ub] = ch.used;
  const [aa, ab] = ch.active;
  const notes: string[] = [ch.maxChannels === null ? 'no cap' : `cap ${ch.maxChannels}`];
  // fewer than the cap (and than the layer has): the others do not vary spatially, so masking them says nothing
  if (Math.min(aa, ab) < ch.total && (ch.maxChannels === null || Math.max(ua, ub) < ch.maxChannels)) {
    notes.push(aa === ab ? `the other ${ch.total - aa} are constant` : 'the others are constant');
  }
  return `Score-CAM: ${ua === ub ? ua : `A ${ua}, B ${ub}`} of ${ch.total} channels (${notes.join('; ')})`;
}

/** What one overlay panel shows. */
export type PanelState =
  | { state: 'idle' }
  | { state: 'loading' }
  | { state: 'undefined'; why: string }
  | { state: 'no-evidence' }
  | { state: 'ready'; url: string; width: number; height: number }
  | { state: 'error'; message: string };

const MAX_OVERLAYS = 400;

/**
 * The explanation view: one pair, one model version, one method/layer at a time; the
 * pair's factual and counterfactual maps on both images as overlays (fetched as the
 * coloured map alone, opacity 1, and blended over the image in the page, so the opacity
 * slider is instant); faithfulness metrics (a job) and the sanity check.
 */
export const useExplainStore = defineStore('explain', () => {
  const api = useApi();
  const app = useAppStore();
  const thumbs = useThumbnailsStore();

  // ---- model and method ----
  const models = ref<ModelVersionDto[]>([]);
  const modelId = ref<number | null>(null);
  const model = computed(() => models.value.find((m) => m.id === modelId.value) ?? null);
  const layersInfo = ref<ExplainLayersDto | null>(null);
  const method = ref<ExplainMethod>('gradcam');
  /** null: the model's default layer */
  const layer = ref<string | null>(null);
  const colormap = ref<ColormapName>('jet');
  /** Score-CAM's channel cap chosen here (null: none chosen, main's default or the stored map's cap) */
  const maxChannels = ref<number | null>(null);
  const opacity = ref(0.5);
  const show = ref<ShowMode>('both');

  const methods = computed(() => {
    const list = layersInfo.value?.methods ?? [];
    return [...list].sort((x, y) => EXPLAIN_METHODS.indexOf(x.id) - EXPLAIN_METHODS.indexOf(y.id));
  });
  const methodInfo = computed(() => methods.value.find((m) => m.id === method.value) ?? null);
  const effectiveLayer = computed(() => (methodInfo.value && !methodInfo.value.usesLayer ? null : (layer.value ?? layersInfo.value?.default ?? null)));

  // ---- pair ----
  const context = ref<PairContext | null>(null);
  const pair = ref<PairDto | null>(null);
  const moving = ref(false);
  const atEnd = ref(false);
  const atStart = ref(false);

  // ---- explanation ----
  const explanation = ref<ExplanationDto | null>(null);
  const explaining = ref(false);
  const explainStartedAt = ref<number | null>(null);
  const explainError = ref<string | null>(null);
  let explainSeq = 0;
  const overlays = shallowReactive(new Map<string, PanelState>());

  // ---- faithfulness and sanity ----
  const metricsRun = useTrackedJob({ what: 'Faithfulness metrics' });
  const metrics = computed<ExplainMetricsDto | null>(() => {
    const j = metricsRun.job.value;
    return j && j.status === 'done' && j.result ? (j.result as unknown as ExplainMetricsDto) : null;
  });
  const metricsScope = ref<'pair' | 'split'>('pair');
  const batchRun = useTrackedJob({ what: 'Batch explanation' });
  const sanity = ref<SanityDto | null>(null);
  const sanityRunning = ref(false);
  const sanityError = ref<string | null>(null);
  let sanitySeq = 0;

  // ---- models ----
  async function loadModels(): Promise<void> {
    try {
      models.value = await api['models.list']({});
      if (modelId.value !== null && !models.value.some((m) => m.id === modelId.value)) modelId.value = null;
    } catch (error) {
      app.notify(error);
    }
  }

  /** Picks a model for the pair's dataset: the current one if it fits, else the newest trained on its pair set, else on its dataset. */
  function pickModel(): void {
    const ctx = context.value;
    const fits = (m: ModelVersionDto) => !ctx || m.datasetId === ctx.datasetId;
    if (model.value && fits(model.value)) return;
    const onSet = models.value.find((m) => ctx && m.pairSetId === (pair.value?.pairSetId ?? ctx.pairSetId) && m.weightsPath);
    const next = onSet ?? models.value.find((m) => fits(m) && m.weightsPath) ?? null;
    modelId.value = next?.id ?? null;
  }

  async function loadLayers(): Promise<void> {
    const id = modelId.value;
    layersInfo.value = null;
    if (id === null) return;
    try {
      const info = await api['explain.layers']({ modelId: id });
      if (modelId.value !== id) return;
      layersInfo.value = info;
      if (layer.value !== null && !info.layers.includes(layer.value)) layer.value = null;
      if (!info.methods.some((m) => m.id === method.value) && info.methods.length) method.value = info.methods[0].id;
    } catch (error) {
      app.notify(error);
    }
  }

  /** Opens the view on a model and pair when nothing is chosen yet: the newest model's test pairs. */
  async function init(): Promise<void> {
    if (pending) {
      await pending; // useVersion() chose the model and pair
      return;
    }
    await loadModels();
    if (pair.value === null) {
      const m = model.value ?? models.value.find((x) => x.weightsPath && x.datasetId !== null && x.pairSetId !== null);
      if (m && m.datasetId !== null) {
        modelId.value = m.id;
        context.value = { datasetId: m.datasetId, pairSetId: m.pairSetId, split: 'test', label: null };
        await loadLayers();
        await step(1, 0);
        return;
      }
    }
    pickModel();
    if (layersInfo.value?.modelId !== modelId.value) await loadLayers();
    if (pair.value && !explanation.value && !explaining.value) void explain();
  }

  async function setModel(id: number | null): Promise<void> {
    modelId.value = id;
    layer.value = null;
    sanity.value = null;
    await loadLayers();
    void explain();
  }

  /** Explains with this version (from the models view): its own pair set's test pairs unless the current pair fits. */
  let pending: Promise<void> | null = null;
  async function useVersion(id: number): Promise<void> {
    const run = switchVersion(id);
    pending = run;
    try {
      await run;
    } finally {
      if (pending === run) pending = null;
    }
  }

  async function switchVersion(id: number): Promise<void> {
    await loadModels();
    const m = models.value.find((x) => x.id === id);
    if (!m) return;
    const fits = !!pair.value && context.value?.datasetId === m.datasetId;
    modelId.value = id;
    layer.value = null;
    sanity.value = null;
    explanation.value = null;
    await loadLayers();
    if (fits) {
      void explain();
    } else if (m.datasetId !== null) {
      pair.value = null;
      context.value = { datasetId: m.datasetId, pairSetId: m.pairSetId, split: 'test', label: null };
      await step(1, 0);
    }
  }

  /** Opens a pair (from the pairs browser), remembering its filters for prev/next. */
  async function openPair(p: PairDto, ctx: PairContext): Promise<void> {
    context.value = ctx;
    pair.value = p;
    atEnd.value = false;
    atStart.value = false;
    sanity.value = null;
    if (!models.value.length) await loadModels();
    pickModel();
    if (layersInfo.value?.modelId !== modelId.value) await loadLayers();
    void thumbs.ensure([p.a.id, p.b.id]);
    void explain();
  }

  function pageArgs(afterId: number, limit: number) {
    const ctx = context.value!;
    return {
      datasetId: ctx.datasetId,
      ...(ctx.pairSetId !== null ? { pairSetId: ctx.pairSetId } : {}),
      ...(ctx.split ? { split: ctx.split } : {}),
      ...(ctx.label !== null ? { label: ctx.label } : {}),
      afterId,
      limit,
    };
  }

  /** The pair just before id `current` under the filters (keyset paging only goes forward: look back in growing windows). */
  async function previousOf(current: number): Promise<PairDto | null> {
    let hi = current;
    let span = 64;
    while (hi > 1) {
      const lo = Math.max(0, hi - 1 - span);
      let after = lo;
      let last: PairDto | null = null;
      for (;;) {
        const page = await api['pairs.page'](pageArgs(after, 500));
        const rows = page.rows.filter((r) => r.id < hi);
        if (rows.length) last = rows[rows.length - 1];
        if (rows.length < page.rows.length || page.nextAfterId === null || page.rows.length < 500) break;
        after = page.rows[page.rows.length - 1].id;
      }
      if (last) return last;
      if (lo === 0) return null;
      hi = lo + 1;
      span *= 4;
    }
    return null;
  }

  /** Moves to the next (+1) or previous (-1) pair under the context's filters; `from` overrides the current id. */
  async function step(delta: 1 | -1, from?: number): Promise<void> {
    if (!context.value || moving.value) return;
    const current = from ?? pair.value?.id ?? 0;
    moving.value = true;
    try {
      let found: PairDto | null = null;
      if (delta === 1) {
        const page = await api['pairs.page'](pageArgs(current, 1));
        found = page.rows[0] ?? null;
        atEnd.value = !found;
      } else {
        found = await previousOf(current);
        atStart.value = !found;
      }
      if (found) {
        pair.value = found;
        atEnd.value = delta === 1 ? false : atEnd.value;
        atStart.value = delta === -1 ? false : atStart.value;
        sanity.value = null;
        void thumbs.ensure([found.a.id, found.b.id]);
        void explain();
      }
    } catch (error) {
      app.notify(error);
    } finally {
      moving.value = false;
    }
  }

  /** Jumps to a pair by id (the first pair with an id >= it under the filters). */
  async function goTo(id: number): Promise<void> {
    await step(1, Math.max(0, id - 1));
  }

  // ---- explanation + overlays ----
  async function explain(refresh = false): Promise<void> {
    const p = pair.value;
    const mid = modelId.value;
    if (!p || mid === null) {
      explanation.value = null;
      return;
    }
    const mine = ++explainSeq;
    const cur = explanation.value;
    // a different pair, model, method or layer: never show the previous maps under the new labels
    if (cur && (cur.pairId !== p.id || cur.modelId !== mid || cur.method !== method.value || (effectiveLayer.value !== null && cur.layer !== effectiveLayer.value))) {
      explanation.value = null;
    }
    explaining.value = true;
    explainStartedAt.value = Date.now();
    explainError.value = null;
    const args = {
      pairId: p.id,
      modelId: mid,
      method: method.value,
      ...(effectiveLayer.value ? { layer: effectiveLayer.value } : {}),
      ...(refresh ? { refresh } : {}),
      ...capArgs(),
    };
    try {
      const e = await api['explain.pair'](args);
      if (mine !== explainSeq) return;
      explanation.value = e;
      void loadOverlays();
    } catch (error) {
      if (mine !== explainSeq) return;
      explanation.value = null;
      explainError.value = errorMessage(error);
    } finally {
      if (mine === explainSeq) {
        explaining.value = false;
        explainStartedAt.value = null;
      }
    }
  }

  /** The Score-CAM cap argument, for Score-CAM only (main refuses it for the other methods). */
  function capArgs(): { maxChannels?: number } {
    return method.value === 'scorecam' && maxChannels.value !== null ? { maxChannels: maxChannels.value } : {};
  }

  /** Stops waiting for a running explanation (the contract has no cancel for explain.pair: main finishes it and stores it). */
  function abandonExplain(): void {
    explainSeq++;
    explaining.value = false;
    explainStartedAt.value = null;
    explainError.value = 'Stopped waiting. The explanation may still finish in the background; choose the method again to see it.';
  }

  function keyFor(side: ImageSide, kind: MapKind): OverlayKey | null {
    const e = explanation.value;
    if (!e) return null;
    return { modelId: e.modelId, pairId: e.pairId, method: e.method, layer: e.layer, image: side, kind, colormap: colormap.value, stamp: e.createdAt };
  }

  /** The state of one panel (image a/b, factual/counterfactual) for the current explanation. */
  function panel(side: ImageSide, kind: MapKind): PanelState {
    const e = explanation.value;
    if (!e) return explaining.value ? { state: 'loading' } : { state: 'idle' };
    const img = e[side];
    if (kind === 'counterfactual' && (!e.counterfactualDefined || img.counterfactual === null)) {
      return { state: 'undefined', why: methodInfo.value?.counterfactualHow ?? 'This method defines no counterfactual map.' };
    }
    const summary = kind === 'factual' ? img.factual : img.counterfactual!;
    if (summary.noEvidence) return { state: 'no-evidence' };
    const key = keyFor(side, kind);
    return (key && overlays.get(overlayKey(key))) ?? { state: 'loading' };
  }

  async function fetchOverlay(k: OverlayKey): Promise<void> {
    const key = overlayKey(k);
    const have = overlays.get(key);
    if (have && have.state !== 'error') return;
    overlays.set(key, { state: 'loading' });
    try {
      const o: OverlayDto = await api['explain.overlay']({
        pairId: k.pairId,
        modelId: k.modelId,
        method: k.method,
        ...(k.layer !== 'input' ? { layer: k.layer } : {}),
        image: k.image,
        kind: k.kind,
        colormap: k.colormap,
        opacity: 1,
      });
      overlays.set(key, o.noEvidence ? { state: 'no-evidence' } : { state: 'ready', url: o.dataUrl, width: o.width, height: o.height });
    } catch (error) {
      overlays.set(key, { state: 'error', message: errorMessage(error) });
    }
    if (overlays.size > MAX_OVERLAYS) {
      const first = overlays.keys().next().value;
      if (first !== undefined) overlays.delete(first);
    }
  }

  async function loadOverlays(): Promise<void> {
    const e = explanation.value;
    if (!e) return;
    const wanted: OverlayKey[] = [];
    for (const side of ['a', 'b'] as const) {
      for (const kind of ['factual', 'counterfactual'] as const) {
        const s = panel(side, kind);
        const k = keyFor(side, kind);
        if (k && (s.state === 'loading' || s.state === 'error')) wanted.push(k);
      }
    }
    await Promise.all(wanted.map(fetchOverlay));
  }

  // ---- controls ----
  function setMethod(m: ExplainMethod): void {
    if (m === method.value) return;
    method.value = m;
    void explain();
  }

  function setMethodIndex(i: number): void {
    const m = methods.value[i];
    if (m) setMethod(m.id);
  }

  function setLayer(l: string | null): void {
    layer.value = l;
    void explain();
  }

  /** Sets Score-CAM's channel cap (kept for the next pairs) and re-requests the map under it. */
  function setMaxChannels(v: unknown): boolean {
    const n = parseChannelCap(v);
    if (n === null) return false;
    if (n === maxChannels.value && (explaining.value || explanation.value?.channels?.maxChannels === n)) return true;
    maxChannels.value = n;
    if (method.value === 'scorecam') void explain();
    return true;
  }

  function setColormap(c: ColormapName): void {
    colormap.value = c;
    void loadOverlays();
  }

  function setOpacity(v: number): void {
    opacity.value = clampOpacity(v);
  }

  // ---- faithfulness metrics (a job) ----
  async function runMetrics(scope: 'pair' | 'split', opts: { split?: Split; limit?: number; steps?: number } = {}): Promise<void> {
    const mid = modelId.value;
    if (mid === null) return;
    metricsScope.value = scope;
    try {
      const base = { modelId: mid, method: method.value, ...(effectiveLayer.value ? { layer: effectiveLayer.value } : {}), ...(opts.steps ? { steps: opts.steps } : {}), ...capArgs() };
      const args =
        scope === 'pair' && pair.value
          ? { ...base, pairIds: [pair.value.id] }
          : { ...base, split: opts.split ?? context.value?.split ?? 'test', limit: opts.limit ?? 50 };
      const { jobId } = await api['explain.metrics'](args);
      metricsRun.follow(jobId);
    } catch (error) {
      app.notify(error);
    }
  }

  // ---- batch explain (a job): stores the maps of a split, so browsing them is instant ----
  async function runBatch(split: Split, limit?: number): Promise<void> {
    const mid = modelId.value;
    if (mid === null) return;
    try {
      const { jobId } = await api['explain.batch']({
        modelId: mid,
        split,
        method: method.value,
        ...(effectiveLayer.value ? { layer: effectiveLayer.value } : {}),
        ...(limit ? { limit } : {}),
        ...capArgs(),
      });
      batchRun.follow(jobId);
    } catch (error) {
      app.notify(error);
    }
  }

  // ---- sanity check (one call) ----
  async function runSanity(maxLayers?: number): Promise<void> {
    const p = pair.value;
    const mid = modelId.value;
    if (!p || mid === null) return;
    const mine = ++sanitySeq;
    sanityRunning.value = true;
    sanityError.value = null;
    sanity.value = null;
    try {
      const r = await api['explain.sanity']({ pairId: p.id, modelId: mid, method: method.value, ...(effectiveLayer.value ? { layer: effectiveLayer.value } : {}), ...(maxLayers ? { maxLayers } : {}) });
      if (mine === sanitySeq) sanity.value = r;
    } catch (error) {
      if (mine === sanitySeq) sanityError.value = errorMessage(error);
    } finally {
      if (mine === sanitySeq) sanityRunning.value = false;
    }
  }

  function abandonSanity(): void {
    sanitySeq++;
    sanityRunning.value = false;
  }

  return {
    models, modelId, model, layersInfo, method, layer, colormap, maxChannels, opacity, show, methods, methodInfo, effectiveLayer,
    context, pair, moving, atEnd, atStart,
    explanation, explaining, explainStartedAt, explainError, overlays,
    metricsJob: metricsRun.job, metricsRunning: metricsRun.running, metrics, metricsScope, batchJob: batchRun.job, batchRunning: batchRun.running, sanity, sanityRunning, sanityError,
    init, loadModels, setModel, useVersion, openPair, step, goTo, explain, abandonExplain, panel,
    setMethod, setMethodIndex, setLayer, setColormap, setMaxChannels, setOpacity,
    runMetrics, cancelMetrics: metricsRun.cancel, runBatch, cancelBatch: batchRun.cancel, runSanity, abandonSanity,
  };
});
