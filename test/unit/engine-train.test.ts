import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../src/main/pairs/rng';
import { toyImages } from './engine-toy';
import { augmentInto, DEFAULT_AUGMENT } from '../../src/main/engine/train/augment';
import type { PairList } from '../../src/main/engine/data/dataset';
import { evaluateModel } from '../../src/main/engine/evaluate/evaluate';
import { buildSiamese, defaultModelConfig } from '../../src/main/engine/models';
import { drawEpochBatches, trainSiamese, TrainingCancelledError, type TrainData } from '../../src/main/engine/train/trainer';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const SHAPE: [number, number, number] = [8, 8, 1];
/** A train/val split with balanced val pairs. */
function toyData(seed = 1): TrainData & { test: PairList } {
  const { images, classes } = toyImages(24, 4, seed); // 96 images
  const trainIdx = Int32Array.from({ length: 64 }, (_, i) => i);
  const pairsFrom = (from: number, to: number): PairList => {
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
    train: { indices: trainIdx, classes: classes.slice(0, 64) },
    val: pairsFrom(64, 80),
    test: pairsFrom(80, 96),
  };
}

const tinyConfig = (seed = 0) => defaultModelConfig({ inputShape: SHAPE, width: 0.125, embeddingSize: 8, seed });

describe('drawEpochBatches', () => {
  it('gives each anchor one positive and one negative partner, seeded', () => {
    const classes = Int32Array.from([0, 0, 0, 1, 1, 2, 2, 2]);
    const indices = Int32Array.from([10, 11, 12, 13, 14, 15, 16, 17]);
    const batches = drawEpochBatches({ indices, classes }, 4, createRng(3));
    const cls = (img: number) => classes[img - 10];
    const anchors = batches.flatMap((b) => b.images.slice(0, b.anchors));
    expect(anchors.sort()).toEqual([...indices]);
    for (const b of batches) {
      const k = b.anchors;
      expect(b.labels).toEqual([...Array(k).fill(1), ...Array(k).fill(0)]);
      for (let i = 0; i < k; i++) {
        expect(cls(b.images[k + i])).toBe(cls(b.images[i]));
        expect(b.images[k + i]).not.toBe(b.images[i]);
        expect(cls(b.images[2 * k + i])).not.toBe(cls(b.images[i]));
      }
    }
    expect(drawEpochBatches({ indices, classes }, 4, createRng(3))).toEqual(batches);
    expect(drawEpochBatches({ indices, classes }, 4, createRng(4))).not.toEqual(batches);
  });

  it('augmentation: flip and shift move pixels, brightness is clamped', () => {
    const src = Float32Array.from({ length: 16 }, (_, i) => (i === 0 ? 1 : 0)); // 4x4, pixel (0,0) lit
    const dst = new Float32Array(16);
    augmentInto(src, 0, dst, 0, [4, 4, 1], { flip: 1, maxShift: 0, brightness: 0 }, createRng(1));
    expect(dst[3]).toBe(1);
    expect(dst.reduce((a, b) => a + b, 0)).toBe(1);
    augmentInto(src, 0, dst, 0, [4, 4, 1], { flip: 0, maxShift: 0, brightness: 0.5 }, createRng(1));
    expect(Math.max(...dst)).toBeLessThanOrEqual(1);
    expect(Math.min(...dst)).toBeGreaterThanOrEqual(0);
  });
});

describe('trainSiamese', () => {
  it('a tiny model learns a separable toy pair task (val and test AUC > 0.95), leaving no tensors', async () => {
    const data = toyData();
    const model = await buildSiamese(tinyConfig(1));
    // untrained, the random network separates the classes only partly
    const untrained = (await evaluateModel(model, data.images, { val: data.val })).result.splits.val!.auc;
    expect(untrained).toBeLessThan(0.85);
    const before = tf.memory().numTensors;
    const epochs: number[] = [];
    const progress: number[] = [];
    const result = await trainSiamese(
      model,
      data,
      { epochs: 6, batchSize: 16, learningRate: 3e-3, seed: 1, augment: { ...DEFAULT_AUGMENT, flip: 0 }, earlyStoppingPatience: 0 },
      { onEpoch: (e) => void epochs.push(e.valAuc), onProgress: (p) => void progress.push(p.fraction) },
    );
    expect(epochs).toHaveLength(6);
    expect(result.bestValAuc).toBe(Math.max(...epochs));
    expect(result.bestValAuc).toBeGreaterThan(0.95);
    expect(progress[progress.length - 1]).toBe(1);
    const { result: ev } = await evaluateModel(model, data.images, { val: data.val, test: data.test });
    expect(ev.splits.val!.auc).toBeCloseTo(result.bestValAuc, 6); // best weights restored
    expect(ev.splits.test!.auc).toBeGreaterThan(0.95);
    expect(ev.splits.test!.accuracy).toBeGreaterThan(0.85);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('is deterministic for a seed: same weights after one epoch; another seed differs', async () => {
    const data = toyData();
    const run = async (seed: number) => {
      const m = await buildSiamese(tinyConfig(seed));
      await trainSiamese(m, data, { epochs: 1, batchSize: 16, learningRate: 1e-3, seed, augment: DEFAULT_AUGMENT });
      const w = m.net.getWeights().map((t) => Array.from(t.dataSync()));
      m.dispose();
      return w;
    };
    const a = await run(7);
    const b = await run(7);
    const c = await run(8);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it('early stopping and LR-on-plateau count only a RISE of val AUC as improvement', async () => {
    const data = toyData();
    const model = await buildSiamese(tinyConfig(2));
    // lr ~ 0: the AUC cannot rise, so after the first epoch nothing improves
    const result = await trainSiamese(model, data, {
      epochs: 10,
      batchSize: 32,
      learningRate: 1e-12,
      seed: 2,
      earlyStoppingPatience: 3,
      lrPatience: 1,
      lrFactor: 0.5,
      minLearningRate: 0,
      maxStepsPerEpoch: 1,
    });
    expect(result.history.map((h) => h.improved)).toEqual([true, false, false, false]);
    expect(result.stoppedEarly).toBe(true);
    expect(result.bestEpoch).toBe(1);
    expect(result.history.map((h) => h.learningRate)).toEqual([1e-12, 1e-12, 5e-13, 2.5e-13]);
    model.dispose();
  });

  it('cancels through the AbortSignal without leaking tensors', async () => {
    const data = toyData();
    const model = await buildSiamese(tinyConfig(3));
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const run = trainSiamese(
      model,
      data,
      { epochs: 50, batchSize: 16, seed: 3 },
      { signal: controller.signal, onProgress: (p) => p.step === 2 && controller.abort() },
    );
    await expect(run).rejects.toBeInstanceOf(TrainingCancelledError);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
