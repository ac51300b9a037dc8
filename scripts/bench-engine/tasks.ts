// Worker tasks of the engine benchmarks, imported by the pool's workers through `modules`.
import * as tf from '@tensorflow/tfjs';
import { buildSiamese, type ModelConfig } from '../../src/main/engine/models';
import { loadForInference } from '../../src/main/engine/onnx/accelerator';
import { defineTasks, registerTasks } from '../../src/main/engine/runtime/pool/registry';
import { initInference, ortThreads } from '../../src/main/engine/runtime/inference';

export const benchTasks = defineTasks({
  /** Embeds `count` images (rows of H*W*C floats) with a freshly built (seeded) model, cached per worker. */
  'bench.embed': async (p: { config: ModelConfig; rows: Float32Array; count: number }, ctx) => {
    const model = await ctx.cache(`bench.model:${JSON.stringify(p.config)}`, () => buildSiamese(p.config));
    const [h, w, c] = p.config.inputShape;
    const e = tf.tidy(() => model.embed(tf.tensor4d(p.rows, [p.count, h, w, c])));
    const out = (await e.data()) as Float32Array;
    e.dispose();
    return out;
  },
  /**
   * ONNX Runtime's forward alone of `count` images [count, H, W, C] to the CAM target `layer`
   * (activations and embedding read back; no head, gradient or maps): the hardware's floor under a
   * Grad-CAM batch, which needs exactly this forward of every image. Its own loaded version per
   * worker (cached under the `siamese:bench-floor:` prefix, so the bench's clearCache drops it);
   * the session is the thread's, shared with the explain tasks' load of the same version.
   */
  'bench.ortForward': async (p: { modelDir: string; layer: string; pixels: Float32Array; count: number }, ctx) => {
    const model = await ctx.cache(`siamese:bench-floor:${p.modelDir}`, () => loadForInference(p.modelDir));
    if (!model.accelerator) throw new Error('bench.ortForward: this worker runs tfjs, not ONNX Runtime');
    const out = await model.accelerator.forward(p.layer, p.pixels, [p.count, ...model.config.inputShape]);
    if (!out) throw new Error(`bench.ortForward: ONNX Runtime declined the forward (${model.accelerator.fallbackReason ?? 'no reason'})`);
    return out.activations.data.length;
  },
  /** The worker's inference engine (SIMLENS_INFER of its environment) and ONNX Runtime threads per session. */
  'bench.inference': async () => ({ engine: (await initInference()).name, ortThreads: ortThreads() }),
});

registerTasks(benchTasks);

export type BenchTasks = typeof benchTasks;
