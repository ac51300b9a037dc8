// Training with frozen blocks on ONNX Runtime (engine/train/frozen-features.ts, issue #12): the
// frozen part of a pretrained backbone runs on ONNX Runtime (its features cached across epochs
// without augmentation), only the part above it trains in tfjs. Real tfjs (cpu backend) and real
// onnxruntime-node, a tiny backbone saved as a tfjs LayersModel folder, the toy data.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildSiamese, defaultModelConfig, loadSiamese, saveSiamese, type SiameseModel } from '../../src/main/engine/models';
import { OnnxModelSession } from '../../src/main/engine/onnx/session';
import { initInference, resetInferenceForTests } from '../../src/main/engine/runtime/inference';
import { saveLayersModel } from '../../src/main/engine/runtime/model-io';
import { frozenBoundary, PLANNER_FROZEN_REASON, type FeatureEngine } from '../../src/main/engine/train/frozen-features';
import { scorePairs } from '../../src/main/engine/evaluate/evaluate';
import { defaultEpochPlanner, trainSiamese, type TrainConfig, type TrainResult } from '../../src/main/engine/train/trainer';
import { retrainTask, retrainTaskParallel, type RetrainRequest } from '../../src/main/engine/train/retrain';
import type { TrainProgress } from '../../src/main/engine/train/run';
import { DEFAULT_AUGMENT } from '../../src/main/engine/train/augment';
import { trainDataParallel } from '../../src/main/engine/train/data-parallel';
import { WorkerPool } from '../../src/main/engine/runtime/pool';
import type { EngineTasks } from '../../src/main/engine/tasks';
import { toyTrainData } from '../unit/engine-toy';

type ST = tf.SymbolicTensor;
const dir = mkdtempSync(join(tmpdir(), 'simlens-frozen-ort-'));
const backboneDir = join(dir, 'backbone');

const CONFIG: Partial<TrainConfig> = {
  epochs: 2,
  batchSize: 16,
  learningRate: 3e-3,
  seed: 5,
  earlyStoppingPatience: 0,
  lrPatience: 0,
  keep: 'last',
};
const data = toyTrainData();
/** The images the run touches: 48 train anchors (with their partners, all train images) and the 16 val images. */
const IMAGES_USED = 48 + 16;

/**
 * A "pretrained" 8x8x1 backbone: a conv-BN-ReLU block, a residual block (two convs, BN, Add: no
 * cut point inside), another conv-BN-ReLU block and a classifier top; BN with non-trivial moving
 * statistics (inference-mode BN differs from batch statistics).
 */
async function saveBackbone(): Promise<void> {
  const conv = (name: string, x: ST, seed: number) =>
    tf.layers
      .conv2d({ name, filters: 4, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: tf.initializers.heNormal({ seed }) })
      .apply(x) as ST;
  const bn = (name: string, x: ST) => tf.layers.batchNormalization({ name, momentum: 0.5 }).apply(x) as ST;
  const relu = (name: string, x: ST) => tf.layers.activation({ name, activation: 'relu' }).apply(x) as ST;
  const input = tf.input({ shape: [8, 8, 1], name: 'image' });
  const b1 = relu('b1_relu', bn('b1_bn', conv('b1_conv', input, 1)));
  const r = bn('b2_bn2', conv('b2_conv2', relu('b2_relu1', bn('b2_bn1', conv('b2_conv1', b1, 2))), 3));
  const b2 = relu('b2_out', tf.layers.add({ name: 'b2_add' }).apply([b1, r]) as ST);
  const b3 = relu('b3_relu', bn('b3_bn', conv('b3_conv', b2, 4)));
  const top = tf.layers.dense({ name: 'classes', units: 3 }).apply(tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(b3) as ST) as ST;
  const model = tf.model({ inputs: input, outputs: top });
  let seed = 10;
  for (const name of ['b1_bn', 'b2_bn1', 'b2_bn2', 'b3_bn']) {
    const stats = tf.tidy(() => [
      tf.randomUniform([4], 0.5, 1.5, 'float32', seed++), // gamma
      tf.randomUniform([4], -0.5, 0.5, 'float32', seed++), // beta
      tf.randomUniform([4], -1, 1, 'float32', seed++), // moving mean
      tf.randomUniform([4], 0.5, 2, 'float32', seed++), // moving variance
    ]);
    model.getLayer(name).setWeights(stats);
    tf.dispose(stats);
  }
  await saveLayersModel(model, backboneDir);
  model.dispose();
}

const modelConfig = (frozenBlocks: number) =>
  defaultModelConfig({
    arch: 'pretrained',
    inputShape: [8, 8, 1],
    embeddingSize: 8,
    headUnits: 16,
    seed: 1,
    backbone: { dir: backboneDir, cutLayer: 'b3_relu', frozenBlocks },
  });
const FROZEN_LAYERS = ['b1_conv', 'b1_bn', 'b2_conv1', 'b2_bn1', 'b2_conv2', 'b2_bn2'];
const TRAINED_LAYERS = ['b3_conv', 'b3_bn', 'head_dense', 'embedding'];

const weightsOf = (m: SiameseModel) => m.net.getWeights().map((w) => Float32Array.from(w.dataSync()));
const layerWeights = (m: SiameseModel, name: string) =>
  m.net
    .getLayer(name)
    .getWeights()
    .map((w) => Array.from(w.dataSync()));

/**
 * The tolerance of two runs that differ only by float rounding in the frozen features (ONNX Runtime
 * and tfjs agree to ~1e-7 of the magnitude): Adam scales each gradient to a step of about the
 * learning rate whatever its size, so a parameter whose exact gradient is 0 moves by the rounding
 * noise's sign, up to lr per step, differently in each run. The contrastive loss depends on
 * distances only, so the embedding layer's bias has such a gradient (a shift of every embedding),
 * and so has the bias of a hidden unit active on every image of the batch (its shift moves every
 * embedding alike). Hence: kernels, BatchNorm weights and statistics within 1e-5 of the magnitude,
 * biases within 2 lr per step, and what the model computes, the distances of the validation pairs,
 * within 1e-4. Once such a bias has moved a unit across its ReLU threshold for some image (as the
 * augmented images of the test below do) the runs part for good: `chaotic` then asks only for
 * Adam's bound, 2 lr per step, on every weight.
 */
async function expectSameTraining(
  a: SiameseModel,
  b: SiameseModel,
  config: Partial<TrainConfig>,
  steps: number,
  chaotic = false,
): Promise<string> {
  const [wa, wb] = [weightsOf(a), weightsOf(b)];
  let magnitude = 0;
  wb.forEach((w) => w.forEach((v) => (magnitude = Math.max(magnitude, Math.abs(v)))));
  let weightDiff = 0;
  let biasDiff = 0;
  a.net.weights.forEach((v, i) => {
    let d = 0;
    for (let j = 0; j < wa[i].length; j++) d = Math.max(d, Math.abs(wa[i][j] - wb[i][j]));
    if (/\/bias/.test(v.originalName)) biasDiff = Math.max(biasDiff, d);
    else weightDiff = Math.max(weightDiff, d);
  });
  expect(Math.max(weightDiff, biasDiff)).toBeLessThan(2 * config.learningRate! * steps);
  if (!chaotic) expect(weightDiff / magnitude).toBeLessThan(1e-5);
  const [da, db] = [(await scorePairs(a, data.images, data.val)).distance, (await scorePairs(b, data.images, data.val)).distance];
  let distanceDiff = 0;
  let distance = 0;
  db.forEach((d, i) => {
    distanceDiff = Math.max(distanceDiff, Math.abs(da[i] - d));
    distance = Math.max(distance, d);
  });
  if (!chaotic) expect(distanceDiff / distance).toBeLessThan(1e-4);
  return `weights max |diff| ${(weightDiff / magnitude).toExponential(2)} of the magnitude, biases ${biasDiff.toExponential(2)}, val distances ${(distanceDiff / distance).toExponential(2)}`;
}

async function useEngine(name: 'ort' | 'tfjs'): Promise<void> {
  resetInferenceForTests();
  expect((await initInference(name === 'tfjs' ? { force: 'tfjs' } : { env: {} })).name).toBe(name);
}

/** Trains a fresh model; returns it, the result and the ONNX Runtime session runs it made (images per run). */
async function train(
  frozenBlocks: number,
  config: Partial<TrainConfig> = CONFIG,
  frozen: Parameters<typeof trainSiamese>[4] = {},
): Promise<{ model: SiameseModel; result: TrainResult; ortRuns: number[]; notes: string[] }> {
  const model = await buildSiamese(modelConfig(frozenBlocks));
  const run = vi.spyOn(OnnxModelSession.prototype, 'run');
  const notes: string[] = [];
  try {
    const result = await trainSiamese(model, data, config, { onNote: (n) => notes.push(n) }, frozen);
    return { model, result, ortRuns: run.mock.calls.map((c) => c[1]), notes };
  } finally {
    run.mockRestore();
  }
}

/** The frozen part on tfjs, through the same cache and head: isolates ONNX Runtime's rounding. */
const tfjsEngine = async (model: SiameseModel, boundary: tf.layers.Layer): Promise<FeatureEngine> => {
  const features = tf.model({ inputs: model.net.inputs, outputs: boundary.getOutputAt(0) as ST });
  return {
    async run(images, count) {
      const f = tf.tidy(() => features.apply(tf.tensor4d(images, [count, 8, 8, 1]), { training: true }) as tf.Tensor);
      const out = (await f.data()) as Float32Array;
      f.dispose();
      return out;
    },
    release: async () => undefined,
  };
};

const models: SiameseModel[] = [];
const keep = <T extends { model: SiameseModel }>(r: T): T => {
  models.push(r.model);
  return r;
};

beforeAll(async () => {
  await tf.setBackend('cpu');
  await saveBackbone();
});
afterEach(() => {
  delete process.env.SIMLENS_FROZEN_CACHE_MB;
});
afterAll(() => {
  models.splice(0).forEach((m) => m.dispose());
  resetInferenceForTests();
  rmSync(dir, { recursive: true, force: true });
});

describe('the frozen part', () => {
  it('ends at the last layer of the last frozen block; none without frozen blocks or with a trainable layer below', async () => {
    const m = await buildSiamese(modelConfig(2));
    const b = frozenBoundary(m);
    expect('layer' in b && b.layer.name).toBe('b2_out'); // the residual block's output, not a layer inside it
    m.net.getLayer('b1_conv').trainable = true;
    expect(frozenBoundary(m)).toEqual({ reason: 'layer "b1_conv", below the boundary "b2_out", is trainable' });
    m.dispose();
    const all = await buildSiamese(modelConfig(-1));
    const ball = frozenBoundary(all);
    expect('layer' in ball && ball.layer.name).toBe('b3_relu');
    all.dispose();
    const none = await buildSiamese(modelConfig(0));
    expect(frozenBoundary(none)).toEqual({ reason: 'no frozen blocks' });
    none.dispose();
  });
});

describe('training with frozen blocks on ONNX Runtime', () => {
  let tfjs: Awaited<ReturnType<typeof train>>;
  let ort: Awaited<ReturnType<typeof train>>;
  let original: Record<string, number[][]>;

  beforeAll(async () => {
    await useEngine('tfjs');
    tfjs = keep(await train(2));
    await useEngine('ort');
    ort = keep(await train(2));
    const fresh = await buildSiamese(modelConfig(2));
    original = Object.fromEntries([...FROZEN_LAYERS, ...TRAINED_LAYERS].map((n) => [n, layerWeights(fresh, n)]));
    fresh.dispose();
  });

  it('with SIMLENS_INFER=tfjs, trains the whole network in tfjs as before (no ONNX Runtime run)', () => {
    expect(tfjs.result.frozenFeatures).toMatchObject({ used: false, reason: expect.stringContaining('inference engine is tfjs') });
    expect(tfjs.ortRuns).toEqual([]);
    expect(tfjs.notes).toEqual([expect.stringMatching(/^frozen blocks: tfjs: the inference engine is tfjs/)]);
  });

  it('computes each image’s features once on ONNX Runtime (cached across epochs)', () => {
    expect(ort.result.frozenFeatures).toMatchObject({ used: true, boundary: 'b2_out', featureSize: 8 * 8 * 4, cached: true });
    expect(ort.result.frozenFeatures!.reason).toBeUndefined();
    // the session's runs: the check of the export (2 images), then only images never seen before
    const [check, ...runs] = ort.ortRuns;
    expect(check).toBe(2);
    expect(runs.reduce((a, b) => a + b, 0)).toBe(IMAGES_USED);
    expect(ort.result.frozenFeatures!.ortImages).toBe(IMAGES_USED);
    // epoch 1's steps and its validation scoring computed them all: epoch 2 made no run
    expect(runs.length).toBe(ort.result.frozenFeatures!.ortRuns);
    expect(runs.length).toBeLessThanOrEqual(6 + 1);
    expect(ort.notes).toEqual(['frozen blocks: ONNX Runtime up to "b2_out", features cached across epochs']);
  });

  it('gives the losses, val AUCs and weights of the all-tfjs run (within float tolerance)', async () => {
    expect(ort.result.history).toHaveLength(2);
    ort.result.history.forEach((e, i) => {
      const want = tfjs.result.history[i];
      expect(Math.abs(e.loss - want.loss) / want.loss).toBeLessThan(1e-4);
      expect(Math.abs(e.valAuc - want.valAuc)).toBeLessThan(1e-3);
    });
    const diffs = await expectSameTraining(ort.model, tfjs.model, CONFIG, 2 * 6);
    const losses = ort.result.history.map((e, i) =>
      (Math.abs(e.loss - tfjs.result.history[i].loss) / tfjs.result.history[i].loss).toExponential(2),
    );
    console.log(`frozen part on ONNX Runtime vs all tfjs: loss rel diff ${losses.join(', ')}; ${diffs}`);
  });

  it('leaves the frozen weights and BatchNorm statistics bit-identical; the layers above train', () => {
    for (const name of FROZEN_LAYERS) expect(layerWeights(ort.model, name)).toEqual(original[name]);
    for (const name of TRAINED_LAYERS) expect(layerWeights(ort.model, name)).not.toEqual(original[name]);
    expect(layerWeights(ort.model, 'b3_bn')[2]).not.toEqual(original.b3_bn[2]); // the trained block's moving mean moved
  });

  it('saves the whole network (the head shares its weights)', async () => {
    const saved = join(dir, 'saved');
    await saveSiamese(ort.model, saved);
    const loaded = await loadSiamese(saved);
    const x = tf.tensor4d(data.images.pixels.subarray(0, 4 * 64), [4, 8, 8, 1]);
    const [a, b] = [ort.model.embed(x), loaded.embed(x)];
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([x, a, b]);
    loaded.dispose();
  });

  it('with the frozen part on tfjs through the same cache and head, is bit-identical to the all-tfjs run', async () => {
    const same = keep(await train(2, CONFIG, { engine: tfjsEngine }));
    expect(same.result.frozenFeatures).toMatchObject({ used: true, cached: true, ortImages: IMAGES_USED });
    expect(same.result.history.map((e) => [e.loss, e.valAuc])).toEqual(tfjs.result.history.map((e) => [e.loss, e.valAuc]));
    expect(weightsOf(same.model)).toEqual(weightsOf(tfjs.model));
  });
});

describe('frozen features computed per batch', () => {
  beforeAll(() => useEngine('ort'));

  it('with augmentation: from the augmented images on every step (validation features still cached)', async () => {
    const steps = 6; // 48 anchors, 8 per batch
    const augmented = { ...CONFIG, augment: DEFAULT_AUGMENT };
    const ort = keep(await train(2, augmented));
    expect(ort.result.frozenFeatures).toMatchObject({ used: true, cached: false, reason: expect.stringContaining('augmentation') });
    // every step runs its 24 images (8 anchors, 8 positives, 8 negatives); the 16 val images once
    expect(ort.result.frozenFeatures!.ortImages).toBe(2 * steps * 24 + 16);
    // the same augmented images: on tfjs through the same path, bit-identical to the all-tfjs run
    const same = keep(await train(2, augmented, { engine: tfjsEngine }));
    await useEngine('tfjs');
    const tfjs = keep(await train(2, augmented));
    await useEngine('ort');
    expect(same.result.history.map((e) => e.loss)).toEqual(tfjs.result.history.map((e) => e.loss));
    expect(weightsOf(same.model)).toEqual(weightsOf(tfjs.model));
    ort.result.history.forEach((e, i) =>
      expect(Math.abs(e.loss - tfjs.result.history[i].loss) / tfjs.result.history[i].loss).toBeLessThan(1e-4),
    );
    console.log(
      `with augmentation, frozen part on ONNX Runtime vs all tfjs: ${await expectSameTraining(ort.model, tfjs.model, augmented, 2 * steps, true)}`,
    );
  });

  it('above the cache bound (SIMLENS_FROZEN_CACHE_MB): per batch, with the reason', async () => {
    process.env.SIMLENS_FROZEN_CACHE_MB = '0.01'; // 2621 floats: not the 64 images x 256
    const ort = keep(await train(2, { ...CONFIG, maxStepsPerEpoch: 2 }));
    expect(ort.result.frozenFeatures).toMatchObject({ used: true, cached: false, reason: expect.stringContaining('bound') });
    expect(ort.result.frozenFeatures!.ortImages).toBe(2 * (2 * 24 + 16));
  });

  it('the whole backbone frozen (frozenBlocks -1): the boundary is the cut layer', async () => {
    const ort = keep(await train(-1, { ...CONFIG, epochs: 1 }));
    expect(ort.result.frozenFeatures).toMatchObject({ used: true, boundary: 'b3_relu', cached: true, ortImages: IMAGES_USED });
    expect(Number.isFinite(ort.result.history[0].loss)).toBe(true);
  });

  it('a model without frozen blocks trains as before, without a word about it', async () => {
    const plain = keep(await train(0, { ...CONFIG, epochs: 1 }));
    expect(plain.result.frozenFeatures).toBeUndefined();
    expect(plain.ortRuns).toEqual([]);
    expect(plain.notes).toEqual([]);
  });

  it("a custom epoch planner (mask-guided retraining's) trains the frozen blocks in tfjs, and says so", async () => {
    const model = keep({ model: await buildSiamese(modelConfig(2)) }).model;
    const run = vi.spyOn(OnnxModelSession.prototype, 'run');
    const notes: string[] = [];
    try {
      const result = await trainSiamese(
        model,
        data,
        { ...CONFIG, epochs: 1 },
        { planner: defaultEpochPlanner(data), onNote: (n) => notes.push(n) },
      );
      expect(result.frozenFeatures).toEqual({ used: false, reason: PLANNER_FROZEN_REASON, ortRuns: 0, ortImages: 0 });
      expect(run).not.toHaveBeenCalled();
      expect(notes).toEqual([`frozen blocks: tfjs: ${PLANNER_FROZEN_REASON}`]);
    } finally {
      run.mockRestore();
    }
  });
});

describe('data-parallel over 2 workers', () => {
  // each worker chooses its own inference engine (SIMLENS_INFER of its environment)
  const pools: Partial<Record<'ort' | 'tfjs', WorkerPool<EngineTasks>>> = {};
  const poolOf = async (engine: 'ort' | 'tfjs') => {
    const pool = (pools[engine] ??= new WorkerPool<EngineTasks>({
      size: 2,
      backend: 'wasm',
      cancelGraceMs: 5000,
      env: { ...process.env, SIMLENS_INFER: engine },
    }));
    await pool.ready();
    return pool;
  };
  afterAll(async () => {
    await Promise.all(Object.values(pools).map((p) => p.close()));
  });

  /** A data-parallel run; saves the trained version and scores the val pairs with the runner (features on ORT when frozen). */
  async function trainParallel(engine: 'ort' | 'tfjs', name: string) {
    const pool = await poolOf(engine);
    const notes: string[] = [];
    const baseline = (await pool.broadcast('engine.info')).map((i) => i.memory.numTensors);
    const { training, after } = await trainDataParallel(
      pool,
      { model: modelConfig(2) },
      data,
      CONFIG,
      { onNote: (n) => notes.push(n) },
      async (runner) => {
        await runner.save(join(dir, name), {});
        return runner.scorePairs(data.images, data.val);
      },
    );
    const model = keep({ model: await loadSiamese(join(dir, name)) }).model;
    const tensorsLeft = (await pool.broadcast('engine.info')).map((i) => i.memory.numTensors);
    return { training, scores: after!, model, notes, baseline, tensorsLeft };
  }

  it('runs the frozen part on ONNX Runtime in the workers, features once per image; the losses and weights of the all-tfjs run', async () => {
    const tfjs = await trainParallel('tfjs', 'dp-tfjs');
    expect(tfjs.training.frozenFeatures).toMatchObject({ used: false, reason: expect.stringContaining('inference engine is tfjs') });
    expect(tfjs.notes).toEqual([expect.stringMatching(/^frozen blocks: tfjs: the inference engine is tfjs/)]);

    const ort = await trainParallel('ort', 'dp-ort');
    expect(ort.training.frozenFeatures).toMatchObject({ used: true, boundary: 'b2_out', cached: true, ortImages: IMAGES_USED });
    expect(ort.notes).toEqual(['frozen blocks: ONNX Runtime up to "b2_out", features cached across epochs']);
    expect(ort.tensorsLeft).toEqual(ort.baseline); // the replicas, their heads and sessions freed

    ort.training.history.forEach((e, i) => {
      const want = tfjs.training.history[i];
      expect(Math.abs(e.loss - want.loss) / want.loss).toBeLessThan(1e-4);
      expect(Math.abs(e.valAuc - want.valAuc)).toBeLessThan(1e-3);
    });
    console.log(
      `data-parallel, frozen part on ONNX Runtime vs all tfjs: ${await expectSameTraining(ort.model, tfjs.model, CONFIG, 2 * 6)}`,
    );
    // the frozen layers as pretrained; the saved version is the whole network
    const fresh = await buildSiamese(modelConfig(2));
    for (const name of FROZEN_LAYERS) expect(layerWeights(ort.model, name)).toEqual(layerWeights(fresh, name));
    fresh.dispose();
    // the runner's scores (features on ONNX Runtime, head in the workers) are the saved version's
    const want = await scorePairs(ort.model, data.images, data.val);
    want.score.forEach((v, i) => expect(Math.abs(v - ort.scores.score[i])).toBeLessThan(1e-5));
  });

  it('with a custom epoch planner: the frozen part on ONNX Runtime in the replicas too', async () => {
    const pool = await poolOf('ort');
    const notes: string[] = [];
    const run = { ...CONFIG, epochs: 1 };
    const { training } = await trainDataParallel(pool, { model: modelConfig(2) }, data, run, {
      planner: defaultEpochPlanner(data),
      onNote: (n) => notes.push(n),
    });
    expect(training.frozenFeatures).toMatchObject({ used: true, boundary: 'b2_out', cached: true, ortImages: IMAGES_USED });
    expect(notes).toEqual(['frozen blocks: ONNX Runtime up to "b2_out", features cached across epochs']);
    expect(Number.isFinite(training.history[0].loss)).toBe(true);
  });

  /** A retraining of a saved pretrained version (2 frozen blocks) with masks (the top-left quadrant) on 6 train images. */
  async function retrainRequest(out: string, loss: RetrainRequest['method']['loss']): Promise<RetrainRequest> {
    const parent = join(dir, 'retrain-parent');
    if (!existsSync(parent)) {
      const built = await buildSiamese(modelConfig(2));
      await saveSiamese(built, parent);
      built.dispose();
    }
    const masked = Array.from(data.train.indices.subarray(0, 6));
    const masks = new Uint8Array(masked.length * 64);
    masked.forEach((_, j) => {
      for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) masks[j * 64 + y * 8 + x] = 255;
    });
    return {
      model: modelConfig(2),
      initFromDir: parent,
      train: { epochs: 2, batchSize: 12, learningRate: 3e-3, seed: 5, maxStepsPerEpoch: 2 },
      data: { images: data.images, train: data.train, val: data.val },
      masks: { images: Int32Array.from(masked), masks },
      method: { loss, lambda: loss === 'augment' ? 0 : 1 },
      evaluate: { val: data.val },
      outDir: join(dir, out),
    };
  }

  it('mask-guided retraining of a version with frozen blocks on ONNX Runtime features, here and over 2 workers: the run of all-tfjs', async () => {
    const request = (out: string) => retrainRequest(out, 'energy');
    const noteLines: string[] = [];
    const progress = (_f: number, message: string, d: TrainProgress) => {
      if (d.kind === 'phase' && d.phase === 'note') noteLines.push(message);
    };
    await useEngine('tfjs');
    const tfjs = await retrainTask(await request('retrained-tfjs'), { progress });
    expect(tfjs.retrain.used).toBe('energy'); // the mask loss ran (no fallback to augmentation)
    expect(tfjs.training.frozenFeatures).toMatchObject({ used: false, reason: expect.stringContaining('inference engine is tfjs') });

    await useEngine('ort');
    const run = vi.spyOn(OnnxModelSession.prototype, 'run');
    let ort: Awaited<ReturnType<typeof retrainTask>>;
    let ortRunImages = 0;
    try {
      ort = await retrainTask(await request('retrained-ort'), { progress });
      ortRunImages = run.mock.calls.reduce((n, c) => n + c[1], 0);
    } finally {
      run.mockRestore();
    }
    expect(ort.retrain.used).toBe('energy');
    expect(ort.training.frozenFeatures).toMatchObject({ used: true, boundary: 'b2_out', cached: true });
    // every image the run touched went through the frozen part once (the batches' and val's)
    const touched = ort.training.frozenFeatures!.ortImages;
    expect(touched).toBeGreaterThan(16);
    expect(touched).toBeLessThanOrEqual(IMAGES_USED);
    expect(ortRunImages).toBe(2 + touched); // + the export's check of 2 images
    // the same retraining as all-tfjs: losses (contrastive and mask parts), val AUCs and weights
    ort.training.history.forEach((e, i) => {
      const want = tfjs.training.history[i];
      expect(Math.abs(e.loss - want.loss) / want.loss).toBeLessThan(1e-4);
      expect(Math.abs(e.maskLoss! - want.maskLoss!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(want.maskLoss!)));
      expect(Math.abs(e.valAuc - want.valAuc)).toBeLessThan(1e-3);
    });
    const [a, b] = [
      keep({ model: await loadSiamese(join(dir, 'retrained-ort')) }).model,
      keep({ model: await loadSiamese(join(dir, 'retrained-tfjs')) }).model,
    ];
    let maxWeightDiff = 0;
    for (const name of TRAINED_LAYERS) {
      const [wa, wb] = [layerWeights(a, name), layerWeights(b, name)];
      wa.forEach((w, k) => w.forEach((v, m) => (maxWeightDiff = Math.max(maxWeightDiff, Math.abs(v - wb[k][m])))));
    }
    expect(maxWeightDiff).toBeLessThan(1e-3);
    const lossDiff = Math.max(
      ...ort.training.history.map((e, i) => Math.abs(e.loss - tfjs.training.history[i].loss) / tfjs.training.history[i].loss),
    );
    console.log(
      `mask-guided retraining on frozen features vs all tfjs: loss rel. diff ${lossDiff.toExponential(2)}, weights max |diff| ${maxWeightDiff.toExponential(2)}, ${touched} images through ONNX Runtime`,
    );

    // over 2 workers: the replicas run the frozen part and the mask step on features; the run of
    // all-tfjs replicas (a share's BatchNorm statistics are its own: not the one-thread run's)
    const parallelTfjs = await retrainTaskParallel(await poolOf('tfjs'), await request('retrained-dp-tfjs'), { progress });
    const parallel = await retrainTaskParallel(await poolOf('ort'), await request('retrained-dp'), { progress });
    expect(parallel.retrain.used).toBe('energy');
    expect(parallel.training.frozenFeatures).toMatchObject({ used: true, boundary: 'b2_out', cached: true, ortImages: touched });
    parallel.training.history.forEach((e, i) => {
      const want = parallelTfjs.training.history[i];
      expect(Math.abs(e.loss - want.loss) / want.loss).toBeLessThan(1e-4);
      expect(Math.abs(e.maskLoss! - want.maskLoss!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(want.maskLoss!)));
      expect(Math.abs(e.valAuc - want.valAuc)).toBeLessThan(1e-3);
    });
    const dp = keep({ model: await loadSiamese(join(dir, 'retrained-dp')) }).model;
    const dpTfjs = keep({ model: await loadSiamese(join(dir, 'retrained-dp-tfjs')) }).model;
    // Kernels agree (2.6e-7 of the magnitude); the hidden and embedding biases, whose gradient is
    // rounding noise over the shares, part by Adam's steps (9.6e-3, 5.1e-3; bound 2 lr per step) and
    // with them the val distances (2e-2): expectSameTraining's `chaotic` case. 2 epochs x 2 steps.
    console.log(
      `the same over 2 workers against all-tfjs replicas: ${await expectSameTraining(dp, dpTfjs, { learningRate: 3e-3 }, 4, true)}`,
    );
    expect(noteLines).toEqual([
      expect.stringMatching(/^frozen blocks: tfjs: the inference engine is tfjs/),
      'frozen blocks: ONNX Runtime up to "b2_out", features cached across epochs',
      expect.stringMatching(/^frozen blocks: tfjs: the inference engine is tfjs/),
      'frozen blocks: ONNX Runtime up to "b2_out", features cached across epochs',
    ]);
  });

  it('retraining with mask-guided augmentation: the frozen part on ONNX Runtime per batch (the images change), the run of all-tfjs', async () => {
    await useEngine('tfjs');
    const tfjs = await retrainTask(await retrainRequest('augment-tfjs', 'augment'));
    await useEngine('ort');
    const ort = await retrainTask(await retrainRequest('augment-ort', 'augment'));
    expect(ort.training.frozenFeatures).toMatchObject({
      used: true,
      boundary: 'b2_out',
      cached: false,
      reason: expect.stringContaining('computed per batch'),
    });
    ort.training.history.forEach((e, i) => {
      const want = tfjs.training.history[i];
      expect(Math.abs(e.loss - want.loss) / want.loss).toBeLessThan(1e-4);
      expect(Math.abs(e.valAuc - want.valAuc)).toBeLessThan(1e-3);
    });
  });
});
