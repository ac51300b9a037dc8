// Benchmark: embedding throughput of ResNet50 (tf.layers, src/main/engine/models, random seeded
// weights: timing only) at 224x224x3 on wasm: one thread (this one) as the baseline, against the
// engine's worker pool (one wasm backend per worker, default one worker per core) splitting the
// images with parallelMapRows, in the same run. Reference (issue 3): PyTorch 2 threads ~55 ms/image;
// single-thread tfjs wasm ~320 ms/image; target <= 160 ms/image using both cores.
//
//   npx tsx scripts/bench-engine/embed-resnet50.ts [--images 16] [--batch 4] [--workers 2]
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/main/engine/runtime/backend';
import { buildSiamese, defaultModelConfig } from '../../src/main/engine/models';
import { parallelMapRows, WorkerPool } from '../../src/main/engine/runtime/pool';
import { arg, machine, report, round, type Figures } from './common';
import type { EngineTasks } from '../../src/main/engine/tasks';
import type { BenchTasks } from './tasks';

const TARGET_MS = 160;
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
const PYTORCH_MS = 55;

export async function benchEmbedResnet50(
  options: { images?: number; batch?: number; workers?: number; singleImages?: number } = {},
): Promise<Figures> {
  const images = options.images ?? 16;
  const batch = options.batch ?? 4;
  const workers = options.workers ?? Math.max(2, availableParallelism());
  const singleImages = options.singleImages ?? Math.min(images, 8);
  const config = defaultModelConfig({ arch: 'resnet50', inputShape: [224, 224, 3], seed: 1 });
  const rowSize = 224 * 224 * 3;
  const data = new Float32Array(images * rowSize);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 2654435761) % 1000) / 1000;
  const figures: Figures = { ...machine(), images, batch, workers };

  // Baseline: one thread, wasm, batches of `batch`.
  await initBackend({ force: 'wasm' });
  const model = await buildSiamese(config);
  const embedBatch = async (start: number, count: number) => {
    const e = tf.tidy(() => model.embed(tf.tensor4d(data.subarray(start * rowSize, (start + count) * rowSize), [count, 224, 224, 3])));
    const out = await e.data();
    e.dispose();
    return out;
  };
  await embedBatch(0, batch); // warm-up (XNNPACK operators, memory)
  let cpu0 = process.cpuUsage();
  let t0 = performance.now();
  const single: Float32Array[] = [];
  for (let s = 0; s < singleImages; s += batch) single.push((await embedBatch(s, Math.min(batch, singleImages - s))) as Float32Array);
  const singleMs = (performance.now() - t0) / singleImages;
  const singleCpu = cpuMs(process.cpuUsage(cpu0)) / singleImages;
  model.dispose();
  figures.single_thread_ms_per_image = round(singleMs);
  figures.single_thread_cpu_ms_per_image = round(singleCpu);

  // The pool: each worker builds the same seeded model once (warm-up), then the images are split.
  const pool = new WorkerPool<BenchTasks & EngineTasks>({ size: workers, backend: 'wasm', modules: [join(__dirname, 'tasks.ts')] });
  try {
    await pool.ready();
    await pool.broadcast('bench.embed', { config, rows: data.slice(0, batch * rowSize), count: batch });
    cpu0 = process.cpuUsage();
    t0 = performance.now();
    const out = await parallelMapRows(pool, 'bench.embed', data, rowSize, { chunkSize: batch, extra: { config } });
    const poolMs = (performance.now() - t0) / images;
    const poolCpu = cpuMs(process.cpuUsage(cpu0)) / images;
    figures.pool_ms_per_image = round(poolMs);
    figures.speedup = round(singleMs / poolMs, 2);
    // CPU time of the whole process (all threads) per image: the pool's overhead, independent of
    // other load on the machine; divided by the workers it is the wall time on otherwise idle cores.
    figures.pool_cpu_ms_per_image = round(poolCpu);
    figures.pool_idle_machine_estimate_ms_per_image = round(poolCpu / workers);
    // Same model, same backend: the pool's embeddings equal the single-thread ones.
    const ref = new Float32Array(single.reduce((n, a) => n + a.length, 0));
    let o = 0;
    for (const a of single) {
      ref.set(a, o);
      o += a.length;
    }
    let maxDiff = 0;
    for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ref[i] - out.data[i]));
    figures.max_abs_diff_vs_single = maxDiff;
  } finally {
    await pool.close();
  }
  figures.pytorch_reference_ms_per_image = PYTORCH_MS;
  figures.target_ms_per_image = TARGET_MS;
  figures.meets_target = (figures.pool_ms_per_image as number) <= TARGET_MS;
  figures.meets_target_on_idle_machine_estimate = (figures.pool_idle_machine_estimate_ms_per_image as number) <= TARGET_MS;
  return figures;
}

if (require.main === module) {
  benchEmbedResnet50({ images: arg('images', 16), batch: arg('batch', 4), workers: arg('workers', Math.max(2, availableParallelism())) })
    .then((f) => report('engine: ResNet50 embedding throughput (224x224x3)', f))
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
