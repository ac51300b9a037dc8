// Part of the models store (runs inside its setup): the selected version's faithfulness
// summary (models.faithfulness) and the job that measures it (explain.faithfulness), with
// progress and cancel; the summary is reloaded when the job ends.
import { ref, type Ref } from 'vue';
import type { FaithfulnessSummaryDto } from '../../../../shared/dto';
import { useApi } from '../../api';
import { useAppStore } from '../app';
import { useTrackedJob } from '../jobs';

export function useFaithfulness(selectedId: Ref<number | null>) {
  const api = useApi();
  const app = useAppStore();
  /** the summary of `summaryFor` (null: none measured, or not loaded yet) */
  const summary = ref<FaithfulnessSummaryDto | null>(null);
  const summaryFor = ref<number | null>(null);
  const job = useTrackedJob({
    what: 'Faithfulness measurement',
    onFinished: (j) => {
      const id = (j.params as { modelId?: number }).modelId;
      if (typeof id === 'number' && id === selectedId.value) void loadSummary(id);
    },
  });

  async function loadSummary(id: number | null): Promise<void> {
    summaryFor.value = id;
    summary.value = null;
    if (id === null) return;
    try {
      const s = await api['models.faithfulness']({ id });
      if (summaryFor.value === id) summary.value = s;
    } catch (error) {
      app.notify(error);
    }
  }

  /** Measures every method's faithfulness on a sample of the version's same-class validation pairs. */
  async function measure(id: number, limit = 64): Promise<void> {
    try {
      const { jobId } = await api['explain.faithfulness']({ modelId: id, limit });
      job.follow(jobId);
    } catch (error) {
      app.notify(error);
    }
  }

  return {
    faithfulness: summary,
    faithfulnessFor: summaryFor,
    faithfulnessJob: job.job,
    measuringFaithfulness: job.running,
    loadFaithfulness: loadSummary,
    measureFaithfulness: measure,
    cancelFaithfulness: job.cancel,
  };
}
