// Resuming a training through the service (issue #13, "Crash safety", the models view's Resume
// button): a training stopped by the app closing ends `interrupted` with its checkpoint kept,
// and models.resumeTrain in the reopened app ends with the metrics of an uninterrupted run with
// the same seed; a cancelled one keeps nothing and cannot be resumed.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { SimLensApp } from '../../src/main/app';
import { inProcessModelEngine } from '../../src/main/services/models';
import type { EpochDto, JobDto } from '../../src/shared/dto';
import { jobResult } from '../../src/shared/job-result';
import { seedToyDataset, untilTraining } from '../integration/models-fixture';
import { until } from '../integration/until';
import { scaled } from './slowdown';

const dir = mkdtempSync(join(tmpdir(), 'simlens-resume-svc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const strip = (h: EpochDto[]) =>
  h.map(({ epoch, loss, valAuc, learningRate, improved }) => ({ epoch, loss, valAuc, learningRate, improved }));

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

  it(
    'a training stopped by the app closing ends interrupted and resumes in the reopened app to the uninterrupted metrics',
    async () => {
      const wholeApp = open('whole');
      let whole: JobDto;
      try {
        const { datasetId } = seedToyDataset(wholeApp.db);
        whole = await wholeApp.jobs.wait((await wholeApp.call('models.train', { datasetId, ...args })).jobId);
      } finally {
        await wholeApp.close();
      }
      expect(whole.error).toBeNull();
      expect(whole.status).toBe('done');
      expect(jobResult(whole, 'train')!.epochs).toBeGreaterThanOrEqual(3);

      // the app is closed once epoch 1's checkpoint is saved, while epoch 2 trains
      const first = open('stopped');
      const { datasetId } = seedToyDataset(first.db);
      const { jobId } = await first.call('models.train', { datasetId, ...args });
      await until(() => savedEpoch(first, jobId) >= 1, "epoch 1's checkpoint", scaled(60_000));
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
    },
    scaled(300_000),
  ); // a hang guard (slowdown.ts): seconds on an idle machine

  it(
    'a cancelled training keeps no checkpoint and is not resumable',
    async () => {
      const app = open('cancelled');
      try {
        const { datasetId } = seedToyDataset(app.db);
        const { jobId } = await app.call('models.train', { datasetId, ...args, epochs: 200 });
        await untilTraining(app, jobId);
        await until(() => savedEpoch(app, jobId) >= 1, "epoch 1's checkpoint", scaled(60_000));
        expect(savedEpoch(app, jobId)).toBeGreaterThanOrEqual(1);
        app.jobs.cancel(jobId);
        expect(await app.jobs.wait(jobId)).toMatchObject({ status: 'cancelled' });
        expect(existsSync(join(dir, 'cancelled', 'models', '.checkpoints'))).toBe(false);
        await expect(app.call('models.resumeTrain', { jobId })).rejects.toThrow(
          /is cancelled: only an interrupted training can be resumed/,
        );
      } finally {
        await app.close();
      }
    },
    scaled(300_000),
  );
});
