// Benchmark: ONE training step (forward + backward + Adam update, contrastive loss) of the small
// CNN (conv32-conv32-pool-conv64-conv64-pool-dense128-dense64, 3x3 'same') on 32 pairs of 28x28x1
// images, on the wasm backend (with SimLens's kernels) against the pure-JS 'cpu' backend measured in
// the same run. Reference (ENVIRONMENT.md / issue 3): PyTorch CPU on 2 threads ~37 ms; target
// <= 55 ms (1.5x).
//
// Two layouts of the 32 pairs: 'pairs' = 64 images (x1, x2 per pair, as the PyTorch reference);
// 'anchors' = 48 images (16 anchors + a positive and a negative partner each, as
// src/main/engine/train/trainer.ts batches them).
//
// Arithmetic floor: 64 images x 3 x 37.4 MFLOP (forward) = 7.2 GFLOP per step; XNNPACK on wasm
// SIMD128 (no FMA) peaks near 40-45 GFLOP/s per core here, so >= ~165 ms per core; PyTorch's 37 ms
// is ~195 GFLOP/s (AVX-512 FMA, 2 threads). The 55 ms target is out of reach on wasm on this CPU.
//
// Also measured: the same step data-parallel over the engine's worker pool, through the REAL
// trainer's code path (engine/train/data-parallel.ts: one replica per worker, each computing
// the gradients of its share of the anchors; the pair-weighted average is applied by every
// replica's own Adam), i.e. what both cores give. The single-thread figures time the trainer's
// local step runner (src/main/engine/train/trainer.ts: localStepRunner).
//
//   npx tsx scripts/bench-engine/train-step.ts [--steps 20] [--cpu-steps 1] [--no-cpu] [--workers 2]
import { availableParallelism } from 'node:os';
import { initBackend } from '../../src/main/engine/runtime/backend';
import { buildSiamese, defaultModelConfig } from '../../src/main/engine/models';
import { WorkerPool } from '../../src/main/engine/runtime/pool';
import { localStepRunner, type StepBatch, type StepRunner } from '../../src/main/engine/train/trainer';
import { createDataParallelRunner } from '../../src/main/engine/train/data-parallel';
import { arg, flag, machine, median, report, round, type Figures } from './common';
import type { EngineTasks } from '../../src/main/engine/tasks';

const PYTORCH_MS = 37;
const TARGET_MS = 55;
const PAIRS = 32;
/** The trainer's default batch (TrainConfig.batchSize): 128 pairs = 64 anchors + partners, 192 images. */
const TRAINER_PAIRS = 128;
const CONFIG = defaultModelConfig({ arch: 'small', inputShape: [28, 28, 1], embeddingSize: 64, seed: 1 });

type Layout = 'pairs' | 'anchors';

/** `pairs` pairs as the trainer batches them: 'pairs' = [a(P); b(P)]; 'anchors' = [a(P/2); pos(P/2); neg(P/2)]. */
function makeBatch(layout: Layout, pairs = PAIRS): StepBatch {
  const anchors = layout === 'pairs' ? pairs : pairs / 2;
  const count = layout === 'pairs' ? 2 * pairs : pairs + pairs / 2;
  const images = new Float32Array(count * 28 * 28).map((_, i) => ((i * 7919) % 255) / 255); // [count, 28, 28, 1]
  const labels = Float32Array.from({ length: pairs }, (_, i) => (layout === 'anchors' ? (i < pairs / 2 ? 1 : 0) : i % 2));
  return { images, count, anchors, labels };
}

async function timeRunner(
  runner: StepRunner,
  layout: Layout,
  steps: number,
  warmup: number,
  pairs = PAIRS,
): Promise<{ median: number; min: number; cpu: number }> {
  const batch = makeBatch(layout, pairs);
  const step = async () => {
    const t0 = performance.now();
    await runner.step(batch, 1e-3);
    return performance.now() - t0;
  };
  for (let i = 0; i < warmup; i++) await step();
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < steps; i++) times.push(await step());
  return { median: median(times), min: Math.min(...times), cpu: cpuMs(process.cpuUsage(cpu0)) / steps };
}

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

async function timeSteps(
  backend: 'wasm' | 'cpu',
  layout: Layout,
  steps: number,
  warmup: number,
  pairs = PAIRS,
): Promise<{ median: number; min: number; cpu: number }> {
  await initBackend({ force: backend });
  const model = await buildSiamese(CONFIG);
  const runner = localStepRunner(model, { learningRate: 1e-3, margin: CONFIG.margin });
  try {
    return await timeRunner(runner, layout, steps, warmup, pairs);
  } finally {
    await runner.dispose();
    model.dispose();
  }
}

/** The trainer's data-parallel step over a pool of `workers` wasm workers, for each layout. */
async function timeDataParallel(
  workers: number,
  steps: number,
  warmup: number,
): Promise<Record<Layout | 'trainer', { median: number; min: number; cpu: number }>> {
  const pool = new WorkerPool<EngineTasks>({ size: workers, backend: 'wasm' });
  try {
    await pool.ready();
    const runner = await createDataParallelRunner(pool, { model: CONFIG, learningRate: 1e-3, margin: CONFIG.margin });
    try {
      return {
        pairs: await timeRunner(runner, 'pairs', steps, warmup),
        anchors: await timeRunner(runner, 'anchors', steps, warmup),
        trainer: await timeRunner(runner, 'anchors', Math.ceil(steps / 2), 2, TRAINER_PAIRS),
      };
    } finally {
      await runner.dispose();
    }
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
  for (const layout of ['pairs', 'anchors'] as Layout[]) {
    figures[`wasm_pool_${layout}_ms_median`] = round(dp[layout].median);
    figures[`wasm_pool_${layout}_ms_min`] = round(dp[layout].min);
    // Process CPU time (all threads) per step; divided by the workers: the wall time on idle cores.
    figures[`wasm_pool_${layout}_cpu_ms`] = round(dp[layout].cpu);
    figures[`wasm_pool_${layout}_idle_machine_estimate_ms`] = round(dp[layout].cpu / workers);
    figures[`speedup_${layout}`] = round((figures[`wasm_${layout}_ms_median`] as number) / dp[layout].median, 2);
  }
  // the trainer's default batch (128 pairs, anchor layout): shares of 32 anchors per worker
  const t = await timeSteps('wasm', 'anchors', Math.ceil(steps / 2), 2, TRAINER_PAIRS);
  figures.wasm_batch128_anchors_ms_median = round(t.median);
  figures.wasm_pool_batch128_anchors_ms_median = round(dp.trainer.median);
  figures.wasm_pool_batch128_anchors_cpu_ms = round(dp.trainer.cpu);
  figures.speedup_batch128_anchors = round(t.median / dp.trainer.median, 2);
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
  benchTrainStep({
    steps: arg('steps', 20),
    cpuSteps: flag('no-cpu') ? 0 : arg('cpu-steps', 1),
    workers: arg('workers', Math.max(2, availableParallelism())),
  })
    .then((f) => report('engine: small-CNN training step (32 pairs, 28x28)', f))
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
