// First start: a workspace without any dataset gets the bundled Fashion-MNIST subset
// (resources/demo/fashion-mnist, MNIST idx files: 600 train + 100 official test images) imported as "Fashion-MNIST demo" and a pair set
// generated from it (seed 42), so a new user sees pairs at once. The bundled demo model
// (resources/demo/model, trained by scripts/train-demo-model.ts on Fashion-MNIST images that are
// not in the demo) is registered as a version of that pair set and evaluated on its pairs; its
// Grad-CAM maps of the test pairs and its faithfulness per method are then computed in the
// background, so the explanation and review views have something to show at once.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { jobResult } from '../shared/job-result';
import type { SimLensApp } from './app';
import { AppError } from './errors';
import { resourcesDir } from './paths';

export const DEMO_DATASET_NAME = 'Fashion-MNIST demo';
export const DEMO_SEED = 42;
export const DEMO_MODEL_NAME = 'Fashion-MNIST demo model';

export interface DemoResult {
  /**
   * 'created': imported the demo and generated its pairs; 'pairs': the demo dataset
   * was there without pairs (e.g. an interrupted first start), pairs were generated;
   * 'none': the workspace already had data, nothing was done.
   */
  action: 'created' | 'pairs' | 'none';
  datasetId: number | null;
  pairSetId: number | null;
  importJobId: number | null;
  pairsJobId: number | null;
  /** the demo model's version id (null: no bundled model, or the workspace had data already) */
  modelId: number | null;
  /** background jobs started for the demo model: its test pairs' Grad-CAM maps, its faithfulness */
  backgroundJobIds: number[];
}

export interface DemoOptions {
  /** Folder with the demo idx files; default resources/demo/fashion-mnist. */
  demoDir?: string;
  /** Folder of the demo model (saveSiamese); default resources/demo/model; null: no demo model. */
  modelDir?: string | null;
  /** Validation pairs the first-start faithfulness job measures (default 16: a minute or so of background work). */
  faithfulnessPairs?: number;
}

/** The bundled demo model (a saved SimLens version). */
export function demoModelDir(): string {
  return join(resourcesDir(), 'demo', 'model');
}

/** The bundled demo data (idx files). */
export function demoDataDir(): string {
  return join(resourcesDir(), 'demo', 'fashion-mnist');
}

const inFlight = new WeakMap<SimLensApp, Promise<DemoResult>>();

/** Idempotent: safe to call on every start (and concurrently: calls share one run). */
export function ensureDemoWorkspace(app: SimLensApp, options: DemoOptions = {}): Promise<DemoResult> {
  let run = inFlight.get(app);
  if (!run) {
    run = prepare(app, options).finally(() => inFlight.delete(app));
    inFlight.set(app, run);
  }
  return run;
}

async function prepare(app: SimLensApp, options: DemoOptions): Promise<DemoResult> {
  const result: DemoResult = {
    action: 'none',
    datasetId: null,
    pairSetId: null,
    importJobId: null,
    pairsJobId: null,
    modelId: null,
    backgroundJobIds: [],
  };
  let datasets = await app.call('datasets.list', {});
  let demo = datasets.find((d) => d.name === DEMO_DATASET_NAME);
  if (datasets.length === 0) {
    const dir = options.demoDir ?? demoDataDir();
    if (!existsSync(dir)) throw new AppError('failed', `The demo data is missing: ${dir} does not exist`);
    const { jobId } = await app.call('datasets.import', { path: dir, kind: 'idx', name: DEMO_DATASET_NAME });
    result.importJobId = jobId;
    const job = await app.jobs.wait(jobId);
    if (job.status !== 'done')
      throw new AppError('failed', `Importing the demo data failed (${job.status}): ${job.error ?? 'no reason given'}`);
    datasets = await app.call('datasets.list', {});
    demo = datasets.find((d) => d.name === DEMO_DATASET_NAME);
    if (!demo) throw new AppError('failed', `The demo import finished but no dataset named "${DEMO_DATASET_NAME}" exists`);
    result.action = 'created';
  }
  if (!demo) return result;
  result.datasetId = demo.id;
  const existing = app.pairs.listPairSets(demo.id);
  if (existing.length > 0) {
    result.pairSetId = existing[0].id;
    if (result.action === 'created') await addDemoModel(app, result, options);
    return result;
  }
  const { jobId } = await app.call('pairs.generate', { datasetId: demo.id, seed: DEMO_SEED });
  result.pairsJobId = jobId;
  const job = await app.jobs.wait(jobId);
  if (job.status !== 'done')
    throw new AppError('failed', `Generating the demo pairs failed (${job.status}): ${job.error ?? 'no reason given'}`);
  result.pairSetId = jobResult(job, 'pairs')?.pairSetId ?? null;
  if (result.action === 'none') result.action = 'pairs';
  await addDemoModel(app, result, options);
  return result;
}

/**
 * Registers the bundled model on the demo's pair set (once: a version of that name on the demo
 * dataset means it is there) and evaluates it (the threshold and metrics the views show); then
 * starts, without waiting, the Grad-CAM maps of the test pairs and the faithfulness summary.
 */
async function addDemoModel(app: SimLensApp, result: DemoResult, options: DemoOptions): Promise<void> {
  const dir = options.modelDir === undefined ? demoModelDir() : options.modelDir;
  if (dir === null || result.datasetId === null || result.pairSetId === null) return;
  if (!existsSync(dir)) throw new AppError('failed', `The demo model is missing: ${dir} does not exist`);
  if (app.models.list(result.datasetId).some((m) => m.name === DEMO_MODEL_NAME)) return;
  const version = app.models.importVersion(dir, { name: DEMO_MODEL_NAME, datasetId: result.datasetId, pairSetId: result.pairSetId });
  result.modelId = version.id;
  const evaluated = await app.jobs.wait((await app.call('models.evaluate', { id: version.id })).jobId);
  if (evaluated.status !== 'done')
    throw new AppError('failed', `Evaluating the demo model failed (${evaluated.status}): ${evaluated.error ?? 'no reason given'}`);
  result.backgroundJobIds.push((await app.call('explain.batch', { modelId: version.id, split: 'test', method: 'gradcam' })).jobId);
  // a smaller sample than the default: first start should not keep the machine busy for long
  result.backgroundJobIds.push(
    (await app.call('explain.faithfulness', { modelId: version.id, limit: options.faithfulnessPairs ?? 16, steps: 16 })).jobId,
  );
}
