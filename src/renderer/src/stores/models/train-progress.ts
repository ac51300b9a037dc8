// A training run's live series (per-step loss, per-epoch loss and validation AUC), folded
// from its job updates' structured data (JobDto.data; pure).
//
// A train job's updates carry 'train.step' data (the epoch's running loss, and the latest
// finished epoch's val AUC) and one 'train.epoch' record per epoch. Events from this app's main
// process never drop an epoch record; a job seen through jobs.get / jobs.list (the slow poll,
// or a job another process runs, e.g. the CLI on the same workspace) only shows the latest
// update's data, so any update may be missed: every step repeats the latest val AUC, so AUCs
// are not lost, and an epoch's loss falls back to the last step loss seen in it when its own
// record was missed. When the job is done its result carries the exact history (EpochDto[]).
// The message text is for display only: nothing here parses it.
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

/** The training progress in a job's structured data (null for other data). */
export function trainProgressOf(data: JobProgressData | null | undefined): TrainProgress | null {
  if (data?.kind === 'train.step') {
    const { epoch, epochs, step, steps, loss, valAuc, valAucEpoch, etaSeconds } = data;
    return { kind: 'step', epoch, epochs, step, steps, loss, valAuc, valAucEpoch, etaSeconds };
  }
  if (data?.kind === 'train.epoch') {
    const r = data.record;
    return {
      kind: 'epoch',
      epoch: r.epoch,
      epochs: data.epochs,
      step: null,
      steps: null,
      loss: r.loss,
      valAuc: r.valAuc,
      valAucEpoch: r.epoch,
      etaSeconds: null,
    };
  }
  return null;
}

/** Folds one update's structured data into the live series (pure; returns a new object). */
export function foldTrainData(live: LiveTraining, data: JobProgressData | null | undefined): LiveTraining {
  const p = trainProgressOf(data);
  return p ? foldTrainProgress(live, p) : live;
}

/** Folds one job update (its data; an update without data changes nothing). */
export function foldTrainJob(live: LiveTraining, job: Pick<JobDto, 'data'> | null | undefined): LiveTraining {
  return foldTrainData(live, job?.data);
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
