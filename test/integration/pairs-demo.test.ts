// First start: ensureDemoWorkspace imports resources/demo and generates its pairs once, and
// registers the bundled demo model (resources/demo/model) with its metrics, maps and faithfulness;
// addDecoyDemo adds the second demo (resources/demo/fashion-mnist-decoy, decoy-model) on request.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SimLensApp } from '../../src/main/app';
import {
  addDecoyDemo,
  DECOY_DATASET_NAME,
  DECOY_MODEL_NAME,
  DEMO_DATASET_NAME,
  DEMO_MODEL_NAME,
  DEMO_SEED,
  ensureDemoWorkspace,
} from '../../src/main/demo';
import { resourcesDir } from '../../src/main/paths';

const dirs: string[] = [];
const apps: SimLensApp[] = [];
function openApp(dir = mkdtempSync(join(tmpdir(), 'simlens-demo-'))): SimLensApp {
  dirs.push(dir);
  const app = new SimLensApp({ dbPath: join(dir, 'simlens.db'), shell: 'cli' });
  apps.push(app);
  return app;
}
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

describe('ensureDemoWorkspace', () => {
  it('imports the demo dataset and its pairs on first start, then does nothing', async () => {
    const app = openApp();
    // Two concurrent first starts share one run.
    const [first, concurrent] = await Promise.all([
      ensureDemoWorkspace(app, { modelDir: null }),
      ensureDemoWorkspace(app, { modelDir: null }),
    ]);
    expect(concurrent).toEqual(first);
    expect(first.action).toBe('created');
    expect(first.datasetId).not.toBeNull();
    expect(first.pairSetId).not.toBeNull();

    const datasets = await app.call('datasets.list', {});
    expect(datasets.map((d) => d.name)).toEqual([DEMO_DATASET_NAME]);
    expect(datasets[0].imageCount).toBe(700); // 600 train + 100 test images, 70 per class
    const sets = app.pairs.listPairSets(first.datasetId!);
    expect(sets).toHaveLength(1);
    expect(sets[0]).toMatchObject({ id: first.pairSetId, seed: DEMO_SEED, source: 'generated' });
    const page = await app.call('pairs.page', {
      datasetId: first.datasetId!,
      pairSetId: undefined,
      split: undefined,
      label: undefined,
      afterId: undefined,
      limit: 10,
    });
    expect(page.rows).toHaveLength(10);
    expect(page.total).toBe(sets[0].pairCount);

    const second = await ensureDemoWorkspace(app);
    expect(second).toEqual({
      action: 'none',
      datasetId: first.datasetId,
      pairSetId: first.pairSetId,
      importJobId: null,
      pairsJobId: null,
      modelId: null,
      backgroundJobIds: [],
    });
    expect(await app.call('datasets.list', {})).toHaveLength(1);
    expect(app.pairs.listPairSets(first.datasetId!)).toHaveLength(1);
  });

  it('registers the bundled demo model with its metrics on the demo pairs, then its test maps and faithfulness', async () => {
    const app = openApp();
    const first = await ensureDemoWorkspace(app, { faithfulnessPairs: 3 });
    expect(first.modelId).not.toBeNull();
    const model = await app.call('models.get', { id: first.modelId! });
    expect(model).toMatchObject({ name: DEMO_MODEL_NAME, datasetId: first.datasetId, pairSetId: first.pairSetId, arch: 'small' });
    // a real model trained on Fashion-MNIST images outside the demo: it separates the demo's pairs
    expect(model.metrics!.splits.test!.auc).toBeGreaterThan(0.95);
    expect(model.metrics!.splits.val!.auc).toBeGreaterThan(0.95);
    expect(model.metrics!.thresholdSource).toBe('val');
    const [explainJob, faithJob] = await Promise.all(first.backgroundJobIds.map((id) => app.jobs.wait(id)));
    expect([explainJob.kind, explainJob.status, faithJob.kind, faithJob.status]).toEqual(['explain', 'done', 'faithfulness', 'done']);
    const testPairs = app.models.repo.pairs(first.pairSetId!, 'test').length;
    expect(app.explain.repo.count(first.modelId!, 'gradcam')).toBe(testPairs);
    const layers = await app.call('explain.layers', { modelId: first.modelId! });
    expect(layers.defaultMethodFrom).toBe('faithfulness');
    const summary = (await app.call('models.faithfulness', { id: first.modelId! }))!;
    expect(layers.defaultMethod).toBe(summary.defaultMethod);
    // the demo model's gradient maps are faithful: Grad-CAM beats the random map on average
    expect(summary.methods.find((m) => m.method === 'gradcam')!.score).toBeGreaterThan(0);

    const again = await ensureDemoWorkspace(app);
    expect(again.modelId).toBeNull();
    expect((await app.call('models.list', {})).filter((m) => m.name === DEMO_MODEL_NAME)).toHaveLength(1);
  }, 180_000);

  it('leaves a workspace that already has data alone', async () => {
    const app = openApp();
    app.db.prepare("INSERT INTO datasets (name, source_kind, source_path) VALUES ('mine', 'folder', '/x')").run();
    const result = await ensureDemoWorkspace(app);
    expect(result).toEqual({
      action: 'none',
      datasetId: null,
      pairSetId: null,
      importJobId: null,
      pairsJobId: null,
      modelId: null,
      backgroundJobIds: [],
    });
    expect((await app.call('datasets.list', {})).map((d) => d.name)).toEqual(['mine']);
  });

  it('reports missing demo data clearly', async () => {
    const app = openApp();
    const dir = mkdtempSync(join(tmpdir(), 'simlens-nodemo-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'x'));
    await expect(ensureDemoWorkspace(app, { demoDir: join(dir, 'missing') })).rejects.toThrow(/demo data is missing/);
    expect(resourcesDir()).toMatch(/resources$/);
  });
});

describe('addDecoyDemo', () => {
  it('adds "Fashion-MNIST with decoys" with its pairs and decoy model once, next to the first demo', async () => {
    const app = openApp();
    await ensureDemoWorkspace(app, { modelDir: null });
    const [first, concurrent] = await Promise.all([addDecoyDemo(app), app.call('demo.addDecoy', {})]);
    expect(concurrent).toEqual(first);
    expect(first.created).toBe(true);
    const dataset = await app.call('datasets.get', { id: first.datasetId });
    expect(dataset).toMatchObject({ name: DECOY_DATASET_NAME, imageCount: 700, hasOfficialTest: true });
    const model = await app.call('models.get', { id: first.modelId });
    expect(model).toMatchObject({ name: DECOY_MODEL_NAME, datasetId: first.datasetId, pairSetId: first.pairSetId });
    // the decoy model learnt the patch: on the demo's test pairs (patch at random) it is far from
    // the first demo model's > 0.95, yet better than chance on what garment it did learn
    const test = model.metrics!.splits.test!;
    expect(test.auc).toBeGreaterThan(0.5);
    expect(test.auc).toBeLessThan(0.95);
    const [maps] = await Promise.all(first.backgroundJobIds.map((id) => app.jobs.wait(id)));
    expect([maps.kind, maps.status]).toEqual(['explain', 'done']);
    expect(app.explain.repo.count(first.modelId, 'gradcam')).toBe(app.models.repo.pairs(first.pairSetId, 'test').length);

    const again = await addDecoyDemo(app);
    expect(again).toEqual({ ...first, created: false, backgroundJobIds: [] });
    expect((await app.call('datasets.list', {})).map((d) => d.name)).toEqual([DEMO_DATASET_NAME, DECOY_DATASET_NAME]);
  }, 180_000);

  it('reports a missing decoy model clearly and keeps what was imported for the next attempt', async () => {
    const app = openApp();
    await expect(addDecoyDemo(app, { modelDir: join(tmpdir(), 'simlens-no-such-decoy-model') })).rejects.toThrow(/demo model is missing/);
    const datasets = await app.call('datasets.list', {});
    expect(datasets.map((d) => d.name)).toEqual([DECOY_DATASET_NAME]);
    const completed = await addDecoyDemo(app);
    expect(completed).toMatchObject({ created: true, datasetId: datasets[0].id });
    expect(await app.call('models.list', {})).toHaveLength(1);
  }, 180_000);
});
