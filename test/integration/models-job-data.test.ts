// A train job's job.updated events carry structured progress (JobDto.data): steps (with the
// latest epoch's val AUC) and one 'train.epoch' record per epoch, equal to the result's history.
// In-process engine, wasm.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobDto, JobProgressData } from '../../src/shared/dto';
import { demoWorkspace, type Workspace } from './explain-fixture';
import { jobResult } from '../../src/shared/job-result';

let ws: Workspace;
beforeAll(async () => {
  ws = await demoWorkspace('simlens-job-data-');
}, 60_000);
afterAll(async () => {
  await ws?.close();
});

describe('models.train progress data', () => {
  it('sends train.step data and every epoch record', async () => {
    const data: JobProgressData[] = [];
    const off = ws.app.events.on('job.updated', (j: JobDto) => {
      if (j.kind === 'train' && j.data) data.push(j.data);
    });
    const { jobId } = await ws.app.call('models.train', {
      datasetId: ws.datasetId,
      epochs: 2,
      batchSize: 64,
      width: 0.25,
      embeddingSize: 8,
      seed: 1,
      earlyStoppingPatience: 100,
    });
    const job = await ws.app.jobs.wait(jobId);
    off();
    expect(job.status, job.error ?? '').toBe('done');
    expect(job.data).toBeUndefined();
    const epochs = data.filter((d): d is Extract<JobProgressData, { kind: 'train.epoch' }> => d.kind === 'train.epoch');
    expect(epochs.map((e) => e.record)).toEqual(jobResult(job, 'train')!.history);
    expect(epochs.every((e) => e.epochs === 2)).toBe(true);
    const steps = data.filter((d) => d.kind === 'train.step');
    expect(steps.length).toBeGreaterThan(0);
    expect(steps[0]).toMatchObject({ kind: 'train.step', epochs: 2, epoch: 1 });
    for (const s of steps)
      if (s.kind === 'train.step')
        expect(Object.keys(s).sort()).toEqual([
          'epoch',
          'epochs',
          'etaSeconds',
          'kind',
          'learningRate',
          'loss',
          'step',
          'steps',
          'valAuc',
          'valAucEpoch',
        ]);
    // each step repeats the latest finished epoch's val AUC (none in the first epoch)
    const history = jobResult(job, 'train')!.history;
    for (const s of steps) {
      if (s.kind !== 'train.step') continue;
      const last = history.filter((h) => h.epoch < s.epoch).at(-1);
      expect([s.valAuc, s.valAucEpoch]).toEqual(last ? [last.valAuc, last.epoch] : [null, null]);
    }
  });
});
