// Part of the explain store (runs inside its setup): which model version explains, with
// which method and target layer (the model's layers and methods come from main).
import { computed, ref } from 'vue';
import { EXPLAIN_METHODS, type ExplainLayersDto, type ExplainMethod, type ModelVersionDto, type PairDto } from '../../../../shared/dto';
import { useApi } from '../../api';
import { useAppStore } from '../app';
import type { PairContext } from './pair-cursor';

export function useModelChoice() {
  const api = useApi();
  const app = useAppStore();

  const models = ref<ModelVersionDto[]>([]);
  const modelId = ref<number | null>(null);
  const model = computed(() => models.value.find((m) => m.id === modelId.value) ?? null);
  const layersInfo = ref<ExplainLayersDto | null>(null);
  const method = ref<ExplainMethod>('gradcam');
  /** null: the model's default layer */
  const layer = ref<string | null>(null);

  /** The model's methods in key order (keys 1..n choose them). */
  const methods = computed(() => {
    const list = layersInfo.value?.methods ?? [];
    return [...list].sort((x, y) => EXPLAIN_METHODS.indexOf(x.id) - EXPLAIN_METHODS.indexOf(y.id));
  });
  const methodInfo = computed(() => methods.value.find((m) => m.id === method.value) ?? null);
  /** The layer explained: the chosen one or the model's default; null for a method in input space. */
  const effectiveLayer = computed(() =>
    methodInfo.value && !methodInfo.value.usesLayer ? null : (layer.value ?? layersInfo.value?.default ?? null),
  );

  async function loadModels(): Promise<void> {
    try {
      models.value = await api['models.list']({});
      if (modelId.value !== null && !models.value.some((m) => m.id === modelId.value)) modelId.value = null;
    } catch (error) {
      app.notify(error);
    }
  }

  /** Picks a model for the pair's dataset: the current one if it fits, else the newest trained on its pair set, else on its dataset. */
  function pickModel(ctx: PairContext | null, pair: PairDto | null): void {
    const fits = (m: ModelVersionDto) => !ctx || m.datasetId === ctx.datasetId;
    if (model.value && fits(model.value)) return;
    const onSet = models.value.find((m) => ctx && m.pairSetId === (pair?.pairSetId ?? ctx.pairSetId) && m.weightsPath);
    const next = onSet ?? models.value.find((m) => fits(m) && m.weightsPath) ?? null;
    modelId.value = next?.id ?? null;
  }

  /** The version whose default method was last applied: a version opens on its most faithful method once. */
  let defaultAppliedFor: number | null = null;

  /**
   * The chosen model's layers and methods. A version seen for the first time opens on its default
   * method (the most faithful one measured, else Grad-CAM); afterwards the method chosen is kept
   * where the model has it.
   */
  async function loadLayers(): Promise<void> {
    const id = modelId.value;
    layersInfo.value = null;
    if (id === null) return;
    try {
      const info = await api['explain.layers']({ modelId: id });
      if (modelId.value !== id) return;
      layersInfo.value = info;
      if (layer.value !== null && !info.layers.includes(layer.value)) layer.value = null;
      if (defaultAppliedFor !== id && info.methods.some((m) => m.id === info.defaultMethod)) {
        defaultAppliedFor = id;
        method.value = info.defaultMethod;
      }
      if (!info.methods.some((m) => m.id === method.value) && info.methods.length) method.value = info.methods[0].id;
    } catch (error) {
      app.notify(error);
    }
  }

  return { models, modelId, model, layersInfo, method, layer, methods, methodInfo, effectiveLayer, loadModels, pickModel, loadLayers };
}
