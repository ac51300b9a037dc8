// The ONNX exporter (src/main/engine/onnx) on real SimLens networks: ONNX Runtime's embedding
// equals tfjs' within 1e-4 of the embedding's magnitude, the exposed activations equal tfjs'
// feature maps, the files pass the reference ONNX checker, and an unsupported layer is named.
// Biases and BatchNorm statistics are randomised first: their initial values (zeros, ones) would
// hide a converter that mixes up gamma and beta, or drops a bias.
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSiamese, defaultModelConfig, loadSiamese, type ModelConfig } from '../../src/main/engine/models';
import { saveLayersModel } from '../../src/main/engine/runtime/model-io';
import { exportToOnnx, OnnxExportError } from '../../src/main/engine/onnx';
import { permuteAxes } from '../../src/main/engine/onnx/permute';
import { compareWithTfjs, ExportedFiles, randomizeVectorWeights } from './onnx-compare';

const files = new ExportedFiles();

beforeAll(async () => {
  // The pure-JS backend: the reference every other backend is checked against.
  await tf.setBackend('cpu');
});
afterAll(() => files.remove());

async function checkArchitecture(cfg: ModelConfig, fileName: string) {
  const m = await buildSiamese(cfg);
  try {
    randomizeVectorWeights(m.net, cfg.seed + 100);
    const diff = await compareWithTfjs(m.net, files, fileName, m.defaultCamLayer());
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
      const diff = await compareWithTfjs(m.net, files, 'demo.onnx', m.defaultCamLayer());
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
    const backboneDir = join(files.dir, 'backbone');
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
      const diff = await compareWithTfjs(m.net, files, 'pretrained.onnx', 'b2_relu');
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
      const diff = await compareWithTfjs(net, files, 'zoo.onnx', 'valid');
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

  it('an activation it does not convert (one the model registers itself): names the layer, its class and the activation', async () => {
    // Every activation tfjs 4.22 registers is converted (activations.ts); a model may bring its own.
    class Cube extends tf.serialization.Serializable {
      static className = 'cube';
      apply(x: tf.Tensor): tf.Tensor {
        return tf.pow(x, 3);
      }
      getConfig(): tf.serialization.ConfigDict {
        return {};
      }
    }
    tf.serialization.registerClass(Cube);
    const input = tf.input({ shape: [4, 4, 1] });
    const flat = tf.layers.flatten().apply(input);
    const net = tf.model({
      inputs: input,
      outputs: tf.layers.dense({ name: 'cube_dense', units: 2, activation: 'cube' as 'linear' }).apply(flat) as tf.SymbolicTensor,
    });
    try {
      await expect(exportToOnnx(net)).rejects.toThrow(
        'ONNX export: layer "cube_dense" (class Dense) uses activation "cube", which the exporter does not convert',
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
  it('passes every file exported above (onnx.checker.check_model with full_check)', (ctx) => files.expectAllPassChecker(ctx, 12));
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
