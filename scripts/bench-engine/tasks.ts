// Worker tasks of the engine benchmarks, imported by the pool's workers through `modules`.
import * as tf from '@tensorflow/tfjs';
import { contrastiveLoss } from '../../src/main/engine/loss';
import { buildSiamese, type ModelConfig } from '../../src/main/engine/models';
import { registerTask } from '../../src/main/engine/pool/tasks';

/** Embeds `count` images (rows of H*W*C floats) with a freshly built (seeded) model, cached per worker. */
registerTask('bench.embed', async (p: { config: ModelConfig; rows: Float32Array; count: number }, ctx) => {
  const model = await ctx.cache(`bench.model:${JSON.stringify(p.config)}`, () => buildSiamese(p.config));
  const [h, w, c] = p.config.inputShape;
  const e = tf.tidy(() => model.embed(tf.tensor4d(p.rows, [p.count, h, w, c])));
  const out = (await e.data()) as Float32Array;
  e.dispose();
  return out;
});

// Data-parallel training, as a measurement of what both cores give (a template for the trainer):
// every worker holds an identical replica and its own Adam; per step each computes the gradients
// of its share of the batch, the caller averages them, and every worker applies the average.
interface Replica {
  model: Awaited<ReturnType<typeof buildSiamese>>;
  optimizer: tf.Optimizer;
  vars: tf.Variable[];
}

registerTask('bench.dp.init', async (p: { config: ModelConfig; learningRate: number }, ctx) => {
  const replica = await ctx.cache<Replica>(`bench.dp:${JSON.stringify(p.config)}`, async () => {
    const model = await buildSiamese(p.config);
    return { model, optimizer: tf.train.adam(p.learningRate), vars: model.net.trainableWeights.map((w) => w.read() as tf.Variable) };
  });
  return replica.vars.reduce((n, v) => n + v.size, 0);
});

registerTask('bench.dp.grads', async (p: { config: ModelConfig; rows: Float32Array; pairs: number; labels: Float32Array }, ctx) => {
  const { model, vars } = await ctx.cache<Replica>(`bench.dp:${JSON.stringify(p.config)}`, () => {
    throw new Error('bench.dp.init first');
  });
  const [h, w, c] = p.config.inputShape;
  const dim = p.config.embeddingSize;
  const { value, grads } = tf.variableGrads(() => {
    const e = model.embed(tf.tensor4d(p.rows, [2 * p.pairs, h, w, c]), true);
    const e1 = tf.slice(e, [0, 0], [p.pairs, dim]) as tf.Tensor2D;
    const e2 = tf.slice(e, [p.pairs, 0], [p.pairs, dim]) as tf.Tensor2D;
    return contrastiveLoss(e1, e2, tf.tensor1d(p.labels), p.config.margin);
  }, vars);
  const flat = new Float32Array(vars.reduce((n, v) => n + v.size, 0));
  let o = 0;
  for (const v of vars) {
    flat.set(grads[v.name].dataSync(), o);
    o += v.size;
  }
  const loss = (await value.data())[0];
  tf.dispose([value, ...Object.values(grads)]);
  return { loss, grads: flat };
});

registerTask('bench.dp.apply', async (p: { config: ModelConfig; grads: Float32Array }, ctx) => {
  const { optimizer, vars } = await ctx.cache<Replica>(`bench.dp:${JSON.stringify(p.config)}`, () => {
    throw new Error('bench.dp.init first');
  });
  let o = 0;
  const named: tf.NamedTensorMap = {};
  for (const v of vars) {
    named[v.name] = tf.tensor(p.grads.subarray(o, o + v.size), v.shape);
    o += v.size;
  }
  optimizer.applyGradients(named);
  tf.dispose(Object.values(named));
  return o;
});
