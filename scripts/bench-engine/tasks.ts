// Worker tasks of the engine benchmarks, imported by the pool's workers through `modules`.
import * as tf from '@tensorflow/tfjs';
import { buildSiamese, type ModelConfig } from '../../src/main/engine/models';
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
  /** The worker's inference engine (SIMLENS_INFER of its environment) and ONNX Runtime threads per session. */
  'bench.inference': async () => ({ engine: (await initInference()).name, ortThreads: ortThreads() }),
});

registerTasks(benchTasks);

export type BenchTasks = typeof benchTasks;
