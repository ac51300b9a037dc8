// Benchmark (issue #12): how a batch of pairs reaches ONNX Runtime for the gradient CAMs, in this
// thread, 1 ORT thread (a pool worker's setting), ResNet50 at 224x224, 4 pairs over 8 distinct
// images ordered as subBatch orders them (the first images, then the second ones):
//   tensors   the pairs' images as tfjs tensors, joined and read back for ONNX Runtime
//             (gradientCams: the path of explainPair, and of explainPairs before the change)
//   pixels    the pixel rows themselves as ONNX Runtime's input (gradientCamsOfImages)
//   raw       ONNX Runtime's forward of the 8 images alone (the floor: no head, gradient or maps)
// against each other in the same run, in interleaved rounds. Per batch: the median wall time, the
// CPU time of this thread and of the process's other threads (V8's helper threads mark and sweep
// the heap while this one works; on a machine whose cores ONNX Runtime keeps busy, that time is
// taken from it), read from /proc/self/task (Linux; elsewhere only the wall times), and the
// full garbage collections per batch. The two paths' maps are compared (they must be equal).
//
//   npx tsx scripts/bench-engine/ort-pair-input.ts [--reps 10] [--rounds 3]
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import type { Shape3 } from '../../src/main/engine/data/dataset';
import { toCamModel } from '../../src/main/engine/explain';
import { pairTensors, type PairImages } from '../../src/main/engine/explain/cam-model';
import { gradientCams, gradientCamsOfImages } from '../../src/main/engine/explain/cam/gradcam';
import { buildSiamese, defaultModelConfig, saveSiamese } from '../../src/main/engine/models';
import { loadForInference } from '../../src/main/engine/onnx/accelerator';
import { initBackend } from '../../src/main/engine/runtime/backend';
import { arg, machine, median, report, restoreEnv, round, saveEnv, type Figures } from './common';

const R50: Shape3 = [224, 224, 3];
const PAIRS = 4;

/** CPU ms of each thread of this process (utime + stime, 10 ms ticks), or null off Linux. */
function threadCpu(): Map<string, number> | null {
  try {
    const out = new Map<string, number>();
    for (const task of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(task, (Number(fields[11]) + Number(fields[12])) * 10);
    }
    return out;
  } catch {
    return null;
  }
}

export async function benchOrtPairInput(options: { reps?: number; rounds?: number } = {}): Promise<Figures> {
  const reps = Math.max(1, options.reps ?? 10);
  const rounds = Math.max(1, options.rounds ?? 3);
  const saved = saveEnv('SIMLENS_INFER', 'SIMLENS_ORT_THREADS');
  process.env.SIMLENS_INFER = 'ort';
  process.env.SIMLENS_ORT_THREADS = '1';
  const dir = mkdtempSync(join(tmpdir(), 'simlens-bench-pair-input-'));
  let fullGcs = 0;
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) fullGcs += 1;
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  try {
    const figures: Figures = { ...machine(), pairs: PAIRS, reps, rounds };
    figures.tfjs_backend = (await initBackend({ force: 'wasm' })).name;
    const built = await buildSiamese(defaultModelConfig({ arch: 'resnet50', inputShape: R50, seed: 1 }));
    const modelDir = join(dir, 'resnet50');
    await saveSiamese(built, modelDir);
    built.dispose();
    const model = await loadForInference(modelDir);
    if (!model.accelerator) throw new Error('SIMLENS_INFER=ort gave no ONNX Runtime accelerator');
    const cam = toCamModel(model);
    const size = R50[0] * R50[1] * R50[2];
    const pixels = new Float32Array(2 * PAIRS * size);
    for (let i = 0; i < pixels.length; i++) pixels[i] = ((i * 2654435761) % 1000) / 1000;
    const batch: PairImages = {
      shape: R50,
      pixels,
      a: Int32Array.from({ length: PAIRS }, (_, i) => i),
      b: Int32Array.from({ length: PAIRS }, (_, i) => PAIRS + i),
    };
    const accelerator = model.accelerator;
    const variants = {
      tensors: async () => {
        const [x1, x2] = pairTensors(batch, 0, PAIRS);
        try {
          return (await gradientCams(cam, x1, x2, ['gradcam'])).gradcam;
        } finally {
          tf.dispose([x1, x2]);
        }
      },
      pixels: async () => (await gradientCamsOfImages(cam, batch, ['gradcam'])).gradcam,
      raw: async () => accelerator.forward(cam.layer, pixels, [2 * PAIRS, ...R50]),
    };
    // the maps of the two paths
    const [want, got] = [await variants.tensors(), await variants.pixels()];
    let diff = 0;
    for (const [i, g] of got.entries())
      for (const img of [0, 1] as const)
        for (const dir of ['factual', 'counterfactual'] as const) {
          const [x, y] = [g.images[img][dir]!, want[i].images[img][dir]!];
          for (let k = 0; k < x.length; k++) diff = Math.max(diff, Math.abs(x[k] - y[k]));
        }
    figures.max_abs_map_diff_pixels_vs_tensors = diff;
    const samples: Record<string, { wall: number[]; self: number[]; others: number[]; gcs: number[] }> = {};
    for (const name of Object.keys(variants)) samples[name] = { wall: [], self: [], others: [], gcs: [] };
    for (const run of Object.values(variants)) for (let i = 0; i < 2; i++) await run();
    const selfTask = String(process.pid); // the main thread's task id is the pid
    for (let r = 0; r < rounds; r++)
      for (const [name, run] of Object.entries(variants)) {
        const before = threadCpu();
        const gcsBefore = fullGcs;
        const t0 = performance.now();
        for (let i = 0; i < reps; i++) await run();
        const wall = (performance.now() - t0) / reps;
        // the observer's entries arrive asynchronously: let them in before counting
        await new Promise((resolve) => setTimeout(resolve, 50));
        const after = threadCpu();
        const s = samples[name];
        s.wall.push(wall);
        s.gcs.push((fullGcs - gcsBefore) / reps);
        if (before && after) {
          let others = 0;
          for (const [task, ms] of after) if (task !== selfTask) others += ms - (before.get(task) ?? 0);
          s.self.push(((after.get(selfTask) ?? 0) - (before.get(selfTask) ?? 0)) / reps);
          s.others.push(others / reps);
        }
      }
    for (const [name, s] of Object.entries(samples)) {
      figures[`${name}_ms_per_batch`] = round(median(s.wall), 1);
      figures[`${name}_ms_per_batch_all_rounds`] = s.wall.map((w) => round(w, 1)).join(' ');
      if (s.self.length > 0) {
        figures[`${name}_this_thread_cpu_ms_per_batch`] = round(median(s.self), 1);
        figures[`${name}_other_threads_cpu_ms_per_batch`] = round(median(s.others), 1);
      }
      figures[`${name}_full_gcs_per_batch`] = round(median(s.gcs), 2);
    }
    figures.pixels_saves_ms_per_batch = round(median(samples.tensors.wall) - median(samples.pixels.wall), 1);
    model.dispose();
    return figures;
  } finally {
    gcObserver.disconnect();
    rmSync(dir, { recursive: true, force: true });
    restoreEnv(saved);
  }
}

if (require.main === module) {
  benchOrtPairInput({ reps: arg('reps', 10), rounds: arg('rounds', 3) })
    .then((f) => report('engine: how pairs reach ONNX Runtime (issue #12)', f))
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
