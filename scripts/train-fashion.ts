// The "Must show" run on real data: Fashion-MNIST from the Debian package
// dataset-fashion-mnist (idx files), the official t10k images as the test split, the
// official train images split 90/10 (stratified, seeded) into train and validation;
// one positive + one negative partner per anchor, train pairs redrawn each epoch;
// the small CNN (conv32-conv32-pool-conv64-conv64-pool-dense128-dense64), margin 2.0,
// Adam 1e-3, batch 128 pairs, at most 10 epochs, best epoch by validation ROC AUC.
//
//   npx tsx scripts/train-fashion.ts [--epochs 10] [--seed 0] [--backend wasm] [--out DIR] [--limit N]
//        [--head flatten|gap] [--conv-bias yes|no] [--width 1] [--workers 1] [--exclude IDX-DIR]
//
// --exclude IDX-DIR: leave out of every split the images found (same pixels) in that folder's
// idx files, e.g. resources/demo/fashion-mnist, to train a model that has seen none of the demo's
// images (the bundled demo model, scripts/demo-model.sh, only needs the t10k images unseen).
//
// --workers N (default 1): N > 1 trains data-parallel over N engine worker threads (one backend
// each; engine/train/data-parallel.ts); 1 trains in this thread as before. The batches, and so
// the results up to float rounding, are the same for a seed.
//
// Reads the idx files directly (the same bytes the importer stores as 'raw' uint8 HWC).
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { initBackend, type BackendName } from '../src/main/engine/runtime/backend';
import { imageSetFromBytes, type ImageSet, type PairList } from '../src/main/engine/data/dataset';
import { scorePairs, splitMetrics } from '../src/main/engine/evaluate/evaluate';
import { buildSiamese, defaultModelConfig, saveSiamese, type SmallHead } from '../src/main/engine/models';
import { WorkerPool } from '../src/main/engine/runtime/pool';
import { chooseThreshold, metricsAt, rocAuc } from '../src/main/engine/evaluate/roc';
import { localStepRunner, trainLoop, type StepRunner, type TrainConfig } from '../src/main/engine/train/trainer';
import { createDataParallelRunner } from '../src/main/engine/train/data-parallel';
import { createRng, shuffleInPlace } from '../src/main/pairs/rng';
import type { EngineTasks } from '../src/main/engine/tasks';

const DIR = '/usr/share/datasets/fashion-mnist';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

function readIdx(file: string): { dims: number[]; data: Uint8Array } {
  const buf = gunzipSync(readFileSync(join(DIR, file)));
  const magic = buf.readUInt32BE(0);
  if (magic >> 8 !== 0x08) throw new Error(`${file}: not an unsigned-byte idx file`);
  const nd = magic & 0xff;
  const dims = Array.from({ length: nd }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  return {
    dims,
    data: new Uint8Array(
      buf.buffer,
      buf.byteOffset + 4 + 4 * nd,
      dims.reduce((a, b) => a * b, 1),
    ),
  };
}

/** Stratified split: per class, a seeded shuffle, the first `valFraction` to validation. */
function stratifiedSplit(labels: Uint8Array, valFraction: number, seed: number): { train: number[]; val: number[] } {
  const train: number[] = [];
  const val: number[] = [];
  for (let c = 0; c < 10; c++) {
    const idx = shuffleInPlace(
      Array.from(labels.keys()).filter((i) => labels[i] === c),
      createRng(seed, 100 + c),
    );
    const nVal = Math.round(idx.length * valFraction);
    val.push(...idx.slice(0, nVal));
    train.push(...idx.slice(nVal));
  }
  return { train: train.sort((a, b) => a - b), val: val.sort((a, b) => a - b) };
}

/** One positive and one negative partner per anchor, inside `indices` (fixed, seeded). */
function anchorPairs(indices: number[], labels: Uint8Array, offset: number, seed: number): PairList {
  const rng = createRng(seed);
  const byClass = new Map<number, number[]>();
  for (const i of indices) byClass.set(labels[i], [...(byClass.get(labels[i]) ?? []), i]);
  const a: number[] = [];
  const b: number[] = [];
  const label: number[] = [];
  for (const i of indices) {
    const same = byClass.get(labels[i])!;
    let p = same[rng.int(same.length)];
    while (p === i) p = same[rng.int(same.length)];
    let q = indices[rng.int(indices.length)];
    while (labels[q] === labels[i]) q = indices[rng.int(indices.length)];
    a.push(i + offset, i + offset);
    b.push(p + offset, q + offset);
    label.push(1, 0);
  }
  return { a: Int32Array.from(a), b: Int32Array.from(b), label: Uint8Array.from(label) };
}

/** The pixel contents (784 bytes each, as a string key) of every image in an idx folder's files. */
function imageKeys(dir: string): Set<string> {
  const keys = new Set<string>();
  for (const file of ['train-images-idx3-ubyte.gz', 't10k-images-idx3-ubyte.gz']) {
    const buf = gunzipSync(readFileSync(join(dir, file)));
    const n = buf.readUInt32BE(4);
    for (let i = 0; i < n; i++) keys.add(buf.subarray(16 + i * 784, 16 + (i + 1) * 784).toString('latin1'));
  }
  return keys;
}

async function main(): Promise<void> {
  const epochs = Number(arg('epochs', '10'));
  const seed = Number(arg('seed', '0'));
  const limit = Number(arg('limit', '0'));
  const out = arg('out', '/tmp/simlens-fashion-model');
  const backend = await initBackend({ force: arg('backend', 'wasm') as BackendName });
  console.log(`backend: ${backend.name}; ${backend.notes.join('; ')}`);

  const trImg = readIdx('train-images-idx3-ubyte.gz');
  const trLab = readIdx('train-labels-idx1-ubyte.gz').data;
  const teImg = readIdx('t10k-images-idx3-ubyte.gz');
  const teLab = readIdx('t10k-labels-idx1-ubyte.gz').data;
  const nTr = limit > 0 ? Math.min(limit, trImg.dims[0]) : trImg.dims[0];
  const nTe = limit > 0 ? Math.min(Math.ceil(limit / 6), teImg.dims[0]) : teImg.dims[0];
  // one ImageSet: official train images [0, nTr), then t10k images [nTr, nTr + nTe)
  const bytes = new Uint8Array((nTr + nTe) * 784);
  bytes.set(trImg.data.subarray(0, nTr * 784), 0);
  bytes.set(teImg.data.subarray(0, nTe * 784), nTr * 784);
  const images: ImageSet = imageSetFromBytes(bytes, nTr + nTe, [28, 28, 1]);
  const trainLabels = trLab.subarray(0, nTr);
  const testLabels = teLab.subarray(0, nTe);
  const excludeDir = arg('exclude', '');
  const excluded = excludeDir ? imageKeys(excludeDir) : new Set<string>();
  const kept = (data: Uint8Array, i: number) => !excluded.has(Buffer.from(data.buffer, data.byteOffset + i * 784, 784).toString('latin1'));

  const split = stratifiedSplit(trainLabels, 0.1, seed);
  if (excluded.size > 0) {
    const before = split.train.length + split.val.length;
    split.train = split.train.filter((i) => kept(trImg.data, i));
    split.val = split.val.filter((i) => kept(trImg.data, i));
    console.log(`excluded ${before - split.train.length - split.val.length} training images found in ${excludeDir}`);
  }
  const val = anchorPairs(split.val, trainLabels, 0, seed * 7 + 1);
  const testIdx = Array.from({ length: nTe }, (_, i) => i).filter((i) => kept(teImg.data, i));
  const test = anchorPairs(testIdx, testLabels, nTr, seed * 7 + 2);
  console.log(
    `images: train ${split.train.length}, val ${split.val.length}, test ${nTe}; pairs: val ${val.a.length}, test ${test.a.length}, train ${2 * split.train.length} per epoch (redrawn)`,
  );

  const head = arg('head', 'flatten') as SmallHead;
  const convBias = arg('conv-bias', 'no') === 'yes';
  const width = Number(arg('width', '1'));
  const workers = Math.max(1, Math.floor(Number(arg('workers', '1'))));
  const config = defaultModelConfig({
    arch: 'small',
    inputShape: [28, 28, 1],
    embeddingSize: 64,
    margin: 2.0,
    seed,
    width,
    ...(head !== 'flatten' ? { head } : {}),
    ...(convBias ? {} : { convBias: false }),
  });
  const trainConfig: Partial<TrainConfig> = { epochs, batchSize: 128, learningRate: 1e-3, seed, earlyStoppingPatience: 3, lrPatience: 2 };
  // The step runner: this thread, or data-parallel replicas in `workers` engine workers.
  let runner: StepRunner;
  let score: (pairs: PairList) => Promise<Float32Array>;
  let save: (extra: Record<string, unknown>) => Promise<unknown>;
  let pool: WorkerPool<EngineTasks> | null = null;
  if (workers > 1) {
    pool = new WorkerPool<EngineTasks>({ size: workers, backend: backend.name });
    await pool.ready();
    const dp = await createDataParallelRunner(pool, { model: config, learningRate: 1e-3, margin: config.margin });
    runner = dp;
    score = async (pairs) => (await dp.scorePairs(images, pairs)).score;
    save = (extra) => dp.save(out, extra);
    console.log(`data-parallel over ${workers} engine workers (${backend.name})`);
  } else {
    const model = await buildSiamese(config);
    const local = localStepRunner(model, { learningRate: 1e-3, margin: config.margin });
    runner = { ...local, dispose: async () => (await local.dispose(), model.dispose()) };
    score = async (pairs) => (await scorePairs(model, images, pairs)).score;
    save = (extra) => saveSiamese(model, out, extra);
  }
  const started = Date.now();
  let lastLog = 0;
  try {
    const result = await trainLoop(
      runner,
      { images, train: { indices: Int32Array.from(split.train), classes: Int32Array.from(split.train, (i) => trainLabels[i]) }, val },
      trainConfig,
      {
        onProgress: (p) => {
          if (Date.now() - lastLog < 15_000) return;
          lastLog = Date.now();
          console.log(
            `  epoch ${p.epoch} step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)} lr ${p.learningRate} eta ${Math.round(p.etaSeconds)} s`,
          );
        },
        onEpoch: async (e) => {
          // test figures of THIS epoch's weights (threshold chosen on val), for partial reports
          const vs = await score(val);
          const ts = await score(test);
          const th = chooseThreshold(vs, val.label).threshold;
          const m = metricsAt(ts, test.label, th);
          console.log(
            `epoch ${e.epoch}: loss ${e.loss.toFixed(4)} val AUC ${e.valAuc.toFixed(4)} | this epoch's weights: test AUC ${rocAuc(ts, test.label).toFixed(4)} accuracy ${m.accuracy.toFixed(4)} | lr ${e.learningRate} | ${e.seconds.toFixed(1)} s (train + val)${e.improved ? ' | best so far' : ''}`,
          );
        },
      },
    );
    for (const e of result.history)
      console.log(
        `summary epoch ${e.epoch}: loss ${e.loss.toFixed(4)} val AUC ${e.valAuc.toFixed(4)} lr ${e.learningRate} ${e.seconds.toFixed(1)} s${e.improved ? ' *' : ''}`,
      );
    // the best epoch's weights (restored by trainLoop): threshold on val, metrics on test
    const vs = await score(val);
    const threshold = chooseThreshold(vs, val.label).threshold;
    const t = splitMetrics(await score(test), test.label, threshold);
    console.log(
      `RESULT best epoch ${result.bestEpoch}/${result.history.length} val AUC ${result.bestValAuc.toFixed(4)} | test AUC ${t.auc.toFixed(4)} accuracy ${t.accuracy.toFixed(4)} precision ${t.precision.toFixed(4)} recall ${t.recall.toFixed(4)} F1 ${t.f1.toFixed(4)} threshold ${threshold.toFixed(4)} | ${(result.seconds / result.history.length).toFixed(1)} s/epoch (incl. val), total ${((Date.now() - started) / 1000).toFixed(0)} s on ${backend.name} x ${workers} thread(s)`,
    );
    await save({
      train: trainConfig,
      result,
      evaluation: { threshold, test: { auc: t.auc, accuracy: t.accuracy, pairs: test.a.length } },
      ...(excludeDir ? { excluded: excludeDir } : {}),
    });
    console.log(`saved to ${out}`);
  } finally {
    await runner.dispose();
    await pool?.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
