// Training on the backend the app uses here: wasm with SimLens's training kernels.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/main/engine/runtime/backend';
import { evaluateModel } from '../../src/main/engine/evaluate/evaluate';
import { buildSiamese, defaultModelConfig } from '../../src/main/engine/models';
import { trainSiamese } from '../../src/main/engine/train/trainer';
import { toyImages } from './engine-toy';

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
});

function data() {
  const { images, classes } = toyImages(24, 4, 1);
  const pairs = (from: number, to: number) => {
    const a: number[] = [];
    const b: number[] = [];
    const label: number[] = [];
    for (let i = from; i < to; i++)
      for (let j = i + 1; j < to; j++) {
        a.push(i);
        b.push(j);
        label.push(classes[i] === classes[j] ? 1 : 0);
      }
    return { a: Int32Array.from(a), b: Int32Array.from(b), label: Uint8Array.from(label) };
  };
  return {
    images,
    train: { indices: Int32Array.from({ length: 64 }, (_, i) => i), classes: classes.slice(0, 64) },
    val: pairs(64, 80),
    test: pairs(80, 96),
  };
}

describe('training on wasm', () => {
  it('runs on wasm, learns the toy task, leaks nothing', async () => {
    expect(tf.getBackend()).toBe('wasm');
    const d = data();
    const model = await buildSiamese(defaultModelConfig({ inputShape: [8, 8, 1], width: 0.125, embeddingSize: 8, seed: 1 }));
    const untrained = (await evaluateModel(model, d.images, { val: d.val })).result.splits.val!.auc;
    expect(untrained).toBeLessThan(0.85); // the random network separates the classes only partly
    const before = tf.memory().numTensors;
    const res = await trainSiamese(model, d, { epochs: 6, batchSize: 16, learningRate: 3e-3, seed: 1, earlyStoppingPatience: 0 });
    expect(res.bestValAuc).toBeGreaterThan(0.95);
    const { result } = await evaluateModel(model, d.images, { val: d.val, test: d.test });
    expect(result.splits.test!.auc).toBeGreaterThan(0.95);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('is deterministic for a seed on wasm (identical weights after one epoch)', async () => {
    const d = data();
    const run = async () => {
      const m = await buildSiamese(defaultModelConfig({ inputShape: [8, 8, 1], width: 0.25, embeddingSize: 8, seed: 9 }));
      await trainSiamese(m, d, { epochs: 1, batchSize: 16, seed: 9 });
      const w = m.net.getWeights().map((t) => Array.from(t.dataSync()));
      m.dispose();
      return w;
    };
    expect(await run()).toEqual(await run());
  });
});
