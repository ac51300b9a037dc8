// A training run's live series (per-step loss, per-epoch loss and validation AUC), folded
// from its job updates (pure).
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
import type { EpochDto, JobDto, JobProgressData } from '../../../../shared/dto';
import { jobResult } from '../../../../shared/job-result';

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
  return jobResult(job, 'train')?.history ?? null;
}
