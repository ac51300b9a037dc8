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
import { maxTickGap } from './event-loop';
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

// The bound. In this thread the same work blocks the event loop for the whole of each forward +
// backward (about 0.4 s per ResNet18 Grad-CAM at 64 px on wasm here; the sanity check does one per
// randomised layer, plus loading a copy), so the gap would be hundreds of ms to seconds. On the pool
// what is left here is decoding two 28x28 images (sharp, off-thread), a postMessage, an SQLite
// upsert and the DTO: a few ms. 150 ms leaves room for scheduling jitter on a 2-core machine whose
// other core is busy (the worker; in CI, other test files), and is still below the threshold at
// which users perceive a UI as stuck; the test also requires the work itself to take far longer.
const MAX_GAP_MS = 150;

describe('explanations of a non-trivial model on the pool keep this thread responsive', () => {
  it('the sanity check (cascading randomisation of 6 layers of ResNet18)', async () => {
    const {
      value: s,
      maxGapMs,
      ticks,
      ms,
    } = await maxTickGap(() => app.call('explain.sanity', { pairId, modelId, seed: 1, maxLayers: 6 }));
    console.log(`sanity on the pool: ${ms.toFixed(0)} ms; max event-loop gap ${maxGapMs.toFixed(0)} ms over ${ticks} ticks`);
    expect(s.steps).toHaveLength(6);
    expect(app.hasOwnPool).toBe(true);
    expect(ms).toBeGreaterThan(4 * MAX_GAP_MS);
    expect(maxGapMs).toBeLessThan(MAX_GAP_MS);
  }, 120_000);

  it('a single-pair explanation (Score-CAM, 4 channels per image)', async () => {
    const {
      value: e,
      maxGapMs,
      ticks,
      ms,
    } = await maxTickGap(() => app.call('explain.pair', { pairId, modelId, method: 'scorecam', maxChannels: 4, refresh: true }));
    console.log(
      `Score-CAM (4 channels) on the pool: ${ms.toFixed(0)} ms; max event-loop gap ${maxGapMs.toFixed(0)} ms over ${ticks} ticks`,
    );
    expect(e.cached).toBe(false);
    expect(e.channels).toMatchObject({ used: [4, 4], total: 512, maxChannels: 4 });
    expect(ms).toBeGreaterThan(4 * MAX_GAP_MS);
    expect(maxGapMs).toBeLessThan(MAX_GAP_MS);
  }, 120_000);

  it('the first explanation of a new version: its target layers come from a worker, the model is never loaded here', async () => {
    const inThread = spyOnEngine(app.localExplain);
    const tensors = tf.memory().numTensors;
    try {
      // in this thread, loading ResNet18 (graph + weights) and building its CAM sub-models alone blocks ~0.4-0.5 s
      const { value: e, maxGapMs, ms } = await maxTickGap(() => app.call('explain.pair', { pairId, modelId: freshId, method: 'gradcam' }));
      console.log(
        `first Grad-CAM of a new version on the pool (describe + load + explain in the worker): ${ms.toFixed(0)} ms; max event-loop gap ${maxGapMs.toFixed(0)} ms`,
      );
      expect(e.cached).toBe(false);
      expect(maxGapMs).toBeLessThan(MAX_GAP_MS);
      const { value: layers, maxGapMs: layersGap } = await maxTickGap(() => app.call('explain.layers', { modelId: freshId }));
      expect(layers.default).toBe(e.layer);
      expect(layersGap).toBeLessThan(MAX_GAP_MS);
      for (const spy of inThread) expect(spy).not.toHaveBeenCalled();
      expect(tf.memory().numTensors).toBe(tensors);
    } finally {
      for (const spy of inThread) spy.mockRestore();
    }
  }, 60_000);

  it('a single-pair Grad-CAM: this thread never stalls for the forward + backward', async () => {
    const {
      value: e,
      maxGapMs,
      ms,
    } = await maxTickGap(() => app.call('explain.pair', { pairId, modelId, method: 'gradcam', refresh: true }));
    console.log(`Grad-CAM on the pool: ${ms.toFixed(0)} ms; max event-loop gap ${maxGapMs.toFixed(0)} ms`);
    expect(e.cached).toBe(false);
    expect(maxGapMs).toBeLessThan(MAX_GAP_MS);
  }, 60_000);
});
