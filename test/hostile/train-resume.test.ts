// Training resumed from an epoch checkpoint ends exactly where an uninterrupted run ends
// (issue #13, "Crash safety"): in this thread, with the local step runner, a run stopped after
// epoch 2 and resumed from the checkpoint files gives the same epochs (loss, val AUC, learning
// rate) and bit-identical final weights as one run through all epochs. Through the service
// (the Resume button): train-resume-service.test.ts. The killed-process version of this,
// through the CLI and the worker pool, is in crash.test.ts.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
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
