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
export const DECOY_DATASET_NAME = 'Fashion-MNIST with decoys';
export const DECOY_MODEL_NAME = 'Decoy model (looks at the patches)';

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

/** The second demo's data: a white patch tied to the class in train, at random in test (scripts/make-decoy-demo.ts). */
export function decoyDataDir(): string {
  return join(resourcesDir(), 'demo', 'fashion-mnist-decoy');
}

/** The second demo's decoy-trained model. */
export function decoyModelDir(): string {
  return join(resourcesDir(), 'demo', 'decoy-model');
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
    const imported = await importDemoData(app, options.demoDir ?? demoDataDir(), DEMO_DATASET_NAME);
    result.importJobId = imported.jobId;
    datasets = await app.call('datasets.list', {});
    demo = datasets.find((d) => d.id === imported.datasetId);
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
  const pairs = await generateDemoPairs(app, demo.id);
  result.pairsJobId = pairs.jobId;
  result.pairSetId = pairs.pairSetId;
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
  if (app.models.list(result.datasetId).some((m) => m.name === DEMO_MODEL_NAME)) return;
  const versionId = await registerDemoModel(app, dir, DEMO_MODEL_NAME, result.datasetId, result.pairSetId);
  result.modelId = versionId;
  result.backgroundJobIds.push((await app.call('explain.batch', { modelId: versionId, split: 'test', method: 'gradcam' })).jobId);
  // a smaller sample than the default: first start should not keep the machine busy for long
  result.backgroundJobIds.push(
    (await app.call('explain.faithfulness', { modelId: versionId, limit: options.faithfulnessPairs ?? 16, steps: 16 })).jobId,
  );
}

/** Imports a demo's idx folder as a dataset named `name`, waiting for the job. */
async function importDemoData(app: SimLensApp, dir: string, name: string): Promise<{ jobId: number; datasetId: number }> {
  if (!existsSync(dir)) throw new AppError('failed', `The demo data is missing: ${dir} does not exist`);
  const { jobId } = await app.call('datasets.import', { path: dir, kind: 'idx', name });
  const job = await app.jobs.wait(jobId);
  if (job.status !== 'done')
    throw new AppError('failed', `Importing the demo data failed (${job.status}): ${job.error ?? 'no reason given'}`);
  const dataset = (await app.call('datasets.list', {})).find((d) => d.name === name);
  if (!dataset) throw new AppError('failed', `The demo import finished but no dataset named "${name}" exists`);
  return { jobId, datasetId: dataset.id };
}

/** Generates a demo dataset's pair set (seed DEMO_SEED), waiting for the job. */
async function generateDemoPairs(app: SimLensApp, datasetId: number): Promise<{ jobId: number; pairSetId: number | null }> {
  const { jobId } = await app.call('pairs.generate', { datasetId, seed: DEMO_SEED });
  const job = await app.jobs.wait(jobId);
  if (job.status !== 'done')
    throw new AppError('failed', `Generating the demo pairs failed (${job.status}): ${job.error ?? 'no reason given'}`);
  return { jobId, pairSetId: jobResult(job, 'pairs')?.pairSetId ?? null };
}

/** Registers a bundled model as a version of a demo pair set and evaluates it (the threshold and metrics the views show). */
async function registerDemoModel(app: SimLensApp, dir: string, name: string, datasetId: number, pairSetId: number): Promise<number> {
  if (!existsSync(dir)) throw new AppError('failed', `The demo model is missing: ${dir} does not exist`);
  const version = app.models.importVersion(dir, { name, datasetId, pairSetId });
  const evaluated = await app.jobs.wait((await app.call('models.evaluate', { id: version.id })).jobId);
  if (evaluated.status !== 'done')
    throw new AppError('failed', `Evaluating the demo model failed (${evaluated.status}): ${evaluated.error ?? 'no reason given'}`);
  return version.id;
}

/** What adding the decoy demo did. */
export interface DecoyDemoResult {
  /** false: it was there already (nothing was done) */
  created: boolean;
  datasetId: number;
  pairSetId: number;
  modelId: number;
  /** the decoy model's Grad-CAM maps of the test pairs, started without waiting */
  backgroundJobIds: number[];
}

export interface DecoyDemoOptions {
  dataDir?: string;
  modelDir?: string;
}

const decoyInFlight = new WeakMap<SimLensApp, Promise<DecoyDemoResult>>();

/**
 * The second demo, on request (Datasets view, `simlens demo decoy`): "Fashion-MNIST with decoys"
 * and its decoy-trained model, whose maps point at the patches, ready to be masked, retrained with
 * focus and compared. Idempotent: a dataset of that name with the model is returned as it is; an
 * interrupted earlier attempt (dataset without pairs or model) is completed.
 */
export function addDecoyDemo(app: SimLensApp, options: DecoyDemoOptions = {}): Promise<DecoyDemoResult> {
  let run = decoyInFlight.get(app);
  if (!run) {
    run = prepareDecoy(app, options).finally(() => decoyInFlight.delete(app));
    decoyInFlight.set(app, run);
  }
  return run;
}

async function prepareDecoy(app: SimLensApp, options: DecoyDemoOptions): Promise<DecoyDemoResult> {
  let created = false;
  let dataset = (await app.call('datasets.list', {})).find((d) => d.name === DECOY_DATASET_NAME);
  if (!dataset) {
    const { datasetId } = await importDemoData(app, options.dataDir ?? decoyDataDir(), DECOY_DATASET_NAME);
    dataset = (await app.call('datasets.list', {})).find((d) => d.id === datasetId)!;
    created = true;
  }
  let pairSetId: number | null = app.pairs.listPairSets(dataset.id)[0]?.id ?? null;
  if (pairSetId === null) {
    pairSetId = (await generateDemoPairs(app, dataset.id)).pairSetId;
    created = true;
    if (pairSetId === null) throw new AppError('failed', 'Generating the decoy demo pairs gave no pair set');
  }
  const backgroundJobIds: number[] = [];
  let modelId = app.models.list(dataset.id).find((m) => m.name === DECOY_MODEL_NAME)?.id ?? null;
  if (modelId === null) {
    modelId = await registerDemoModel(app, options.modelDir ?? decoyModelDir(), DECOY_MODEL_NAME, dataset.id, pairSetId);
    backgroundJobIds.push((await app.call('explain.batch', { modelId, split: 'test', method: 'gradcam' })).jobId);
    created = true;
  }
  return { created, datasetId: dataset.id, pairSetId, modelId, backgroundJobIds };
}
