// Benchmark: embedding time per image on ONNX Runtime (onnxruntime-node, CPU provider; the model
// exported by src/main/engine/onnx) against tfjs wasm (one thread, this one), same process, same
// run, same seeded random weights and images. ONNX Runtime runs with 1 intra-op thread (what a
// session per pool worker gets) and with 2 (one session using both cores). Models: the small CNN at
// 28x28 (issue #12: must not get slower, so single images as well as batches), ResNet18 and
// ResNet50 at 224x224 (issue #12 target for ResNet50: <= 30 ms/image). Each case also checks that
// the two runtimes agree (max |onnx - tfjs| / max |tfjs|).
//
//   npx tsx scripts/bench-engine/onnx-embed.ts [--runs 5] [--skip-resnet50]
import * as tf from '@tensorflow/tfjs';
import { buildSiamese, defaultModelConfig, type ModelConfig } from '../../src/main/engine/models';
import { exportToOnnx, OnnxModelSession } from '../../src/main/engine/onnx';
import { initBackend } from '../../src/main/engine/runtime/backend';
import { arg, flag, machine, median, report, round, type Figures } from './common';

interface EmbedCase {
  /** Prefix of the case's figures. */
  name: string;
  config: ModelConfig;
  batch: number;
}

/** Median over `runs` of the wall time of `run`, after one warm-up call. */
async function medianMs(runs: number, run: () => Promise<unknown>): Promise<number> {
  await run();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return median(times);
}

async function benchCase(c: EmbedCase, runs: number, figures: Figures): Promise<void> {
  const shape = c.config.inputShape;
  const size = c.batch * shape[0] * shape[1] * shape[2];
  const images = new Float32Array(size);
  for (let i = 0; i < size; i++) images[i] = ((i * 2654435761) % 1000) / 1000;

  const model = await buildSiamese(c.config);
  let tfjsEmbedding: Float32Array;
  const embedTfjs = async () => {
    const e = tf.tidy(() => model.embed(tf.tensor4d(images, [c.batch, ...shape])));
    tfjsEmbedding = (await e.data()) as Float32Array;
    e.dispose();
  };
  const tfjsMs = (await medianMs(runs, embedTfjs)) / c.batch;
  let t0 = performance.now();
  const { bytes } = await exportToOnnx(model.net);
  const exportMs = performance.now() - t0;
  model.dispose();

  figures[`${c.name}_tfjs_wasm_1thread_ms`] = round(tfjsMs, 3);
  for (const threads of [1, 2]) {
    t0 = performance.now();
    const session = await OnnxModelSession.create(bytes, { intraOpThreads: threads });
    const createMs = performance.now() - t0;
    try {
      let ortEmbedding: Float32Array = new Float32Array(0);
      const ortMs = (await medianMs(runs, async () => (ortEmbedding = (await session.embed(images, c.batch)).data))) / c.batch;
      figures[`${c.name}_ort_${threads}thread_ms`] = round(ortMs, 3);
      figures[`${c.name}_speedup_ort_${threads}thread`] = round(tfjsMs / ortMs, 2);
      if (threads === 1) {
        // One-off costs, paid once per model version and worker: the export and the session.
        figures[`${c.name}_export_ms`] = round(exportMs, 1);
        figures[`${c.name}_ort_session_create_ms`] = round(createMs, 1);
        let diff = 0;
        let magnitude = 0;
        for (let i = 0; i < ortEmbedding.length; i++) {
          diff = Math.max(diff, Math.abs(ortEmbedding[i] - tfjsEmbedding![i]));
          magnitude = Math.max(magnitude, Math.abs(tfjsEmbedding![i]));
        }
        figures[`${c.name}_max_rel_diff`] = Number((diff / magnitude).toExponential(2));
      }
    } finally {
      await session.release();
    }
  }
}

export async function benchOnnxEmbed(options: { runs?: number; resnet50?: boolean } = {}): Promise<Figures> {
  const runs = options.runs ?? 5;
  const backend = await initBackend({ force: 'wasm' });
  const figures: Figures = { ...machine(), tfjs_backend: backend.name, runs, unit: 'ms per image (median of runs)' };
  const small = defaultModelConfig({ arch: 'small', inputShape: [28, 28, 1], seed: 1 });
  const cases: EmbedCase[] = [
    { name: 'small28_batch1', config: small, batch: 1 },
    { name: 'small28_batch64', config: small, batch: 64 },
    { name: 'resnet18_224_batch4', config: defaultModelConfig({ arch: 'resnet18', inputShape: [224, 224, 3], seed: 1 }), batch: 4 },
  ];
  if (options.resnet50 !== false)
    cases.push({
      name: 'resnet50_224_batch4',
      config: defaultModelConfig({ arch: 'resnet50', inputShape: [224, 224, 3], seed: 1 }),
      batch: 4,
    });
  for (const c of cases) await benchCase(c, runs, figures);
  return figures;
}

if (require.main === module) {
  benchOnnxEmbed({ runs: arg('runs', 5), resnet50: !flag('skip-resnet50') })
    .then((f) => report('engine: embedding on ONNX Runtime vs tfjs wasm', f))
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
