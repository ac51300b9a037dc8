// ONNX Runtime in the engine's worker pool (issue #12): every worker chooses its inference engine
// (SIMLENS_INFER, as the app's environment gives it), the explanation and evaluation tasks run
// their forwards on ONNX Runtime with one intra-op thread per worker, and their results equal a
// pool forced to tfjs. Real worker threads, real Fashion-MNIST demo images, a saved version.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImageSet, type ImageRow } from '../../src/main/engine/data';
import { poolExplainEngine, type CamTarget } from '../../src/main/engine/explain';
import type { PairBatch } from '../../src/main/engine/explain/pairs';
import { embedImagesParallel } from '../../src/main/engine/evaluate/embed-parallel';
import { onnxCacheDir } from '../../src/main/engine/onnx/accelerator';
import { WorkerPool } from '../../src/main/engine/runtime/pool';
import type { EngineTasks } from '../../src/main/engine/tasks';
import { defaultModelConfig, saveSiamese, SiameseModel } from '../../src/main/engine/models';
import { ensureBuiltCli, runCli } from './cli-harness';
import { demoWorkspace, fixedModel, type Workspace } from './explain-fixture';

let ws: Workspace;
let ortPool: WorkerPool<EngineTasks>;
let tfjsPool: WorkerPool<EngineTasks>;
let modelDir: string;
let target: Omit<CamTarget, 'method'>;
let batch: () => PairBatch;

// About ONNX Runtime itself: the app of this file runs on it even when the suite is run with
// SIMLENS_INFER=tfjs (the tfjs pool below is forced explicitly).
const outerInfer = process.env.SIMLENS_INFER;

beforeAll(async () => {
  delete process.env.SIMLENS_INFER;
  ws = await demoWorkspace('simlens-ort-pool-');
  const modelId = await fixedModel(ws, { seed: 11 });
  const ref = ws.app.models.versionRef(modelId);
  modelDir = ref.modelDir;
  target = { ...ref, layer: 'conv3' };
  const env = { ...process.env };
  delete env.SIMLENS_INFER;
  delete env.SIMLENS_ORT_THREADS;
  ortPool = new WorkerPool<EngineTasks>({ size: 2, backend: 'wasm', env });
  tfjsPool = new WorkerPool<EngineTasks>({ size: 1, backend: 'wasm', env: { ...env, SIMLENS_INFER: 'tfjs' } });
  const rows = ws.app.db
    .prepare('SELECT width, height, channels, pixel_encoding, pixels FROM images ORDER BY id LIMIT 12')
    .all() as ImageRow[];
  const set = await buildImageSet(rows, [28, 28, 1]);
  batch = () => ({
    shape: [28, 28, 1],
    pixels: set.pixels.slice(),
    a: Int32Array.from([0, 2, 4, 6, 8, 10]),
    b: Int32Array.from([1, 3, 5, 7, 9, 11]),
  });
});

afterAll(async () => {
  if (outerInfer !== undefined) process.env.SIMLENS_INFER = outerInfer;
  await ortPool?.close();
  await tfjsPool?.close();
  await ws?.close();
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe('ONNX Runtime in the worker pool', () => {
  it('each worker chooses ONNX Runtime with one thread; SIMLENS_INFER=tfjs keeps a pool on tfjs', async () => {
    const ort = await ortPool.broadcast('engine.info');
    expect(ort.map((i) => i.inference)).toEqual([
      expect.objectContaining({ name: 'ort', threads: 1 }),
      expect.objectContaining({ name: 'ort', threads: 1 }),
    ]);
    const tfjs = await tfjsPool.broadcast('engine.info');
    expect(tfjs[0].inference).toMatchObject({ name: 'tfjs', notes: ["inference forced to 'tfjs' by SIMLENS_INFER"] });
  });

  it.each([['gradcam'], ['layercam'], ['scorecam']] as const)('%s maps of 6 pairs over 2 workers equal the tfjs pool', async (method) => {
    const ort = await poolExplainEngine(ortPool).explain({ ...target, method, maxChannels: 16 }, batch());
    const tfjs = await poolExplainEngine(tfjsPool).explain({ ...target, method, maxChannels: 16 }, batch());
    expect(ort.result).toHaveLength(6);
    // stored with the explanations: what computed them
    expect([ort.backend, tfjs.backend]).toEqual(['wasm+ort', 'wasm']);
    ort.result.forEach((pair, i) => {
      expect(Math.abs(pair.score - tfjs.result[i].score)).toBeLessThan(5e-5);
      for (const k of [0, 1, 2, 3] as const) expect(maxAbsDiff(pair.maps[k]!, tfjs.result[i].maps[k]!)).toBeLessThan(5e-3);
    });
    // the ORT pool exported the version at conv3, into its folder
    expect(readdirSync(onnxCacheDir(modelDir))).toContain('layer-conv3.onnx');
  });

  it("a lone interactive pair on an idle pool runs on the pool's cores in its worker (ortThreads = 2); batches and a busy pool keep one thread", async () => {
    const sent: Array<number | undefined> = [];
    /** ortPool, recording each 'explain.pairs' payload's ortThreads; `busy` as given (a wrapper, as the pool's own callers see it) */
    const recording = (busy: number): typeof ortPool =>
      ({
        size: ortPool.size,
        busy,
        pending: 0,
        run: (task: string, payload: { ortThreads?: number }, options?: object) => {
          if (task === 'explain.pairs') sent.push(payload.ortThreads);
          return (ortPool.run as (t: string, p: unknown, o?: object) => Promise<unknown>)(task, payload, options);
        },
        broadcast: ortPool.broadcast.bind(ortPool),
      }) as unknown as typeof ortPool;
    const one = (): PairBatch => ({ ...batch(), a: Int32Array.from([4]), b: Int32Array.from([5]) });
    const t = { ...target, method: 'gradcam' as const };
    const lone = await poolExplainEngine(recording(0)).explain(t, one(), { interactive: true });
    const background = await poolExplainEngine(recording(0)).explain(t, one());
    await poolExplainEngine(recording(1)).explain(t, one(), { interactive: true });
    await poolExplainEngine(recording(0)).explain(t, batch(), { interactive: true });
    expect(sent).toEqual([2, undefined, undefined, undefined, undefined, undefined]);
    // the same maps either way
    for (const k of [0, 1, 2, 3] as const) expect(maxAbsDiff(lone.result[0].maps[k]!, background.result[0].maps[k]!)).toBeLessThan(1e-5);
    // the worker that took the lone pair opened a 2-thread session of the version's conv3 model
    const sessions = (await ortPool.broadcast('engine.info')).flatMap((i) => i.ortSessions);
    expect(
      sessions
        .filter((s) => s.file.endsWith('layer-conv3.onnx'))
        .map((s) => s.threads)
        .sort(),
    ).toEqual(expect.arrayContaining([1, 2]));
    await expect(
      ortPool.run('explain.pairs', { ...one(), ...target, method: 'gradcam', modelKey: target.modelKey, ortThreads: 0 }),
    ).rejects.toThrow(/ortThreads must be an integer from 1 to 256, got 0/);
  });

  it('evaluation embeddings over the workers equal the tfjs pool', async () => {
    const b = batch();
    const images = { shape: b.shape, count: 12, pixels: b.pixels };
    const indices = Int32Array.from({ length: 12 }, (_, i) => i);
    const ort = await embedImagesParallel(ortPool, modelDir, images, indices, { chunkSize: 5 });
    const tfjs = await embedImagesParallel(tfjsPool, modelDir, images, indices, { chunkSize: 5 });
    const magnitude = Math.max(...tfjs.embeddings.map(Math.abs));
    expect(maxAbsDiff(ort.embeddings, tfjs.embeddings) / magnitude).toBeLessThan(1e-4);
    expect(existsSync(join(onnxCacheDir(modelDir), 'embedding.onnx'))).toBe(true);
  });
});

describe('app.info', () => {
  it('names ONNX Runtime, and a version the exporter cannot convert with the reason, after it fell back', async () => {
    const before = await ws.app.call('app.info', {});
    expect(before.inference).toMatchObject({ name: 'ort', providers: expect.arrayContaining(['cpu']), sessions: 1, fallbacks: [] });
    expect(before.inference!.threads).toBeGreaterThanOrEqual(1);

    // a version whose backbone has an UpSampling2D layer (not converted by the exporter)
    const input = tf.input({ shape: [28, 28, 1] });
    const c1 = tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, activation: 'relu', name: 'c1' }).apply(input);
    const up = tf.layers.upSampling2d({ size: [2, 2], name: 'upsample' }).apply(c1);
    const c2 = tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', name: 'c2' }).apply(up) as tf.SymbolicTensor;
    const e = tf.layers.dense({ units: 8, name: 'emb' }).apply(tf.layers.flatten().apply(c2)) as tf.SymbolicTensor;
    const config = defaultModelConfig({ inputShape: [28, 28, 1], embeddingSize: 8 });
    const model = new SiameseModel(tf.model({ inputs: input, outputs: e }), config);
    const repo = ws.app.models.repo;
    const id = repo.insert({
      name: 'with upsampling',
      datasetId: ws.datasetId,
      pairSetId: ws.pairSetId,
      parentId: null,
      jobId: null,
      arch: 'small',
      config: { model: config },
      weightsPath: null,
      seed: 0,
      backend: 'wasm',
      metrics: null,
    });
    mkdirSync(join(ws.dir, 'models'), { recursive: true });
    await saveSiamese(model, join(ws.dir, 'models', String(id)));
    model.dispose();
    repo.setWeightsPath(id, `models/${id}`);

    const pair = ws.app.db.prepare('SELECT id FROM pairs WHERE pair_set_id = ? ORDER BY id LIMIT 1').get(ws.pairSetId) as { id: number };
    const explained = await ws.app.call('explain.pair', { pairId: pair.id, modelId: id });
    expect(explained.layer).toBe('c2');
    const after = await ws.app.call('app.info', {});
    expect(after.inference!.fallbacks).toEqual([
      { modelId: id, name: 'with upsampling', reason: expect.stringMatching(/layer "upsample" \(class UpSampling2D\) is not supported/) },
    ]);

    // simlens info says the same; and, without ONNX Runtime, that everything runs on tfjs and why
    ensureBuiltCli();
    const info = await runCli(['info', '--db', ws.dbPath], { env: { SIMLENS_INFER: '', SIMLENS_ORT_PROVIDERS: 'cpu' } });
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/^Inference: ONNX Runtime 1\.\d+\.\d+ \(cpu, \d+ sessions? x \d+ threads?\)/m);
    expect(info.stdout).toContain(`  model ${id} "with upsampling" runs on tfjs: ONNX export: layer "upsample" (class UpSampling2D)`);
    const absent = await runCli(['info', '--db', ws.dbPath], { env: { SIMLENS_ORT_MODULE: 'onnxruntime-node-absent' } });
    expect(absent.stdout).toMatch(
      /^Inference: tfjs \(ONNX Runtime \(onnxruntime-node\) could not be loaded: Cannot find (module|package) 'onnxruntime-node-absent'.*every forward runs on tfjs\)$/m,
    );
  });
});
