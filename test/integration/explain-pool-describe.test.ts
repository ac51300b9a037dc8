// With an engine pool whose workers have the explain tasks, ExplainService learns what it needs
// of a model version (target layers, default layer, input shape, layers the sanity check
// randomises) from a worker (task 'explain.describe'), so this thread never loads a tfjs model
// for explanations: the service's in-thread engine is never called and no tensor is made here. The description
// equals the one of the model loaded in this thread, and the validation errors are the same with
// and without the pool. A small CNN and a ResNet18 at 64 px, seeded weights, wasm in both threads.
import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { describeModel, inProcessExplainEngine, type ExplainEngine, type ModelDescription } from '../../src/main/engine/explain';
import { buildSiamese, defaultModelConfig, loadSiamese, saveSiamese } from '../../src/main/engine/models';
import { WorkerPool } from '../../src/main/engine/runtime/pool';
import { ExplainService } from '../../src/main/services/explain';
import type { EngineTasks } from '../../src/main/engine/tasks';
import { demoWorkspace, fixedModel, pooledExplainService, recordingExplainPool, spyOnEngine, type Workspace } from './explain-fixture';

let ws: Workspace;
let smallId: number;
let resnetId: number;
let pool: WorkerPool<EngineTasks>;
let pooled: ExplainService;
/** the pooled service's in-thread fallback: never used while the pool works */
const local: ExplainEngine = inProcessExplainEngine();
let pairIds: number[];
/** tasks the service sent to the pool */
const ran: string[] = [];

/** A ResNet18 version at 64 px with seeded weights, saved as ModelService saves one. */
async function resnetModel(seed: number): Promise<number> {
  const config = defaultModelConfig({ arch: 'resnet18', inputShape: [64, 64, 1], embeddingSize: 16, seed });
  const siamese = await buildSiamese(config);
  const repo = ws.app.models.repo;
  const id = repo.insert({
    name: 'resnet18 fixed',
    datasetId: ws.datasetId,
    pairSetId: ws.pairSetId,
    parentId: null,
    jobId: null,
    arch: 'resnet18',
    config: { model: config },
    weightsPath: null,
    seed,
    backend: 'wasm',
    metrics: null,
  });
  mkdirSync(join(ws.dir, 'models'), { recursive: true });
  await saveSiamese(siamese, join(ws.dir, `models/${id}`));
  siamese.dispose();
  repo.setWeightsPath(id, `models/${id}`);
  return id;
}

beforeAll(async () => {
  ws = await demoWorkspace('simlens-explain-describe-');
  smallId = await fixedModel(ws, { width: 0.5, embeddingSize: 16, seed: 3 });
  resnetId = await resnetModel(5);
  pairIds = ws.app.models.repo
    .pairs(ws.pairSetId, 'test')
    .slice(0, 3)
    .map((p) => p.id);
  pool = recordingExplainPool(ran);
  pooled = pooledExplainService(ws, pool, local);
  await pool.ready();
}, 120_000);
afterAll(async () => {
  await pool?.close();
  await ws?.close();
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** The description of a version loaded in this thread (then freed). */
async function describedHere(id: number): Promise<ModelDescription> {
  const model = await loadSiamese(ws.app.models.weightsDir(id));
  try {
    return describeModel(model);
  } finally {
    model.dispose();
  }
}

const modelKey = (id: number) => `${ws.app.models.weightsDir(id)}@${ws.app.models.repo.get(id)!.created_at}`;

describe('explain.describe: this thread loads no model when the pool has the explain tasks', () => {
  it('the pool has the task', async () => {
    const info = await pool.run('engine.info');
    expect(info.tasks).toContain('explain.describe');
  });

  it('ResNet18: layers, one pair and the sanity check without loading the model here', async () => {
    const inThread = spyOnEngine(local);
    const tensors = tf.memory().numTensors;
    ran.length = 0;
    const layers = await pooled.layers(resnetId);
    expect(layers.default).toBe(layers.layers.at(-1));
    expect(layers.layers.length).toBeGreaterThan(4);
    const [pairId] = pairIds;
    const e = await pooled.explainPair({ pairId, modelId: resnetId });
    expect(e).toMatchObject({ layer: layers.default, cached: false });
    const early = layers.layers[1];
    expect((await pooled.explainPair({ pairId, modelId: resnetId, layer: early })).layer).toBe(early);
    const s = await pooled.sanity({ pairId, modelId: resnetId, seed: 1, maxLayers: 1 });
    expect(s.steps).toHaveLength(1);
    // the model was described once (by a worker) and never loaded here
    expect(ran.filter((t) => t === 'explain.describe')).toHaveLength(1);
    expect(ran).toEqual(expect.arrayContaining(['explain.pairs', 'explain.sanity']));
    for (const spy of inThread) expect(spy).not.toHaveBeenCalled();
    expect(tf.memory().numTensors).toBe(tensors);
  }, 120_000);

  it('small CNN: input-space method, overlay, batch and metrics jobs without loading the model here', async () => {
    const id = await fixedModel(ws, { width: 0.5, seed: 9 });
    const inThread = spyOnEngine(local);
    const tensors = tf.memory().numTensors;
    ran.length = 0;
    const [pairId] = pairIds;
    const occ = await pooled.explainPair({ pairId, modelId: id, method: 'occlusion', layer: 'input' });
    expect(occ.layer).toBe('input');
    const overlay = await pooled.overlay({ pairId, modelId: id, image: 'a' });
    expect(overlay.dataUrl).toMatch(/^data:image\/png;base64,/);
    const batch = await ws.app.jobs.wait((await pooled.startBatch({ modelId: id, pairIds, skipExisting: false })).id);
    expect(batch.error).toBeNull();
    const metrics = await ws.app.jobs.wait((await pooled.startMetrics({ modelId: id, pairIds: pairIds.slice(0, 2), steps: 4 })).id);
    expect(metrics.error).toBeNull();
    expect(metrics.result).toMatchObject({ pairs: 2, layer: 'conv4' });
    expect(ran.filter((t) => t === 'explain.describe')).toHaveLength(1);
    expect(ran).toEqual(expect.arrayContaining(['explain.pairs', 'explain.metrics']));
    for (const spy of inThread) expect(spy).not.toHaveBeenCalled();
    expect(tf.memory().numTensors).toBe(tensors);
  }, 120_000);

  for (const which of ['small', 'resnet18'] as const) {
    it(`${which}: the pool's description equals the in-thread one, and so does explain.layers`, async () => {
      const id = which === 'small' ? smallId : resnetId;
      const fromPool = await pool.run('explain.describe', { modelDir: ws.app.models.weightsDir(id), modelKey: modelKey(id) });
      const local = await describedHere(id);
      expect(fromPool).toEqual(local);
      expect(local.inputShape).toEqual(which === 'small' ? [28, 28, 1] : [64, 64, 1]);
      expect(local.sanityLayers.length).toBeGreaterThan(0);
      if (which === 'small') {
        expect(local).toMatchObject({
          defaultCamLayer: 'conv4',
          sanityLayers: ['embedding', 'dense1', 'conv4', 'conv3', 'conv2', 'conv1'],
        });
        expect(local.camLayers).toContain('conv1');
      }
      expect(await pooled.layers(id)).toEqual(await ws.app.explain.layers(id));
    }, 60_000);
  }

  it('validation errors are the same with and without the pool (and the pool path loads nothing here)', async () => {
    const [pairId] = pairIds;
    const calls: [string, (s: ExplainService) => Promise<unknown>][] = [
      ['pair, unknown layer', (s) => s.explainPair({ pairId, modelId: smallId, layer: 'nope' })],
      ['pair, dense layer', (s) => s.explainPair({ pairId, modelId: smallId, layer: 'dense1' })],
      ['pair, input with Grad-CAM', (s) => s.explainPair({ pairId, modelId: smallId, layer: 'input' })],
      ['pair, resnet unknown layer', (s) => s.explainPair({ pairId, modelId: resnetId, method: 'scorecam', layer: 'conv4' })],
      ['overlay, unknown layer', (s) => s.overlay({ pairId, modelId: smallId, layer: 'nope', image: 'a' })],
      ['batch, unknown layer', (s) => s.startBatch({ modelId: smallId, pairIds: [pairId], layer: 'nope' })],
      ['metrics, input with Grad-CAM', (s) => s.startMetrics({ modelId: smallId, pairIds: [pairId], layer: 'input' })],
      ['sanity, unknown layer', (s) => s.sanity({ pairId, modelId: smallId, layer: 'nope' })],
      ['maxChannels with Grad-CAM', (s) => s.explainPair({ pairId, modelId: smallId, maxChannels: 4 })],
      ['unknown model', (s) => s.layers(999_999)],
    ];
    const errorOf = async (f: () => Promise<unknown>) => {
      try {
        await f();
      } catch (e) {
        const err = e as Error & { code?: string };
        return { name: err.name, code: err.code, message: err.message };
      }
      throw new Error('expected an error');
    };
    for (const [what, call] of calls) {
      const here = await errorOf(() => call(ws.app.explain));
      const inThread = spyOnEngine(local);
      const fromPool = await errorOf(() => call(pooled));
      for (const spy of inThread) expect(spy, what).not.toHaveBeenCalled();
      for (const spy of inThread) spy.mockRestore();
      expect(fromPool, what).toEqual(here);
    }
    const here = await errorOf(() => ws.app.explain.explainPair({ pairId, modelId: smallId, layer: 'nope' }));
    expect(here.message).toBe(
      `args.layer: "nope" is not a target layer of model version ${smallId}; choose one of: ${(await describedHere(smallId)).camLayers.join(', ')}`,
    );
    expect((await errorOf(() => pooled.explainPair({ pairId, modelId: smallId, layer: 'input' }))).message).toBe(
      'args.layer: "input" is only for input-space methods (occlusion, rise)',
    );
  }, 60_000);

  it('a failed description is not cached', async () => {
    const id = await fixedModel(ws, { seed: 11 });
    const dir = ws.app.models.weightsDir(id);
    renameSync(dir, `${dir}.away`);
    await expect(pooled.layers(id)).rejects.toThrow(`${dir} is not a SimLens model folder (no siamese.json)`);
    renameSync(`${dir}.away`, dir);
    expect((await pooled.layers(id)).default).toBe('conv4');
  }, 60_000);
});
