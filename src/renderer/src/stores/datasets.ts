import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import type { DatasetDetailDto, DatasetDto } from '../../../shared/dto';
import { onEvent, useApi } from '../api';
import { useAppStore } from './app';
import { isFinished, useJobsStore } from './jobs';

/** The datasets in the workspace, the selected one's details, and pair generation. */
export const useDatasetsStore = defineStore('datasets', () => {
  const api = useApi();
  const app = useAppStore();
  const jobs = useJobsStore();

  const list = ref<DatasetDto[]>([]);
  const loaded = ref(false);
  const loading = ref(false);
  const selectedId = ref<number | null>(null);
  const detail = ref<DatasetDetailDto | null>(null);
  const generateJobId = ref<number | null>(null);
  const generateJob = computed(() => (generateJobId.value ? (jobs.byId[generateJobId.value] ?? null) : null));
  const selected = computed(() => list.value.find((d) => d.id === selectedId.value) ?? null);

  async function refresh(): Promise<void> {
    loading.value = true;
    try {
      list.value = await api['datasets.list']({});
      loaded.value = true;
      if (selectedId.value === null || !list.value.some((d) => d.id === selectedId.value)) {
        selectedId.value = list.value[0]?.id ?? null;
      }
      await loadDetail();
    } catch (error) {
      app.notify(error);
    } finally {
      loading.value = false;
    }
  }

  async function loadDetail(): Promise<void> {
    const id = selectedId.value;
    if (id === null) {
      detail.value = null;
      return;
    }
    try {
      const d = await api['datasets.get']({ id });
      if (selectedId.value === id) detail.value = d;
    } catch (error) {
      app.notify(error);
    }
  }

  async function select(id: number): Promise<void> {
    if (selectedId.value === id && detail.value?.id === id) return;
    selectedId.value = id;
    detail.value = null;
    await loadDetail();
  }

  async function generatePairs(datasetId: number, seed?: number): Promise<void> {
    try {
      const { jobId } = await api['pairs.generate']({ datasetId, seed });
      generateJobId.value = jobId;
      jobs.watch(jobId);
    } catch (error) {
      app.notify(error);
    }
  }

  watch(generateJob, (job, prev) => {
    if (job && isFinished(job) && !isFinished(prev)) {
      if (job.status === 'failed') app.notify(new Error(`Pair generation failed: ${job.error ?? 'unknown error'}`));
      void refresh();
    }
  });

  /** Adding the decoy demo (import, pairs, its model's evaluation: some seconds). */
  const addingDecoyDemo = ref(false);

  /** Adds (or finds) the second demo, "Fashion-MNIST with decoys", and selects it. */
  async function addDecoyDemo(): Promise<void> {
    if (addingDecoyDemo.value) return;
    addingDecoyDemo.value = true;
    try {
      const demo = await api['demo.addDecoy']({});
      await refresh();
      await select(demo.datasetId);
      app.notify(
        demo.created
          ? 'Added "Fashion-MNIST with decoys" and its decoy model, whose maps look at the patches: paint garment masks in Review, then retrain with focus.'
          : 'The decoy demo is already in this workspace.',
        'info',
      );
    } catch (error) {
      app.notify(error);
    } finally {
      addingDecoyDemo.value = false;
    }
  }

  // Imports and pair generations started elsewhere (another tab, the CLI on the same
  // workspace, the first-start demo) show up when they end.
  let refreshTimer: ReturnType<typeof setTimeout> | null = null;
  onEvent('job.updated', (job) => {
    if ((job.kind === 'import' || job.kind === 'pairs') && isFinished(job) && loaded.value) {
      if (refreshTimer) clearTimeout(refreshTimer);
      refreshTimer = setTimeout(() => {
        refreshTimer = null;
        void refresh();
      }, 300);
    }
  });

  return {
    list,
    loaded,
    loading,
    selectedId,
    selected,
    detail,
    generateJob,
    addingDecoyDemo,
    refresh,
    select,
    loadDetail,
    generatePairs,
    addDecoyDemo,
  };
});
