// Benchmark: the evaluation job's engine call (services/models.ts poolModelEngine(...).evaluate,
// what `models.evaluate` runs after decoding the images) on a wasm worker pool of 1 worker (the
// single 'models.evaluate' task) against 2+ workers (the images embedded in chunks across them:
// engine/evaluate/embed-parallel.ts), in the same run. Each pool is started and warmed up (backend,
// XNNPACK operators) before it is timed; the results of the two are compared (scores, metrics).
//
// Synthetic (the `npm run bench -- evaluate` section): the small CNN at 28x28x1 (embedding 64,
// seeded random weights: timing only), `images` synthetic images, random val and test pairs
// (Fashion-MNIST's 12,000 + 20,000 by default).
//
//   npx tsx scripts/bench-engine/evaluate.ts [--images 6000] [--val 12000] [--test 20000] [--workers 2]
//
// A real workspace (read-only: the database is copied first; nothing is written to it):
//
//   npx tsx scripts/bench-engine/evaluate.ts --db /path/simlens.db --model /path/version-folder [--version 1] [--workers 2]
//
// loads the version's pair set (val + test pairs and their images, decoded as the job does) and
// times the same engine call with the model folder given.
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/main/engine/runtime/backend';
import { buildImageSet, pairListFrom, type ImageSet, type PairList } from '../../src/main/engine/data/dataset';
import { buildSiamese, defaultModelConfig, saveSiamese, type ModelConfig } from '../../src/main/engine/models';
import type { EvaluateOutcome, EvaluateRequest } from '../../src/main/engine/evaluate/run';
import type { Split } from '../../src/shared/dto';
import { WorkerPool } from '../../src/main/engine/runtime/pool';
import { createRng } from '../../src/main/pairs/rng';
import { poolModelEngine } from '../../src/main/services/models';
import { arg, machine, report, round, type Figures } from './common';
import type { EngineTasks } from '../../src/main/engine/tasks';

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

export interface EvalData {
  images: ImageSet;
  splits: Partial<Record<Split, PairList>>;
}

/** Times poolModelEngine(pool of `workers`).evaluate on `data` (after a warm-up on a slice of it). */
async function timeEvaluate(
  workers: number,
  modelDir: string,
  data: EvalData,
): Promise<{ seconds: number; cpuSeconds: number; out: EvaluateOutcome }> {
  const pool = new WorkerPool<EngineTasks>({ size: workers, backend: 'wasm' });
  try {
    await pool.ready();
    const engine = poolModelEngine(pool);
    // the single path moves the image buffer to its worker: each call gets its own copy (not timed)
    const request = (splits: EvalData['splits']): EvaluateRequest => ({
      modelDir,
      images: { ...data.images, pixels: data.images.pixels.slice() },
      splits,
    });
    const slice = (p: PairList, n: number): PairList => ({ a: p.a.subarray(0, n), b: p.b.subarray(0, n), label: p.label.subarray(0, n) });
    const warm = Object.fromEntries(Object.entries(data.splits).map(([k, p]) => [k, slice(p, 256)]));
    for (let i = 0; i < workers; i++) await engine.evaluate(request(warm), {}); // every worker's operators
    const req = request(data.splits);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const out = await engine.evaluate(req, {});
    return { seconds: (performance.now() - t0) / 1000, cpuSeconds: cpuMs(process.cpuUsage(cpu0)) / 1000, out };
  } finally {
    await pool.close();
  }
}

/** 1 worker vs `workers` workers on the same data; the figures and a comparison of the results. */
async function compare(modelDir: string, data: EvalData, workers: number): Promise<Figures> {
  const figures: Figures = {};
  const one = await timeEvaluate(1, modelDir, data);
  const many = await timeEvaluate(workers, modelDir, data);
  figures.one_worker_s = round(one.seconds, 2);
  figures[`${workers}_workers_s`] = round(many.seconds, 2);
  figures.speedup = round(one.seconds / many.seconds, 2);
  // CPU of the whole process (all threads): what the split costs, independent of other load
  figures.one_worker_cpu_s = round(one.cpuSeconds, 2);
  figures[`${workers}_workers_cpu_s`] = round(many.cpuSeconds, 2);
  let maxDiff = 0;
  for (const s of Object.keys(one.out.scores) as Split[]) {
    const [a, b] = [one.out.scores[s]!.score, many.out.scores[s]!.score];
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
  }
  figures.max_abs_score_diff = maxDiff;
  figures.metrics_equal = JSON.stringify(one.out.evaluation) === JSON.stringify(many.out.evaluation);
  for (const [s, m] of Object.entries(many.out.evaluation.splits)) figures[`${s}_auc`] = round(m.auc, 4);
  return figures;
}

/** Random pairs among images [0, n), labels 1 for pairs of the same synthetic class. */
function randomPairs(n: number, count: number, classOf: (i: number) => number, seed: number): PairList {
  const rng = createRng(seed);
  const rows: { a: number; b: number; label: number }[] = [];
  while (rows.length < count) {
    const a = Math.floor(rng.next() * n);
    const b = Math.floor(rng.next() * n);
    if (a !== b) rows.push({ a, b, label: classOf(a) === classOf(b) ? 1 : 0 });
  }
  return pairListFrom(rows);
}

/** The synthetic workload of the `evaluate` section (also timed by the `ort` section: bench-engine/ort.ts). */
export const SYNTHETIC_EVAL_CONFIG: ModelConfig = defaultModelConfig({
  arch: 'small',
  inputShape: [28, 28, 1],
  embeddingSize: 64,
  seed: 1,
});

/** `n` synthetic 28x28 images of 10 classes and random val / test pairs over disjoint images. */
export function syntheticEvalData(options: { images?: number; val?: number; test?: number } = {}): EvalData {
  const n = options.images ?? 6000;
  // 10 classes: a bright bar at a class-dependent row, plus noise
  const rng = createRng(3);
  const pixels = new Float32Array(n * 784);
  for (let i = 0; i < n; i++)
    for (let p = 0; p < 784; p++) pixels[i * 784 + p] = (Math.floor(p / 28) >> 1) % 10 === i % 10 ? 0.8 : 0.3 * rng.next();
  const classOf = (i: number) => i % 10;
  // val on the first 40% of the images, test on the rest (disjoint, as generated pair sets are)
  const cut = Math.floor(n * 0.4);
  const val = randomPairs(cut, options.val ?? 12_000, classOf, 5);
  const testPairs = randomPairs(n - cut, options.test ?? 20_000, (i) => classOf(i + cut), 6);
  const test = { ...testPairs, a: testPairs.a.map((i) => i + cut), b: testPairs.b.map((i) => i + cut) };
  return { images: { shape: [28, 28, 1], count: n, pixels }, splits: { val, test } };
}

export async function benchEvaluate(options: { images?: number; val?: number; test?: number; workers?: number } = {}): Promise<Figures> {
  const n = options.images ?? 6000;
  const workers = options.workers ?? Math.max(2, availableParallelism());
  const dir = mkdtempSync(join(tmpdir(), 'simlens-bench-eval-'));
  try {
    await initBackend({ force: 'wasm' });
    const model = await buildSiamese(SYNTHETIC_EVAL_CONFIG);
    await saveSiamese(model, join(dir, 'model'));
    model.dispose();
    const data = syntheticEvalData(options);
    return {
      ...machine(),
      model: 'small CNN 28x28x1, embedding 64',
      images: n,
      val_pairs: data.splits.val!.a.length,
      test_pairs: data.splits.test!.a.length,
      workers,
      ...(await compare(join(dir, 'model'), data, workers)),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The val + test pairs of a stored version's pair set, from a COPY of the database, decoded as the evaluation job does. */
export async function benchEvaluateWorkspace(options: { db: string; model: string; version?: number; workers?: number }): Promise<Figures> {
  const workers = options.workers ?? Math.max(2, availableParallelism());
  const { openDatabase } = await import('../../src/main/store/db');
  const { ModelsRepo } = await import('../../src/main/store/models-repo');
  const tmp = mkdtempSync(join(tmpdir(), 'simlens-bench-eval-ws-'));
  try {
    const dbCopy = join(tmp, 'simlens.db');
    copyFileSync(options.db, dbCopy); // never opened in place (even read-only, SQLite may add -wal/-shm files)
    if (existsSync(`${options.db}-wal`)) copyFileSync(`${options.db}-wal`, `${dbCopy}-wal`);
    const db = openDatabase(dbCopy);
    const repo = new ModelsRepo(db);
    const row = repo.get(options.version ?? 1);
    if (!row || row.pair_set_id === null) throw new Error(`No version ${options.version ?? 1} with a pair set in ${options.db}`);
    const { model } = row.config;
    const t0 = performance.now();
    const pairRows = { val: repo.pairs(row.pair_set_id, 'val'), test: repo.pairs(row.pair_set_id, 'test') };
    const ids = new Set<number>();
    for (const rows of Object.values(pairRows)) for (const p of rows) ids.add(p.image_a).add(p.image_b);
    const imageRows = repo.imagesById([...ids].sort((a, b) => a - b));
    const images = await buildImageSet(imageRows, model.inputShape);
    const index = new Map(imageRows.map((r, i) => [r.id, i]));
    const splits = Object.fromEntries(
      Object.entries(pairRows).map(([s, rows]) => [
        s,
        pairListFrom(rows.map((p) => ({ a: index.get(p.image_a)!, b: index.get(p.image_b)!, label: p.label, id: p.id }))),
      ]),
    ) as EvalData['splits'];
    const loadS = (performance.now() - t0) / 1000;
    db.close();
    return {
      ...machine(),
      model_dir: options.model,
      images: images.count,
      val_pairs: splits.val!.a.length,
      test_pairs: splits.test!.a.length,
      load_and_decode_s: round(loadS, 2),
      workers,
      ...(await compare(options.model, { images, splits }, workers)),
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const dbAt = process.argv.indexOf('--db');
  const modelAt = process.argv.indexOf('--model');
  const workers = arg('workers', Math.max(2, availableParallelism()));
  if (dbAt > 0 && modelAt < 0) throw new Error('--db needs --model <version folder>');
  const run =
    dbAt > 0
      ? benchEvaluateWorkspace({ db: process.argv[dbAt + 1], model: process.argv[modelAt + 1], version: arg('version', 1), workers }).then(
          (f) => report('engine: evaluation of a stored version (models.evaluate engine call)', f),
        )
      : benchEvaluate({ images: arg('images', 6000), val: arg('val', 12_000), test: arg('test', 20_000), workers }).then((f) =>
          report('engine: evaluation, 1 worker vs the pool (synthetic, small CNN 28x28)', f),
        );
  run.catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
