import { defineStore } from 'pinia';
import { ref, shallowReactive } from 'vue';
import type { ReviewStatsDto } from '../../../../shared/dto';
import { errorMessage, useApi } from '../../api';

/**
 * A version's review summary (review.stats): heatmaps judged sensible per class and method,
 * similarity verdicts against the model's own error, tags, and the agreement between reviewers.
 * Shown by the models view (per version) and the review view (agreement).
 */
export const useReviewStatsStore = defineStore('review-stats', () => {
  const api = useApi();
  const byModel = shallowReactive(new Map<number, ReviewStatsDto>());
  const loading = ref<number | null>(null);
  const error = ref<{ modelId: number; message: string } | null>(null);
  const seq = new Map<number, number>();

  async function load(modelId: number): Promise<void> {
    const mine = (seq.get(modelId) ?? 0) + 1;
    seq.set(modelId, mine);
    loading.value = modelId;
    try {
      const stats = await api['review.stats']({ modelId });
      if (seq.get(modelId) !== mine) return;
      byModel.set(modelId, stats);
      if (error.value?.modelId === modelId) error.value = null;
    } catch (e) {
      if (seq.get(modelId) === mine) error.value = { modelId, message: errorMessage(e) };
    } finally {
      if (seq.get(modelId) === mine && loading.value === modelId) loading.value = null;
    }
  }

  const get = (modelId: number | null): ReviewStatsDto | null => (modelId === null ? null : (byModel.get(modelId) ?? null));

  return { byModel, loading, error, load, get };
});
