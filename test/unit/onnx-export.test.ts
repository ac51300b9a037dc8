// The ONNX exporter (src/main/engine/onnx) on real SimLens networks: ONNX Runtime's embedding
// equals tfjs' within 1e-4 of the embedding's magnitude, the exposed activations equal tfjs'
// feature maps, the files pass the reference ONNX checker, and an unsupported layer is named.
// Biases and BatchNorm statistics are randomised first: their initial values (zeros, ones) would
// hide a converter that mixes up gamma and beta, or drops a bias.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSiamese, defaultModelConfig, loadSiamese, type ModelConfig } from '../../src/main/engine/models';
import { saveLayersModel } from '../../src/main/engine/runtime/model-io';
import { activationsOutput, exportToOnnx, ONNX_EMBEDDING, OnnxExportError, OnnxModelSession } from '../../src/main/engine/onnx';
import { permuteAxes } from '../../src/main/engine/onnx/permute';
import { checkOnnxFile, findOnnxChecker } from './onnx-checker';

const dir = mkdtempSync(join(tmpdir(), 'simlens-onnx-'));
const exportedFiles: string[] = [];

beforeAll(async () => {
  // The pure-JS backend: the reference every other backend is checked against.
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Deterministic stand-ins for trained values in every rank-1 weight (biases, BN gamma/beta/mean/variance). */
function randomizeVectorWeights(net: tf.LayersModel, seed: number): void {
  let n = seed;
  for (const layer of net.layers) {
    const weights = layer.getWeights();
    if (!weights.some((w) => w.rank === 1)) continue;
    const fresh = layer.weights.map((v, i) => {
      const w = weights[i];
      if (w.rank !== 1) return w.clone();
      // Variances must stay positive; everything else may take either sign.
      const [lo, hi] = v.originalName.endsWith('moving_variance') ? [0.5, 2] : v.originalName.endsWith('gamma') ? [0.5, 1.5] : [-0.5, 0.5];
      return tf.randomUniform(w.shape, lo, hi, 'float32', n++);
    });
    layer.setWeights(fresh);
    tf.dispose(fresh);
  }
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/**
 * Exports `net`, runs a batch of 3 images through ONNX Runtime and tfjs, and compares the embedding
 * (and the activations of `activationLayer`). Returns the relative differences; writes the file for the checker.
 */
async function compareWithTfjs(
  net: tf.LayersModel,
  fileName: string,
  activationLayer?: string,
): Promise<{ embedding: number; activations?: number }> {
  const before = tf.memory().numTensors;
  const exported = await exportToOnnx(net, { activationLayers: activationLayer ? [activationLayer] : [] });
  expect(tf.memory().numTensors).toBe(before); // reading the weights leaks no tensor
  const path = join(dir, fileName);
  writeFileSync(path, exported.bytes);
  exportedFiles.push(path);

  const inputShape = net.inputs[0].shape.slice(1) as number[];
  expect(exported.inputShape).toEqual(inputShape);
  const x = tf.randomUniform([3, ...inputShape], 0, 1, 'float32', 11);
  const session = await OnnxModelSession.create(exported.bytes);
  try {
    const names = [ONNX_EMBEDDING, ...(activationLayer ? [activationsOutput(activationLayer)] : [])];
    const out = await session.run((await x.data()) as Float32Array, 3, names);
    const tfjsEmbedding = net.predict(x) as tf.Tensor;
    const expected = await tfjsEmbedding.data();
    const got = out.get(ONNX_EMBEDDING)!;
    expect(got.dims).toEqual(tfjsEmbedding.shape);
    const result: { embedding: number; activations?: number } = { embedding: maxAbsDiff(got.data, expected) / maxAbs(expected) };
    tfjsEmbedding.dispose();
    if (activationLayer) {
      const features = tf.model({ inputs: net.inputs, outputs: net.getLayer(activationLayer).getOutputAt(0) as tf.SymbolicTensor });
      const a = features.predict(x) as tf.Tensor;
      const acts = out.get(activationsOutput(activationLayer))!;
      expect(acts.dims).toEqual(a.shape); // NHWC, as tfjs
      const aData = await a.data();
      result.activations = maxAbsDiff(acts.data, aData) / maxAbs(aData);
      a.dispose();
    }
    return result;
  } finally {
    x.dispose();
    await session.release();
  }
}

async function checkArchitecture(cfg: ModelConfig, fileName: string) {
  const m = await buildSiamese(cfg);
  try {
    randomizeVectorWeights(m.net, cfg.seed + 100);
    const diff = await compareWithTfjs(m.net, fileName, m.defaultCamLayer());
    expect(diff.embedding).toBeLessThanOrEqual(1e-4);
    expect(diff.activations).toBeLessThanOrEqual(1e-4);
  } finally {
    m.dispose();
  }
}

describe('ONNX export of SimLens architectures: ONNX Runtime embedding == tfjs embedding', () => {
  const small = (extra: Partial<ModelConfig>) => defaultModelConfig({ inputShape: [28, 28, 1], width: 0.25, embeddingSize: 16, ...extra });

  it('small CNN 28x28, flatten head, conv bias on', () => checkArchitecture(small({ seed: 1 }), 'small-flatten-bias.onnx'));
  it('small CNN 28x28, flatten head, conv bias off', () =>
    checkArchitecture(small({ seed: 2, convBias: false }), 'small-flatten-nobias.onnx'));
  it('small CNN 28x28, GAP head, conv bias on', () => checkArchitecture(small({ seed: 3, head: 'gap' }), 'small-gap-bias.onnx'));
  it('small CNN 28x28, GAP head, conv bias off', () =>
    checkArchitecture(small({ seed: 4, head: 'gap', convBias: false }), 'small-gap-nobias.onnx'));
  it('small CNN 20x20x3 with "tf" input preprocessing', () =>
    checkArchitecture(defaultModelConfig({ inputShape: [20, 20, 3], width: 0.25, seed: 5, preprocess: 'tf' }), 'small-tf.onnx'));
  it('ResNet18 28x28 (3x3 stem), "caffe" preprocessing, BatchNorm with trained-like statistics', () =>
    checkArchitecture(
      defaultModelConfig({ inputShape: [28, 28, 3], arch: 'resnet18', width: 0.25, seed: 6, preprocess: 'caffe' }),
      'resnet18-28.onnx',
    ));
  it('ResNet18 72x72 (7x7/2 stem and 3x3/2 max pool: uneven "same" padding on odd sizes), "torch" preprocessing', () =>
    checkArchitecture(
      defaultModelConfig({ inputShape: [72, 72, 3], arch: 'resnet18', width: 0.125, seed: 7, preprocess: 'torch' }),
      'resnet18-72.onnx',
    ));
  it('ResNet50 32x32 (bottleneck blocks)', () =>
    checkArchitecture(defaultModelConfig({ inputShape: [32, 32, 3], arch: 'resnet50', width: 0.125, seed: 9 }), 'resnet50-32.onnx'));
  it('MobileNetV2 32x32 (depthwise convolutions, ReLU6)', () =>
    checkArchitecture(defaultModelConfig({ inputShape: [32, 32, 3], arch: 'mobilenetv2', width: 0.35, seed: 8 }), 'mobilenetv2-32.onnx'));

  it('the bundled demo model, trained on Fashion-MNIST (resources/demo/model)', async () => {
    const m = await loadSiamese(join(__dirname, '../../resources/demo/model'));
    try {
      const diff = await compareWithTfjs(m.net, 'demo.onnx', m.defaultCamLayer());
      expect(diff.embedding).toBeLessThanOrEqual(1e-4);
      expect(diff.activations).toBeLessThanOrEqual(1e-4);
    } finally {
      m.dispose();
    }
  });

  it('a pretrained backbone (a saved LayersModel with a classifier top) cut at a block, first block frozen, "caffe" preprocessing', async () => {
    const input = tf.input({ shape: [16, 16, 3], name: 'image' });
    let x = input;
    for (const b of [1, 2]) {
      x = tf.layers
        .conv2d({ name: `b${b}_conv`, filters: 6, kernelSize: 3, padding: 'same', useBias: false })
        .apply(x) as tf.SymbolicTensor;
      x = tf.layers.batchNormalization({ name: `b${b}_bn` }).apply(x) as tf.SymbolicTensor;
      x = tf.layers.activation({ name: `b${b}_relu`, activation: 'relu' }).apply(x) as tf.SymbolicTensor;
      x = tf.layers.maxPooling2d({ name: `b${b}_pool`, poolSize: 2 }).apply(x) as tf.SymbolicTensor;
    }
    const top = tf.layers
      .dense({ name: 'classes', units: 3, activation: 'softmax' })
      .apply(tf.layers.flatten().apply(x)) as tf.SymbolicTensor;
    const backbone = tf.model({ inputs: input, outputs: top });
    randomizeVectorWeights(backbone, 70);
    const backboneDir = join(dir, 'backbone');
    await saveLayersModel(backbone, backboneDir);
    backbone.dispose();
    const cfg = defaultModelConfig({
      arch: 'pretrained',
      inputShape: [16, 16, 3],
      embeddingSize: 8,
      headUnits: 16,
      preprocess: 'caffe',
      backbone: { dir: backboneDir, cutLayer: 'b2_relu', frozenBlocks: 1 },
    });
    const m = await buildSiamese(cfg);
    try {
      expect(m.net.layers.map((l) => l.name)).toContain('b2_relu');
      const diff = await compareWithTfjs(m.net, 'pretrained.onnx', 'b2_relu');
      expect(diff.embedding).toBeLessThanOrEqual(1e-4);
      expect(diff.activations).toBeLessThanOrEqual(1e-4);
    } finally {
      m.dispose();
    }
  });

  it('the other converted layers and activations: strided, dilated and "valid" convolutions, average and global max pooling, padding, BN without scale or center and BN of features, ReLU with a cap, Dropout', async () => {
    const input = tf.input({ shape: [15, 13, 2], name: 'input' });
    const seq: tf.layers.Layer[] = [
      tf.layers.zeroPadding2d({
        name: 'pad',
        padding: [
          [1, 2],
          [0, 3],
        ],
      }),
      tf.layers.conv2d({
        name: 'strided',
        filters: 4,
        kernelSize: [3, 2],
        strides: [2, 3],
        padding: 'same',
        activation: 'softmax',
        biasInitializer: 'glorotUniform',
      }),
      tf.layers.conv2d({ name: 'dilated', filters: 5, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'elu' }),
      tf.layers.batchNormalization({ name: 'bn_plain', scale: false, center: false }),
      tf.layers.averagePooling2d({ name: 'avg', poolSize: 3, strides: 2, padding: 'same' }),
      tf.layers.conv2d({ name: 'valid', filters: 6, kernelSize: 2, padding: 'valid', activation: 'selu' }),
      tf.layers.reLU({ name: 'capped', maxValue: 0.7 }),
      tf.layers.dropout({ name: 'drop', rate: 0.5 }),
      tf.layers.globalMaxPooling2d({ name: 'gmp' }),
      tf.layers.dense({ name: 'd_sigmoid', units: 7, activation: 'sigmoid' }),
      tf.layers.dense({ name: 'd_tanh', units: 7, activation: 'tanh' }),
      tf.layers.batchNormalization({ name: 'bn_features' }),
      tf.layers.dense({ name: 'd_softplus', units: 7, activation: 'softplus' }),
      tf.layers.dense({ name: 'd_softsign', units: 7, activation: 'softsign' }),
      tf.layers.dense({ name: 'd_hard', units: 7, activation: 'hardSigmoid' }),
      tf.layers.dense({ name: 'd_swish', units: 7, activation: 'swish' }),
      tf.layers.dense({
        name: 'd_relu6',
        units: 7,
        activation: 'relu6',
        kernelInitializer: tf.initializers.randomUniform({ minval: -4, maxval: 4, seed: 3 }),
      }),
      tf.layers.dense({ name: 'd_nobias', units: 5, useBias: false }),
      tf.layers.dense({ name: 'd_softmax', units: 4, activation: 'softmax' }),
    ];
    const output = seq.reduce((x, layer) => layer.apply(x) as tf.SymbolicTensor, input);
    const net = tf.model({ inputs: input, outputs: output, name: 'zoo' });
    try {
      randomizeVectorWeights(net, 50);
      const diff = await compareWithTfjs(net, 'zoo.onnx', 'valid');
      expect(diff.embedding).toBeLessThanOrEqual(1e-4);
      expect(diff.activations).toBeLessThanOrEqual(1e-4);
    } finally {
      net.dispose();
    }
  });
});

describe('what the exporter refuses', () => {
  it('a layer class it does not convert: OnnxExportError naming the layer and its class', async () => {
    const input = tf.input({ shape: [8, 8, 1] });
    const up = tf.layers.upSampling2d({ name: 'upsample', size: [2, 2] }).apply(input) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 3 }).apply(tf.layers.flatten().apply(up)) as tf.SymbolicTensor;
    const net = tf.model({ inputs: input, outputs: out });
    try {
      const error = await exportToOnnx(net).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OnnxExportError);
      expect((error as OnnxExportError).message).toMatch(
        /^ONNX export: layer "upsample" \(class UpSampling2D\) is not supported by the ONNX exporter \(supported: Conv2D, /,
      );
      expect((error as OnnxExportError).layerName).toBe('upsample');
      expect((error as OnnxExportError).className).toBe('UpSampling2D');
    } finally {
      net.dispose();
    }
  });

  it('an activation it does not convert: names the layer, its class and the activation', async () => {
    const input = tf.input({ shape: [4, 4, 1] });
    const flat = tf.layers.flatten().apply(input);
    const net = tf.model({
      inputs: input,
      outputs: tf.layers.dense({ name: 'gelu_dense', units: 2, activation: 'gelu' }).apply(flat) as tf.SymbolicTensor,
    });
    try {
      await expect(exportToOnnx(net)).rejects.toThrow(
        'ONNX export: layer "gelu_dense" (class Dense) uses activation "gelu", which the exporter does not convert',
      );
    } finally {
      net.dispose();
    }
  });

  it('activations of a layer that is not in the network', async () => {
    const m = await buildSiamese(defaultModelConfig({ inputShape: [8, 8, 1], width: 0.125, embeddingSize: 4 }));
    try {
      await expect(exportToOnnx(m.net, { activationLayers: ['conv9'] })).rejects.toThrow(
        'ONNX export: no layer "conv9" on the path from the input to the embedding',
      );
    } finally {
      m.dispose();
    }
  });
});

describe('the reference ONNX checker', () => {
  it('passes every file exported above (onnx.checker.check_model with full_check)', (ctx) => {
    const checker = findOnnxChecker();
    if (checker.python === null) return ctx.skip(`ONNX checker unavailable: ${checker.reason}`);
    expect(exportedFiles.length).toBe(12);
    for (const path of exportedFiles) expect({ path, error: checkOnnxFile(checker.python, path) }).toEqual({ path, error: '' });
  });
});

describe('permuteAxes', () => {
  it('moves axes like numpy.transpose', () => {
    // a[i, j, k] = 100 i + 10 j + k, shape [2, 3, 2]
    const a = Float32Array.from([0, 1, 10, 11, 20, 21, 100, 101, 110, 111, 120, 121]);
    const t = permuteAxes(a, [2, 3, 2], [2, 0, 1]);
    expect(t.shape).toEqual([2, 2, 3]);
    // t[k, i, j] = a[i, j, k]
    expect([...t.data]).toEqual([0, 10, 20, 100, 110, 120, 1, 11, 21, 101, 111, 121]);
    expect(() => permuteAxes(a, [2, 3, 2], [0, 0, 1])).toThrow('is not a permutation');
  });
});
