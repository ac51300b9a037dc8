// Data-parallel training over the engine worker pool (engine/train/data-parallel.ts + replica.ts,
// tasks 'train.dp.*'): real worker threads, each with its own wasm backend, on tiny toy data.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/main/engine/runtime/backend';
import { scorePairs } from '../../src/main/engine/evaluate/evaluate';
import { saveLayersModel } from '../../src/main/engine/runtime/model-io';
import { buildSiamese, defaultModelConfig, loadSiamese } from '../../src/main/engine/models';
import { WorkerPool } from '../../src/main/engine/runtime/pool';
import { trainSiamese, TrainingCancelledError, type StepBatch, type TrainConfig } from '../../src/main/engine/train/trainer';
import { anchorShares, replicaChecksums, sliceShare, trainDataParallel } from '../../src/main/engine/train/data-parallel';
import { poolModelEngine } from '../../src/main/services/models';
import { toyTrainData } from '../unit/engine-toy';
import type { EnginePool, EngineTasks } from '../../src/main/engine/tasks';

const MODEL = defaultModelConfig({ inputShape: [8, 8, 1], width: 0.25, embeddingSize: 8, seed: 3 });
const CONFIG: Partial<TrainConfig> = {
  epochs: 2,
  batchSize: 16,
  learningRate: 3e-3,
  seed: 5,
  earlyStoppingPatience: 0,
  maxStepsPerEpoch: 3,
};
let pool: WorkerPool<EngineTasks>;

const workerTensors = async () => (await pool.broadcast('engine.info')).map((i) => i.memory.numTensors);

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
  pool = new WorkerPool<EngineTasks>({ size: 2, backend: 'wasm', cancelGraceMs: 5000 });
  await pool.ready();
});

afterAll(async () => {
  await pool?.close();
});

describe('batch shares', () => {
  it('splits anchors evenly and keeps each anchor with its partners and labels', () => {
    expect(anchorShares(5, 2)).toEqual([
      [0, 3],
      [3, 5],
    ]);
    expect(anchorShares(1, 2)).toEqual([[0, 1]]);
    // 3 anchors (values 0..2), positives 10.., negatives 20..; one value per "image"
    const batch: StepBatch = {
      images: Float32Array.from([0, 1, 2, 10, 11, 12, 20, 21, 22]),
      count: 9,
      anchors: 3,
      labels: Float32Array.from([1, 1, 1, 0, 0, 0]),
    };
    const share = sliceShare(batch, 1, 1, 3);
    expect(Array.from(share.images)).toEqual([1, 2, 11, 12, 21, 22]);
    expect(Array.from(share.labels)).toEqual([1, 1, 0, 0]);
    expect([share.count, share.anchors]).toEqual([6, 2]);
  });
});

describe('data-parallel training over 2 workers', () => {
  it('gives the loss history of the single-thread trainer; identical replicas; no tensors left', async () => {
    const d = toyTrainData();
    const model = await buildSiamese(MODEL);
    const local = await trainSiamese(model, d, CONFIG);
    const localWeights = model.net.getWeights().map((t) => Array.from(t.dataSync()));
    model.dispose();

    const before = tf.memory().numTensors;
    const baseline = await workerTensors();
    const { training, after } = await trainDataParallel(pool, { model: MODEL }, d, CONFIG, {}, async (runner) => ({
      sums: await replicaChecksums(pool, runner.runId),
      weights: await pool.run('train.dp.getWeights', { runId: runner.runId }),
    }));
    expect(training.history.length).toBe(local.history.length);
    training.history.forEach((e, i) => {
      expect(Math.abs(e.loss - local.history[i].loss)).toBeLessThanOrEqual(1e-3 * Math.abs(local.history[i].loss));
      expect(Math.abs(e.valAuc - local.history[i].valAuc)).toBeLessThan(1e-3);
    });
    expect(training.bestEpoch).toBe(local.bestEpoch);
    expect(new Set(after!.sums).size).toBe(1); // every worker holds the same weights
    const flatLocal = localWeights.flat();
    // the best epoch's weights, restored into the replicas: equal up to rounding (which Adam's
    // m/sqrt(v) can turn into a step of ~lr for a weight whose gradient is ~0)
    let sumDiff = 0;
    let maxDiff = 0;
    for (let i = 0; i < flatLocal.length; i++) {
      const diff = Math.abs(flatLocal[i] - after!.weights[i]);
      sumDiff += diff;
      maxDiff = Math.max(maxDiff, diff);
    }
    expect(after!.weights.length).toBe(flatLocal.length);
    expect(maxDiff).toBeLessThan(3 * 6 * 3e-3); // at most ~lr per step on any weight
    expect(sumDiff / flatLocal.length).toBeLessThan(1e-4);
    // nothing left: no tensors here (the coordinator does no tensor work), none in the workers
    expect(tf.memory().numTensors).toBe(before);
    expect(await workerTensors()).toEqual(baseline);
  });

  it('keeps the replicas of a BatchNorm model identical (moving statistics averaged each step)', async () => {
    const model = defaultModelConfig({ arch: 'resnet18', inputShape: [8, 8, 1], width: 0.125, embeddingSize: 8, headUnits: 16, seed: 1 });
    const { training, after } = await trainDataParallel(pool, { model }, toyTrainData(), { ...CONFIG, epochs: 1 }, {}, (runner) =>
      replicaChecksums(pool, runner.runId),
    );
    expect(Number.isFinite(training.history[0].loss)).toBe(true);
    expect(new Set(after).size).toBe(1);
  });

  it('keeps a frozen pretrained block bit-identical (weights and BatchNorm statistics); the trained block changes', async () => {
    // a "pretrained" 8x8x1 backbone: two conv-BN-ReLU blocks with non-trivial moving statistics
    const input = tf.input({ shape: [8, 8, 1], name: 'image' });
    let x = input as tf.SymbolicTensor;
    for (const b of [1, 2]) {
      x = tf.layers
        .conv2d({
          name: `b${b}_conv`,
          filters: 4,
          kernelSize: 3,
          padding: 'same',
          useBias: false,
          kernelInitializer: tf.initializers.heNormal({ seed: b }),
        })
        .apply(x) as tf.SymbolicTensor;
      x = tf.layers.batchNormalization({ name: `b${b}_bn`, momentum: 0.5 }).apply(x) as tf.SymbolicTensor;
      x = tf.layers.activation({ name: `b${b}_relu`, activation: 'relu' }).apply(x) as tf.SymbolicTensor;
    }
    const backbone = tf.model({ inputs: input, outputs: x });
    for (const b of [1, 2]) {
      const stats = [tf.fill([4], 1.2), tf.fill([4], 0.1), tf.fill([4], 0.3 * b), tf.fill([4], 2)]; // gamma, beta, moving mean, moving variance
      backbone.getLayer(`b${b}_bn`).setWeights(stats);
      tf.dispose(stats);
    }
    const dir = mkdtempSync(join(tmpdir(), 'simlens-dp-frozen-'));
    try {
      await saveLayersModel(backbone, join(dir, 'backbone'));
      const original = (name: string) =>
        backbone
          .getLayer(name)
          .getWeights()
          .map((w) => Array.from(w.dataSync()));
      const model = defaultModelConfig({
        arch: 'pretrained',
        inputShape: [8, 8, 1],
        embeddingSize: 8,
        headUnits: 16,
        seed: 1,
        backbone: { dir: join(dir, 'backbone'), cutLayer: 'b2_relu', frozenBlocks: 1 },
      });
      await trainDataParallel(pool, { model }, toyTrainData(), { ...CONFIG, epochs: 1 }, {}, (runner) =>
        runner.save(join(dir, 'trained'), {}),
      );
      const trained = await loadSiamese(join(dir, 'trained'));
      const now = (name: string) =>
        trained.net
          .getLayer(name)
          .getWeights()
          .map((w) => Array.from(w.dataSync()));
      expect(now('b1_conv')).toEqual(original('b1_conv'));
      expect(now('b1_bn')).toEqual(original('b1_bn')); // gamma, beta AND moving mean/variance
      expect(now('b2_bn')[2]).not.toEqual(original('b2_bn')[2]); // the trained block's moving mean moved
      expect(now('b2_conv')).not.toEqual(original('b2_conv'));
      trained.dispose();
    } finally {
      backbone.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is deterministic for a seed and worker count', async () => {
    const d = toyTrainData();
    const run = async () =>
      (await trainDataParallel(pool, { model: MODEL }, d, { ...CONFIG, epochs: 1 })).training.history.map((e) => [e.loss, e.valAuc]);
    expect(await run()).toEqual(await run());
  });

  it('cancel mid-epoch rejects with the cancellation error, frees the replicas, and the pool stays usable', async () => {
    const d = toyTrainData();
    const baseline = await workerTensors();
    const controller = new AbortController();
    const steps: number[] = [];
    const run = trainDataParallel(
      pool,
      { model: MODEL },
      d,
      { ...CONFIG, epochs: 50, maxStepsPerEpoch: 0 },
      {
        signal: controller.signal,
        onProgress: (p) => {
          steps.push(p.step);
          if (p.epoch === 1 && p.step === 2) controller.abort();
        },
      },
    );
    await expect(run).rejects.toBeInstanceOf(TrainingCancelledError);
    expect(steps).toEqual([1, 2]);
    expect(await pool.run('engine.echo', 42)).toBe(42);
    expect(await workerTensors()).toEqual(baseline);
    const again = await trainDataParallel(pool, { model: MODEL }, d, { ...CONFIG, epochs: 1, maxStepsPerEpoch: 1 });
    expect(again.training.history.length).toBe(1);
  });

  it('cancel while the workers compute a step stops their tasks and frees the replicas', async () => {
    const d = toyTrainData();
    const baseline = await workerTensors();
    const controller = new AbortController();
    let grads = 0;
    // aborts right after the third step's first share went to a worker
    const spy: EnginePool = {
      size: pool.size,
      broadcast: (task, ...args) => pool.broadcast(task, ...args),
      run: (task, ...args) => {
        const p = pool.run(task, ...args);
        if (task === 'train.dp.grads' && ++grads === 5) controller.abort();
        return p as never;
      },
    };
    const run = trainDataParallel(spy, { model: MODEL }, d, { ...CONFIG, epochs: 50, maxStepsPerEpoch: 0 }, { signal: controller.signal });
    await expect(run).rejects.toBeInstanceOf(TrainingCancelledError);
    expect(await workerTensors()).toEqual(baseline);
    expect(pool.busy).toBe(0);
  });
});

describe('the pool model engine (services/models.ts) with 2 workers', () => {
  it('trains data-parallel, evaluates and saves a loadable version; cancel rejects and leaves nothing', async () => {
    const d = toyTrainData();
    const outDir = mkdtempSync(join(tmpdir(), 'simlens-dp-'));
    try {
      const engine = poolModelEngine(() => pool); // looked up per call, as the app does
      const phases: string[] = [];
      const req = { model: MODEL, train: { ...CONFIG, epochs: 2 }, data: d, evaluate: { val: d.val }, outDir: join(outDir, 'v') };
      const out = await engine.train(req, { onProgress: (_f, _m, p) => p && phases.push(p.kind === 'phase' ? p.phase : p.kind) });
      expect(phases).toEqual(expect.arrayContaining(['step', 'epoch', 'evaluate', 'save']));
      expect(out.backend).toBe('wasm');
      expect(out.training.history.length).toBe(2);
      expect(d.images.pixels.length).toBeGreaterThan(0); // the images stay here (not moved to one worker)
      // the saved version gives the evaluation's scores
      const saved = await loadSiamese(join(outDir, 'v'));
      const { score } = await scorePairs(saved, d.images, d.val);
      saved.dispose();
      for (let i = 0; i < score.length; i++) expect(Math.abs(score[i] - out.scores.val!.score[i])).toBeLessThan(1e-5);

      const baseline = await workerTensors();
      const controller = new AbortController();
      const cancelled = engine.train(
        { ...req, train: { ...CONFIG, epochs: 50, maxStepsPerEpoch: 0 }, outDir: join(outDir, 'w') },
        { signal: controller.signal, onProgress: (_f, _m, p) => p?.kind === 'step' && p.info.step === 2 && controller.abort() },
      );
      await expect(cancelled).rejects.toBeInstanceOf(TrainingCancelledError);
      expect(existsSync(join(outDir, 'w'))).toBe(false);
      expect(await workerTensors()).toEqual(baseline);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });
});
