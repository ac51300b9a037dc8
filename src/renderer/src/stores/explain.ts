import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { ColormapName, ExplainMethod, PairDto } from '../../../shared/dto';
import { useThumbnailsStore } from './thumbnails';
import { useExplainJobs } from './explain/jobs';
import { useExplanation, type ExplainRequest } from './explain/explanation';
import { useModelChoice } from './explain/model-choice';
import { useOverlays, type ShowMode } from './explain/overlays';
import { usePairCursor, type PairContext } from './explain/pair-cursor';
import { AUTO_RELIABILITY_MAX_SIDE, useReliability } from './explain/reliability';
import { useSanityCheck } from './explain/sanity';
import { parseChannelCap } from './explain/scorecam';
import { clampOpacity } from './explain/shortcuts';

/**
 * The explanation view: one pair, one model version, one method/layer at a time; the
 * pair's factual and counterfactual maps on both images as overlays; faithfulness
 * metrics and batch explanation (jobs) and the sanity check. Its parts, by concern, are
 * in ./explain/; this store ties them together: what a new pair or model resets and
 * what is explained again when a control changes.
 */
export const useExplainStore = defineStore('explain', () => {
  const thumbs = useThumbnailsStore();

  const choice = useModelChoice();
  const { models, modelId, layersInfo, method, layer, methodInfo, effectiveLayer, loadModels, loadLayers } = choice;
  const colormap = ref<ColormapName>('jet');
  /** Score-CAM's channel cap chosen here (null: none chosen, main's default or the stored map's cap) */
  const maxChannels = ref<number | null>(null);
  const opacity = ref(0.5);
  const show = ref<ShowMode>('both');

  const cursor = usePairCursor(arrived);
  const { context, pair } = cursor;

  /** The model, method and layer every request names (null: no model chosen). */
  function methodArgs(): Omit<ExplainRequest, 'pairId' | 'maxChannels'> | null {
    if (modelId.value === null) return null;
    return { modelId: modelId.value, method: method.value, ...(effectiveLayer.value ? { layer: effectiveLayer.value } : {}) };
  }
  /** The Score-CAM cap argument, for Score-CAM only (main refuses it for the other methods). */
  function capArgs(): { maxChannels?: number } {
    return method.value === 'scorecam' && maxChannels.value !== null ? { maxChannels: maxChannels.value } : {};
  }
  /** The pair and methodArgs (null without either). */
  function pairArgs(): Omit<ExplainRequest, 'maxChannels'> | null {
    const target = methodArgs();
    return pair.value && target ? { pairId: pair.value.id, ...target } : null;
  }
  const withCap = <T extends object>(args: T | null) => args && { ...args, ...capArgs() };

  const current = useExplanation(
    () => withCap(pairArgs()),
    () => {
      void overlays.loadOverlays();
      reliabilityHint.clearReliability();
      const side = Math.max(...(layersInfo.value?.inputShape.slice(0, 2) ?? [Infinity]));
      if (side <= AUTO_RELIABILITY_MAX_SIDE) void reliabilityHint.checkReliability();
    },
  );
  const { explanation, explaining, explain } = current;
  const overlays = useOverlays({ explanation, explaining, colormap, methodInfo });
  const sanityCheck = useSanityCheck(pairArgs);
  const reliabilityHint = useReliability(() => withCap(pairArgs()));
  const jobs = useExplainJobs({
    target: () => withCap(methodArgs()),
    pairId: () => pair.value?.id ?? null,
    split: () => context.value?.split ?? null,
  });

  /** A move to another pair (prev/next, go to) found one: explain it. */
  function arrived(p: PairDto): void {
    sanityCheck.clearSanity();
    void thumbs.ensure([p.a.id, p.b.id]);
    void explain();
  }

  /** Opens the view on a model and pair when nothing is chosen yet: the newest model's test pairs. */
  async function init(): Promise<void> {
    if (pending) {
      await pending; // useVersion() chose the model and pair
      return;
    }
    await loadModels();
    if (pair.value === null) {
      const m = choice.model.value ?? models.value.find((x) => x.weightsPath && x.datasetId !== null && x.pairSetId !== null);
      if (m && m.datasetId !== null) {
        modelId.value = m.id;
        context.value = { datasetId: m.datasetId, pairSetId: m.pairSetId, split: 'test', label: null };
        await loadLayers();
        await cursor.step(1, 0);
        return;
      }
    }
    choice.pickModel(context.value, pair.value);
    if (layersInfo.value?.modelId !== modelId.value) await loadLayers();
    if (pair.value && !explanation.value && !explaining.value) void explain();
  }

  async function setModel(id: number | null): Promise<void> {
    modelId.value = id;
    layer.value = null;
    sanityCheck.clearSanity();
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
    sanityCheck.clearSanity();
    explanation.value = null;
    await loadLayers();
    if (fits) {
      void explain();
    } else if (m.datasetId !== null) {
      await cursor.first({ datasetId: m.datasetId, pairSetId: m.pairSetId, split: 'test', label: null });
    }
  }

  /** Opens a pair (from the pairs browser), remembering its filters for prev/next. */
  async function openPair(p: PairDto, ctx: PairContext): Promise<void> {
    cursor.open(p, ctx);
    sanityCheck.clearSanity();
    if (!models.value.length) await loadModels();
    choice.pickModel(context.value, pair.value);
    if (layersInfo.value?.modelId !== modelId.value) await loadLayers();
    void thumbs.ensure([p.a.id, p.b.id]);
    void explain();
  }

  // ---- controls ----
  function setMethod(m: ExplainMethod): void {
    if (m === method.value) return;
    method.value = m;
    void explain();
  }

  function setMethodIndex(i: number): void {
    const m = choice.methods.value[i];
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
    void overlays.loadOverlays();
  }

  function setOpacity(v: number): void {
    opacity.value = clampOpacity(v);
  }

  return {
    models,
    modelId,
    model: choice.model,
    layersInfo,
    method,
    layer,
    colormap,
    maxChannels,
    opacity,
    show,
    methods: choice.methods,
    methodInfo,
    effectiveLayer,
    context,
    pair,
    moving: cursor.moving,
    atEnd: cursor.atEnd,
    atStart: cursor.atStart,
    explanation,
    explaining,
    explainStartedAt: current.explainStartedAt,
    explainError: current.explainError,
    overlays: overlays.overlays,
    metricsJob: jobs.metricsJob,
    metricsRunning: jobs.metricsRunning,
    metrics: jobs.metrics,
    metricsScope: jobs.metricsScope,
    batchJob: jobs.batchJob,
    batchRunning: jobs.batchRunning,
    sanity: sanityCheck.sanity,
    sanityRunning: sanityCheck.sanityRunning,
    sanityError: sanityCheck.sanityError,
    reliability: reliabilityHint.reliability,
    reliabilityRunning: reliabilityHint.reliabilityRunning,
    reliabilityError: reliabilityHint.reliabilityError,
    checkReliability: reliabilityHint.checkReliability,
    init,
    loadModels,
    setModel,
    useVersion,
    openPair,
    step: cursor.step,
    goTo: cursor.goTo,
    explain,
    abandonExplain: current.abandonExplain,
    panel: overlays.panel,
    setMethod,
    setMethodIndex,
    setLayer,
    setColormap,
    setMaxChannels,
    setOpacity,
    runMetrics: jobs.runMetrics,
    cancelMetrics: jobs.cancelMetrics,
    runBatch: jobs.runBatch,
    cancelBatch: jobs.cancelBatch,
    runSanity: sanityCheck.runSanity,
    abandonSanity: sanityCheck.abandonSanity,
  };
});
