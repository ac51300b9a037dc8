// Part of the explain store (runs inside its setup): the explanation view's two jobs, the
// faithfulness metrics (of the pair or of a split) and the batch explanation of a split
// (it stores the split's maps, so browsing them is instant).
import { computed, ref } from 'vue';
import type { ExplainMetricsDto, Split } from '../../../../shared/dto';
import { jobResult } from '../../../../shared/job-result';
import { useApi } from '../../api';
import { useAppStore } from '../app';
import { useTrackedJob } from '../jobs';
import type { ExplainRequest } from './explanation';

export interface ExplainJobsSource {
  /** the model, method, layer and Score-CAM cap measured or explained now (null: no model) */
  target: () => Omit<ExplainRequest, 'pairId'> | null;
  /** the pair shown, if any */
  pairId: () => number | null;
  /** the split the pair was opened under, if any */
  split: () => Split | null;
}

export function useExplainJobs({ target, pairId, split }: ExplainJobsSource) {
  const api = useApi();
  const app = useAppStore();

  const metricsRun = useTrackedJob({ what: 'Faithfulness metrics' });
  const metrics = computed<ExplainMetricsDto | null>(() => {
    const j = metricsRun.job.value;
    return j && j.status === 'done' ? jobResult(j, 'metrics') : null;
  });
  const metricsScope = ref<'pair' | 'split'>('pair');
  const batchRun = useTrackedJob({ what: 'Batch explanation' });

  async function runMetrics(scope: 'pair' | 'split', opts: { split?: Split; limit?: number; steps?: number } = {}): Promise<void> {
    const t = target();
    if (!t) return;
    metricsScope.value = scope;
    try {
      const base = { ...t, ...(opts.steps ? { steps: opts.steps } : {}) };
      const pid = pairId();
      const args =
        scope === 'pair' && pid !== null
          ? { ...base, pairIds: [pid] }
          : { ...base, split: opts.split ?? split() ?? 'test', limit: opts.limit ?? 50 };
      const { jobId } = await api['explain.metrics'](args);
      metricsRun.follow(jobId);
    } catch (error) {
      app.notify(error);
    }
  }

  async function runBatch(batchSplit: Split, limit?: number): Promise<void> {
    const t = target();
    if (!t) return;
    try {
      const { jobId } = await api['explain.batch']({ ...t, split: batchSplit, ...(limit ? { limit } : {}) });
      batchRun.follow(jobId);
    } catch (error) {
      app.notify(error);
    }
  }

  return {
    metricsJob: metricsRun.job,
    metricsRunning: metricsRun.running,
    metrics,
    metricsScope,
    runMetrics,
    cancelMetrics: metricsRun.cancel,
    batchJob: batchRun.job,
    batchRunning: batchRun.running,
    runBatch,
    cancelBatch: batchRun.cancel,
  };
}
