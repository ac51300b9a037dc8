// The evaluation split across the engine workers (engine/evaluate/embed-parallel.ts, engine/evaluate/run.ts:
// evaluateTaskParallel, tasks 'models.embed*'; services/models.ts: poolModelEngine with >= 2
// workers): the same scores and metrics as the single-worker 'models.evaluate' task, progress,
// cancel (nothing stored, the pool usable), and no tensors left in the workers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimLensApp } from '../../src/main/app';
import { initBackend } from '../../src/main/engine/runtime/backend';
import type { ImageSet, PairList } from '../../src/main/engine/data/dataset';
import { embedImages } from '../../src/main/engine/evaluate/evaluate';
import { embedChunkSize } from '../../src/main/engine/evaluate/embed-parallel';
import { buildSiamese, defaultModelConfig, saveSiamese } from '../../src/main/engine/models';
import { evaluateTaskParallel, type EvaluateOutcome, type EvaluateRequest } from '../../src/main/engine/evaluate/run';
import { WorkerPool } from '../../src/main/engine/runtime/pool';
import { poolModelEngine } from '../../src/main/services/models';
import { toyImages } from '../unit/engine-toy';
import { seedToyDataset } from './models-fixture';
import type { EnginePool, EngineTasks } from '../../src/main/engine/tasks';
import { jobResult } from '../../src/shared/job-result';

const MODEL = defaultModelConfig({ inputShape: [8, 8, 1], width: 0.25, embeddingSize: 8, seed: 3 });
let pool: WorkerPool<EngineTasks>; // 2 workers: the parallel path
let single: WorkerPool<EngineTasks>; // 1 worker: the single 'models.evaluate' task, the reference
let dir: string;
let modelDir: string;

const tensorsIn = async (p: EnginePool) => (await p.broadcast('engine.info')).map((i) => i.memory.numTensors);

/** Pairs i < j among images [from, to) of 4 toy classes, every `step`-th. */
function pairsAmong(from: number, to: number, classes: Int32Array, step = 1): PairList {
  const a: number[] = [];
  const b: number[] = [];
  const label: number[] = [];
  let k = 0;
  for (let i = from; i < to; i++)
    for (let j = i + 1; j < to; j++) {
      if (k++ % step !== 0) continue;
      a.push(i);
      b.push(j);
      label.push(classes[i] === classes[j] ? 1 : 0);
    }
  return { a: Int32Array.from(a), b: Int32Array.from(b), label: Uint8Array.from(label) };
}

/** val and test share images (the union is embedded once); images outside both are never sent. */
function request(images: ImageSet, classes: Int32Array): EvaluateRequest {
  return { modelDir, images, splits: { val: pairsAmong(20, 70, classes, 3), test: pairsAmong(50, 110, classes, 2) } };
}

const copyOf = (images: ImageSet): ImageSet => ({ ...images, pixels: images.pixels.slice() }); // the single path moves its buffer

function expectSameOutcome(got: EvaluateOutcome, want: EvaluateOutcome): void {
  expect(Object.keys(got.scores).sort()).toEqual(Object.keys(want.scores).sort());
  for (const s of Object.keys(want.scores) as ('val' | 'test')[]) {
    const [g, w] = [got.scores[s]!, want.scores[s]!];
    expect(g.score.length).toBe(w.score.length);
    let worst = 0;
    for (let i = 0; i < w.score.length; i++)
      worst = Math.max(worst, Math.abs(g.score[i] - w.score[i]), Math.abs(g.distance[i] - w.distance[i]));
    expect(worst).toBeLessThan(1e-6);
  }
  expect(got.evaluation).toEqual(want.evaluation);
}

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
  dir = mkdtempSync(join(tmpdir(), 'simlens-eval-par-'));
  modelDir = join(dir, 'v1');
  const model = await buildSiamese(MODEL);
  await saveSiamese(model, modelDir);
  model.dispose();
  pool = new WorkerPool<EngineTasks>({ size: 2, backend: 'wasm', cancelGraceMs: 5000 });
  single = new WorkerPool<EngineTasks>({ size: 1, backend: 'wasm', cancelGraceMs: 5000 });
  await Promise.all([pool.ready(), single.ready()]);
});

afterAll(async () => {
  await Promise.all([pool?.close(), single?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('evaluation across the workers (poolModelEngine with 2 workers)', () => {
  it('gives the single-worker evaluation: scores, distances, threshold and metrics; progress; no tensors left', async () => {
    const { images, classes } = toyImages(30, 4, 7); // 120 images
    const baseline = await tensorsIn(pool);
    const messages: string[] = [];
    const fractions: number[] = [];
    const got = await poolModelEngine(() => pool).evaluate(request(images, classes), {
      onProgress: (f, m) => {
        fractions.push(f);
        messages.push(m);
      },
    });
    const want = await poolModelEngine(single).evaluate(request(copyOf(images), classes), {});
    expectSameOutcome(got, want);
    expect(got.evaluation.thresholdSource).toBe('val');
    expect(images.pixels.length).toBe(120 * 64); // the images stayed in this thread
    // progress: the fraction of the 90 images referenced (20..109) embedded, in several chunks
    expect(messages[0]).toBe('embedding 90 images on 2 workers');
    expect(messages).toContain('embedding images 90/90');
    expect(messages.filter((m) => m.startsWith('embedding images')).length).toBeGreaterThanOrEqual(4);
    expect(fractions).toEqual([...fractions].sort((x, y) => x - y));
    expect(await tensorsIn(pool)).toEqual(baseline); // the workers' models were released
  });

  it('with a given threshold and without val; small chunks, one or many in flight: the same results', async () => {
    const { images, classes } = toyImages(30, 4, 8);
    const req = (im: ImageSet): EvaluateRequest => ({
      ...request(im, classes),
      splits: { test: request(im, classes).splits.test! },
      threshold: 0.5,
    });
    const want = await poolModelEngine(single).evaluate(req(copyOf(images)), {});
    expect(want.evaluation.thresholdSource).toBe('given');
    for (const [chunkSize, inFlight] of [
      [7, undefined],
      [1, 1],
      [1000, undefined],
    ]) {
      expectSameOutcome(await evaluateTaskParallel(pool, req(images), { chunkSize, inFlight }), want);
    }
    // without val nor threshold: the same error as evaluateModel's
    await expect(evaluateTaskParallel(pool, { ...req(images), threshold: undefined })).rejects.toThrow(
      /threshold is chosen on the validation split/,
    );
  });

  it('chunk sizes: about 4 tasks per worker, at most 1024 images or 32 MB', () => {
    expect(embedChunkSize(90, 64, 2)).toBe(12);
    expect(embedChunkSize(3, 64, 2)).toBe(1);
    expect(embedChunkSize(100_000, 784, 2)).toBe(1024);
    expect(embedChunkSize(10_000, 224 * 224 * 3, 2)).toBe(55);
  });

  it('cancel stops the chunk tasks (queued and running), rejects with AbortError, frees the workers; the pool keeps working', async () => {
    const { images, classes } = toyImages(500, 4, 9); // 2000 images
    const req: EvaluateRequest = { modelDir, images, splits: { val: pairsAmong(0, 2000, classes, 997) } };
    const baseline = await tensorsIn(pool);
    const controller = new AbortController();
    let chunks = 0;
    const spy: EnginePool = {
      size: pool.size,
      broadcast: (task, ...args) => pool.broadcast(task, ...args),
      run: (task, ...args) => {
        if (task === 'models.embed') chunks++;
        return pool.run(task, ...args);
      },
    };
    const run = evaluateTaskParallel(spy, req, { signal: controller.signal, chunkSize: 8, progress: (f) => f > 0 && controller.abort() });
    await expect(run).rejects.toMatchObject({ name: 'AbortError', message: 'cancelled' });
    expect(chunks).toBeLessThan(Math.ceil(2000 / 8) / 2); // stopped early, not run to the end
    expect(pool.busy).toBe(0);
    expect(await tensorsIn(pool)).toEqual(baseline);
    expect(await pool.run('engine.echo', 7)).toBe(7);
  });

  it("a failing chunk fails the evaluation with the worker's error and frees the workers", async () => {
    const { images, classes } = toyImages(10, 4, 1);
    const baseline = await tensorsIn(pool);
    await expect(poolModelEngine(pool).evaluate({ ...request(images, classes), modelDir: join(dir, 'missing') }, {})).rejects.toThrow(
      /not a SimLens model folder/,
    );
    const wrongShape = { ...images, shape: [4, 4, 4] as [number, number, number] }; // same floats per image, not the model's input
    await expect(
      poolModelEngine(pool).evaluate({ ...request(wrongShape, classes), splits: { val: pairsAmong(0, 40, classes) } }, {}),
    ).rejects.toThrow(/Input 0 is incompatible with layer conv1: expected axis 3 of input shape to have value 1 but got shape \d+,4,4,4/);
    expect(pool.busy).toBe(0);
    expect(await tensorsIn(pool)).toEqual(baseline);
  });

  it("'models.embed' without a modelKey caches per folder stamp: a replaced folder is loaded afresh", async () => {
    const { images } = toyImages(4, 4, 2); // 16 images
    const vdir = join(dir, 'replaced');
    const embedHere = async (seed: number) => {
      const m = await buildSiamese({ ...MODEL, seed });
      await saveSiamese(m, vdir); // atomic: a new folder renamed over the old one
      const { embeddings } = await embedImages(m, images);
      m.dispose();
      return embeddings;
    };
    const inWorker = () =>
      single.run('models.embed', { modelDir: vdir, shape: images.shape, rows: images.pixels.slice(), count: images.count });
    const baseline = await tensorsIn(single);
    // the worker's forward may run on ONNX Runtime: equal to this thread's tfjs within float rounding
    const close = (got: Float32Array, want: Float32Array) =>
      got.length === want.length && got.every((v, i) => Math.abs(v - want[i]) <= 1e-5 * Math.max(1, Math.abs(want[i])));
    const first = await embedHere(1);
    expect(close(await inWorker(), first)).toBe(true);
    await new Promise((r) => setTimeout(r, 5));
    const second = await embedHere(2);
    const again = await inWorker();
    expect(close(again, second)).toBe(true);
    expect(close(again, first)).toBe(false);
    await single.broadcast('models.embed.release', { modelKey: `${vdir}@` }); // every stamp of the folder
    expect(await tensorsIn(single)).toEqual(baseline);
  });
});

describe('the models.evaluate job with a 2-worker pool engine', () => {
  it('stores what the single-worker job stores; a cancelled job ends cancelled and stores nothing', async () => {
    const appDir = mkdtempSync(join(tmpdir(), 'simlens-eval-par-app-'));
    let current: EnginePool = single;
    const app = new SimLensApp({ dbPath: join(appDir, 'simlens.db'), shell: 'cli', modelEngine: poolModelEngine(() => current) });
    try {
      const { datasetId } = seedToyDataset(app.db);
      const trained = await app.jobs.wait(
        (
          await app.call('models.train', {
            datasetId,
            epochs: 2,
            batchSize: 16,
            learningRate: 3e-3,
            seed: 1,
            width: 0.125,
            embeddingSize: 8,
          })
        ).jobId,
      );
      expect(trained.error).toBeNull();
      const id = jobResult(trained, 'train')!.modelId;
      const stored = () => {
        const { metrics } = app.models.get(id);
        const { evaluatedAt: _, ...rest } = metrics!;
        return { metrics: rest, scores: app.models.scores.forModel(id) };
      };
      const evaluate = async () => {
        const job = await app.jobs.wait((await app.call('models.evaluate', { id })).jobId);
        expect(job.error).toBeNull();
        expect(job.status).toBe('done');
        return stored();
      };
      const one = await evaluate(); // the single 'models.evaluate' task
      current = pool;
      const baseline = await tensorsIn(pool);
      const two = await evaluate(); // across both workers
      expect(two.metrics).toEqual(one.metrics);
      expect(two.scores.length).toBe(one.scores.length);
      two.scores.forEach((s, i) => {
        expect(s.pairId).toBe(one.scores[i].pairId);
        expect(Math.abs(s.score - one.scores[i].score)).toBeLessThan(1e-6);
        expect(Math.abs(s.distance - one.scores[i].distance)).toBeLessThan(1e-6);
      });

      // cancelled as the first chunk goes to a worker: the job ends 'cancelled', the store is unchanged
      app.db.prepare('UPDATE scores SET score = -1 WHERE model_id = ?').run(id); // any write would show
      const before = stored();
      let jobId = -1;
      current = {
        size: pool.size,
        broadcast: (task, ...args) => pool.broadcast(task, ...args),
        run: (task, ...args) => {
          const p = pool.run(task, ...args);
          if (task === 'models.embed') app.jobs.cancel(jobId);
          return p as never;
        },
      };
      jobId = (await app.call('models.evaluate', { id })).jobId;
      const job = await app.jobs.wait(jobId);
      expect(job.status).toBe('cancelled');
      expect(stored()).toEqual(before);
      expect(pool.busy).toBe(0);
      expect(await tensorsIn(pool)).toEqual(baseline);
    } finally {
      await app.close();
      rmSync(appDir, { recursive: true, force: true });
    }
  });
});
