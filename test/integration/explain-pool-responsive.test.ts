// Issue 3 for explanations: in an app that serves a UI (shell 'browser'), a single-pair
// explanation and the sanity check of a non-trivial model (ResNet18, 64x64, seeded weights)
// run on the engine worker pool, so this thread's event loop keeps ticking while they run; so
// does learning a new version's target layers (task 'explain.describe': the model is loaded in
// the worker, never here).
// The worker runs from sources here (src/main/engine/worker.ts through tsx), with the
// tasks of src/main/engine/tasks.ts, like the bundled out/main/engine-worker.js.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimLensApp } from '../../src/main/app';
import { ensureDemoWorkspace } from '../../src/main/demo';
import { initBackend } from '../../src/main/engine/runtime/backend';
import { buildSiamese, defaultModelConfig, saveSiamese } from '../../src/main/engine/models';
import { MIN_BUSY_TICKS, ticksWhile } from './event-loop';
import { spyOnEngine } from './explain-fixture';

let dir: string;
let app: SimLensApp;
let modelId: number;
/** a second ResNet18 version, never explained before its test */
let freshId: number;
let pairId: number;

/** A ResNet18 version at 64 px with seeded weights, saved as ModelService saves one. */
async function resnetVersion(datasetId: number, pairSetId: number, seed: number): Promise<number> {
  const config = defaultModelConfig({ arch: 'resnet18', inputShape: [64, 64, 1], embeddingSize: 16, seed });
  const siamese = await buildSiamese(config);
  const repo = app.models.repo;
  const id = repo.insert({
    name: 'resnet18 fixed',
    datasetId,
    pairSetId,
    parentId: null,
    jobId: null,
    arch: 'resnet18',
    config: { model: config },
    weightsPath: null,
    seed,
    backend: 'wasm',
    metrics: null,
  });
  mkdirSync(join(dir, 'models'), { recursive: true });
  await saveSiamese(siamese, join(dir, `models/${id}`));
  siamese.dispose();
  repo.setWeightsPath(id, `models/${id}`);
  return id;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'simlens-explain-responsive-'));
  app = new SimLensApp({ dbPath: join(dir, 'simlens.db'), shell: 'browser', poolOptions: { size: 1, backend: 'wasm' } });
  const demo = await ensureDemoWorkspace(app, { modelDir: null });
  // ResNet18 versions with seeded weights (built here: the fixture, not what is measured).
  await initBackend({ force: 'wasm' });
  modelId = await resnetVersion(demo.datasetId!, demo.pairSetId!, 5);
  freshId = await resnetVersion(demo.datasetId!, demo.pairSetId!, 6);
  pairId = app.models.repo.pairs(demo.pairSetId!, 'test')[0].id;
  // Start the worker and let it load the first model (explain.layers: described by the worker, which
  // keeps it loaded for the explain tasks), so the tests below measure the explanations themselves.
  await app.enginePool().ready();
  await app.call('explain.layers', { modelId });
  await app.call('explain.pair', { pairId, modelId });
}, 120_000);

afterAll(async () => {
  await app?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The worker is computing (the app's pool has a task running). */
const workerBusy = () => app.enginePool().busy > 0;
const log = (what: string, t: { ms: number; ticks: number; busyTicks: number; maxGapMs: number }) =>
  console.log(
    `${what} on the pool: ${t.ms.toFixed(0)} ms; ${t.ticks} ticks of this thread, ${t.busyTicks} while the worker computed; max gap ${t.maxGapMs.toFixed(0)} ms`,
  );

// The assertions are orderings (test/integration/event-loop.ts): this thread ran timer callbacks
// while the worker computed, and nothing was computed here (the in-thread engine is never called,
// no tensor is made here). In this thread the same work blocks the event loop for the whole of each
// forward + backward, with the pool idle: no tick could see the worker busy.
describe('explanations of a non-trivial model on the pool keep this thread responsive', () => {
  it('the sanity check (cascading randomisation of 6 layers of ResNet18)', async () => {
    const inThread = spyOnEngine(app.localExplain);
    const tensors = tf.memory().numTensors;
    try {
      const t = await ticksWhile(() => app.call('explain.sanity', { pairId, modelId, seed: 1, maxLayers: 6 }), workerBusy);
      log('sanity', t);
      expect(t.value.steps).toHaveLength(6);
      expect(app.hasOwnPool).toBe(true);
      expect(t.busyTicks).toBeGreaterThanOrEqual(MIN_BUSY_TICKS);
      for (const spy of inThread) expect(spy).not.toHaveBeenCalled();
      expect(tf.memory().numTensors).toBe(tensors);
    } finally {
      for (const spy of inThread) spy.mockRestore();
    }
  }, 120_000);

  it('a single-pair explanation (Score-CAM, 4 channels per image)', async () => {
    const inThread = spyOnEngine(app.localExplain);
    try {
      const t = await ticksWhile(
        () => app.call('explain.pair', { pairId, modelId, method: 'scorecam', maxChannels: 4, refresh: true }),
        workerBusy,
      );
      log('Score-CAM (4 channels)', t);
      expect(t.value.cached).toBe(false);
      expect(t.value.channels).toMatchObject({ used: [4, 4], total: 512, maxChannels: 4 });
      expect(t.busyTicks).toBeGreaterThanOrEqual(MIN_BUSY_TICKS);
      for (const spy of inThread) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of inThread) spy.mockRestore();
    }
  }, 120_000);

  it('the first explanation of a new version: its target layers come from a worker, the model is never loaded here', async () => {
    const inThread = spyOnEngine(app.localExplain);
    const tensors = tf.memory().numTensors;
    try {
      // in this thread, loading ResNet18 (graph + weights) and building its CAM sub-models alone would block the loop
      const t = await ticksWhile(() => app.call('explain.pair', { pairId, modelId: freshId, method: 'gradcam' }), workerBusy);
      log('first Grad-CAM of a new version (describe + load + explain in the worker)', t);
      expect(t.value.cached).toBe(false);
      expect(t.busyTicks).toBeGreaterThanOrEqual(MIN_BUSY_TICKS);
      const layers = await app.call('explain.layers', { modelId: freshId });
      expect(layers.default).toBe(t.value.layer);
      for (const spy of inThread) expect(spy).not.toHaveBeenCalled();
      expect(tf.memory().numTensors).toBe(tensors);
    } finally {
      for (const spy of inThread) spy.mockRestore();
    }
  }, 60_000);

  it('a single-pair Grad-CAM: this thread keeps ticking during the forward + backward', async () => {
    const inThread = spyOnEngine(app.localExplain);
    try {
      const t = await ticksWhile(() => app.call('explain.pair', { pairId, modelId, method: 'gradcam', refresh: true }), workerBusy);
      log('Grad-CAM', t);
      expect(t.value.cached).toBe(false);
      expect(t.busyTicks).toBeGreaterThanOrEqual(MIN_BUSY_TICKS);
      for (const spy of inThread) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of inThread) spy.mockRestore();
    }
  }, 60_000);
});
