// Benchmark: how long the thread that serves the UI stalls while explanations of a non-trivial
// model run (the absolute times the tests no longer assert: test/integration/explain-pool-responsive
// and engine-default-pool check orderings only). A ResNet18 version at 64x64 with seeded weights
// on the demo pairs; for each case the largest gap between ticks of a 10 ms timer on this thread,
// on the engine pool (one wasm worker, as the UI shells run it) against the same call in this
// thread (an app with shell 'cli', the in-process engine), in the same run.
//
//   npx tsx scripts/bench-engine/responsiveness.ts            (or: npm run bench -- responsiveness)
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimLensApp } from '../../src/main/app';
import { ensureDemoWorkspace } from '../../src/main/demo';
import { buildSiamese, defaultModelConfig, saveSiamese } from '../../src/main/engine/models';
import { initBackend } from '../../src/main/engine/runtime/backend';
import { machine, report, round, type Figures } from './common';

/** Largest gap (ms) between ticks of a 10 ms timer on this thread while `work` runs, and the work's time. */
async function gapDuring(work: () => Promise<unknown>): Promise<{ ms: number; maxGapMs: number }> {
  let last = performance.now();
  let maxGapMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
  }, 10);
  const t0 = performance.now();
  try {
    await work();
    const end = performance.now();
    return { ms: end - t0, maxGapMs: Math.max(maxGapMs, end - last) };
  } finally {
    clearInterval(timer);
  }
}

export async function benchResponsiveness(): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'simlens-bench-responsive-'));
  const dbPath = join(dir, 'simlens.db');
  const pooled = new SimLensApp({ dbPath, shell: 'browser', poolOptions: { size: 1, backend: 'wasm' } });
  let local: SimLensApp | null = null;
  try {
    const demo = await ensureDemoWorkspace(pooled, { modelDir: null });
    await initBackend({ force: 'wasm' });
    const config = defaultModelConfig({ arch: 'resnet18', inputShape: [64, 64, 1], embeddingSize: 16, seed: 5 });
    const siamese = await buildSiamese(config);
    const modelId = pooled.models.repo.insert({
      name: 'resnet18 bench',
      datasetId: demo.datasetId!,
      pairSetId: demo.pairSetId!,
      parentId: null,
      jobId: null,
      arch: 'resnet18',
      config: { model: config },
      weightsPath: null,
      seed: 5,
      backend: 'wasm',
      metrics: null,
    });
    mkdirSync(join(dir, 'models'), { recursive: true });
    await saveSiamese(siamese, join(dir, `models/${modelId}`));
    siamese.dispose();
    pooled.models.repo.setWeightsPath(modelId, `models/${modelId}`);
    const pairId = pooled.models.repo.pairs(demo.pairSetId!, 'test')[0].id;
    local = new SimLensApp({ dbPath, shell: 'cli' }); // the same workspace, the in-process engine
    const cases: Array<[string, (app: SimLensApp) => Promise<unknown>]> = [
      ['gradcam', (app) => app.call('explain.pair', { pairId, modelId, method: 'gradcam', refresh: true })],
      ['scorecam_4ch', (app) => app.call('explain.pair', { pairId, modelId, method: 'scorecam', maxChannels: 4, refresh: true })],
      ['sanity_6_layers', (app) => app.call('explain.sanity', { pairId, modelId, seed: 1, maxLayers: 6 })],
    ];
    const figures: Figures = { ...machine(), model: 'resnet18 64x64x1, seeded weights', pool: '1 wasm worker' };
    for (const app of [pooled, local]) await app.call('explain.pair', { pairId, modelId }); // warm: model loaded, kernels compiled
    for (const [name, run] of cases) {
      const onPool = await gapDuring(() => run(pooled));
      const here = await gapDuring(() => run(local!));
      figures[`${name}_pool_ms`] = round(onPool.ms, 0);
      figures[`${name}_pool_max_gap_ms`] = round(onPool.maxGapMs, 0);
      figures[`${name}_in_thread_ms`] = round(here.ms, 0);
      figures[`${name}_in_thread_max_gap_ms`] = round(here.maxGapMs, 0);
    }
    return figures;
  } finally {
    await local?.close();
    await pooled.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  benchResponsiveness()
    .then((f) => report('responsiveness', f))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
