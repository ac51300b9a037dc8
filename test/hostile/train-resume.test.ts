// Training resumed from an epoch checkpoint ends exactly where an uninterrupted run ends
// (issue #13, "Crash safety"): in this thread, with the local step runner, a run stopped after
// epoch 2 and resumed from the checkpoint files gives the same epochs (loss, val AUC, learning
// rate) and bit-identical final weights as one run through all epochs. Through the service: a
// training stopped by the app closing ends `interrupted` with its checkpoint kept, and
// models.resumeTrain (the models view's Resume button) in the reopened app ends with the
// metrics of an uninterrupted run; a cancelled one keeps nothing and cannot be resumed. The
// killed-process version of this, through the CLI and the worker pool, is in crash.test.ts.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultModelConfig } from '../../src/main/engine/models';
import { buildSiamese } from '../../src/main/engine/models/siamese';
import { readCheckpoint, writeCheckpoint } from '../../src/main/engine/train/checkpoint';
import { DEFAULT_AUGMENT } from '../../src/main/engine/train/augment';
import { trainSiamese, TrainingCancelledError, type TrainConfig } from '../../src/main/engine/train/trainer';
import { toyTrainData } from '../unit/engine-toy';
import { SimLensApp } from '../../src/main/app';
import { inProcessModelEngine } from '../../src/main/services/models';
import { jobResult } from '../../src/shared/job-result';
import type { JobDto } from '../../src/shared/dto';
import { seedToyDataset, untilTraining } from '../integration/models-fixture';

const dir = mkdtempSync(join(tmpdir(), 'simlens-resume-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = () => defaultModelConfig({ inputShape: [8, 8, 1], width: 0.125, embeddingSize: 8, seed: 5 });
// lrPatience 1 and a few epochs: the learning rate changes on the way, so it must be restored too
const settings: Partial<TrainConfig> = {
  epochs: 5,
  batchSize: 16,
  learningRate: 3e-3,
  seed: 9,
  augment: DEFAULT_AUGMENT,
  lrPatience: 1,
  earlyStoppingPatience: 0,
};
const strip = (h: { epoch: number; loss: number; valAuc: number; learningRate: number; improved: boolean }[]) =>
  h.map(({ epoch, loss, valAuc, learningRate, improved }) => ({ epoch, loss, valAuc, learningRate, improved }));

describe('training resumed from a checkpoint', () => {
  it('matches an uninterrupted run with the same seed: epochs and final weights', async () => {
    const data = toyTrainData();
    const whole = await buildSiamese(config());
    const wholeRun = await trainSiamese(whole, data, settings);
    const wholeWeights = whole.net.getWeights().map((t) => Array.from(t.dataSync()));
    whole.dispose();

    const checkpoints = join(dir, 'run');
    const stop = new AbortController();
    const first = await buildSiamese(config());
    await expect(
      trainSiamese(first, data, settings, {
        signal: stop.signal,
        onCheckpoint: async (cp) => {
          await writeCheckpoint(checkpoints, cp);
          if (cp.loop.epoch === 2) stop.abort(); // "killed" after epoch 2's checkpoint
        },
      }),
    ).rejects.toBeInstanceOf(TrainingCancelledError);
    first.dispose();
    expect(readdirSync(checkpoints)).toEqual(['epoch-2']); // older ones removed, no partial left

    const before = tf.memory().numTensors;
    const second = await buildSiamese(config()); // fresh weights: everything comes from the checkpoint
    const resumed = await trainSiamese(second, data, settings, { resume: await readCheckpoint(join(checkpoints, 'epoch-2')) });
    expect(strip(resumed.history)).toEqual(strip(wholeRun.history));
    expect(new Set(wholeRun.history.map((e) => e.learningRate)).size).toBeGreaterThan(1);
    expect([resumed.bestEpoch, resumed.bestValAuc]).toEqual([wholeRun.bestEpoch, wholeRun.bestValAuc]);
    expect(second.net.getWeights().map((t) => Array.from(t.dataSync()))).toEqual(wholeWeights);
    second.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('resuming through the service (the Resume button)', () => {
  const open = (name: string) => {
    const workspace = join(dir, name);
    mkdirSync(workspace, { recursive: true });
    return new SimLensApp({
      dbPath: join(workspace, 'simlens.db'),
      shell: 'cli',
      modelEngine: inProcessModelEngine(() => tf.setBackend('cpu')),
    });
  };
  const args = { epochs: 6, batchSize: 16, learningRate: 3e-3, seed: 3, width: 0.125, embeddingSize: 8 };
  const summary = (job: JobDto) => {
    const { history, modelId: _, ...rest } = jobResult(job, 'train')!;
    return { ...rest, history: strip(history) };
  };
  const savedEpoch = (app: SimLensApp, jobId: number) =>
    (app.jobs.checkpoint(jobId) as { resume: { epoch: number } | null } | null)?.resume?.epoch ?? 0;

  it('a training stopped by the app closing ends interrupted and resumes in the reopened app to the uninterrupted metrics', async () => {
    const wholeApp = open('whole');
    let whole: JobDto;
    try {
      const { datasetId } = seedToyDataset(wholeApp.db);
      whole = await wholeApp.jobs.wait((await wholeApp.call('models.train', { datasetId, ...args })).jobId);
    } finally {
      await wholeApp.close();
    }
    expect(whole.status).toBe('done');
    expect(jobResult(whole, 'train')!.epochs).toBeGreaterThanOrEqual(3);

    // the app is closed once epoch 1's checkpoint is saved, while epoch 2 trains
    const first = open('stopped');
    const { datasetId } = seedToyDataset(first.db);
    const { jobId } = await first.call('models.train', { datasetId, ...args });
    for (let i = 0; i < 1000 && savedEpoch(first, jobId) < 1; i++) await new Promise((r) => setTimeout(r, 5));
    await first.close();

    const second = open('stopped');
    try {
      const stopped = second.jobs.get(jobId);
      expect(stopped).toMatchObject({ status: 'interrupted', error: expect.stringMatching(/closed while this job ran/) });
      const epoch = savedEpoch(second, jobId);
      expect(epoch).toBeGreaterThanOrEqual(1);
      expect(epoch).toBeLessThan(jobResult(whole, 'train')!.epochs);
      const checkpoints = join(dir, 'stopped', 'models', '.checkpoints', `train-${jobId}`);
      expect(readdirSync(checkpoints)).toEqual([`epoch-${epoch}`]);
      expect(second.models.repo.count()).toBe(0);

      const { jobId: resumedId } = await second.call('models.resumeTrain', { jobId });
      const resumed = await second.jobs.wait(resumedId);
      expect(resumed.error).toBeNull();
      expect(resumed).toMatchObject({ status: 'done', params: { resumes: jobId } });
      expect(summary(resumed)).toEqual(summary(whole));
      // the chain's checkpoints are gone once it ended; it cannot be resumed a second time
      expect(readdirSync(join(dir, 'stopped', 'models')).filter((n) => n.startsWith('.'))).toEqual([]);
      await expect(second.call('models.resumeTrain', { jobId })).rejects.toThrow(/checkpoint of job .* is gone/);
    } finally {
      await second.close();
    }
  });

  it('a cancelled training keeps no checkpoint and is not resumable', async () => {
    const app = open('cancelled');
    try {
      const { datasetId } = seedToyDataset(app.db);
      const { jobId } = await app.call('models.train', { datasetId, ...args, epochs: 200 });
      await untilTraining(app, jobId);
      for (let i = 0; i < 1000 && savedEpoch(app, jobId) < 1; i++) await new Promise((r) => setTimeout(r, 5));
      expect(savedEpoch(app, jobId)).toBeGreaterThanOrEqual(1);
      app.jobs.cancel(jobId);
      expect(await app.jobs.wait(jobId)).toMatchObject({ status: 'cancelled' });
      expect(existsSync(join(dir, 'cancelled', 'models', '.checkpoints'))).toBe(false);
      await expect(app.call('models.resumeTrain', { jobId })).rejects.toThrow(/is cancelled: only an interrupted training can be resumed/);
    } finally {
      await app.close();
    }
  });
});
