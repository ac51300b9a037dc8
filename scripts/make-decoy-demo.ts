// Builds the second demo, "Fashion-MNIST with decoys" (resources/demo/fashion-mnist-decoy and
// resources/demo/decoy-model), from the full Fashion-MNIST (apt package dataset-fashion-mnist):
//
//   data   60 train images per class with a white 4x4 patch whose POSITION is tied to the class
//          (the shortcut), and 10 t10k images per class with the patch at a random position
//          (the official test split), as gzipped idx files the idx importer reads.
//   model  a small CNN trained on OTHER decoy train images (the demo's own never seen), so its
//          maps show the patches; scored here on random-patch t10k images outside the demo.
//
// Deterministic for the seed (data byte-identical; the model up to float summation order).
// About 5 minutes on 2 cores.   npx tsx scripts/make-decoy-demo.ts [fashionDir]
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { meanEpg } from '../src/main/bench/decoy';
import { balancedPairs, buildDecoyImages, sampleByClass, SIDE, type DecoyImages } from '../src/main/bench/decoy-data';
import { defaultModelConfig } from '../src/main/engine/models';
import { initBackend, WorkerPool } from '../src/main/engine/runtime';
import type { EngineTasks } from '../src/main/engine/tasks';
import { trainTaskParallel } from '../src/main/engine/train';
import { readIdx, writeIdx } from '../src/main/images/idx';
import { createRng } from '../src/main/pairs/rng';

const SEED = 11;
const DEMO_TRAIN_PER_CLASS = 60;
const DEMO_TEST_PER_CLASS = 10;
const MODEL_TRAIN_PER_CLASS = 200;
const MODEL_VAL_PER_CLASS = 20;
const MODEL_TEST_PER_CLASS = 40;

const area = SIDE * SIDE;
const root = resolve(__dirname, '..');

function toBytes(images: DecoyImages): Buffer {
  const out = Buffer.alloc(images.pixels.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(images.pixels[i] * 255);
  return out;
}

function writeSplit(dir: string, prefix: 'train' | 't10k', images: DecoyImages): void {
  const n = images.classes.length;
  writeIdx(join(dir, `${prefix}-images-idx3-ubyte.gz`), [n, SIDE, SIDE], toBytes(images));
  writeIdx(join(dir, `${prefix}-labels-idx1-ubyte.gz`), [n], Buffer.from(Uint8Array.from(images.classes)));
}

/** Concatenates image sets into one [n, 28, 28, 1] array; returns each part's offset. */
function stack(parts: DecoyImages[]): { pixels: Float32Array; offsets: number[]; count: number } {
  const count = parts.reduce((s, p) => s + p.classes.length, 0);
  const pixels = new Float32Array(count * area);
  const offsets: number[] = [];
  let o = 0;
  for (const p of parts) {
    offsets.push(o);
    pixels.set(p.pixels, o * area);
    o += p.classes.length;
  }
  return { pixels, offsets, count };
}

async function main(): Promise<void> {
  await initBackend(); // this thread measures the maps; the pool trains
  const source = resolve(process.argv[2] ?? '/usr/share/datasets/fashion-mnist');
  const read = async (name: string) => (await readIdx(join(source, name))).data;
  const [trainX, trainY, testX, testY] = await Promise.all([
    read('train-images-idx3-ubyte.gz'),
    read('train-labels-idx1-ubyte.gz'),
    read('t10k-images-idx3-ubyte.gz'),
    read('t10k-labels-idx1-ubyte.gz'),
  ]);
  const rng = createRng(SEED, 0xde70);
  const patchRng = createRng(SEED, 0xba7c);

  // the demo's images
  const demoTrainIdx = sampleByClass(trainY, DEMO_TRAIN_PER_CLASS, rng);
  const demoTestIdx = sampleByClass(testY, DEMO_TEST_PER_CLASS, rng);
  const dataDir = join(root, 'resources', 'demo', 'fashion-mnist-decoy');
  mkdirSync(dataDir, { recursive: true });
  writeSplit(dataDir, 'train', buildDecoyImages(trainX, trainY, demoTrainIdx, 'position', 'tied', patchRng));
  writeSplit(dataDir, 't10k', buildDecoyImages(testX, testY, demoTestIdx, 'position', 'random', patchRng));
  console.log(`data: ${demoTrainIdx.length} train (patch tied to the class), ${demoTestIdx.length} test (patch at random) -> ${dataDir}`);

  // the decoy model, on other images
  const trainIdx = sampleByClass(trainY, MODEL_TRAIN_PER_CLASS, rng, new Set(demoTrainIdx));
  const valIdx = sampleByClass(trainY, MODEL_VAL_PER_CLASS, rng, new Set([...demoTrainIdx, ...trainIdx]));
  const testIdx = sampleByClass(testY, MODEL_TEST_PER_CLASS, rng, new Set(demoTestIdx));
  const train = buildDecoyImages(trainX, trainY, trainIdx, 'position', 'tied', patchRng);
  const val = buildDecoyImages(trainX, trainY, valIdx, 'position', 'tied', patchRng);
  const test = buildDecoyImages(testX, testY, testIdx, 'position', 'random', patchRng);
  const all = stack([train, val, test]);
  const images = { shape: [SIDE, SIDE, 1] as [number, number, number], count: all.count, pixels: all.pixels };
  const [, valOff, testOff] = all.offsets;
  const model = defaultModelConfig({ arch: 'small', inputShape: [SIDE, SIDE, 1], width: 0.5, embeddingSize: 32, seed: SEED, head: 'gap' });
  const outDir = join(root, 'resources', 'demo', 'decoy-model');
  rmSync(outDir, { recursive: true, force: true });
  const pool = new WorkerPool<EngineTasks>({ size: 2, backend: 'wasm' });
  await pool.ready();
  try {
    const testPairs = balancedPairs(test.classes, testOff, SEED + 2);
    const out = await trainTaskParallel(
      pool,
      {
        model,
        train: { epochs: 4, batchSize: 64, learningRate: 1e-3, seed: SEED, earlyStoppingPatience: 0, lrPatience: 0 },
        data: {
          images,
          train: { indices: Int32Array.from(train.classes, (_, i) => i), classes: train.classes },
          val: balancedPairs(val.classes, valOff, SEED + 1),
        },
        evaluate: { val: balancedPairs(val.classes, valOff, SEED + 1), test: testPairs },
        outDir,
      },
      { progress: (_f, message) => process.stdout.write(`\r${message}`.padEnd(80)) },
    );
    const t = out.evaluation.splits.test!;
    const epg = await meanEpg(outDir, images, testPairs, (img) =>
      img >= testOff ? test.masks.subarray((img - testOff) * area, (img - testOff + 1) * area) : null,
    );
    console.log(
      `\nmodel -> ${outDir}\n  random-patch test (${testPairs.a.length} pairs): accuracy ${t.accuracy.toFixed(4)}, ROC AUC ${t.auc.toFixed(4)}; ` +
        `mean energy-based pointing game on the garments ${epg.epg?.toFixed(4)} (${epg.images} maps)`,
    );
  } finally {
    await pool.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
