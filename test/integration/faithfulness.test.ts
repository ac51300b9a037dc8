// The faithfulness job through the contract on a real store: every method under every baseline on
// a seeded sample of same-class validation pairs, the summary stored with the version and the
// version's default method taken from it; the same summary from the worker pool; the reliability
// hint of one pair; bad arguments. A small CNN with fixed seeded weights on the bundled demo data.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPLAIN_METHODS, FAITHFULNESS_BASELINES, type FaithfulnessSummaryDto } from '../../src/shared/dto';
import { faithfulnessScore, mostFaithfulMethod } from '../../src/main/engine/explain';
import { WorkerPool } from '../../src/main/engine/runtime/pool';
import type { EngineTasks } from '../../src/main/engine/tasks';
import { FaithfulnessRepo } from '../../src/main/store/faithfulness-repo';
import { demoWorkspace, fixedModel, pooledExplainService, type Workspace } from './explain-fixture';

let ws: Workspace;
let modelId: number;
let summary: FaithfulnessSummaryDto;
const ARGS = { limit: 3, steps: 4, seed: 5 };

beforeAll(async () => {
  ws = await demoWorkspace('simlens-faithfulness-');
  modelId = await fixedModel(ws, { width: 0.25, embeddingSize: 8, seed: 3 });
  const job = await ws.app.jobs.wait((await ws.app.call('explain.faithfulness', { modelId, ...ARGS })).jobId);
  expect(job.error).toBeNull();
  summary = job.result as unknown as FaithfulnessSummaryDto;
}, 120_000);
afterAll(async () => {
  await ws?.close();
});

const withoutTimes = (s: FaithfulnessSummaryDto) => ({ ...s, seconds: 0, createdAt: '' });

describe('explain.faithfulness', () => {
  it('measures every method under every baseline on same-class validation pairs', () => {
    expect(summary).toMatchObject({ modelId, split: 'val', label: 1, pairs: 3, steps: 4, seed: 5, layer: 'conv4' });
    expect(summary.baselines).toEqual([...FAITHFULNESS_BASELINES]);
    expect(summary.methods.map((m) => m.method)).toEqual([...EXPLAIN_METHODS]);
    expect(summary.methods.find((m) => m.method === 'gradcam')!.label).toBe('Grad-CAM');
    expect(summary.channelMeans).toHaveLength(1);
    expect(summary.channelMeans[0]).toBeGreaterThan(0.05);
    expect(summary.channelMeans[0]).toBeLessThan(0.6);
    for (const m of summary.methods) {
      const measured = 6 - m.noEvidence; // images of the 3 pairs with evidence
      for (const b of FAITHFULNESS_BASELINES) {
        const r = m.byBaseline[b];
        if (measured === 0) {
          expect(r?.deletion ?? null).toBeNull();
          continue;
        }
        expect(r!.pairs).toBeGreaterThan(0);
        expect(r!.pairs).toBeLessThanOrEqual(3);
        for (const t of [r!.deletion!, r!.insertion!]) for (const v of [t.map, t.random, t.centre]) expect(v).toBeGreaterThanOrEqual(0);
      }
      expect(m.score).toBe(faithfulnessScore(m.byBaseline));
    }
    expect(summary.defaultMethod).toBe(mostFaithfulMethod(summary.methods));
  });

  it('the references (random map, centre prior) do not depend on the method', () => {
    const full = summary.methods.filter((m) => m.noEvidence === 0);
    expect(full.length).toBeGreaterThan(1);
    for (const b of FAITHFULNESS_BASELINES) {
      const refs = full.map((m) => [m.byBaseline[b]!.deletion!.random, m.byBaseline[b]!.insertion!.centre]);
      for (const r of refs) expect(r).toEqual(refs[0]);
    }
  });

  it('is stored with the version and sets its default method in explain.layers', async () => {
    expect(withoutTimes((await ws.app.call('models.faithfulness', { id: modelId }))!)).toEqual(withoutTimes(summary));
    const layers = await ws.app.call('explain.layers', { modelId });
    expect(layers).toMatchObject({ defaultMethod: summary.defaultMethod, defaultMethodFrom: 'faithfulness', inputShape: [28, 28, 1] });
  });

  it('a version without a summary opens on Grad-CAM; a stored summary decides its default method', async () => {
    const other = await fixedModel(ws, { seed: 9 });
    expect(await ws.app.call('models.faithfulness', { id: other })).toBeNull();
    expect(await ws.app.call('explain.layers', { modelId: other })).toMatchObject({ defaultMethod: 'gradcam', defaultMethodFrom: 'none' });
    new FaithfulnessRepo(ws.app.db).put(other, null, { ...summary, modelId: other, defaultMethod: 'layercam' });
    expect((await ws.app.call('explain.layers', { modelId: other })).defaultMethod).toBe('layercam');
  });

  it('gives the same summary on a 2-worker pool (chunking changes nothing)', async () => {
    const pool = new WorkerPool<EngineTasks>({ size: 2, backend: 'wasm' });
    try {
      const service = pooledExplainService(ws, pool);
      const job = await ws.app.jobs.wait((await service.startFaithfulness({ modelId, ...ARGS })).id);
      expect(job.error).toBeNull();
      const pooled = job.result as unknown as FaithfulnessSummaryDto;
      expect(pooled.defaultMethod).toBe(summary.defaultMethod);
      pooled.methods.forEach((m, i) => {
        expect(m.noEvidence).toBe(summary.methods[i].noEvidence);
        for (const b of FAITHFULNESS_BASELINES) {
          const [x, y] = [m.byBaseline[b], summary.methods[i].byBaseline[b]];
          if (!y?.deletion) continue;
          expect(x!.deletion!.map).toBeCloseTo(y.deletion.map, 5);
          expect(x!.insertion!.random).toBeCloseTo(y.insertion!.random, 5);
          expect(x!.pairShareBeatsCentre).toEqual(y.pairShareBeatsCentre);
        }
      });
    } finally {
      await pool.close();
    }
  }, 120_000);

  it('refuses bad arguments with a clear error and keeps the stored summary', async () => {
    const call = (args: Record<string, unknown>) => ws.app.dispatch('explain.faithfulness', { modelId, ...args });
    expect(await call({ methods: [] })).toMatchObject({
      ok: false,
      error: { code: 'invalid_argument', message: expect.stringMatching(/methods: expected an array of at least 1 item/) },
    });
    expect(await call({ baselines: ['grey'] })).toMatchObject({ ok: false, error: { code: 'invalid_argument' } });
    expect(await call({ methods: ['gradcam'], maxChannels: 8 })).toMatchObject({
      ok: false,
      error: { code: 'invalid_argument', message: expect.stringMatching(/maxChannels/) },
    });
    expect(await ws.app.dispatch('explain.faithfulness', { modelId: 999_999 })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(withoutTimes((await ws.app.call('models.faithfulness', { id: modelId }))!)).toEqual(withoutTimes(summary));
  });

  it('a cancelled run ends cancelled and leaves the stored summary as it was', async () => {
    const { jobId } = await ws.app.call('explain.faithfulness', { modelId, limit: 40, steps: 4, seed: 6 });
    const off = ws.app.events.on('job.updated', (job) => {
      if (job.id === jobId && job.data?.kind === 'pairs' && job.data.done > 0) ws.app.jobs.cancel(jobId);
    });
    try {
      const done = await ws.app.jobs.wait(jobId);
      expect(done.status).toBe('cancelled');
    } finally {
      off();
    }
    expect(withoutTimes((await ws.app.call('models.faithfulness', { id: modelId }))!)).toEqual(withoutTimes(summary));
  }, 120_000);
});

describe('explain.reliability', () => {
  it("each image's map against a random map on its pair, the flag consistent with the AUCs", async () => {
    const pairId = ws.app.models.repo.pairs(ws.pairSetId, 'test')[0].id;
    const r = await ws.app.call('explain.reliability', { pairId, modelId, method: 'gradcam', steps: 8 });
    expect(r).toMatchObject({ pairId, modelId, method: 'gradcam', layer: 'conv4', baseline: 'road', steps: 8 });
    for (const side of ['a', 'b'] as const) {
      const h = r[side];
      if (h === null) continue;
      expect(h.worseThanRandom).toBe(!(h.map < h.random));
      expect(h.map).toBeGreaterThanOrEqual(0);
    }
    // seeded: the same answer again
    expect(await ws.app.call('explain.reliability', { pairId, modelId, method: 'gradcam', steps: 8 })).toEqual(r);
    expect(await ws.app.dispatch('explain.reliability', { pairId, modelId, baseline: 'grey' })).toMatchObject({
      ok: false,
      error: { code: 'invalid_argument' },
    });
  }, 60_000);
});
