// SimLens benchmarks: `npm run bench` runs every section, `npm run bench -- import`
// only the named ones. Each section prints its figures and a JSON line; all results
// also go to bench-results/<timestamp>.json.
//
// Sections:
//   import  the full Fashion-MNIST train set (60,000 idx images) into a fresh
//           database, against a baseline measured in the same run: just reading and
//           gunzipping the idx files and sha256-ing every image.
//   import-folder  a folder of 200 photo-like 640x480 JPEGs in 4 class folders (made
//           here, not timed): decode + normalise + PNG + thumbnail per file, against a
//           baseline of decoding each file to raw pixels with sharp.
//   pairs   pair generation and paging at Fashion-MNIST scale (scripts/bench-pairs.ts).
//   train-step  one contrastive training step of the small CNN on 32 pairs of 28x28 on
//           wasm, single thread and data-parallel over the worker pool, against the pure-JS
//           cpu backend in the same run (scripts/bench-engine/train-step.ts).
//   embed-resnet50  ResNet50 embedding at 224x224: single-thread wasm baseline vs the
//           worker pool over every core (scripts/bench-engine/embed-resnet50.ts).
//   onnx-embed  embedding time per image on ONNX Runtime (1 and 2 threads) vs tfjs wasm (1 thread),
//           same run: small CNN 28x28 (single images and batches of 64), ResNet18 and ResNet50 at
//           224x224 (scripts/bench-engine/onnx-embed.ts; issue #12).
//   explain-latency  one pair, both images, factual + counterfactual Grad-CAM, small CNN
//           at 28x28 and ResNet50 at 224x224, against the plain forward of the pair
//           (scripts/bench-cam/pair-latency.ts, run in its own process).
//   explain-batch  batch throughput of pair Grad-CAM (both images, factual + counterfactual), ResNet50
//           at 224x224: single-thread wasm baseline vs the pool's 'explain.pairs' over every core
//           (scripts/bench-cam/batch-throughput.ts).
//   ort     tfjs (SIMLENS_INFER=tfjs: the wasm backend) against ONNX Runtime (SIMLENS_INFER=ort) in the
//           same run, with their ratio and issue #12's targets: ResNet50 224x224 embedding ms/image
//           (<= 30), pair Grad-CAM latency (<= 60 ms) and batch throughput over the pool (<= 50
//           ms/pair), the evaluate section's workload over the pool (ORT >= 4x faster), deletion +
//           insertion curves and Score-CAM of a pair (>= 5x), the small CNN's pair Grad-CAM and
//           embedding (not slower); ORT thread layouts (1 vs 2 threads per session, 2 workers x 1
//           thread vs 1 x 2 vs 2 x 2), the export + verification of the first use apart
//           (scripts/bench-engine/ort.ts; about 10 minutes on 2 cores).
//   ort-review  the latency a reviewer sees: one ResNet50 pair's Grad-CAM as the review view asks for
//           it (an interactive call of the pool's explain engine, 300 ms apart), with one pool in the
//           process as in the app, tfjs pool then ONNX Runtime pool; median, p10, p90 of 30 calls,
//           target median <= 60 ms (scripts/bench-engine/ort-review-latency.ts).
//   ort-pair-input  how a batch of 4 ResNet50 pairs reaches ONNX Runtime for Grad-CAM, in this thread
//           with 1 ORT thread: as tfjs tensors joined and read back, against the pixel rows
//           themselves, against ONNX Runtime's forward alone; wall time, the CPU of this thread and
//           of V8's helper threads, full garbage collections per batch
//           (scripts/bench-engine/ort-pair-input.ts).
//   retrain  one epoch of mask-loss retraining (rrr, energy, hint) against a plain epoch of the same
//           model on the same explicit pairs (1000 Fashion-MNIST images, 10% masked), in this thread
//           and over the pool, flatten and GAP heads; target <= 3x (scripts/bench-engine/retrain-epoch.ts).
//   evaluate  the evaluation job's engine call (scoring 12,000 val + 20,000 test pairs over 6,000
//           synthetic 28x28 images with the small CNN) on 1 worker vs the pool over every core
//           (scripts/bench-engine/evaluate.ts; with --db/--model it times a real workspace).
//   masks   import and export of 10,000 masks (PNG folder, COCO JSON, CSV) through the masks
//           services, against the raw RLE and PNG codecs on the same masks in the same run; the
//           time of masks.save per stroke and of the live agreement per stroke on a 1024 x 1024
//           mask (scripts/bench-masks.ts; the painting UI's brush frame time and magic wand fill
//           time on a 1024 x 1024 image, in Chromium, join it there).
//   responsiveness  the largest event-loop stall of the UI thread while a ResNet18 Grad-CAM, Score-CAM
//           and sanity check run on the engine pool, against the same calls in that thread
//           (scripts/bench-engine/responsiveness.ts; the tests assert only orderings).
//   review  the review view in Chromium (browser mode, needs `npm run build`): from the key that
//           completes a pair's verdict to the next pair fully drawn, over 50 pairs (median and
//           maximum), against the same pairs without prefetching in the same run
//           (scripts/bench-review.ts).
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';

const FASHION = process.env.SIMLENS_FASHION_MNIST ?? '/usr/share/datasets/fashion-mnist';
const IMPORT_TARGET_S = 20;

type Figures = Record<string, number | string | boolean>;
type Section = () => Promise<Figures>;

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const round = (x: number, digits = 3) => Number(x.toFixed(digits));

async function importSection(): Promise<Figures> {
  const images = join(FASHION, 'train-images-idx3-ubyte.gz');
  const labels = join(FASHION, 'train-labels-idx1-ubyte.gz');
  for (const f of [images, labels]) statSync(f); // fails clearly when the dataset is not installed

  // Baseline: the least any importer must do — read, gunzip, hash every image.
  let t0 = process.hrtime.bigint();
  const raw = gunzipSync(readFileSync(images));
  gunzipSync(readFileSync(labels));
  const n = raw.readUInt32BE(4);
  const size = raw.readUInt32BE(8) * raw.readUInt32BE(12);
  for (let i = 0; i < n; i++)
    createHash('sha256')
      .update(raw.subarray(16 + i * size, 16 + (i + 1) * size))
      .digest('hex');
  const baselineS = seconds(t0);

  // The import, through the same service the app and CLI use, into a fresh database.
  const { openDatabase } = await import('../src/main/store/db');
  const { JobsRepo } = await import('../src/main/store/jobs-repo');
  const { JobRunner } = await import('../src/main/services/jobs');
  const { EventBus } = await import('../src/main/events');
  const { DatasetService } = await import('../src/main/services/datasets');
  const dir = mkdtempSync(join(tmpdir(), 'simlens-bench-'));
  try {
    // Only the train set: link its two files into a folder of their own.
    const source = join(dir, 'fashion-mnist-train');
    mkdirSync(source);
    symlinkSync(images, join(source, 'train-images-idx3-ubyte.gz'));
    symlinkSync(labels, join(source, 'train-labels-idx1-ubyte.gz'));
    const dbPath = join(dir, 'bench.db');
    const db = openDatabase(dbPath);
    const jobs = new JobRunner(new JobsRepo(db), new EventBus());
    const datasets = new DatasetService(db, jobs);
    t0 = process.hrtime.bigint();
    const job = await datasets.startImport({ path: source });
    const done = await jobs.wait(job.id);
    const importS = seconds(t0);
    if (done.status !== 'done') throw new Error(`import job ended ${done.status}: ${done.error}`);
    const result = done.result as { datasetId: number; totals: Record<string, number> };
    const detail = datasets.get(result.datasetId);
    db.pragma('wal_checkpoint(TRUNCATE)');
    const dbMb = statSync(dbPath).size / 2 ** 20;
    t0 = process.hrtime.bigint();
    datasets.delete(result.datasetId);
    const deleteS = seconds(t0);
    db.close();
    return {
      images: n,
      imported: result.totals.imported,
      duplicates: result.totals.duplicate,
      classes: detail.classes.length,
      import_s: round(importS),
      images_per_s: Math.round(n / importS),
      baseline_read_gunzip_sha256_s: round(baselineS),
      ratio_import_to_baseline: round(importS / baselineS, 2),
      db_mb: round(dbMb, 1),
      delete_dataset_s: round(deleteS),
      target_s: IMPORT_TARGET_S,
      within_target: importS < IMPORT_TARGET_S,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function importFolderSection(): Promise<Figures> {
  const sharp = (await import('sharp')).default;
  const { openDatabase } = await import('../src/main/store/db');
  const { JobsRepo } = await import('../src/main/store/jobs-repo');
  const { JobRunner } = await import('../src/main/services/jobs');
  const { EventBus } = await import('../src/main/events');
  const { DatasetService } = await import('../src/main/services/datasets');
  const FILES = 200;
  const dir = mkdtempSync(join(tmpdir(), 'simlens-bench-'));
  try {
    const source = join(dir, 'photos');
    const files: string[] = [];
    for (let i = 0; i < FILES; i++) {
      const cls = join(source, `class-${i % 4}`);
      mkdirSync(cls, { recursive: true });
      const file = join(cls, `img-${i}.jpg`);
      await sharp({
        create: {
          width: 640,
          height: 480,
          channels: 3,
          background: '#000000',
          noise: { type: 'gaussian', mean: 100 + (i % 50), sigma: 50 },
        },
      })
        .blur(4)
        .jpeg({ quality: 85 })
        .toFile(file);
      files.push(file);
    }
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < files.length; i += 4) await Promise.all(files.slice(i, i + 4).map((f) => sharp(f).raw().toBuffer()));
    const baselineS = seconds(t0);
    const db = openDatabase(join(dir, 'bench.db'));
    const jobs = new JobRunner(new JobsRepo(db), new EventBus());
    const datasets = new DatasetService(db, jobs);
    t0 = process.hrtime.bigint();
    const done = await jobs.wait((await datasets.startImport({ path: source })).id);
    const importS = seconds(t0);
    db.close();
    if (done.status !== 'done') throw new Error(`import job ended ${done.status}: ${done.error}`);
    const totals = (done.result as { totals: Record<string, number> }).totals;
    return {
      files: FILES,
      imported: totals.imported,
      import_s: round(importS),
      files_per_s: Math.round(FILES / importS),
      baseline_sharp_decode_s: round(baselineS),
      ratio_import_to_baseline: round(importS / baselineS, 2),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const SECTIONS: Record<string, Section> = {
  import: importSection,
  'import-folder': importFolderSection,
  // pair generation and paging (scripts/bench-pairs.ts, owned by the pairs code)
  pairs: async () => (await import('./bench-pairs')).pairsSection(),
  'train-step': async () =>
    (await import('./bench-engine/train-step')).benchTrainStep({ steps: 10, cpuSteps: 1, workers: Math.max(2, cpus().length) }),
  'embed-resnet50': async () =>
    (await import('./bench-engine/embed-resnet50')).benchEmbedResnet50({ images: 16, batch: 4, workers: Math.max(2, cpus().length) }),
  'onnx-embed': async () => (await import('./bench-engine/onnx-embed')).benchOnnxEmbed({ runs: 5 }),
  'explain-latency': explainLatencySection,
  'explain-batch': async () =>
    (await import('./bench-cam/batch-throughput')).benchExplainBatch({ pairs: 8, workers: Math.max(2, cpus().length) }),
  evaluate: async () => (await import('./bench-engine/evaluate')).benchEvaluate({ workers: Math.max(2, cpus().length) }),
  ort: async () => (await import('./bench-engine/ort')).benchOrt({ workers: Math.max(2, cpus().length) }),
  'ort-review': async () => (await import('./bench-engine/ort-review-latency')).benchReviewLatency({ workers: Math.max(2, cpus().length) }),
  'ort-pair-input': async () => (await import('./bench-engine/ort-pair-input')).benchOrtPairInput(),
  // masks import / export (scripts/bench-masks.ts, owned by the masks code)
  masks: async () => (await import('./bench-masks')).masksSection(),
  responsiveness: async () => (await import('./bench-engine/responsiveness')).benchResponsiveness(),
  review: async () => (await import('./bench-review')).benchReview({ pairs: 50 }),
  retrain: async () => (await import('./bench-engine/retrain-epoch')).benchRetrainEpoch({ workers: Math.max(2, cpus().length) }),
};

async function explainLatencySection(): Promise<Figures> {
  const { execFileSync } = await import('node:child_process');
  const tsx = resolve(__dirname, '..', 'node_modules', '.bin', 'tsx');
  const out = execFileSync(tsx, [resolve(__dirname, 'bench-cam', 'pair-latency.ts'), '--json'], { encoding: 'utf8', maxBuffer: 16 << 20 });
  const parsed = JSON.parse(out.slice(out.indexOf('{'))) as {
    backend: string;
    rows: { model: string; case: string; medianMs: number; ratioToForward: number | null }[];
  };
  const figures: Figures = { backend: parsed.backend };
  for (const r of parsed.rows) {
    const key = `${r.model} ${r.case}`.replace(/[^a-z0-9]+/gi, '_').toLowerCase();
    figures[`${key}_ms`] = round(r.medianMs, 1);
    if (r.ratioToForward !== null) figures[`${key}_ratio_to_forward`] = round(r.ratioToForward, 2);
  }
  return figures;
}

async function main() {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = wanted.filter((w) => !(w in SECTIONS));
  if (unknown.length > 0) {
    console.error(`Unknown section(s): ${unknown.join(', ')}. Sections: ${Object.keys(SECTIONS).join(', ')}`);
    process.exit(2);
  }
  const names = wanted.length > 0 ? wanted : Object.keys(SECTIONS);
  const machine = {
    node: process.version,
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    platform: `${process.platform}-${process.arch}`,
  };
  console.log(`SimLens bench on ${machine.cpus} x ${machine.cpu}, Node ${machine.node}`);
  const results: Record<string, Figures> = {};
  let failed = false;
  for (const name of names) {
    console.log(`\n[${name}]`);
    try {
      results[name] = await SECTIONS[name]();
      for (const [k, v] of Object.entries(results[name])) console.log(`  ${k.padEnd(36)} ${v}`);
      console.log(`  json ${JSON.stringify({ section: name, ...results[name] })}`);
    } catch (error) {
      failed = true;
      results[name] = { error: error instanceof Error ? error.message : String(error) };
      console.error(`  FAILED: ${results[name].error}`);
    }
  }
  const outDir = resolve(__dirname, '..', 'bench-results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ machine, date: new Date().toISOString(), results }, null, 2));
  console.log(`\nwritten ${file}`);
  if (failed) process.exitCode = 1;
}

void main();
