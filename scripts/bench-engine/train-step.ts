// Benchmark: ONE training step (forward + backward + Adam update, contrastive loss) of the small
// CNN (conv32-conv32-pool-conv64-conv64-pool-dense128-dense64, 3x3 'same') on 32 pairs of 28x28x1
// images, on the wasm backend (with SimLens's kernels) against the pure-JS 'cpu' backend measured in
// the same run. Reference (ENVIRONMENT.md / issue 3): PyTorch CPU on 2 threads ~37 ms; target
// <= 55 ms (1.5x).
//
// Two layouts of the 32 pairs: 'pairs' = 64 images (x1, x2 per pair, as the PyTorch reference);
// 'anchors' = 48 images (16 anchors + a positive and a negative partner each, as
// src/main/engine/train.ts batches them).
//
// Arithmetic floor: 64 images x 3 x 37.4 MFLOP (forward) = 7.2 GFLOP per step; XNNPACK on wasm
// SIMD128 (no FMA) peaks near 40-45 GFLOP/s per core here, so >= ~165 ms per core; PyTorch's 37 ms
// is ~195 GFLOP/s (AVX-512 FMA, 2 threads). The 55 ms target is out of reach on wasm on this CPU.
//
// Also measured: the same step data-parallel over the engine's worker pool (one wasm replica per
// worker, each computing the gradients of its share of the pairs; the averaged gradients are applied
// by every replica's own Adam), i.e. what both cores give.
//
//   npx tsx scripts/bench-engine/train-step.ts [--steps 20] [--cpu-steps 1] [--no-cpu] [--workers 2]
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/main/engine/backend';
import { contrastiveLoss } from '../../src/main/engine/loss';
import { buildSiamese, defaultModelConfig, type SiameseModel } from '../../src/main/engine/models';
import { WorkerPool } from '../../src/main/engine/pool';
import { arg, flag, machine, median, report, round, type Figures } from './common';

const PYTORCH_MS = 37;
const TARGET_MS = 55;
const PAIRS = 32;

type Layout = 'pairs' | 'anchors';

function makeStep(model: SiameseModel, layout: Layout) {
  const optimizer = tf.train.adam(1e-3);
  const nImages = layout === 'pairs' ? 2 * PAIRS : PAIRS + PAIRS / 2;
  const dim = model.config.embeddingSize;
  const x = tf.randomUniform([nImages, 28, 28, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
  const y = tf.tensor1d(Array.from({ length: PAIRS }, (_, i) => (layout === 'anchors' ? (i < PAIRS / 2 ? 1 : 0) : i % 2)), 'float32');
  const vars = model.net.trainableWeights.map((w) => w.read() as tf.Variable);
  const step = async (): Promise<number> => {
    const t0 = performance.now();
    const loss = tf.tidy(() =>
      optimizer.minimize(
        () => {
          const e = model.embed(x, true);
          if (layout === 'pairs') {
            const e1 = tf.slice(e, [0, 0], [PAIRS, dim]) as tf.Tensor2D;
            const e2 = tf.slice(e, [PAIRS, 0], [PAIRS, dim]) as tf.Tensor2D;
            return contrastiveLoss(e1, e2, y, model.config.margin);
          }
          const k = PAIRS / 2;
          const anchors = tf.slice(e, [0, 0], [k, dim]) as tf.Tensor2D;
          const partners = tf.slice(e, [k, 0], [PAIRS, dim]) as tf.Tensor2D;
          return contrastiveLoss(tf.concat([anchors, anchors], 0) as tf.Tensor2D, partners, y, model.config.margin);
        },
        true,
        vars,
      )!,
    );
    await loss.data();
    loss.dispose();
    return performance.now() - t0;
  };
  const dispose = () => {
    optimizer.dispose();
    tf.dispose([x, y]);
  };
  return { step, dispose, nImages };
}

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

async function timeSteps(backend: 'wasm' | 'cpu', layout: Layout, steps: number, warmup: number): Promise<{ median: number; min: number; cpu: number }> {
  await initBackend({ force: backend });
  const model = await buildSiamese(defaultModelConfig({ arch: 'small', inputShape: [28, 28, 1], embeddingSize: 64, seed: 1 }));
  const { step, dispose } = makeStep(model, layout);
  try {
    for (let i = 0; i < warmup; i++) await step();
    const times: number[] = [];
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < steps; i++) times.push(await step());
    return { median: median(times), min: Math.min(...times), cpu: cpuMs(process.cpuUsage(cpu0)) / steps };
  } finally {
    dispose();
    model.dispose();
  }
}

async function timeDataParallel(workers: number, steps: number, warmup: number): Promise<{ median: number; min: number; cpu: number }> {
  const config = defaultModelConfig({ arch: 'small', inputShape: [28, 28, 1], embeddingSize: 64, seed: 1 });
  const pool = new WorkerPool({ size: workers, backend: 'wasm', modules: [join(__dirname, 'tasks.ts')] });
  try {
    await pool.broadcast('bench.dp.init', { config, learningRate: 1e-3 });
    const rowSize = 28 * 28;
    const x1 = new Float32Array(PAIRS * rowSize).map((_, i) => ((i * 7919) % 255) / 255);
    const x2 = new Float32Array(PAIRS * rowSize).map((_, i) => ((i * 104729) % 255) / 255);
    const labels = new Float32Array(PAIRS).map((_, i) => i % 2);
    const per = Math.ceil(PAIRS / workers);
    const step = async (): Promise<number> => {
      const t0 = performance.now();
      const parts = await Promise.all(
        Array.from({ length: workers }, (_, k) => {
          const a = k * per;
          const b = Math.min(PAIRS, a + per);
          const rows = new Float32Array(2 * (b - a) * rowSize);
          rows.set(x1.subarray(a * rowSize, b * rowSize), 0);
          rows.set(x2.subarray(a * rowSize, b * rowSize), (b - a) * rowSize);
          return pool.run<{ loss: number; grads: Float32Array }>('bench.dp.grads', { config, rows, pairs: b - a, labels: labels.slice(a, b) }, { transfer: [rows.buffer] });
        }),
      );
      const mean = new Float32Array(parts[0].grads.length);
      for (const p of parts) for (let i = 0; i < mean.length; i++) mean[i] += p.grads[i] / parts.length;
      await pool.broadcast('bench.dp.apply', { config, grads: mean });
      return performance.now() - t0;
    };
    for (let i = 0; i < warmup; i++) await step();
    const times: number[] = [];
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < steps; i++) times.push(await step());
    return { median: median(times), min: Math.min(...times), cpu: cpuMs(process.cpuUsage(cpu0)) / steps };
  } finally {
    await pool.close();
  }
}

export async function benchTrainStep(options: { steps?: number; cpuSteps?: number; workers?: number } = {}): Promise<Figures> {
  const steps = options.steps ?? 20;
  const cpuSteps = options.cpuSteps ?? 1;
  const workers = options.workers ?? Math.max(2, availableParallelism());
  const figures: Figures = { ...machine() };
  for (const layout of ['pairs', 'anchors'] as Layout[]) {
    const w = await timeSteps('wasm', layout, steps, 3);
    figures[`wasm_${layout}_ms_median`] = round(w.median);
    figures[`wasm_${layout}_ms_min`] = round(w.min);
    figures[`wasm_${layout}_cpu_ms`] = round(w.cpu);
  }
  const dp = await timeDataParallel(workers, steps, 3);
  figures.workers = workers;
  figures.wasm_pool_pairs_ms_median = round(dp.median);
  figures.wasm_pool_pairs_ms_min = round(dp.min);
  // Process CPU time (all threads) per step; divided by the workers: the wall time on idle cores.
  figures.wasm_pool_pairs_cpu_ms = round(dp.cpu);
  figures.wasm_pool_pairs_idle_machine_estimate_ms = round(dp.cpu / workers);
  figures.images_pairs_layout = 2 * PAIRS;
  figures.images_anchors_layout = PAIRS + PAIRS / 2;
  if (cpuSteps > 0) {
    const c = await timeSteps('cpu', 'pairs', cpuSteps, 0);
    figures.cpu_pairs_ms = round(c.median);
    figures.ratio_cpu_over_wasm = round(c.median / (figures.wasm_pairs_ms_median as number), 1);
  }
  figures.pytorch_reference_ms = PYTORCH_MS;
  figures.ratio_wasm_over_pytorch = round((figures.wasm_pairs_ms_median as number) / PYTORCH_MS, 2);
  figures.ratio_wasm_pool_over_pytorch = round((figures.wasm_pool_pairs_ms_median as number) / PYTORCH_MS, 2);
  figures.target_ms = TARGET_MS;
  figures.meets_target = Math.min(figures.wasm_pairs_ms_median as number, figures.wasm_pool_pairs_ms_median as number) <= TARGET_MS;
  figures.meets_target_on_idle_machine_estimate = (figures.wasm_pool_pairs_idle_machine_estimate_ms as number) <= TARGET_MS;
  await initBackend({ force: 'wasm' });
  return figures;
}

if (require.main === module) {
  benchTrainStep({ steps: arg('steps', 20), cpuSteps: flag('no-cpu') ? 0 : arg('cpu-steps', 1), workers: arg('workers', Math.max(2, availableParallelism())) })
    .then((f) => report('engine: small-CNN training step (32 pairs, 28x28)', f))
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
