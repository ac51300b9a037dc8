// The "Must show" on the real data, through the app's own services:
// "Deletion AUC of Grad-CAM beats the random map on a trained small CNN over Fashion-MNIST
// test pairs (report the mean and the share of pairs where it does)."
//
//   npx tsx scripts/explain-fashion.ts [--workspace DIR] [--model-dir DIR | --epochs 5 --width 1]
//        [--limit 1000] [--steps 32] [--method gradcam] [--workers 2] [--seed 0]
//
// 1. imports Fashion-MNIST (Debian package dataset-fashion-mnist: 60k train + 10k official
//    test images, idx files) into a workspace (default: a new temp folder; with --workspace
//    an existing one is reused and nothing is imported or trained twice);
// 2. generates pairs (seed 42; the official test images are the test split);
// 3. trains the small CNN through models.train (wasm backend, best epoch by validation AUC;
//    about 1100 steps per epoch on the full data: long), or, with --model-dir, registers a
//    model already trained on the same protocol (e.g. scripts/train-fashion.ts --out DIR) as
//    a version and evaluates it (models.evaluate: val threshold, test AUC, stored scores);
// 4. runs 'explain.metrics' jobs on the test split (first --limit pairs by id) for the
//    same-class pairs, the different-class pairs and all of them, on an engine worker pool
//    of --workers threads, and prints the mean deletion / insertion AUC of the method's maps,
//    of a random map and of a centre prior, and the share of images / pairs where the
//    method's map beats the random one.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { EngineTasks } from '../src/main/engine/tasks';
import { jobResult } from '../src/shared/job-result';

const FASHION = process.env.SIMLENS_FASHION_MNIST ?? '/usr/share/datasets/fashion-mnist';
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
};

async function main(): Promise<void> {
  const { SimLensApp } = await import('../src/main/app');
  const { initBackend } = await import('../src/main/engine/runtime/backend');
  const { WorkerPool } = await import('../src/main/engine/runtime/pool');
  const { inProcessModelEngine } = await import('../src/main/services/models');
  type Dto = import('../src/shared/dto').ExplainMetricsDto;
  type Method = import('../src/shared/dto').ExplainMethod;
  type ModelConfigDto = import('../src/shared/dto').ModelConfigDto;

  const workspace = resolve(arg('workspace', mkdtempSync(join(tmpdir(), 'simlens-explain-fashion-'))));
  const epochs = Number(arg('epochs', '5'));
  const width = Number(arg('width', '1'));
  const limit = Number(arg('limit', '1000'));
  const steps = Number(arg('steps', '32'));
  const method = arg('method', 'gradcam') as Method;
  const workers = Number(arg('workers', '2'));
  const seed = Number(arg('seed', '0'));
  if (!existsSync(join(FASHION, 't10k-images-idx3-ubyte.gz')))
    throw new Error(`Fashion-MNIST not found in ${FASHION} (apt-get install dataset-fashion-mnist)`);
  mkdirSync(workspace, { recursive: true });

  const backend = await initBackend({ force: 'wasm' });
  const pool = workers > 0 ? new WorkerPool<EngineTasks>({ size: workers, backend: 'wasm' }) : undefined;
  const app = new SimLensApp({
    dbPath: join(workspace, 'simlens.db'),
    shell: 'cli',
    modelEngine: inProcessModelEngine(() => initBackend({ force: 'wasm' })),
    enginePool: pool,
  });
  const t0 = Date.now();
  const log = (msg: string) => console.error(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${msg}`);
  const done = async (jobId: number, what: string) => {
    let last = -1;
    const off = app.events.on('job.updated', (j) => {
      if (j.id === jobId && Math.floor(j.progress * 10) !== last) {
        last = Math.floor(j.progress * 10);
        log(`${what}: ${Math.round(j.progress * 100)}% ${j.message ?? ''}`);
      }
    });
    const job = await app.jobs.wait(jobId);
    off();
    if (job.status !== 'done') throw new Error(`${what} ${job.status}: ${job.error}`);
    return job;
  };
  try {
    let datasets = await app.call('datasets.list', {});
    if (datasets.length === 0) {
      log(`importing ${FASHION}`);
      await done((await app.call('datasets.import', { path: FASHION, kind: 'idx', name: 'Fashion-MNIST' })).jobId, 'import');
      datasets = await app.call('datasets.list', {});
    }
    const datasetId = datasets[0].id;
    if ((await app.call('datasets.get', { id: datasetId })).pairSets.length === 0) {
      await done((await app.call('pairs.generate', { datasetId, seed: 42 })).jobId, 'pairs');
    }
    let model = (await app.call('models.list', { datasetId }))[0];
    const modelDir = arg('model-dir', '');
    if (!model && modelDir) {
      const meta = JSON.parse(readFileSync(join(modelDir, 'siamese.json'), 'utf8')) as { config: ModelConfigDto };
      const pairSetId = (await app.call('datasets.get', { id: datasetId })).pairSets[0].id;
      const id = app.models.repo.insert({
        name: `from ${modelDir}`,
        datasetId,
        pairSetId,
        parentId: null,
        jobId: null,
        arch: meta.config.arch,
        config: { model: meta.config },
        weightsPath: null,
        seed: meta.config.seed ?? null,
        backend: backend.name,
        metrics: null,
      });
      cpSync(modelDir, join(workspace, 'models', String(id)), { recursive: true });
      app.models.repo.setWeightsPath(id, `models/${id}`);
      log(`registered ${modelDir} as model version ${id}; evaluating`);
      await done((await app.call('models.evaluate', { id })).jobId, 'evaluate');
      model = await app.call('models.get', { id });
    }
    if (!model) {
      log(`training the small CNN (width ${width}, up to ${epochs} epochs)`);
      const job = await done(
        (await app.call('models.train', { datasetId, arch: 'small', epochs, width, batchSize: 128, learningRate: 1e-3, seed: 0 })).jobId,
        'train',
      );
      model = await app.call('models.get', { id: jobResult(job, 'train')!.modelId });
    }
    const testMetrics = model.metrics?.splits.test;
    log(
      `model version ${model.id}: test AUC ${testMetrics?.auc.toFixed(4)}, accuracy ${testMetrics?.accuracy.toFixed(4)} (${testMetrics?.pairs} pairs)`,
    );

    const results: Record<string, Dto> = {};
    for (const [name, label] of [
      ['same-class', 1],
      ['different-class', 0],
      ['all', undefined],
    ] as const) {
      const job = await done(
        (await app.call('explain.metrics', { modelId: model.id, split: 'test', label, method, limit, steps, seed })).jobId,
        `metrics (${name} pairs)`,
      );
      results[name] = jobResult(job, 'metrics')!;
    }
    const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`);
    const out = {
      backend: backend.name,
      workers: pool?.size ?? 0,
      model: {
        id: model.id,
        arch: model.arch,
        testAuc: testMetrics?.auc ?? null,
        testAccuracy: testMetrics?.accuracy ?? null,
        epochs: model.metrics?.training?.history.length ?? null,
      },
      method,
      steps,
      results: Object.fromEntries(
        Object.entries(results).map(([k, r]) => {
          const { curves: _curves, ...rest } = r;
          void _curves;
          return [k, rest];
        }),
      ),
    };
    console.log(JSON.stringify(out, null, 2));
    console.error('');
    for (const [name, r] of Object.entries(results)) {
      console.error(
        `${name} test pairs (${r.pairs}, ${r.images} images measured, ${r.noEvidence} without evidence): ` +
          `deletion AUC ${method} ${r.deletion?.map.toFixed(4)} vs random ${r.deletion?.random.toFixed(4)} vs centre ${r.deletion?.centre.toFixed(4)}; ` +
          `beats random on ${pct(r.deletion?.shareBeatsRandom ?? null)} of images, ${pct(r.pairShareDeletionBeatsRandom)} of pairs; ` +
          `insertion ${r.insertion?.map.toFixed(4)} vs random ${r.insertion?.random.toFixed(4)} (${r.seconds.toFixed(1)} s)`,
      );
    }
    console.error(`workspace: ${workspace}`);
  } finally {
    await app.close();
    await pool?.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
