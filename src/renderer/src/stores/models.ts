import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { ModelExportFormat, ModelVersionDto, Split } from '../../../shared/dto';
import { jobResult } from '../../../shared/job-result';
import { onEvent, useApi } from '../api';
import { useAppStore } from './app';
import { isFinished, useTrackedJob } from './jobs';
import { useFaithfulness } from './models/faithfulness';
import { useRetrain } from './models/retrain';
import { useTraining } from './models/training';

/**
 * Model versions: training (with its live per-epoch series; ./models/training.ts), the
 * list of versions, and, for the selected version, evaluation, delete and export.
 */
export const useModelsStore = defineStore('models', () => {
  const api = useApi();
  const app = useAppStore();

  const versions = ref<ModelVersionDto[]>([]);
  const loaded = ref(false);
  const selectedId = ref<number | null>(null);
  const selected = computed(() => versions.value.find((v) => v.id === selectedId.value) ?? null);

  const trainer = useTraining(async (job) => {
    await refresh();
    const modelId = jobResult(job, 'train')?.modelId;
    if (job.status === 'done' && modelId !== undefined) select(modelId);
    void app.loadInfo(); // the engine has started: the backend is known now
  });
  const evaluation = useTrackedJob({ what: 'Evaluation', onFinished: () => refresh() });
  const faithfulness = useFaithfulness(selectedId);
  const retrain = useRetrain(selectedId, async (job) => {
    await refresh();
    const modelId = jobResult(job, 'retrain')?.modelId;
    if (job.status === 'done' && modelId !== undefined) select(modelId);
  });
  const lastExport = ref<string | null>(null);

  async function refresh(): Promise<void> {
    try {
      versions.value = await api['models.list']({});
      if (!loaded.value) await trainer.adoptRunningTraining().catch(() => undefined);
      loaded.value = true;
      if (selectedId.value !== null && !versions.value.some((v) => v.id === selectedId.value)) selectedId.value = null;
    } catch (error) {
      app.notify(error);
    }
  }

  function select(id: number | null): void {
    selectedId.value = id;
    lastExport.value = null;
    if (faithfulness.faithfulnessFor.value !== id) void faithfulness.loadFaithfulness(id);
  }

  async function evaluate(id: number, splits: Split[]): Promise<void> {
    try {
      const { jobId } = await api['models.evaluate']({ id, splits });
      evaluation.follow(jobId);
    } catch (error) {
      app.notify(error);
    }
  }

  async function remove(id: number): Promise<boolean> {
    try {
      const { deleted } = await api['models.delete']({ id });
      if (selectedId.value === id) select(null);
      await refresh();
      return deleted;
    } catch (error) {
      app.notify(error);
      return false;
    }
  }

  /** Writes the version into folder `path`: as a tfjs model folder, or as ONNX (model.onnx + simlens-onnx.json). */
  async function exportTo(id: number, path: string, format: ModelExportFormat = 'tfjs'): Promise<void> {
    lastExport.value = null;
    try {
      const res = await api['models.export']({ id, path, format });
      lastExport.value = res.path;
      app.notify(`Exported model version ${id} ${format === 'onnx' ? 'as ONNX ' : ''}to ${res.path} (${res.files.join(', ')})`, 'info');
    } catch (error) {
      app.notify(error);
    }
  }

  // Versions made elsewhere (the CLI on the same workspace, another window) show up when their job ends.
  onEvent('job.updated', (job) => {
    if (
      (job.kind === 'train' || job.kind === 'retrain' || job.kind === 'evaluate') &&
      isFinished(job) &&
      loaded.value &&
      job.id !== trainer.trainJobId.value &&
      job.id !== retrain.retrainJobId.value &&
      job.id !== evaluation.id.value
    ) {
      void refresh();
    }
  });

  const { form, pairSets, trainJob, training, live, starting, attempted, formErrors, trainError, setFormDataset, startTrain, cancelTrain } =
    trainer;
  return {
    resumable: trainer.resumable,
    loadResumable: trainer.loadResumable,
    resumeTrain: trainer.resumeTrain,
    versions,
    loaded,
    selectedId,
    selected,
    form,
    pairSets,
    trainJob,
    training,
    live,
    starting,
    attempted,
    formErrors,
    trainError,
    evalJob: evaluation.job,
    evaluating: evaluation.running,
    lastExport,
    faithfulness: faithfulness.faithfulness,
    faithfulnessJob: faithfulness.faithfulnessJob,
    measuringFaithfulness: faithfulness.measuringFaithfulness,
    measureFaithfulness: faithfulness.measureFaithfulness,
    cancelFaithfulness: faithfulness.cancelFaithfulness,
    refresh,
    setFormDataset,
    select,
    startTrain,
    cancelTrain,
    evaluate,
    cancelEvaluate: evaluation.cancel,
    remove,
    exportTo,
    ...retrain,
  };
});
