import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { ArgsOf } from '../../../shared/contract';
import { MODEL_ARCHS, type EpochDto, type InputPreprocess, type JobDto, type JobProgressData, type ModelArch, type ModelVersionDto, type PairSetDto, type Split } from '../../../shared/dto';
import { errorMessage, onEvent, useApi } from '../api';
import { useAppStore } from './app';
import { isFinished, useJobsStore, useTrackedJob } from './jobs';

// ---- live training progress, from job.updated events ----
//
// A train job run by this app's main process sends its progress as structured data
// (JobDto.data: 'train.step' and 'train.epoch', the epoch updates never throttled away):
// foldTrainData. A job without data (run by another process on the same workspace, e.g.
// the CLI, and seen through jobs.get / jobs.list) only has its message text: foldTrainMessage.
//
// The train job's messages (services/models.ts) come in two forms:
//   step:  "epoch 2/10 · step 14/47 · loss 0.4123 · val AUC 0.9312 (epoch 1) · ETA 37 s"
//   epoch: "epoch 2: loss 0.3982 val AUC 0.9411"
// Progress is throttled (100 ms), so any message may be skipped; every step message
// repeats the latest epoch's val AUC, so AUCs are not lost, and an epoch's loss falls
// back to the last step loss seen in it when its own "epoch N:" message was dropped.
// When the job is done its result carries the exact history (EpochDto[]).

export interface TrainProgress {
  kind: 'step' | 'epoch';
  epoch: number;
  epochs: number | null;
  step: number | null;
  steps: number | null;
  loss: number;
  /** the latest finished epoch's validation AUC and which epoch it belongs to */
  valAuc: number | null;
  valAucEpoch: number | null;
  etaSeconds: number | null;
}

const NUM = '(-?\\d+(?:\\.\\d+)?(?:e[-+]?\\d+)?|NaN|Infinity)';
const STEP_RE = new RegExp(`^epoch (\\d+)/(\\d+) · step (\\d+)/(\\d+) · loss ${NUM}(?: · val AUC ${NUM} \\(epoch (\\d+)\\))?(?: · ETA (\\d+) s)?`);
const EPOCH_RE = new RegExp(`^epoch (\\d+): loss ${NUM} val AUC ${NUM}`);

/** Parses one train job message; null for other messages ("loading images", "evaluating", ...). */
export function parseTrainMessage(message: string | null | undefined): TrainProgress | null {
  if (!message) return null;
  let m = STEP_RE.exec(message);
  if (m) {
    return {
      kind: 'step',
      epoch: Number(m[1]),
      epochs: Number(m[2]),
      step: Number(m[3]),
      steps: Number(m[4]),
      loss: Number(m[5]),
      valAuc: m[6] !== undefined ? Number(m[6]) : null,
      valAucEpoch: m[7] !== undefined ? Number(m[7]) : null,
      etaSeconds: m[8] !== undefined ? Number(m[8]) : null,
    };
  }
  m = EPOCH_RE.exec(message);
  if (m) {
    const epoch = Number(m[1]);
    return { kind: 'epoch', epoch, epochs: null, step: null, steps: null, loss: Number(m[2]), valAuc: Number(m[3]), valAucEpoch: epoch, etaSeconds: null };
  }
  return null;
}

export interface LiveEpoch {
  epoch: number;
  /** the epoch's mean loss (exact) or, until/unless that arrives, the last step loss seen */
  loss: number | null;
  lossExact: boolean;
  valAuc: number | null;
}

export interface LiveTraining {
  epochs: number | null;
  /** per-step loss points, x = epoch - 1 + step / steps */
  steps: { x: number; loss: number }[];
  perEpoch: LiveEpoch[];
}

export const emptyLive = (): LiveTraining => ({ epochs: null, steps: [], perEpoch: [] });

/** Folds one message into the live series (pure; returns a new object). */
export function foldTrainMessage(live: LiveTraining, message: string | null | undefined): LiveTraining {
  const p = parseTrainMessage(message);
  return p ? foldTrainProgress(live, p) : live;
}

/** The training progress in a job's structured data (null for other data). */
export function trainProgressOf(data: JobProgressData | null | undefined): TrainProgress | null {
  if (data?.kind === 'train.step') {
    const { epoch, epochs, step, steps, loss, etaSeconds } = data;
    return { kind: 'step', epoch, epochs, step, steps, loss, valAuc: null, valAucEpoch: null, etaSeconds };
  }
  if (data?.kind === 'train.epoch') {
    const r = data.record;
    return { kind: 'epoch', epoch: r.epoch, epochs: data.epochs, step: null, steps: null, loss: r.loss, valAuc: r.valAuc, valAucEpoch: r.epoch, etaSeconds: null };
  }
  return null;
}

/** Folds one update's structured data into the live series (pure; returns a new object). */
export function foldTrainData(live: LiveTraining, data: JobProgressData | null | undefined): LiveTraining {
  const p = trainProgressOf(data);
  return p ? foldTrainProgress(live, p) : live;
}

/** Folds one job update: its data when it has some, else its message. */
export function foldTrainJob(live: LiveTraining, job: Pick<JobDto, 'data' | 'message'> | null | undefined): LiveTraining {
  if (!job) return live;
  return job.data ? foldTrainData(live, job.data) : foldTrainMessage(live, job.message);
}

function foldTrainProgress(live: LiveTraining, p: TrainProgress): LiveTraining {
  const perEpoch = live.perEpoch.map((e) => ({ ...e }));
  const at = (epoch: number): LiveEpoch => {
    let e = perEpoch.find((x) => x.epoch === epoch);
    if (!e) {
      e = { epoch, loss: null, lossExact: false, valAuc: null };
      perEpoch.push(e);
      perEpoch.sort((a, b) => a.epoch - b.epoch);
    }
    return e;
  };
  let steps = live.steps;
  if (p.kind === 'step') {
    const x = p.epoch - 1 + (p.steps ? p.step! / p.steps : 1);
    if (!steps.length || x > steps[steps.length - 1].x) steps = [...steps, { x, loss: p.loss }];
    const e = at(p.epoch);
    if (!e.lossExact) e.loss = p.loss;
    if (p.valAuc !== null && p.valAucEpoch !== null) at(p.valAucEpoch).valAuc = p.valAuc;
  } else {
    const e = at(p.epoch);
    e.loss = p.loss;
    e.lossExact = true;
    e.valAuc = p.valAuc;
  }
  return { epochs: p.epochs ?? live.epochs, steps, perEpoch };
}

/** The exact history from a finished job's result (or a version's metrics). */
export function historyOf(job: JobDto | null | undefined): EpochDto[] | null {
  const h = job?.result?.history;
  return Array.isArray(h) ? (h as EpochDto[]) : null;
}

// ---- the store ----

export const ARCHS: readonly ModelArch[] = MODEL_ARCHS;

/** The input preprocessing options with a one-line hint each (what the backbone was trained on). */
export const PREPROCESS_OPTIONS: readonly { id: InputPreprocess; label: string; hint: string }[] = [
  { id: 'none', label: 'none', hint: 'Pixels in [0, 1] as stored (a backbone trained on [0, 1] inputs).' },
  { id: 'tf', label: 'tf: [-1, 1]', hint: 'Scales pixels to [-1, 1]: Keras MobileNetV2, Inception, Xception.' },
  { id: 'caffe', label: 'caffe: BGR, 0-255 minus means', hint: 'RGB to BGR, 0-255 minus the ImageNet means: Keras ResNet50, VGG16/19.' },
  { id: 'torch', label: 'torch: ImageNet mean/std', hint: 'Subtracts the ImageNet mean and divides by its std per channel: PyTorch-style models (3 channels).' },
];

export interface TrainForm {
  datasetId: number | null;
  pairSetId: number | null;
  name: string;
  arch: ModelArch;
  epochs: number;
  batchSize: number;
  learningRate: number;
  margin: number;
  embeddingSize: number;
  seed: number;
  augment: boolean;
  /** arch 'pretrained': the tfjs LayersModel folder (model.json + shards) */
  backboneDir: string;
  /** arch 'pretrained': the layer to cut at ('' = the backbone's last spatial layer) */
  cutLayer: string;
  /** arch 'pretrained': the first blocks kept frozen, as typed ('' = the default, -1 = all) */
  frozenBlocks: string;
  /** arch 'pretrained': input preprocessing inside the network */
  preprocess: InputPreprocess;
}

export const defaultTrainForm = (): TrainForm => ({
  datasetId: null,
  pairSetId: null,
  name: '',
  arch: 'small',
  epochs: 10,
  batchSize: 128,
  learningRate: 0.001,
  margin: 2,
  embeddingSize: 64,
  seed: 0,
  augment: false,
  backboneDir: '',
  cutLayer: '',
  frozenBlocks: '',
  preprocess: 'none',
});

export type TrainFormField = 'backboneDir' | 'cutLayer' | 'frozenBlocks';

/** The form's own checks (main validates again): field -> message; empty when it can be sent. */
export function validateTrainForm(f: TrainForm): Partial<Record<TrainFormField, string>> {
  const errors: Partial<Record<TrainFormField, string>> = {};
  if (f.arch !== 'pretrained') return errors;
  const dir = f.backboneDir.trim();
  if (!dir) errors.backboneDir = 'Enter the folder of a tfjs LayersModel (the one holding model.json).';
  else if (dir.length > 4096) errors.backboneDir = 'The path is too long (at most 4096 characters).';
  if (f.cutLayer.trim().length > 200) errors.cutLayer = 'A layer name has at most 200 characters.';
  const frozen = f.frozenBlocks.trim();
  if (frozen && !(/^-?\d+$/.test(frozen) && Number(frozen) >= -1 && Number(frozen) <= 1000)) {
    errors.frozenBlocks = 'A whole number from -1 (all blocks) to 1000, or empty for the default.';
  }
  return errors;
}

/** Contract arguments from the form (validated again in main). */
export function trainArgs(f: TrainForm): ArgsOf<'models.train'> {
  if (f.datasetId === null) throw new Error('Choose a dataset');
  const pretrained = f.arch === 'pretrained';
  const errors = validateTrainForm(f);
  const first = Object.values(errors)[0];
  if (first) throw new Error(first);
  const cut = f.cutLayer.trim();
  const frozen = f.frozenBlocks.trim();
  return {
    datasetId: f.datasetId,
    ...(f.pairSetId !== null ? { pairSetId: f.pairSetId } : {}),
    ...(f.name.trim() ? { name: f.name.trim() } : {}),
    arch: f.arch,
    epochs: f.epochs,
    batchSize: f.batchSize,
    learningRate: f.learningRate,
    margin: f.margin,
    embeddingSize: f.embeddingSize,
    seed: f.seed,
    augment: f.augment,
    ...(pretrained
      ? {
          backbone: { dir: f.backboneDir.trim(), ...(cut ? { cutLayer: cut } : {}), ...(frozen ? { frozenBlocks: Number(frozen) } : {}) },
          ...(f.preprocess !== 'none' ? { preprocess: f.preprocess } : {}),
        }
      : {}),
  };
}

/**
 * Model versions: training (with its live per-epoch series), the list of versions,
 * and, for the selected version, evaluation, delete and export.
 */
export const useModelsStore = defineStore('models', () => {
  const api = useApi();
  const app = useAppStore();
  const jobs = useJobsStore();

  const versions = ref<ModelVersionDto[]>([]);
  const loaded = ref(false);
  const selectedId = ref<number | null>(null);
  const selected = computed(() => versions.value.find((v) => v.id === selectedId.value) ?? null);

  const form = ref<TrainForm>(defaultTrainForm());
  /** The pair sets of the form's dataset (newest last). */
  const pairSets = ref<PairSetDto[]>([]);
  const live = ref<LiveTraining>(emptyLive());
  const train = useTrackedJob({
    what: 'Training',
    // every update, its data or else its message (unless the message is the one already folded)
    onUpdate(job, prev) {
      if (!job.data && prev && job.message === prev.message) return;
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
      await refresh();
      const modelId = job.result?.modelId;
      if (job.status === 'done' && typeof modelId === 'number') select(modelId);
      void app.loadInfo(); // the engine has started: the backend is known now
    },
  });
  const starting = ref(false);
  /** Start was pressed: the form's own errors are shown from then on. */
  const attempted = ref(false);
  const formErrors = computed(() => validateTrainForm(form.value));
  /** Why the last start was refused (the form's check or main's message), shown next to the form. */
  const trainError = ref<string | null>(null);

  const evaluation = useTrackedJob({ what: 'Evaluation', onFinished: () => refresh() });
  const lastExport = ref<string | null>(null);

  async function refresh(): Promise<void> {
    try {
      versions.value = await api['models.list']({});
      if (!loaded.value) await adoptRunningTraining().catch(() => undefined);
      loaded.value = true;
      if (selectedId.value !== null && !versions.value.some((v) => v.id === selectedId.value)) selectedId.value = null;
    } catch (error) {
      app.notify(error);
    }
  }

  /** After a reload (or from another window): follow a training job that is still running. */
  async function adoptRunningTraining(): Promise<void> {
    if (train.id.value !== null) return;
    const running = (await api['jobs.list']({ limit: 50 })).find((j) => j.kind === 'train' && !isFinished(j));
    if (!running) return;
    jobs.put(running);
    live.value = foldTrainJob(emptyLive(), running);
    train.follow(running.id);
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

  function select(id: number | null): void {
    selectedId.value = id;
    lastExport.value = null;
  }

  /**
   * Starts training from the form. A refusal (the form's own check, or main's, e.g. a backbone
   * folder without model.json) is kept in trainError, next to the form, and the form as typed.
   */
  async function startTrain(): Promise<void> {
    if (starting.value || train.running.value) return;
    attempted.value = true;
    trainError.value = null;
    if (Object.keys(formErrors.value).length) return;
    starting.value = true;
    try {
      const { jobId } = await api['models.train'](trainArgs(form.value));
      live.value = emptyLive();
      live.value.epochs = form.value.epochs;
      train.follow(jobId);
      attempted.value = false;
    } catch (error) {
      trainError.value = errorMessage(error);
    } finally {
      starting.value = false;
    }
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

  async function exportTo(id: number, path: string): Promise<void> {
    lastExport.value = null;
    try {
      const res = await api['models.export']({ id, path });
      lastExport.value = res.path;
      app.notify(`Exported model version ${id} to ${res.path}`, 'info');
    } catch (error) {
      app.notify(error);
    }
  }

  // Versions made elsewhere (the CLI on the same workspace, another window) show up when their job ends.
  onEvent('job.updated', (job) => {
    if ((job.kind === 'train' || job.kind === 'evaluate') && isFinished(job) && loaded.value && job.id !== train.id.value && job.id !== evaluation.id.value) {
      void refresh();
    }
  });

  return {
    versions, loaded, selectedId, selected, form, pairSets, trainJob: train.job, training: train.running, live, starting, attempted, formErrors, trainError,
    evalJob: evaluation.job, evaluating: evaluation.running, lastExport,
    refresh, setFormDataset, select, startTrain, cancelTrain: train.cancel, evaluate, cancelEvaluate: evaluation.cancel, remove, exportTo,
  };
});
