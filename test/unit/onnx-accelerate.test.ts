// ONNX Runtime as the engine of a saved version's forwards (engine/onnx/accelerator.ts): per
// architecture and CAM method, the maps made with the forward to the target layer on ONNX Runtime
// (head and gradient in tfjs) equal the maps of the all-tfjs path; so do deletion / insertion
// curves and evaluation embeddings. A model the exporter cannot convert runs on tfjs with its
// reason recorded; SIMLENS_INFER and a missing ONNX Runtime choose tfjs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CAM_METHODS, explainPair, type CamMethod } from '../../src/main/engine/explain/cam';
import { explainPairs } from '../../src/main/engine/explain/pairs';
import { toCamModel } from '../../src/main/engine/explain/split-model';
import { perturbationCurve } from '../../src/main/engine/explain/metrics/deletion';
import { embedImages } from '../../src/main/engine/evaluate/evaluate';
import { buildSiamese, defaultModelConfig, loadSiamese, saveSiamese, SiameseModel, type ModelConfig } from '../../src/main/engine/models';
import {
  EXPORT_LOCK_STALE_MS,
  loadForInference,
  onnxCacheDir,
  readOnnxFallback,
  ONNX_FALLBACK_FILE,
} from '../../src/main/engine/onnx/accelerator';
import { initInference, parseInferForced, resetInferenceForTests } from '../../src/main/engine/runtime/inference';
import { maxAbsDiff, randomizeVectorWeights } from './onnx-compare';
import { OnnxModelSession } from '../../src/main/engine/onnx/session';
import { openSessions } from '../../src/main/engine/onnx/session-cache';

/** Lets the releases queued by dispose() run. */
const tick = () => new Promise((resolve) => setImmediate(resolve));

// the exporter as it is, counting its calls (the cache's tests: how many times a model was exported)
const exports = vi.hoisted(() => ({ count: 0 }));
vi.mock('../../src/main/engine/onnx/export', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/main/engine/onnx/export')>();
  return {
    ...original,
    exportToOnnx: (...args: Parameters<typeof original.exportToOnnx>) => ((exports.count += 1), original.exportToOnnx(...args)),
  };
});

const dir = mkdtempSync(join(tmpdir(), 'simlens-ort-accel-'));

// These tests are about ONNX Runtime itself: they run on it even when the suite is run with
// SIMLENS_INFER=tfjs (which every other test follows); the engine-choice tests set it themselves.
const outerInfer = process.env.SIMLENS_INFER;

beforeAll(async () => {
  delete process.env.SIMLENS_INFER;
  await tf.setBackend('cpu');
  resetInferenceForTests();
  expect((await initInference({ env: {} })).name).toBe('ort');
});
afterAll(() => {
  if (outerInfer !== undefined) process.env.SIMLENS_INFER = outerInfer;
  resetInferenceForTests();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Saves a built model with randomised vectors; with `pair`, tau is set so that the pair scores
 * 0.5 (random weights give distances whose score would otherwise be 0, with all-zero maps).
 */
async function savedVersion(name: string, cfg: ModelConfig, pair?: [tf.Tensor4D, tf.Tensor4D], randomize = true): Promise<string> {
  const built = await buildSiamese(cfg);
  if (randomize) randomizeVectorWeights(built.net, 100);
  let tau = built.config.tau;
  if (pair) {
    const [d2, magnitude] = tf.tidy(() => {
      const e1 = built.embed(pair[0]);
      return [tf.sum(tf.square(tf.sub(e1, built.embed(pair[1])))), tf.max(tf.abs(e1))];
    });
    const [d2v, mag] = [(await d2.data())[0], (await magnitude.data())[0]];
    tf.dispose([d2, magnitude]);
    // the pair must be well apart: float rounding (~1e-6 of the magnitude) must not decide its score
    expect(Math.sqrt(d2v) / mag).toBeGreaterThan(1e-2);
    tau = d2v / Math.LN2;
  }
  const m = new SiameseModel(built.net, { ...built.config, tau });
  const modelDir = join(dir, name);
  await saveSiamese(m, modelDir);
  m.dispose();
  return modelDir;
}

/** Maps are in [0, 1]; the forwards agree to ~1e-6 of their magnitude, RISE's sums of 48 masks amplify it most. */
const MAP_TOLERANCE = 5e-3;
const methodOptions = { masks: 48, batchSize: 16, seed: 3, maxChannels: 12 };

// [name, config, randomise the vectors]: MobileNetV2's with random BN statistics embeds every
// image within 1e-4 of its magnitude (its export test covers those statistics)
const ARCHITECTURES: [string, ModelConfig, boolean][] = [
  ['small CNN, flatten head', defaultModelConfig({ inputShape: [28, 28, 1], width: 0.25, embeddingSize: 16, seed: 1 }), true],
  ['small CNN, GAP head', defaultModelConfig({ inputShape: [28, 28, 1], width: 0.25, embeddingSize: 16, seed: 2, head: 'gap' }), true],
  ['ResNet18', defaultModelConfig({ inputShape: [32, 32, 3], arch: 'resnet18', width: 0.125, seed: 3, preprocess: 'caffe' }), true],
  ['MobileNetV2', defaultModelConfig({ inputShape: [32, 32, 3], arch: 'mobilenetv2', width: 0.35, seed: 4, preprocess: 'tf' }), false],
];

describe.each(ARCHITECTURES)('%s: maps with the forward on ONNX Runtime equal the tfjs maps', (name, cfg, randomize) => {
  let tfjsModel: SiameseModel;
  let ortModel: SiameseModel;
  let x1: tf.Tensor4D;
  let x2: tf.Tensor4D;
  let ortRuns = 0;
  beforeAll(async () => {
    x1 = tf.randomUniform([1, ...cfg.inputShape], 0, 1, 'float32', 21) as tf.Tensor4D;
    // the inverted image: far from x1 in the embedding too (two random images can embed within
    // 1e-5 of the embedding's magnitude of each other, where float rounding decides the score)
    x2 = tf.sub(1, x1) as tf.Tensor4D;
    const modelDir = await savedVersion(name.replace(/\W+/g, '-'), cfg, [x1, x2], randomize);
    tfjsModel = await loadSiamese(modelDir);
    ortModel = await loadForInference(modelDir);
    expect(tfjsModel.accelerator).toBeNull();
    expect(ortModel.accelerator?.engine).toBe('ort');
    // count the forwards ONNX Runtime ran, so that a test cannot pass on the tfjs path alone
    const acc = ortModel.accelerator!;
    const [forward, embed] = [acc.forward.bind(acc), acc.embed.bind(acc)];
    acc.forward = async (...args) => ((ortRuns += 1), forward(...args));
    acc.embed = async (...args) => ((ortRuns += 1), embed(...args));
  });
  afterAll(() => {
    tfjsModel.dispose();
    ortModel.dispose();
    tf.dispose([x1, x2]);
  });

  /** The deepest target layer whose maps are at least 4x4 (at these small inputs the last block's are 1x1). */
  const targetLayer = () =>
    tfjsModel
      .camLayers()
      .filter((l) => ((tfjsModel.net.getLayer(l).outputShape as number[])[1] ?? 0) >= 4)
      .at(-1)!;

  it.each(CAM_METHODS.map((m) => [m]))('%s', async (method: CamMethod) => {
    const layer = targetLayer();
    const want = await explainPair(toCamModel(tfjsModel, layer), x1, x2, method, methodOptions);
    const runsBefore = ortRuns;
    const got = await explainPair(toCamModel(ortModel, layer), x1, x2, method, methodOptions);
    expect(ortModel.accelerator?.fallbackReason).toBeNull();
    expect(ortRuns).toBeGreaterThan(runsBefore);
    expect(Math.abs(got.score - want.score)).toBeLessThan(5e-5);
    for (const i of [0, 1]) {
      expect(maxAbsDiff(got.images[i].factual, want.images[i].factual)).toBeLessThan(MAP_TOLERANCE);
      if (want.images[i].counterfactual)
        expect(maxAbsDiff(got.images[i].counterfactual!, want.images[i].counterfactual!)).toBeLessThan(MAP_TOLERANCE);
    }
    // the maps are not trivially equal: they vary over the image
    expect(Math.max(...want.images[0].factual) - Math.min(...want.images[0].factual)).toBeGreaterThan(0.5);
  });

  it('deletion and insertion curves (32 steps) and evaluation embeddings', async () => {
    const layer = targetLayer();
    const map = await explainPair(toCamModel(tfjsModel, layer), x1, x2, 'gradcam');
    const grid = { data: map.images[0].factual, h: map.images[0].h, w: map.images[0].w };
    for (const mode of ['deletion', 'insertion'] as const) {
      const want = await perturbationCurve(toCamModel(tfjsModel, layer), x1, x2, 0, grid, mode, { steps: 32 });
      const got = await perturbationCurve(toCamModel(ortModel, layer), x1, x2, 0, grid, mode, { steps: 32 });
      expect(maxAbsDiff(got.scores, want.scores)).toBeLessThan(5e-5);
      expect(Math.max(...want.scores) - Math.min(...want.scores)).toBeGreaterThan(1e-3);
    }
    const images = {
      shape: cfg.inputShape as [number, number, number],
      count: 5,
      pixels: (await tf.randomUniform([5, ...cfg.inputShape], 0, 1, 'float32', 9).data()) as Float32Array,
    };
    const want = await embedImages(tfjsModel, images);
    const got = await embedImages(ortModel, images);
    const magnitude = Math.max(...want.embeddings.map(Math.abs));
    expect(maxAbsDiff(got.embeddings, want.embeddings) / magnitude).toBeLessThan(1e-4);
  });
});

describe("pairs as indices into an image set (explainPairs, the pool's 'explain.pairs')", () => {
  const cfg = defaultModelConfig({ inputShape: [32, 32, 3], arch: 'resnet18', width: 0.125, seed: 5, preprocess: 'caffe' });
  let tfjsModel: SiameseModel;
  let ortModel: SiameseModel;
  let pixels: Float32Array;
  /** each accelerator forward: its input rows, and whether the input was the set's own pixels */
  const forwards: { images: number; ownPixels: boolean }[] = [];
  let decline = false;
  beforeAll(async () => {
    const set = tf.tidy(() => {
      const p = tf.randomUniform([1, ...cfg.inputShape], 0, 1, 'float32', 31);
      return tf.concat([p, tf.sub(1, p), tf.randomUniform([1, ...cfg.inputShape], 0, 1, 'float32', 32)]) as tf.Tensor4D;
    });
    const [p0, p1] = [set.slice(0, 1), set.slice(1, 1)];
    pixels = (await set.data()) as Float32Array;
    const modelDir = await savedVersion('pairs-as-indices', cfg, [p0, p1]);
    tf.dispose([set, p0, p1]);
    tfjsModel = await loadSiamese(modelDir);
    ortModel = await loadForInference(modelDir);
    const acc = ortModel.accelerator!;
    const forward = acc.forward.bind(acc);
    acc.forward = async (layer, images, shape, options) => {
      if (decline) return null; // as an accelerator that cannot take the call (e.g. after a fallback)
      forwards.push({ images: shape[0], ownPixels: images === pixels });
      return forward(layer, images, shape, options);
    };
  });
  afterAll(() => {
    tfjsModel.dispose();
    ortModel.dispose();
  });

  /** explainPairs of `a`, `b` over the three images with both models: the ORT maps equal the tfjs maps. */
  async function explainBoth(a: number[], b: number[], method: 'gradcam' | 'gradcampp') {
    const batch = { shape: cfg.inputShape as [number, number, number], pixels, a: Int32Array.from(a), b: Int32Array.from(b) };
    const layer = tfjsModel.defaultCamLayer();
    const want = await explainPairs(toCamModel(tfjsModel, layer), batch, method);
    const got = await explainPairs(toCamModel(ortModel, layer), batch, method);
    expect(got).toHaveLength(a.length);
    for (const [i, g] of got.entries()) {
      expect(Math.abs(g.score - want[i].score)).toBeLessThan(5e-5);
      for (const k of [0, 1, 2, 3]) expect(maxAbsDiff(g.maps[k]!, want[i].maps[k]!)).toBeLessThan(MAP_TOLERANCE);
    }
    // the pairs' maps differ from each other: a row mix-up could not pass
    expect(maxAbsDiff(want[0].maps[2], want[1].maps[2])).toBeGreaterThan(0.1);
    return got;
  }

  it('each distinct image is forwarded once; the maps per pair equal the tfjs maps', async () => {
    forwards.length = 0;
    // images 0, 2, 1 in order of first use (a then b): gathered into that order, 3 rows for 6
    await explainBoth([0, 0, 2], [1, 2, 1], 'gradcam');
    expect(forwards).toEqual([{ images: 3, ownPixels: false }]);
    forwards.length = 0;
    await explainBoth([0, 2, 1], [0, 1, 2], 'gradcampp');
    expect(forwards).toEqual([{ images: 3, ownPixels: false }]);
  });

  it('the image set in order of first use (as subBatch makes it) is the input itself, not a copy', async () => {
    forwards.length = 0;
    await explainBoth([0, 0], [1, 2], 'gradcam');
    expect(forwards).toEqual([{ images: 3, ownPixels: true }]);
  });

  it('an accelerator that declines the call: tfjs computes the same maps', async () => {
    forwards.length = 0;
    decline = true;
    try {
      await explainBoth([0, 0, 2], [1, 2, 1], 'gradcam');
    } finally {
      decline = false;
    }
    expect(forwards).toEqual([]);
  });
});

describe('the ONNX cache and the fallback', () => {
  it('exports once per version and layer into the version folder, and loads from there next time', async () => {
    const cfg = defaultModelConfig({ inputShape: [16, 16, 1], width: 0.25, embeddingSize: 8, seed: 7 });
    const modelDir = await savedVersion('cache', cfg);
    const a = await loadForInference(modelDir);
    const x = tf.randomUniform([2, 16, 16, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
    const cam = toCamModel(a, a.defaultCamLayer());
    await explainPair(cam, x.slice(0, 1) as tf.Tensor4D, x.slice(1, 1) as tf.Tensor4D, 'gradcam');
    await embedImages(a, { shape: [16, 16, 1], count: 2, pixels: (await x.data()) as Float32Array });
    // the embedding reused the layer's session: one file
    expect(readdirSync(onnxCacheDir(modelDir)).sort()).toEqual([`layer-${a.defaultCamLayer()}.onnx`]);
    a.dispose();
    const b = await loadForInference(modelDir);
    const got = await embedImages(b, { shape: [16, 16, 1], count: 2, pixels: (await x.data()) as Float32Array });
    expect(readdirSync(onnxCacheDir(modelDir)).sort()).toEqual(['embedding.onnx', `layer-${b.defaultCamLayer()}.onnx`]);
    const ref = await loadSiamese(modelDir);
    const want = await embedImages(ref, { shape: [16, 16, 1], count: 2, pixels: (await x.data()) as Float32Array });
    expect(maxAbsDiff(got.embeddings, want.embeddings)).toBeLessThan(1e-4 * Math.max(...want.embeddings.map(Math.abs)));
    tf.dispose(x);
    b.dispose();
    ref.dispose();
  });

  it('a released version leaves its session open for the next load (warm), at most two idle sessions per thread', async () => {
    const cfg = defaultModelConfig({ inputShape: [16, 16, 1], width: 0.25, embeddingSize: 8, seed: 9 });
    const images = { shape: [16, 16, 1] as [number, number, number], count: 2, pixels: new Float32Array(512).fill(0.5) };
    const dirs = await Promise.all(['warm-1', 'warm-2', 'warm-3'].map((n) => savedVersion(n, cfg)));
    const usersOf = (d: string) => openSessions().find((o) => o.file === join(onnxCacheDir(d), 'embedding.onnx'))?.users;
    const first = await loadForInference(dirs[0]);
    await embedImages(first, images);
    expect(usersOf(dirs[0])).toBe(1);
    first.dispose();
    await tick();
    expect(usersOf(dirs[0])).toBe(0); // closed by its user, still open
    const create = vi.spyOn(OnnxModelSession, 'create');
    const second = await loadForInference(dirs[0]);
    await embedImages(second, images);
    expect(create).not.toHaveBeenCalled(); // the open session served the new load
    expect(usersOf(dirs[0])).toBe(1);
    second.dispose();
    create.mockRestore();
    for (const d of dirs.slice(1)) {
      const m = await loadForInference(d);
      await embedImages(m, images);
      m.dispose();
      await tick();
    }
    // three idle: the least recently used (dirs[0]) was closed
    expect(usersOf(dirs[0])).toBeUndefined();
    expect([usersOf(dirs[1]), usersOf(dirs[2])]).toEqual([0, 0]);
  });

  it('a session made for another thread count is not shared (SIMLENS_ORT_THREADS read when a version loads)', async () => {
    const cfg = defaultModelConfig({ inputShape: [16, 16, 1], width: 0.25, embeddingSize: 8, seed: 7 });
    const images = { shape: [16, 16, 1] as [number, number, number], count: 2, pixels: new Float32Array(512).fill(0.25) };
    const dir = await savedVersion('threads', cfg);
    const saved = process.env.SIMLENS_ORT_THREADS;
    const create = vi.spyOn(OnnxModelSession, 'create');
    const embedWith = async (threads: string) => {
      process.env.SIMLENS_ORT_THREADS = threads;
      const m = await loadForInference(dir);
      const e = await embedImages(m, images);
      m.dispose();
      await tick();
      return e.embeddings;
    };
    try {
      const two = await embedWith('2'); // exports: the exported bytes' session (2 threads) is adopted
      const callsAfterExport = create.mock.calls.length;
      const one = await embedWith('1');
      expect(create.mock.calls.length).toBe(callsAfterExport + 1); // a 1-thread session of the file
      expect(create.mock.calls.at(-1)?.[1]).toEqual({ intraOpThreads: 1 }); // SIMLENS_ORT_THREADS read at the load
      await embedWith('2');
      await embedWith('1');
      expect(create.mock.calls.length).toBe(callsAfterExport + 1); // both stay open and are reused
      // the same values either way (float summation order may differ between thread counts)
      for (let i = 0; i < one.length; i++) expect(Math.abs(one[i] - two[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(two[i])));
    } finally {
      create.mockRestore();
      if (saved === undefined) delete process.env.SIMLENS_ORT_THREADS;
      else process.env.SIMLENS_ORT_THREADS = saved;
    }
  });

  it("versions loaded at once (as by the pool's workers) export each model once: the others wait for its file", async () => {
    const cfg = defaultModelConfig({ inputShape: [16, 16, 1], width: 0.25, embeddingSize: 8, seed: 8 });
    const modelDir = await savedVersion('concurrent', cfg);
    const models = await Promise.all([0, 1, 2].map(() => loadForInference(modelDir)));
    const images = {
      shape: [16, 16, 1] as [number, number, number],
      count: 3,
      pixels: Float32Array.from({ length: 768 }, (_, i) => (i % 17) / 17),
    };
    const before = exports.count;
    const got = await Promise.all(models.map((m) => embedImages(m, images)));
    expect(exports.count - before).toBe(1);
    for (const m of models) expect(m.accelerator?.fallbackReason).toBeNull();
    for (const g of got.slice(1)) expect(Array.from(g.embeddings)).toEqual(Array.from(got[0].embeddings));
    // the lock is gone with the export
    expect(readdirSync(onnxCacheDir(modelDir))).toEqual(['embedding.onnx']);
    for (const m of models) m.dispose();
  });

  it('a lock left by an exporter that died (its process gone, or not touched for too long) is taken over', async () => {
    const cfg = defaultModelConfig({ inputShape: [16, 16, 1], width: 0.25, embeddingSize: 8, seed: 9 });
    const images = { shape: [16, 16, 1] as [number, number, number], count: 1, pixels: new Float32Array(256).fill(0.5) };
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
    const old = (Date.now() - EXPORT_LOCK_STALE_MS - 1000) / 1000;
    for (const [name, pid, age] of [
      ['dead-exporter', deadPid, null],
      ['old-lock', process.pid, old],
    ] as const) {
      const modelDir = await savedVersion(name, cfg);
      const cache = onnxCacheDir(modelDir);
      mkdirSync(cache, { recursive: true });
      const lock = join(cache, 'embedding.onnx.lock');
      writeFileSync(lock, String(pid));
      if (age !== null) utimesSync(lock, age, age);
      const m = await loadForInference(modelDir);
      const before = exports.count;
      await embedImages(m, images);
      expect(exports.count - before).toBe(1);
      expect(m.accelerator?.fallbackReason).toBeNull();
      expect(readdirSync(cache)).toEqual(['embedding.onnx']);
      m.dispose();
    }
  });

  it('a model with a layer the exporter does not support runs on tfjs, with the reason recorded, never a wrong map', async () => {
    // UpSampling2D: a layer the exporter does not convert, inside the backbone
    const input = tf.input({ shape: [8, 8, 1] });
    const c1 = tf.layers
      .conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1' })
      .apply(input) as tf.SymbolicTensor;
    const up = tf.layers.upSampling2d({ size: [2, 2], name: 'upsample' }).apply(c1) as tf.SymbolicTensor;
    const c2 = tf.layers
      .conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c2' })
      .apply(up) as tf.SymbolicTensor;
    const e = tf.layers.dense({ units: 4, name: 'emb' }).apply(tf.layers.flatten().apply(c2)) as tf.SymbolicTensor;
    const cfg = defaultModelConfig({ inputShape: [8, 8, 1], embeddingSize: 4 });
    const model = new SiameseModel(tf.model({ inputs: input, outputs: e }), cfg);
    const modelDir = join(dir, 'unsupported');
    await saveSiamese(model, modelDir);
    model.dispose();

    const ortModel = await loadForInference(modelDir);
    const tfjsModel = await loadSiamese(modelDir);
    const x1 = tf.randomUniform([1, 8, 8, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    const x2 = tf.randomUniform([1, 8, 8, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    const got = await explainPair(toCamModel(ortModel, 'c2'), x1, x2, 'gradcam');
    const want = await explainPair(toCamModel(tfjsModel, 'c2'), x1, x2, 'gradcam');
    expect(Array.from(got.images[0].factual)).toEqual(Array.from(want.images[0].factual));
    expect(ortModel.accelerator?.fallbackReason).toMatch(/layer "upsample" \(class UpSampling2D\) is not supported/);
    expect(readOnnxFallback(modelDir)?.reason).toBe(ortModel.accelerator?.fallbackReason);
    expect(existsSync(join(onnxCacheDir(modelDir), ONNX_FALLBACK_FILE))).toBe(true);
    // a later load does not try again: the reason is known at once
    const again = await loadForInference(modelDir);
    expect(again.accelerator?.fallbackReason).toMatch(/UpSampling2D/);
    tf.dispose([x1, x2]);
    for (const m of [ortModel, tfjsModel, again]) m.dispose();
  });
});

describe('the choice of the inference engine', () => {
  afterAll(async () => {
    resetInferenceForTests();
    await initInference({ env: {} });
  });
  it('SIMLENS_INFER parses, and a wrong value is named', () => {
    expect(parseInferForced('ORT')).toBe('ort');
    expect(parseInferForced('onnx')).toBe('ort');
    expect(parseInferForced(' tfjs ')).toBe('tfjs');
    expect(parseInferForced('')).toBeUndefined();
    expect(() => parseInferForced('gpu')).toThrow('SIMLENS_INFER=gpu is not one of ort, tfjs');
  });
  it('ONNX Runtime where it loads, with the CPU provider last', async () => {
    resetInferenceForTests();
    const info = await initInference({ env: {} });
    expect(info).toMatchObject({ name: 'ort', ortVersion: expect.stringMatching(/^1\.\d+\.\d+/) });
    expect(info.providers.at(-1)).toBe('cpu');
  });
  it('SIMLENS_INFER=tfjs forces tfjs; loadForInference then attaches no accelerator', async () => {
    resetInferenceForTests();
    const info = await initInference({ env: { SIMLENS_INFER: 'tfjs' } });
    expect(info).toMatchObject({ name: 'tfjs', providers: [], notes: ["inference forced to 'tfjs' by SIMLENS_INFER"] });
  });
  it('without ONNX Runtime (a missing module), tfjs with the reason', async () => {
    resetInferenceForTests();
    const info = await initInference({ env: { SIMLENS_ORT_MODULE: 'onnxruntime-node-that-is-not-installed' } });
    expect(info.name).toBe('tfjs');
    expect(info.notes.join('\n')).toMatch(
      /ONNX Runtime \(onnxruntime-node\) could not be loaded: .*onnxruntime-node-that-is-not-installed.*every forward runs on tfjs/,
    );
  });
  it('SIMLENS_ORT_PROVIDERS=cpu keeps the CPU provider alone', async () => {
    resetInferenceForTests();
    const info = await initInference({ env: { SIMLENS_ORT_PROVIDERS: 'cpu' } });
    expect(info.providers).toEqual(['cpu']);
  });
});
