import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import { SimLensApp } from '../../src/main/app';
import { buildImageSet } from '../../src/main/engine/data/dataset';
import { scorePairs } from '../../src/main/engine/evaluate/evaluate';
import { loadSiamese } from '../../src/main/engine/models';
import { WorkerPool } from '../../src/main/engine/runtime/pool';
import type { TrainRequest } from '../../src/main/engine/train/run';
import { inProcessModelEngine, poolModelEngine, type ModelEngine } from '../../src/main/services/models';
import { seedToyDataset, untilTraining } from './models-fixture';
import type { EngineTasks } from '../../src/main/engine/tasks';
import { jobResult } from '../../src/shared/job-result';

const dirs: string[] = [];
const apps: SimLensApp[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function makeApp(modelEngine: ModelEngine = inProcessModelEngine(() => tf.setBackend('cpu'))): { app: SimLensApp; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'simlens-models-svc-'));
  dirs.push(dir);
  const app = new SimLensApp({ dbPath: join(dir, 'simlens.db'), shell: 'cli', modelEngine });
  apps.push(app);
  return { app, dir };
}

const trainArgs = { epochs: 5, batchSize: 16, learningRate: 3e-3, seed: 1, width: 0.125, embeddingSize: 8 };

describe('ModelService', () => {
  it('trains a version through the contract: row, weights folder, metrics, scores; evaluate, export, delete', async () => {
    const { app, dir } = makeApp();
    const { datasetId, pairSetId, counts } = seedToyDataset(app.db);
    await tf.setBackend('cpu');
    const tensorsBefore = tf.memory().numTensors;
    const { jobId } = await app.call('models.train', { datasetId, ...trainArgs });
    const job = await app.jobs.wait(jobId);
    expect(job.error).toBeNull();
    expect(job.status).toBe('done');
    const result = jobResult(job, 'train')!;
    const modelId = result.modelId;
    expect(result.valAuc as number).toBeGreaterThan(0.9);
    expect(result.history.length).toBeGreaterThan(0);

    const version = await app.call('models.get', { id: modelId });
    expect(version).toMatchObject({ datasetId, pairSetId, arch: 'small', seed: 1, weightsPath: `models/${modelId}`, backend: 'cpu' });
    expect(version.config.model.inputShape).toEqual([8, 8, 1]);
    // a new small CNN has no conv biases unless asked (issue #15), and its saved network agrees
    expect(version.config.model.convBias).toBe(false);
    const saved = JSON.parse(readFileSync(join(dir, 'models', String(modelId), 'model.json'), 'utf8')) as {
      modelTopology: { config: { layers: { name: string; config: { use_bias?: boolean } }[] } };
    };
    expect(saved.modelTopology.config.layers.filter((l) => l.name.startsWith('conv')).map((l) => l.config.use_bias)).toEqual([
      false,
      false,
      false,
      false,
    ]);
    const m = version.metrics!;
    expect(m.thresholdSource).toBe('val');
    expect(m.splits.val!.pairs).toBe(counts.val);
    expect(m.splits.test!.pairs).toBe(counts.test);
    expect(m.splits.test!.auc).toBeGreaterThan(0.9);
    expect(m.splits.test!.roc[0]).toEqual({ fpr: 0, tpr: 0, threshold: null });
    expect(m.training!.bestEpoch).toBeGreaterThanOrEqual(1);
    expect(m.training!.bestValAuc).toBe(Math.max(...m.training!.history.map((h) => h.valAuc)));
    expect(m.splits.val!.auc).toBeCloseTo(m.training!.bestValAuc, 6); // the best checkpoint is what was saved
    expect(existsSync(join(dir, 'models', String(modelId), 'model.json'))).toBe(true);
    expect(readdirSync(join(dir, 'models')).filter((n) => n.startsWith('.'))).toEqual([]);
    expect(app.models.scores.count(modelId)).toBe(counts.val + counts.test);
    expect(await app.call('models.list', {})).toHaveLength(1);

    // the stored scores are those of the saved weights (round trip through the folder)
    const loaded = await loadSiamese(join(dir, 'models', String(modelId)));
    const testPairs = app.models.repo.pairs(pairSetId, 'test');
    const rows = app.models.repo.imagesById([...new Set(testPairs.flatMap((p) => [p.image_a, p.image_b]))]);
    const images = await buildImageSet(rows, [8, 8, 1]);
    const idx = new Map(rows.map((r, i) => [r.id, i]));
    const fresh = await scorePairs(loaded, images, {
      a: Int32Array.from(testPairs, (p) => idx.get(p.image_a)!),
      b: Int32Array.from(testPairs, (p) => idx.get(p.image_b)!),
      label: Uint8Array.from(testPairs, (p) => p.label),
    });
    const stored = app.models.scores.forModel(
      modelId,
      testPairs.map((p) => p.id),
    );
    stored.forEach((s, i) => expect(s.score).toBeCloseTo(fresh.score[i], 6));
    loaded.dispose();

    // evaluate again: same metrics (deterministic inference)
    const ev = await app.jobs.wait((await app.call('models.evaluate', { id: modelId })).jobId);
    expect(ev.status).toBe('done');
    const after = (await app.call('models.get', { id: modelId })).metrics!;
    expect(after.splits.test!.auc).toBeCloseTo(m.splits.test!.auc, 6);
    expect(after.training).toEqual(m.training);

    // export
    const exportDir = join(dir, 'exported');
    expect((await app.call('models.export', { id: modelId, path: exportDir })).path).toBe(exportDir);
    expect(readdirSync(exportDir).sort()).toEqual(expect.arrayContaining(['model.json', 'siamese.json']));
    await expect(app.call('models.export', { id: modelId, path: exportDir })).rejects.toThrow(/not empty/);

    // delete: row, scores and folder
    expect(await app.call('models.delete', { id: modelId })).toEqual({ deleted: true });
    expect(existsSync(join(dir, 'models', String(modelId)))).toBe(false);
    expect(app.models.scores.count(modelId)).toBe(0);
    await expect(app.call('models.get', { id: modelId })).rejects.toThrow(/does not exist/);
    expect(await app.call('models.delete', { id: modelId })).toEqual({ deleted: false });
    // a whole train / evaluate cycle leaves no tensors behind
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('cancelling a training job leaves a consistent store: no version row, no folder, no scores', async () => {
    const { app, dir } = makeApp();
    const { datasetId } = seedToyDataset(app.db);
    const { jobId } = await app.call('models.train', { datasetId, ...trainArgs, epochs: 200 });
    await untilTraining(app, jobId);
    app.jobs.cancel(jobId);
    const job = await app.jobs.wait(jobId);
    expect(job.status).toBe('cancelled');
    expect(app.models.repo.count()).toBe(0);
    expect((app.db.prepare('SELECT count(*) AS n FROM scores').get() as { n: number }).n).toBe(0);
    const modelsDir = join(dir, 'models');
    expect(existsSync(modelsDir) ? readdirSync(modelsDir) : []).toEqual([]);
  });

  it('trains in an engine worker thread (wasm) through the pool, with progress and a stored version', async () => {
    const pool = new WorkerPool<EngineTasks>({ size: 1, backend: 'wasm' });
    try {
      const { app, dir } = makeApp(poolModelEngine(pool));
      const { datasetId } = seedToyDataset(app.db);
      const messages: string[] = [];
      app.events.on('job.updated', (j) => j.message && messages.push(j.message));
      const job = await app.jobs.wait((await app.call('models.train', { datasetId, ...trainArgs })).jobId);
      expect(job.error).toBeNull();
      expect(job.status).toBe('done');
      const version = await app.call('models.get', { id: jobResult(job, 'train')!.modelId });
      expect(version.backend).toBe('wasm');
      expect(version.metrics!.splits.test!.auc).toBeGreaterThan(0.9);
      // step messages are throttled (a tiny model may finish its steps between two), epoch messages never are
      for (const m of messages.filter((x) => x.includes(' · step '))) expect(m).toMatch(/^epoch \d+\/5 · step \d+\/\d+ · loss [\d.]+/);
      expect(messages.some((m) => /^epoch 1: loss [\d.]+ val AUC [\d.]+$/.test(m))).toBe(true);
      expect(jobResult(job, 'train')!.history.length).toBeGreaterThan(0);
      expect(existsSync(join(dir, 'models', String(version.id), 'model.json'))).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('on start-up removes what a killed job left: staging folders and folders without a version row', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'simlens-models-svc-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'models', '.job-3'), { recursive: true });
    mkdirSync(join(dir, 'models', '.tmp-1-2-x'), { recursive: true });
    mkdirSync(join(dir, 'models', '7'), { recursive: true });
    writeFileSync(join(dir, 'models', '7', 'model.json'), '{}');
    const app = new SimLensApp({ dbPath: join(dir, 'simlens.db'), shell: 'cli', modelEngine: inProcessModelEngine() });
    apps.push(app);
    expect(readdirSync(join(dir, 'models'))).toEqual([]);
  });

  it('rejects bad requests before starting a job', async () => {
    const { app } = makeApp();
    await expect(app.call('models.train', { datasetId: 99 })).rejects.toThrow(/Dataset 99 does not exist/);
    const { datasetId } = seedToyDataset(app.db);
    await expect(app.call('models.train', { datasetId, pairSetId: 999 })).rejects.toThrow(/Pair set 999/);
    await expect(app.call('models.train', { datasetId, arch: 'pretrained' })).rejects.toThrow(/backbone/);
    await expect(
      app.call('models.train', { datasetId, arch: 'pretrained', backbone: { dir: '/nonexistent/backbone' } }),
    ).rejects.toMatchObject({
      code: 'invalid_argument',
      message: expect.stringMatching(/^args\.backbone\.dir: Backbone folder \/nonexistent\/backbone: no model\.json there/),
    });
    await expect(app.call('models.train', { datasetId, arch: 'resnet18', head: 'gap' })).rejects.toThrow(/option of the small CNN/);
    await expect(app.call('models.train', { datasetId, head: 'nope' as 'gap' })).rejects.toThrow(/head/);
    await expect(app.call('models.evaluate', { id: 5 })).rejects.toThrow(/does not exist/);
    // ImageNet mean/std preprocessing needs 3 channels; these images are grey (1 channel)
    await expect(app.call('models.train', { datasetId, preprocess: 'caffe' })).rejects.toThrow(
      /args\.preprocess: .*"caffe".*\[8, 8, 1\] has 1 channel/,
    );
    await expect(app.call('models.train', { datasetId, preprocess: 'rgb' as 'tf' })).rejects.toThrow(/preprocess/);
    expect(app.jobs.list()).toHaveLength(0);
  });

  it('trains on the train split only: no validation or test image becomes a training anchor', async () => {
    let captured: TrainRequest | undefined;
    const local = inProcessModelEngine(() => tf.setBackend('cpu'));
    const recording: ModelEngine = { ...local, train: (req, o) => ((captured = req), local.train(req, o)) };
    const { app } = makeApp(recording);
    const { datasetId } = seedToyDataset(app.db); // 48 images: 32 train, 8 val, 8 test
    const job = await app.jobs.wait((await app.call('models.train', { datasetId, ...trainArgs, epochs: 1 })).jobId);
    expect(job.error).toBeNull();
    const train = captured!.data.train!;
    expect(train.indices.length).toBe(32);
    expect([...new Set(train.indices)].length).toBe(32);
    const anchors = new Set(train.indices);
    for (const pairs of [captured!.data.val, captured!.evaluate.test!]) {
      for (const i of [...pairs.a, ...pairs.b]) expect(anchors.has(i)).toBe(false);
    }
  });

  it('stores the chosen input preprocessing in the version and puts it inside the saved network', async () => {
    const { app, dir } = makeApp();
    const { datasetId } = seedToyDataset(app.db);
    const job = await app.jobs.wait((await app.call('models.train', { datasetId, ...trainArgs, epochs: 1, preprocess: 'tf' })).jobId);
    expect(job.error).toBeNull();
    const modelId = jobResult(job, 'train')!.modelId;
    const version = await app.call('models.get', { id: modelId });
    expect(version.config.model.preprocess).toBe('tf');
    const loaded = await loadSiamese(join(dir, 'models', String(modelId)));
    expect(loaded.config.preprocess).toBe('tf');
    expect(loaded.net.layers.map((l) => l.name)).toContain('preprocess');
    loaded.dispose();
    // a fine-tuned child keeps its parent's preprocessing; asking for another is refused
    await expect(app.call('models.train', { datasetId, parentId: modelId, preprocess: 'none' })).rejects.toThrow(
      /differs from parent version/,
    );
  });
});
