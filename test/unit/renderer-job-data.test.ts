// Type-checked with the renderer (tsconfig.web.json). The models store's live training chart
// from job.updated's structured data (JobDto.data); the message text is never parsed.
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { setTransport, type Transport } from '../../src/renderer/src/api';
import { useModelsStore } from '../../src/renderer/src/stores/models';
import { emptyLive, foldTrainData, foldTrainJob, trainProgressOf } from '../../src/renderer/src/stores/models/train-progress';
import type { Envelope } from '../../src/shared/bridge';
import type { Events } from '../../src/shared/contract';
import type { EpochDto, JobDto, JobOf, JobProgressData } from '../../src/shared/dto';

const flush = () => new Promise((r) => setTimeout(r, 0));
const step = (epoch: number, step: number, loss: number): JobProgressData => ({
  kind: 'train.step',
  epoch,
  epochs: 2,
  step,
  steps: 4,
  loss,
  learningRate: 1e-3,
  etaSeconds: 3,
  valAuc: null,
  valAucEpoch: null,
});
const record = (epoch: number, loss: number, valAuc: number): EpochDto => ({
  epoch,
  loss,
  valAuc,
  learningRate: 1e-3,
  seconds: 1,
  improved: true,
});
const epochData = (r: EpochDto): JobProgressData => ({ kind: 'train.epoch', record: r, epochs: 2 });

describe('foldTrainData', () => {
  it('steps give the per-step loss; an epoch record makes the epoch exact (loss and val AUC)', () => {
    let live = emptyLive();
    live = foldTrainData(live, step(1, 1, 1.2));
    live = foldTrainData(live, step(1, 2, 1.0));
    expect(live.epochs).toBe(2);
    expect(live.steps).toEqual([
      { x: 0.25, loss: 1.2 },
      { x: 0.5, loss: 1 },
    ]);
    expect(live.perEpoch).toEqual([{ epoch: 1, loss: 1, lossExact: false, valAuc: null }]);
    live = foldTrainData(live, epochData(record(1, 0.9, 0.8)));
    expect(live.perEpoch).toEqual([{ epoch: 1, loss: 0.9, lossExact: true, valAuc: 0.8 }]);
    // a later step does not overwrite the exact loss; a repeated step adds no point
    live = foldTrainData(live, step(1, 2, 1.0));
    expect(live.perEpoch[0].loss).toBe(0.9);
    expect(live.steps).toHaveLength(2);
    // other data (explain jobs) changes nothing
    expect(foldTrainData(live, { kind: 'pairs', done: 1, total: 2 })).toBe(live);
    expect(trainProgressOf(undefined)).toBeNull();
  });

  it('foldTrainJob folds the data; the message is never parsed', () => {
    const fromData = foldTrainJob(emptyLive(), { data: step(1, 2, 0.5) });
    expect(fromData.steps).toEqual([{ x: 0.5, loss: 0.5 }]);
    const withMessage: Pick<JobDto, 'data' | 'message'> = { message: 'something else', data: step(2, 4, 0.25) };
    expect(foldTrainJob(emptyLive(), withMessage).steps).toEqual([{ x: 2, loss: 0.25 }]);
    const textOnly: Pick<JobDto, 'data' | 'message'> = { message: 'epoch 1/2 · step 2/4 · loss 0.5000 · ETA 3 s' };
    expect(foldTrainJob(emptyLive(), textOnly)).toEqual(emptyLive());
  });
});

let listeners: ((job: JobDto) => void)[] = [];
const job = (patch: Partial<JobOf<'train'>>): JobDto => ({
  id: 5,
  kind: 'train',
  status: 'running',
  progress: 0,
  message: null,
  error: null,
  params: {},
  result: null,
  createdAt: '',
  startedAt: null,
  finishedAt: null,
  ...patch,
});

function transport(): Transport {
  return {
    kind: 'http',
    async call(name): Promise<Envelope> {
      switch (name) {
        case 'models.train':
          return { ok: true, value: { jobId: 5 } };
        case 'jobs.get':
          return { ok: true, value: job({ status: 'queued' }) };
        case 'datasets.get':
          return { ok: true, value: { id: 1, pairSets: [{ id: 7 }] } };
        case 'models.list':
          return { ok: true, value: [] };
        default:
          return { ok: true, value: {} };
      }
    },
    on: <E extends keyof Events>(_event: E, listener: (payload: Events[E]) => void) => {
      listeners.push(listener as (job: JobDto) => void);
      return () => {};
    },
  };
}

beforeEach(() => {
  listeners = [];
  setTransport(transport());
  setActivePinia(createPinia());
});

describe('useModelsStore: live chart from job data', () => {
  it('folds every update with data (same message or not), epoch records included', async () => {
    const models = useModelsStore();
    await models.setFormDataset(1);
    models.form.epochs = 2;
    await models.startTrain();
    await flush();
    const emit = (j: JobDto) => listeners.forEach((l) => l(j));
    // the message text is not parsed when data is present (it could say anything)
    emit(job({ progress: 0.2, message: 'training', data: step(1, 2, 0.9) }));
    await flush();
    emit(job({ progress: 0.4, message: 'training', data: step(1, 4, 0.8) }));
    await flush();
    emit(job({ progress: 0.5, message: 'training', data: epochData(record(1, 0.85, 0.91)) }));
    await flush();
    emit(job({ progress: 0.6, message: 'training', data: step(2, 1, 0.7) }));
    await flush();
    expect(models.live.steps.map((p) => [p.x, p.loss])).toEqual([
      [0.5, 0.9],
      [1, 0.8],
      [1.25, 0.7],
    ]);
    expect(models.live.perEpoch.map((e) => [e.epoch, e.loss, e.lossExact, e.valAuc])).toEqual([
      [1, 0.85, true, 0.91],
      [2, 0.7, false, null],
    ]);
  });
});
