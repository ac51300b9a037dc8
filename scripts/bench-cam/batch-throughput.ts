// Benchmark: batch throughput of pair Grad-CAM (both images, factual + counterfactual, one forward +
// one backward per batch of pairs) for ResNet50 at 224x224x3 (random seeded weights: timing only)
// on wasm: one thread (this one) as the baseline, against the engine's worker pool (one wasm
// backend per worker, default one worker per core) running the app's own 'explain.pairs' task
// (src/main/engine/explain/pairs.ts) on a model folder saved here with saveSiamese, in the same run.
// Both sides use the same pairs per forward + backward, so the pool's maps must equal the
// single-thread ones. Reference (issue 4): single-pair latency on one thread ~490 ms; target
// < 350 ms per pair using both cores.
//
//   npx tsx scripts/bench-cam/batch-throughput.ts [--pairs 8] [--workers 2]
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/main/engine/runtime/backend';
import { explainPairs, type ExplainedPair, type PairBatch } from '../../src/main/engine/explain/pairs';
import type { ExplainTaskPayload } from '../../src/main/engine/explain/tasks';
import { buildSiamese, defaultModelConfig, saveSiamese } from '../../src/main/engine/models';
import { toCamModel } from '../../src/main/engine/explain';
import { parallelMap, WorkerPool } from '../../src/main/engine/runtime/pool';
import { arg, machine, report, round, type Figures } from '../bench-engine/common';
import type { EngineTasks } from '../../src/main/engine/tasks';

const TARGET_MS = 350;
const SHAPE: [number, number, number] = [224, 224, 3];
const SIZE = SHAPE[0] * SHAPE[1] * SHAPE[2];
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

/** Pairs [start, end) of n pairs over 2n images (pair k = images 2k, 2k+1) as a self-contained batch. */
function pairBatch(pixels: Float32Array, start: number, end: number): PairBatch {
  const n = end - start;
  return {
    shape: SHAPE,
    pixels: pixels.slice(2 * start * SIZE, 2 * end * SIZE), // own buffer: transferable
    a: Int32Array.from({ length: n }, (_, i) => 2 * i),
    b: Int32Array.from({ length: n }, (_, i) => 2 * i + 1),
  };
}

function maxAbsDiff(ref: ExplainedPair[], got: ExplainedPair[]): { maps: number; score: number } {
  if (ref.length !== got.length) throw new Error(`pool returned ${got.length} pairs, expected ${ref.length}`);
  let maps = 0;
  let score = 0;
  for (let k = 0; k < ref.length; k++) {
    score = Math.max(score, Math.abs(ref[k].score - got[k].score));
    for (let m = 0; m < 4; m++) {
      const r = ref[k].maps[m];
      const g = got[k].maps[m];
      if (r === null || g === null) {
        if (r !== g) throw new Error(`pair ${k} map ${m}: defined on one side only`);
        continue;
      }
      if (r.length !== g.length) throw new Error(`pair ${k} map ${m}: ${g.length} values, expected ${r.length}`);
      for (let i = 0; i < r.length; i++) maps = Math.max(maps, Math.abs(r[i] - g[i]));
    }
  }
  return { maps, score };
}

export async function benchExplainBatch(options: { pairs?: number; workers?: number } = {}): Promise<Figures> {
  const pairs = Math.max(1, Math.floor(options.pairs ?? 8));
  const workers = Math.max(1, Math.floor(options.workers ?? Math.max(2, availableParallelism())));
  // one chunk per worker, each explained in one forward + backward; the baseline batches alike
  const perBatch = Math.ceil(pairs / workers);
  const config = defaultModelConfig({ arch: 'resnet50', inputShape: SHAPE, seed: 1 });
  const pixels = new Float32Array(2 * pairs * SIZE);
  for (let i = 0; i < pixels.length; i++) pixels[i] = ((i * 2654435761) % 1000) / 1000;
  const all = pairBatch(pixels, 0, pairs);
  const figures: Figures = { ...machine(), pairs, workers, pairs_per_forward_backward: perBatch };

  const dir = mkdtempSync(join(tmpdir(), 'simlens-bench-cam-'));
  try {
    // Baseline: one thread, wasm, the same model the workers load (saved, then used from memory).
    await initBackend({ force: 'wasm' });
    const siamese = await buildSiamese(config);
    const modelDir = join(dir, 'model');
    await saveSiamese(siamese, modelDir);
    const cam = toCamModel(siamese);
    figures.layer = cam.layer;
    await explainPairs(cam, pairBatch(pixels, 0, Math.min(pairs, perBatch)), 'gradcam', { batchSize: perBatch }); // warm-up
    let cpu0 = process.cpuUsage();
    let t0 = performance.now();
    const single = await explainPairs(cam, all, 'gradcam', { batchSize: perBatch });
    const singleMs = (performance.now() - t0) / pairs;
    figures.single_thread_ms_per_pair = round(singleMs);
    figures.single_thread_cpu_ms_per_pair = round(cpuMs(process.cpuUsage(cpu0)) / pairs);
    siamese.dispose();

    // The pool: every worker loads the model folder once and warms up (broadcast), then the pairs
    // are split into one chunk per worker.
    const pool = new WorkerPool<EngineTasks>({ size: workers, backend: 'wasm' });
    try {
      await pool.ready();
      const common = { modelDir, modelKey: `bench:${modelDir}`, layer: cam.layer, method: 'gradcam' as const, batchSize: perBatch };
      t0 = performance.now();
      await pool.broadcast('explain.pairs', { ...pairBatch(pixels, 0, Math.min(pairs, perBatch)), ...common } satisfies ExplainTaskPayload);
      figures.pool_load_and_warmup_s = round((performance.now() - t0) / 1000, 2);
      cpu0 = process.cpuUsage();
      t0 = performance.now();
      const parts = await parallelMap(
        pool,
        'explain.pairs',
        pairs,
        (start, end) => {
          const batch = pairBatch(pixels, start, end);
          return { payload: { ...batch, ...common }, transfer: [batch.pixels.buffer as ArrayBuffer] };
        },
        { chunkSize: perBatch },
      );
      const poolMs = (performance.now() - t0) / pairs;
      const poolCpu = cpuMs(process.cpuUsage(cpu0)) / pairs;
      figures.pool_ms_per_pair = round(poolMs);
      figures.speedup = round(singleMs / poolMs, 2);
      // CPU time of the whole process (all threads) per pair; divided by the workers: the wall
      // time on otherwise idle cores.
      figures.pool_cpu_ms_per_pair = round(poolCpu);
      figures.pool_idle_machine_estimate_ms_per_pair = round(poolCpu / workers);
      // Same model, same backend, same batching: the pool's maps equal the single-thread ones.
      const diff = maxAbsDiff(
        single,
        parts.flatMap((p) => p.result.pairs),
      );
      figures.max_abs_diff_maps_vs_single = diff.maps;
      figures.max_abs_diff_score_vs_single = diff.score;
    } finally {
      await pool.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  figures.target_ms_per_pair = TARGET_MS;
  figures.meets_target = (figures.pool_ms_per_pair as number) < TARGET_MS;
  figures.meets_target_on_idle_machine_estimate = (figures.pool_idle_machine_estimate_ms_per_pair as number) < TARGET_MS;
  return figures;
}

if (require.main === module) {
  benchExplainBatch({ pairs: arg('pairs', 8), workers: arg('workers', Math.max(2, availableParallelism())) })
    .then((f) => report('explain: pair Grad-CAM batch throughput, ResNet50 (224x224x3)', f))
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
