// Part of the models store (runs inside its setup): the training form (its dataset's pair
// sets, its own checks, main's refusal) and the training run started from it, followed
// as a job with its live loss and validation AUC series.
import { computed, ref } from 'vue';
import type { JobDto, PairSetDto } from '../../../../shared/dto';
import { errorMessage, useApi } from '../../api';
import { useAppStore } from '../app';
import { isFinished, useJobsStore, useTrackedJob } from '../jobs';
import { defaultTrainForm, trainArgs, validateTrainForm, type TrainForm } from './train-form';
import { emptyLive, foldTrainJob, historyOf, type LiveTraining } from './train-progress';

/** `onFinished`: a training run followed here ended (done, failed, cancelled or interrupted). */
export function useTraining(onFinished: (job: JobDto) => Promise<void>) {
  const api = useApi();
  const app = useAppStore();
  const jobs = useJobsStore();

  const form = ref<TrainForm>(defaultTrainForm());
  /** The pair sets of the form's dataset (newest last). */
  const pairSets = ref<PairSetDto[]>([]);
  const live = ref<LiveTraining>(emptyLive());
  const run = useTrackedJob({
    what: 'Training',
    // every update's structured data (a repeated one changes nothing)
    onUpdate(job) {
      live.value = foldTrainJob(live.value, job);
    },
    async onFinished(job) {
      const history = historyOf(job);
      if (history) {
        live.value = {
          epochs: live.value.epochs,
          steps: live.value.steps,
          perEpoch: history.map((h) => ({ epoch: h.epoch, loss: h.loss, lossExact: true, valAuc: h.valAuc })),
        };
      }
      await onFinished(job);
    },
  });
  const starting = ref(false);
  /** Start was pressed: the form's own errors are shown from then on. */
  const attempted = ref(false);
  const formErrors = computed(() => validateTrainForm(form.value));
  /** Why the last start was refused (the form's check or main's message), shown next to the form. */
  const trainError = ref<string | null>(null);

  /** After a reload (or from another window): follow a training job that is still running. */
  async function adoptRunningTraining(): Promise<void> {
    if (run.id.value !== null) return;
    const running = (await api['jobs.list']({ limit: 50 })).find((j) => j.kind === 'train' && !isFinished(j));
    if (!running) return;
    jobs.put(running);
    live.value = foldTrainJob(emptyLive(), running);
    run.follow(running.id);
  }

  /** Sets the form's dataset and loads its pair sets (choosing the newest). */
  async function setFormDataset(id: number | null): Promise<void> {
    form.value.datasetId = id;
    form.value.pairSetId = null;
    pairSets.value = [];
    if (id === null) return;
    try {
      const detail = await api['datasets.get']({ id });
      if (form.value.datasetId !== id) return;
      pairSets.value = [...detail.pairSets].sort((a, b) => a.id - b.id);
      form.value.pairSetId = pairSets.value.at(-1)?.id ?? null;
    } catch (error) {
      app.notify(error);
    }
  }

  /**
   * Starts training from the form. A refusal (the form's own check, or main's, e.g. a backbone
   * folder without model.json) is kept in trainError, next to the form, and the form as typed.
   */
  async function startTrain(): Promise<void> {
    if (starting.value || run.running.value) return;
    attempted.value = true;
    trainError.value = null;
    if (Object.keys(formErrors.value).length) return;
    starting.value = true;
    try {
      const { jobId } = await api['models.train'](trainArgs(form.value));
      live.value = emptyLive();
      live.value.epochs = form.value.epochs;
      run.follow(jobId);
      attempted.value = false;
    } catch (error) {
      trainError.value = errorMessage(error);
    } finally {
      starting.value = false;
    }
  }

  /** Trainings interrupted before their end (the app or a CLI was closed or killed): they can go on from their last epoch. */
  const resumable = ref<JobDto[]>([]);

  async function loadResumable(): Promise<void> {
    try {
      const jobs = await api['jobs.list']({ limit: 100 });
      // a job already resumed by a later one is not offered again
      const resumed = new Set(jobs.map((j) => Number(j.params.resumes)).filter(Number.isInteger));
      resumable.value = jobs.filter((j) => j.kind === 'train' && j.status === 'interrupted' && !resumed.has(j.id));
    } catch (error) {
      app.notify(error);
    }
  }

  /** Continues a stopped training from its last epoch checkpoint; its progress shows like a new training's. */
  async function resumeTrain(jobId: number): Promise<void> {
    if (starting.value || run.running.value) return;
    starting.value = true;
    trainError.value = null;
    try {
      const { jobId: resumed } = await api['models.resumeTrain']({ jobId });
      live.value = emptyLive();
      run.follow(resumed);
      resumable.value = resumable.value.filter((j) => j.id !== jobId);
    } catch (error) {
      trainError.value = errorMessage(error);
    } finally {
      starting.value = false;
    }
  }

  return {
    resumable,
    loadResumable,
    resumeTrain,
    form,
    pairSets,
    trainJobId: run.id,
    trainJob: run.job,
    training: run.running,
    live,
    starting,
    attempted,
    formErrors,
    trainError,
    adoptRunningTraining,
    setFormDataset,
    startTrain,
    cancelTrain: run.cancel,
  };
}
