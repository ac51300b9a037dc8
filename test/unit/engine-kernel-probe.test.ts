// Probe: can every layer type the SimLens models use be TRAINED on wasm? For each one, the
// gradients of sum(layer(x) * r) w.r.t. the input and every trainable weight are computed on wasm
// (with SimLens's kernels registered by initBackend) and on tfjs's reference 'cpu' backend, from the
// same weights. Tolerance: max |wasm - cpu| <= TOL * max(1, max |cpu|) per gradient tensor, 1e-4
// for single layers, 1e-3 for whole networks (BatchNorm divides by small batch deviations).
// Also: no tensor leak on wasm. The kernels found missing in tfjs-backend-wasm 4.22 this way were
// Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter and DepthwiseConv2dNativeBackpropInput.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/main/engine/runtime/backend';
import { buildSiamese, defaultModelConfig, type Arch } from '../../src/main/engine/models';

function rand(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 4294967296) * 2 - 1;
  }
  return out;
}

interface Grads {
  dx: Float32Array;
  dw: Map<string, Float32Array>;
}

/** Gradients of sum(model(x, training) * r) w.r.t. x and every trainable weight, in one backward pass. */
function gradsOf(model: tf.LayersModel, xShape: number[], weights: Float32Array[] | null): { g: Grads; weights: Float32Array[] } {
  const init = weights ?? model.getWeights().map((w, i) => rand(w.size, 100 + i).map((v) => v * 0.5));
  const initTensors = init.map((w, i) => tf.tensor(w, model.getWeights()[i].shape));
  model.setWeights(initTensors);
  tf.dispose(initTensors);
  const x0 = tf.tensor(
    rand(
      xShape.reduce((a, b) => a * b, 1),
      1,
    ),
    xShape,
  );
  const x = tf.variable(x0, true, `probe_x_${tf.getBackend()}_${Date.now()}`);
  x0.dispose();
  const outShape = (model.outputs[0].shape as number[]).map((d) => (d === null ? xShape[0] : d));
  const r = tf.tensor(
    rand(
      outShape.reduce((a, b) => a * b, 1),
      2,
    ),
    outShape,
  );
  const vars = [x, ...model.trainableWeights.map((w) => w.read() as tf.Variable)];
  const { grads, value } = tf.variableGrads(() => tf.sum(tf.mul(model.apply(x, { training: true }) as tf.Tensor, r)) as tf.Scalar, vars);
  const dw = new Map<string, Float32Array>();
  model.trainableWeights.forEach((w, i) =>
    dw.set(`${i}:${w.name.split('/').slice(-1)[0].replace(/_\d+$/, '')}`, grads[vars[i + 1].name].dataSync() as Float32Array),
  );
  const g: Grads = { dx: grads[x.name].dataSync() as Float32Array, dw };
  tf.dispose([x, r, value, ...Object.values(grads)]);
  return { g, weights: init };
}

function relErr(a: Float32Array, ref: Float32Array): number {
  let err = 0;
  let mag = 1;
  for (let i = 0; i < ref.length; i++) {
    err = Math.max(err, Math.abs(a[i] - ref[i]));
    mag = Math.max(mag, Math.abs(ref[i]));
  }
  return err / mag;
}

/** What a probe compared: the worst relative error, the gradient tensors compared, the largest cpu gradient entry. */
interface Probe {
  worst: number;
  trainable: number;
  compared: number;
  magnitude: number;
}

async function probe(build: () => tf.LayersModel | Promise<tf.LayersModel>, xShape: number[], tol = 1e-4): Promise<Probe> {
  tf.setBackend('cpu');
  const cpuModel = await build();
  const trainable = cpuModel.trainableWeights.length;
  const ref = gradsOf(cpuModel, xShape, null);
  cpuModel.dispose();
  tf.setBackend('wasm');
  const before = tf.memory().numTensors;
  const wasmModel = await build();
  const got = gradsOf(wasmModel, xShape, ref.weights);
  wasmModel.dispose();
  expect(tf.memory().numTensors).toBe(before);
  let worst = relErr(got.g.dx, ref.g.dx);
  expect([...got.g.dw.keys()]).toEqual([...ref.g.dw.keys()]);
  for (const [name, refW] of ref.g.dw) {
    const e = relErr(got.g.dw.get(name)!, refW);
    if (process.env.PROBE_DEBUG && e > tol / 10) console.log(name, e);
    worst = Math.max(worst, e);
  }
  expect(worst).toBeLessThan(tol);
  let magnitude = 0;
  for (const g of [ref.g.dx, ...ref.g.dw.values()]) for (const v of g) magnitude = Math.max(magnitude, Math.abs(v));
  return { worst, trainable, compared: 1 + ref.g.dw.size, magnitude };
}

/** A one-layer (or one-block) model on [b, h, w, c] inputs. */
function single(shape: number[], layer: (x: tf.SymbolicTensor) => tf.SymbolicTensor): () => tf.LayersModel {
  return () => {
    const input = tf.input({ shape: shape.slice(1) });
    return tf.model({ inputs: input, outputs: layer(input) });
  };
}
const ap = (l: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) => l.apply(x) as tf.SymbolicTensor;

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
});

describe('training gradients on wasm match cpu, per layer type', () => {
  const s = [4, 9, 9, 3];
  const cases: Array<[string, number[], (x: tf.SymbolicTensor) => tf.SymbolicTensor]> = [
    [
      'Conv2D 3x3 same + bias + relu',
      s,
      (x) => ap(tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }), x),
    ],
    ['Conv2D 3x3 stride 2 valid, no bias', s, (x) => ap(tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, useBias: false }), x)],
    ['Conv2D 1x1 stride 2 (projection shortcut)', [4, 8, 8, 8], (x) => ap(tf.layers.conv2d({ filters: 4, kernelSize: 1, strides: 2 }), x)],
    [
      'Conv2D 7x7 stride 2 same (ResNet stem)',
      [2, 16, 16, 3],
      (x) => ap(tf.layers.conv2d({ filters: 8, kernelSize: 7, strides: 2, padding: 'same' }), x),
    ],
    ['DepthwiseConv2D 3x3 stride 1 same', s, (x) => ap(tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false }), x)],
    [
      'DepthwiseConv2D 3x3 stride 2 same',
      [4, 8, 8, 8],
      (x) => ap(tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same' }), x),
    ],
    ['DepthwiseConv2D multiplier 2', s, (x) => ap(tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2 }), x)],
    ['MaxPooling2D 2x2', [4, 8, 8, 3], (x) => ap(tf.layers.maxPooling2d({ poolSize: 2 }), x)],
    ['MaxPooling2D 3x3 stride 2 same', s, (x) => ap(tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }), x)],
    ['AveragePooling2D 2x2', [4, 8, 8, 3], (x) => ap(tf.layers.averagePooling2d({ poolSize: 2 }), x)],
    ['AveragePooling2D 3x3 stride 2 same', s, (x) => ap(tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }), x)],
    ['BatchNormalization (training)', s, (x) => ap(tf.layers.batchNormalization({ epsilon: 1e-3 }), x)],
    ['ReLU6', s, (x) => ap(tf.layers.activation({ activation: 'relu6' }), ap(tf.layers.conv2d({ filters: 4, kernelSize: 1 }), x))],
    ['ReLU layer', s, (x) => ap(tf.layers.reLU(), ap(tf.layers.conv2d({ filters: 4, kernelSize: 1 }), x))],
    [
      'ZeroPadding2D + conv',
      s,
      (x) =>
        ap(
          tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2 }),
          ap(
            tf.layers.zeroPadding2d({
              padding: [
                [1, 0],
                [1, 0],
              ],
            }),
            x,
          ),
        ),
    ],
    [
      'GlobalAveragePooling2D + Dense',
      s,
      (x) => ap(tf.layers.dense({ units: 5, activation: 'relu' }), ap(tf.layers.globalAveragePooling2d({}), x)),
    ],
    ['Flatten + Dense', s, (x) => ap(tf.layers.dense({ units: 7 }), ap(tf.layers.flatten(), x))],
    ['add (residual)', s, (x) => ap(tf.layers.add(), [x, ap(tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }), x)])],
  ];
  for (const [name, shape, layer] of cases) {
    it(name, async () => {
      const p = await probe(single(shape, layer), shape);
      expect(p.compared).toBe(1 + p.trainable);
      expect(p.magnitude).toBeGreaterThan(1e-3);
    });
  }
});

describe('whole SimLens networks train on wasm (gradients match cpu)', () => {
  // MobileNetV2 at 32 px (not 16): at 16 px its last BatchNorms see 1x1 maps of a batch of 2, i.e.
  // two values, whose normalised outputs are exactly +-1; the true input gradient is then 0 and
  // both backends return only amplified rounding noise.
  const nets: Array<[Arch, number[], number]> = [
    ['small', [4, 28, 28, 1], 0.25],
    ['mobilenetv2', [2, 32, 32, 3], 0.35],
    ['resnet18', [2, 16, 16, 3], 0.125],
  ];
  for (const [arch, shape, width] of nets) {
    it(`${arch} (width ${width}, input ${shape.slice(1).join('x')})`, async () => {
      const cfg = defaultModelConfig({
        arch,
        inputShape: shape.slice(1) as [number, number, number],
        width,
        embeddingSize: 8,
        headUnits: 16,
      });
      const p = await probe(async () => (await buildSiamese(cfg)).net, shape, 1e-3);
      // the comparison was not vacuous: the input's and every trainable weight's gradient, not all zero
      expect(p.trainable).toBeGreaterThan(0);
      expect(p.compared).toBe(1 + p.trainable);
      expect(p.magnitude).toBeGreaterThan(1e-3);
    });
  }
});
