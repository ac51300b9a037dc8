import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import type { ImportFileStatus, ImportReportDto } from '../../../shared/dto';
import { jobResult } from '../../../shared/job-result';
import { errorMessage, useApi } from '../api';
import { useAppStore } from './app';
import { useDatasetsStore } from './datasets';
import { isFinished, useJobsStore } from './jobs';

export type ImportKind = 'auto' | 'folder' | 'csv' | 'idx';
const REPORT_PAGE = 200;

/** One import at a time from this window: the form, the running job, and its per-file report. */
export const useImportStore = defineStore('import', () => {
  const api = useApi();
  const app = useAppStore();
  const jobs = useJobsStore();
  const datasets = useDatasetsStore();

  const path = ref('');
  const kind = ref<ImportKind>('auto');
  const name = ref('');
  const jobId = ref<number | null>(null);
  const startError = ref<string | null>(null);
  const starting = ref(false);
  const cancelling = ref(false);
  const report = ref<ImportReportDto | null>(null);
  const statusFilter = ref<ImportFileStatus | null>(null);
  const reportLoading = ref(false);

  const job = computed(() => (jobId.value ? (jobs.byId[jobId.value] ?? null) : null));
  const running = computed(() => !!job.value && !isFinished(job.value));
  const canStart = computed(() => path.value.trim().length > 0 && !running.value && !starting.value);

  async function start(): Promise<void> {
    if (!canStart.value) return;
    starting.value = true;
    startError.value = null;
    report.value = null;
    statusFilter.value = null;
    try {
      const res = await api['datasets.import']({
        path: path.value.trim(),
        kind: kind.value,
        ...(name.value.trim() ? { name: name.value.trim() } : {}),
      });
      jobId.value = res.jobId;
      jobs.put(await api['jobs.get']({ id: res.jobId }));
      jobs.watch(res.jobId);
    } catch (error) {
      startError.value = errorMessage(error);
    } finally {
      starting.value = false;
    }
  }

  async function cancel(): Promise<void> {
    if (!jobId.value || !running.value) return;
    cancelling.value = true;
    try {
      await jobs.cancel(jobId.value);
    } catch (error) {
      app.notify(error);
    } finally {
      cancelling.value = false;
    }
  }

  async function loadReport(append = false): Promise<void> {
    if (!jobId.value) return;
    reportLoading.value = true;
    try {
      const page = await api['jobs.importReport']({
        jobId: jobId.value,
        ...(statusFilter.value ? { status: statusFilter.value } : {}),
        offset: append && report.value ? report.value.entries.length : 0,
        limit: REPORT_PAGE,
      });
      report.value = append && report.value ? { ...page, entries: [...report.value.entries, ...page.entries] } : page;
    } catch (error) {
      app.notify(error);
    } finally {
      reportLoading.value = false;
    }
  }

  function setFilter(status: ImportFileStatus | null): void {
    statusFilter.value = status;
    void loadReport();
  }

  watch(job, (now, before) => {
    if (now && isFinished(now) && !isFinished(before)) {
      void loadReport();
      // Show what was imported: the dataset the job wrote into, when it names one.
      const target = jobResult(now, 'import')?.datasetId ?? null;
      void datasets.refresh().then(() => (target !== null ? datasets.select(target) : undefined));
    }
  });

  return {
    path,
    kind,
    name,
    jobId,
    job,
    running,
    canStart,
    starting,
    cancelling,
    startError,
    report,
    statusFilter,
    reportLoading,
    start,
    cancel,
    loadReport,
    setFilter,
  };
});
