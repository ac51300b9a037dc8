// A single-pair explanation and the sanity check on the engine worker pool (issue 3: the
// thread that serves the UI does no tensor work for them) give the same stored rows, DTOs
// and sanity report as in this thread; the Score-CAM channel cap goes through the contract
// and is stored; a cancelled sanity check frees its worker; job.updated carries the pairs
// done as structured data. Small CNN with fixed seeded weights, wasm in both threads.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerPool } from '../../src/main/engine/runtime/pool';
import { ExplainService } from '../../src/main/services/explain';
import type { ExplainMethod, JobDto } from '../../src/shared/dto';
import type { EngineTasks } from '../../src/main/engine/tasks';
import { demoWorkspace, fixedModel, pooledExplainService, recordingExplainPool, type Workspace } from './explain-fixture';
import { until } from './until';

let ws: Workspace;
let modelId: number;
let pool: WorkerPool<EngineTasks>;
let pooled: ExplainService;
let pairIds: number[];
/** tasks the service sent to the pool */
const ran: string[] = [];

beforeAll(async () => {
  ws = await demoWorkspace('simlens-explain-pool-');
  modelId = await fixedModel(ws, { width: 0.5, embeddingSize: 16, seed: 3 });
  pairIds = ws.app.models.repo
    .pairs(ws.pairSetId, 'test')
    .slice(0, 4)
    .map((p) => p.id);
  pool = recordingExplainPool(ran);
  pooled = pooledExplainService(ws, pool);
}, 60_000);
afterAll(async () => {
  await pool?.close();
  await ws?.close();
});

const rowOf = (pairId: number, method: ExplainMethod, layer = 'conv4') => {
  const r = ws.app.explain.repo.get(pairId, modelId, method, layer)!;
  const { id: _id, created_at: _c, meta, ...rest } = r;
  void [_id, _c];
  return { rest, meta: { ...meta, timings: { ...meta.timings, explainMs: 0 } } };
};

describe('single pair and sanity check on the pool', () => {
  it('pool has the tasks', async () => {
    const info = await pool.run('engine.info');
    expect(info.tasks).toEqual(expect.arrayContaining(['explain.pairs', 'explain.metrics', 'explain.sanity']));
  });

  for (const method of ['gradcam', 'scorecam', 'occlusion'] as const) {
    it(`explain.pair (${method}): the pool's row and DTO equal this thread's`, async () => {
      const layer = method === 'occlusion' ? 'input' : 'conv4';
      const pairId = pairIds[0];
      await ws.app.explain.layers(modelId); // the model graph is loaded here once (target layer checks)
      const tensorsBefore = tf.memory().numTensors;
      ran.length = 0;
      const fromPool = await pooled.explainPair({ pairId, modelId, method, refresh: true });
      expect(ran).toContain('explain.pairs');
      // no tensor was made (or left) in this thread by the pool path
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      const poolRow = rowOf(pairId, method, layer);
      const local = await ws.app.explain.explainPair({ pairId, modelId, method, refresh: true });
      const localRow = rowOf(pairId, method, layer);
      expect(poolRow).toEqual(localRow); // maps bytes, score, meta (but the wall time) identical
      const strip = (d: typeof local) => ({ ...d, explainMs: 0, createdAt: '' });
      expect(strip(fromPool)).toEqual(strip(local));
      expect(fromPool.cached).toBe(false);
      if (method === 'scorecam') expect(fromPool.channels).toMatchObject({ maxChannels: 256, used: fromPool.channels!.active });
      else expect(fromPool.channels).toBeUndefined();
    });
  }

  it('explain.sanity: the pool gives the same report as this thread, and leaks nothing here', async () => {
    const pairId = pairIds[1];
    const args = { pairId, modelId, seed: 2, maxLayers: 4 };
    const before = tf.memory().numTensors;
    ran.length = 0;
    const fromPool = await pooled.sanity(args);
    expect(ran).toContain('explain.sanity');
    expect(tf.memory().numTensors).toBe(before);
    const local = await ws.app.explain.sanity(args);
    expect(tf.memory().numTensors).toBe(before);
    expect(fromPool).toEqual(local);
    expect(fromPool.order).toEqual(['embedding', 'dense1', 'conv4', 'conv3']);
    expect(fromPool.steps).toHaveLength(4);
    // Score-CAM too (its own forward passes, same seeds)
    const sc = { ...args, method: 'scorecam' as const, maxLayers: 2 };
    expect(await pooled.sanity(sc)).toEqual(await ws.app.explain.sanity(sc));
  });

  it('a cancelled sanity check rejects with AbortError and frees the worker', async () => {
    const ctrl = new AbortController();
    ran.length = 0;
    const run = pooled.sanity({ pairId: pairIds[2], modelId, method: 'scorecam', seed: 1 }, { signal: ctrl.signal });
    const threads = pool.workers().map((w) => w.threadId);
    // abort once the worker is running the sanity check (not before it starts, whatever the machine's speed)
    await until(() => ran.includes('explain.sanity') && pool.busy === 1, 'the worker to run the sanity check');
    ctrl.abort();
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    // the task stopped at its next check and its worker is free again (the same thread: not replaced)
    await until(() => pool.busy === 0, 'the worker to stop the cancelled check');
    expect(pool.workers().map((w) => w.threadId)).toEqual(threads);
    // the worker still answers
    expect((await pooled.explainPair({ pairId: pairIds[2], modelId, refresh: true })).score).toBeGreaterThan(0);
  });

  it('Score-CAM channel cap through the contract: stored with the row, recomputed when another cap is asked, only for scorecam', async () => {
    const pairId = pairIds[3];
    const capped = await ws.app.call('explain.pair', { pairId, modelId, method: 'scorecam', maxChannels: 4 });
    expect(capped.cached).toBe(false);
    expect(capped.channels).toMatchObject({ used: [4, 4], maxChannels: 4 });
    expect(capped.channels!.total).toBeGreaterThan(4);
    // same cap, or no cap asked: the stored row
    expect((await ws.app.call('explain.pair', { pairId, modelId, method: 'scorecam', maxChannels: 4 })).cached).toBe(true);
    expect((await ws.app.call('explain.pair', { pairId, modelId, method: 'scorecam' })).cached).toBe(true);
    // another cap: recomputed (on the pool too)
    const wider = await pooled.explainPair({ pairId, modelId, method: 'scorecam', maxChannels: 8 });
    expect(wider.cached).toBe(false);
    expect(wider.channels).toMatchObject({ maxChannels: 8 });
    await expect(ws.app.call('explain.pair', { pairId, modelId, method: 'gradcam', maxChannels: 4 })).rejects.toThrow(
      /maxChannels.*scorecam/,
    );
    // batch: the cap is a job parameter and reaches every row; job.updated carries { kind: 'pairs', done, total }
    const data: unknown[] = [];
    const off = ws.app.events.on('job.updated', (j: JobDto) => {
      if (j.kind === 'explain' && j.data) data.push(j.data);
    });
    const job = await ws.app.jobs.wait(
      (await pooled.startBatch({ modelId, pairIds: pairIds.slice(0, 2), method: 'scorecam', maxChannels: 2, skipExisting: false })).id,
    );
    off();
    expect(job.error).toBeNull();
    expect(job.params).toMatchObject({ maxChannels: 2 });
    expect(job.data).toBeUndefined(); // finished: the result tells
    for (const id of pairIds.slice(0, 2))
      expect(ws.app.explain.repo.get(id, modelId, 'scorecam', 'conv4')!.meta.channels).toMatchObject({ used: [2, 2], maxChannels: 2 });
    expect(data[0]).toEqual({ kind: 'pairs', done: 0, total: 2 });
    expect(data.at(-1)).toEqual({ kind: 'pairs', done: 2, total: 2 });
  });
});
