// First start: ensureDemoWorkspace imports resources/demo and generates its pairs once.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SimLensApp } from '../../src/main/app';
import { DEMO_DATASET_NAME, DEMO_SEED, ensureDemoWorkspace } from '../../src/main/demo';
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
    const [first, concurrent] = await Promise.all([ensureDemoWorkspace(app), ensureDemoWorkspace(app)]);
    expect(concurrent).toEqual(first);
    expect(first.action).toBe('created');
    expect(first.datasetId).not.toBeNull();
    expect(first.pairSetId).not.toBeNull();

    const datasets = await app.call('datasets.list', {});
    expect(datasets.map((d) => d.name)).toEqual([DEMO_DATASET_NAME]);
    expect(datasets[0].imageCount).toBeGreaterThanOrEqual(500);
    const sets = app.pairs.listPairSets(first.datasetId!);
    expect(sets).toHaveLength(1);
    expect(sets[0]).toMatchObject({ id: first.pairSetId, seed: DEMO_SEED, source: 'generated' });
    const page = await app.call('pairs.page', { datasetId: first.datasetId!, pairSetId: undefined, split: undefined, label: undefined, afterId: undefined, limit: 10 });
    expect(page.rows).toHaveLength(10);
    expect(page.total).toBe(sets[0].pairCount);

    const second = await ensureDemoWorkspace(app);
    expect(second).toEqual({ action: 'none', datasetId: first.datasetId, pairSetId: first.pairSetId, importJobId: null, pairsJobId: null });
    expect(await app.call('datasets.list', {})).toHaveLength(1);
    expect(app.pairs.listPairSets(first.datasetId!)).toHaveLength(1);
  });

  it('leaves a workspace that already has data alone', async () => {
    const app = openApp();
    app.db.prepare("INSERT INTO datasets (name, source_kind, source_path) VALUES ('mine', 'folder', '/x')").run();
    const result = await ensureDemoWorkspace(app);
    expect(result).toEqual({ action: 'none', datasetId: null, pairSetId: null, importJobId: null, pairsJobId: null });
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
