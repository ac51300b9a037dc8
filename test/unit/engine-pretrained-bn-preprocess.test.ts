// Pretrained backbones: frozen BatchNorm keeps its moving statistics in training (Keras
// semantics), and the input preprocessing ('tf' | 'caffe' | 'torch') is the network's
// first layer, consistent across training, CAM and save/load.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLayersModel, saveLayersModel } from '../../src/main/engine/runtime/model-io';
import {
  buildSiamese,
  defaultModelConfig,
  loadSiamese,
  saveSiamese,
  type InputPreprocess,
  type SiameseModel,
} from '../../src/main/engine/models';
import { toCamModel } from '../../src/main/engine/explain';
import { preprocessInput } from '../../src/main/engine/models/preprocess';
import { contract } from '../../src/shared/contract';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'simlens-pretrained-'));
  dirs.push(d);
  return d;
};
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

type ST = tf.SymbolicTensor;
const bits = (t: tf.Tensor) => Array.from(t.dataSync());
const weightsOf = (m: SiameseModel, name: string) => m.net.getLayer(name).getWeights().map(bits);
const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
const subModel = (m: SiameseModel, layer: string) =>
  tf.model({ inputs: m.net.inputs, outputs: m.net.getLayer(layer).getOutputAt(0) as ST });

/**
 * A "pretrained" CNN with three conv-BN-ReLU blocks and a classifier top, whose BN layers
 * have non-trivial moving statistics (so batch and moving statistics differ), saved as a
 * tfjs LayersModel folder.
 */
async function savedBnBackbone(channels = 3): Promise<string> {
  const input = tf.input({ shape: [8, 8, channels], name: 'image' });
  let x: ST = input;
  for (const b of [1, 2, 3]) {
    x = tf.layers
      .conv2d({
        name: `b${b}_conv`,
        filters: 4,
        kernelSize: 3,
        padding: 'same',
        useBias: false,
        kernelInitializer: tf.initializers.heNormal({ seed: b }),
      })
      .apply(x) as ST;
    x = tf.layers.batchNormalization({ name: `b${b}_bn`, momentum: 0.5, epsilon: 1e-3 }).apply(x) as ST;
    x = tf.layers.activation({ name: `b${b}_relu`, activation: 'relu' }).apply(x) as ST;
  }
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as ST;
  const out = tf.layers.dense({ name: 'classes', units: 3, activation: 'softmax' }).apply(x) as ST;
  const model = tf.model({ inputs: input, outputs: out });
  for (const b of [1, 2, 3]) {
    const seed = 10 * b;
    const stats = tf.tidy(() => [
      tf.randomUniform([4], 0.5, 1.5, 'float32', seed), // gamma
      tf.randomUniform([4], -0.5, 0.5, 'float32', seed + 1), // beta
      tf.randomUniform([4], -1, 1, 'float32', seed + 2), // moving mean
      tf.randomUniform([4], 0.5, 2, 'float32', seed + 3), // moving variance
    ]);
    model.getLayer(`b${b}_bn`).setWeights(stats);
    tf.dispose(stats);
  }
  const dir = join(tempDir(), 'backbone');
  await saveLayersModel(model, dir);
  model.dispose();
  return dir;
}

/** A few optimiser steps exactly as engine/train/trainer.ts takes them: embed(x, training = true), minimise over trainableWeights. */
function trainSteps(m: SiameseModel, steps: number): void {
  const optimizer = tf.train.adam(0.05);
  const varList = m.net.trainableWeights.map((w) => w.read() as tf.Variable);
  for (let s = 0; s < steps; s++) {
    tf.tidy(() => {
      // small batches (4 images) with a shifted distribution: batch statistics differ from the moving ones
      const x = tf.randomUniform([4, ...m.config.inputShape], 0, 1, 'float32', 100 + s) as tf.Tensor4D;
      const target = tf.randomNormal([4, m.config.embeddingSize], 0, 1, 'float32', 200 + s);
      optimizer.minimize(() => tf.mean(tf.square(tf.sub(m.embed(x, true), target))) as tf.Scalar, false, varList);
    });
  }
  optimizer.dispose();
}

describe('frozen BatchNorm in a pretrained backbone (Keras semantics)', () => {
  it('tfjs alone updates a trainable=false BN layer in training (the defect this guards against)', async () => {
    const plain = await loadLayersModel(await savedBnBackbone());
    const bn = plain.getLayer('b1_bn');
    bn.trainable = false;
    const before = bn.getWeights().map(bits);
    tf.tidy(() => {
      plain.apply(tf.randomUniform([4, 8, 8, 3], 0, 1, 'float32', 1), { training: true });
    });
    expect(bn.getWeights().map(bits)[2]).not.toEqual(before[2]);
    plain.dispose();
  });

  it('training leaves frozen blocks bit-identical (weights, moving statistics, features); unfrozen BN trains and updates its statistics', async () => {
    const dir = await savedBnBackbone();
    const m = await buildSiamese(
      defaultModelConfig({
        arch: 'pretrained',
        inputShape: [1, 1, 1],
        embeddingSize: 4,
        headUnits: 6,
        backbone: { dir, cutLayer: 'b3_relu', frozenBlocks: 2 },
      }),
    );
    try {
      for (const name of ['b1_conv', 'b1_bn', 'b2_conv', 'b2_bn']) expect(m.net.getLayer(name).trainable).toBe(false);
      for (const name of ['b3_conv', 'b3_bn']) expect(m.net.getLayer(name).trainable).toBe(true);
      const frozenNames = ['b1_conv', 'b1_bn', 'b2_conv', 'b2_bn'];
      const frozenBefore = frozenNames.map((n) => weightsOf(m, n));
      const b3Before = { conv: weightsOf(m, 'b3_conv'), bn: weightsOf(m, 'b3_bn') };
      const frozenPart = subModel(m, 'b2_relu');
      const image = tf.randomUniform([1, 8, 8, 3], 0, 1, 'float32', 42) as tf.Tensor4D;
      const featuresBefore = frozenPart.predict(image) as tf.Tensor;

      trainSteps(m, 3);

      expect(frozenNames.map((n) => weightsOf(m, n))).toEqual(frozenBefore);
      const featuresAfter = frozenPart.predict(image) as tf.Tensor;
      expect(bits(featuresAfter)).toEqual(bits(featuresBefore));
      // the frozen part computes the same in training mode (moving statistics, no update)
      const featuresTraining = frozenPart.apply(image, { training: true }) as tf.Tensor;
      expect(bits(featuresTraining)).toEqual(bits(featuresBefore));
      expect(frozenNames.map((n) => weightsOf(m, n))).toEqual(frozenBefore);

      // the unfrozen block trained: conv kernel, gamma/beta and the moving statistics moved
      const b3After = { conv: weightsOf(m, 'b3_conv'), bn: weightsOf(m, 'b3_bn') };
      expect(b3After.conv[0]).not.toEqual(b3Before.conv[0]);
      for (const k of [0, 1, 2, 3]) expect(b3After.bn[k]).not.toEqual(b3Before.bn[k]);
      tf.dispose([image, featuresBefore, featuresAfter, featuresTraining]);
    } finally {
      m.dispose();
    }
  });

  it('a trainable BN layer still normalises with batch statistics in training', async () => {
    const dir = await savedBnBackbone();
    const m = await buildSiamese(
      defaultModelConfig({
        arch: 'pretrained',
        inputShape: [1, 1, 1],
        embeddingSize: 4,
        backbone: { dir, cutLayer: 'b3_relu', frozenBlocks: 2 },
      }),
    );
    try {
      const x = tf.randomUniform([5, 8, 8, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
      const bn = m.net.getLayer('b3_bn') as tf.layers.Layer & { epsilon: number };
      const [gamma, beta] = bn.getWeights();
      const h = subModel(m, 'b3_conv').predict(x) as tf.Tensor4D;
      const { mean, variance } = tf.moments(h, [0, 1, 2]);
      const expected = tf.add(tf.mul(tf.div(tf.sub(h, mean), tf.sqrt(tf.add(variance, bn.epsilon))), gamma), beta);
      const inference = subModel(m, 'b3_bn').predict(x) as tf.Tensor;
      const training = subModel(m, 'b3_bn').apply(x, { training: true }) as tf.Tensor;
      expect(maxAbsDiff(training, expected)).toBeLessThan(1e-4);
      expect(maxAbsDiff(training, inference)).toBeGreaterThan(1e-2);
      tf.dispose([x, h, mean, variance, expected, inference, training]);
    } finally {
      m.dispose();
    }
  });

  it('the frozen semantics survive save/load (trainable is in model.json) and fine-tuning a loaded version', async () => {
    const dir = await savedBnBackbone();
    const m = await buildSiamese(
      defaultModelConfig({
        arch: 'pretrained',
        inputShape: [1, 1, 1],
        embeddingSize: 4,
        headUnits: 6,
        backbone: { dir, cutLayer: 'b3_relu', frozenBlocks: 2 },
      }),
    );
    const vdir = join(tempDir(), 'v');
    await saveSiamese(m, vdir);
    m.dispose();
    const back = await loadSiamese(vdir);
    try {
      expect(back.net.getLayer('b2_bn').trainable).toBe(false);
      const frozen = weightsOf(back, 'b2_bn');
      const b3 = weightsOf(back, 'b3_bn');
      trainSteps(back, 2);
      expect(weightsOf(back, 'b2_bn')).toEqual(frozen);
      expect(weightsOf(back, 'b3_bn')[2]).not.toEqual(b3[2]);
      // the CAM sub-models share the layers: features at a frozen layer do not depend on training mode either
      const cam = toCamModel(back, 'b2_relu');
      const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
      const e = back.embed(x);
      const e2 = cam.head(cam.features(x));
      expect(maxAbsDiff(e, e2)).toBeLessThan(1e-5);
      tf.dispose([x, e, e2]);
    } finally {
      back.dispose();
    }
  });

  it('building from a backbone leaves no tensors behind (the classifier top is disposed)', async () => {
    const dir = await savedBnBackbone();
    const before = tf.memory().numTensors;
    const m = await buildSiamese(
      defaultModelConfig({
        arch: 'pretrained',
        inputShape: [1, 1, 1],
        backbone: { dir, cutLayer: 'b2_relu', frozenBlocks: 1 },
        preprocess: 'caffe',
      }),
    );
    expect(m.net.layers.map((l) => l.name)).not.toContain('classes');
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('input preprocessing', () => {
  // a 2x2 RGB image in [0, 1]: pixels (row, col) = RGB
  const image = [
    [
      [0, 0.5, 1],
      [1, 0, 0.25],
    ],
    [
      [0.2, 0.4, 0.6],
      [1, 1, 1],
    ],
  ];
  // by hand: tf 2x - 1; torch (x - [.485, .456, .406]) / [.229, .224, .225];
  // caffe [255 B - 103.939, 255 G - 116.779, 255 R - 123.68]
  const expected: Record<Exclude<InputPreprocess, 'none'>, number[][][]> = {
    tf: [
      [
        [-1, 0, 1],
        [1, -1, -0.5],
      ],
      [
        [-0.6, -0.2, 0.2],
        [1, 1, 1],
      ],
    ],
    torch: [
      [
        [-2.1179039, 0.1964286, 2.64],
        [2.2489083, -2.0357143, -0.6933333],
      ],
      [
        [-1.2445415, -0.25, 0.8622222],
        [2.2489083, 2.4285714, 2.64],
      ],
    ],
    caffe: [
      [
        [151.061, 10.721, -123.68],
        [-40.189, -116.779, 131.32],
      ],
      [
        [49.061, -14.779, -72.68],
        [151.061, 138.221, 131.32],
      ],
    ],
  };

  for (const mode of ['tf', 'torch', 'caffe'] as const) {
    it(`"${mode}" on a 2x2 image matches hand-computed values, also after a save/load round trip`, async () => {
      const input = tf.input({ shape: [2, 2, 3] });
      const model = tf.model({ inputs: input, outputs: preprocessInput(input, mode) });
      const x = tf.tensor4d([image]);
      const dir = join(tempDir(), mode);
      await saveLayersModel(model, dir);
      const back = await loadLayersModel(dir);
      for (const m of [model, back]) {
        const y = (m.predict(x) as tf.Tensor).arraySync() as number[][][][];
        const digits = mode === 'caffe' ? 3 : 5;
        expected[mode].forEach((row, i) => row.forEach((px, j) => px.forEach((v, c) => expect(y[0][i][j][c]).toBeCloseTo(v, digits))));
      }
      expect(back.layers[1].getClassName()).toBe('SimLensInputPreprocessing');
      tf.dispose(x);
      model.dispose();
      back.dispose();
    });
  }

  it('"none" adds no layer; the default config has no preprocess field (old configs stay as they were)', async () => {
    const cfg = defaultModelConfig({ inputShape: [8, 8, 1], width: 0.25, embeddingSize: 4 });
    expect(cfg.preprocess).toBeUndefined();
    const m = await buildSiamese(cfg);
    expect(m.net.layers[1].name).toBe('conv1');
    m.dispose();
  });

  it('our own architectures: the preprocessing is the first layer, never a CAM target; head(features(x)) == embed(x); save/load keeps it', async () => {
    for (const [arch, preprocess] of [
      ['small', 'tf'],
      ['resnet18', 'torch'],
      ['mobilenetv2', 'caffe'],
    ] as const) {
      const cfg = defaultModelConfig({ arch, inputShape: [8, 8, 3], width: 0.125, embeddingSize: 4, headUnits: 4, preprocess, seed: 2 });
      const m = await buildSiamese(cfg);
      expect(m.net.layers[1].name).toBe('preprocess');
      expect(m.camLayers()).not.toContain('preprocess');
      expect(m.convLayers()).not.toContain('preprocess');
      const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
      const cam = toCamModel(m);
      const e = m.embed(x);
      const a = cam.features(x);
      const eCam = cam.head(a);
      expect(maxAbsDiff(e, eCam)).toBeLessThan(1e-4);
      const dir = join(tempDir(), `own-${arch}`);
      await saveSiamese(m, dir);
      const back = await loadSiamese(dir);
      expect(back.config.preprocess).toBe(preprocess);
      const eBack = back.embed(x);
      expect(bits(eBack)).toEqual(bits(e));
      tf.dispose([x, e, a, eCam, eBack]);
      m.dispose();
      back.dispose();
    }
  });

  it('a pretrained backbone with "caffe": the network sees caffe(x) where the backbone saw it, through training, CAM and save/load', async () => {
    const dir = await savedBnBackbone();
    const backbone = await loadLayersModel(dir);
    const m = await buildSiamese(
      defaultModelConfig({
        arch: 'pretrained',
        inputShape: [1, 1, 1],
        embeddingSize: 4,
        headUnits: 6,
        backbone: { dir, cutLayer: 'b3_relu', frozenBlocks: -1 },
        preprocess: 'caffe',
      }),
    );
    try {
      expect(m.config.preprocess).toBe('caffe');
      expect(m.net.layers.map((l) => l.name).slice(0, 3)).toEqual(['image', 'preprocess', 'b1_conv']);
      const x = tf.randomUniform([3, 8, 8, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
      // by hand: RGB -> BGR, x 255, minus the BGR means
      const caffe = tf.sub(tf.mul(tf.reverse(x, -1), 255), tf.tensor1d([103.939, 116.779, 123.68]));
      const reference = tf
        .model({ inputs: backbone.inputs, outputs: backbone.getLayer('b3_relu').getOutputAt(0) as ST })
        .predict(caffe) as tf.Tensor;
      const cam = toCamModel(m, 'b3_relu');
      const a = cam.features(x);
      expect(maxAbsDiff(a, reference)).toBeLessThan(1e-3);
      // fully frozen: training mode gives the same features as inference
      const aTraining = subModel(m, 'b3_relu').apply(x, { training: true }) as tf.Tensor;
      expect(bits(aTraining)).toEqual(bits(a));
      const vdir = join(tempDir(), 'caffe-v');
      await saveSiamese(m, vdir);
      const back = await loadSiamese(vdir);
      const e = m.embed(x);
      const eBack = back.embed(x);
      expect(bits(eBack)).toEqual(bits(e));
      back.dispose();
      tf.dispose([x, caffe, reference, a, aTraining, e, eBack]);
    } finally {
      m.dispose();
      backbone.dispose();
    }
  });

  it('channel mismatches are clear errors: caffe/torch need a 3-channel input; tf works on grayscale', async () => {
    await expect(buildSiamese(defaultModelConfig({ inputShape: [8, 8, 1], width: 0.25, preprocess: 'caffe' }))).rejects.toThrow(
      /"caffe" normalises the 3 RGB channels .* network input \[8, 8, 1\] has 1 channel/,
    );
    const grey = await savedBnBackbone(1);
    await expect(
      buildSiamese(defaultModelConfig({ arch: 'pretrained', inputShape: [1, 1, 1], backbone: { dir: grey }, preprocess: 'torch' })),
    ).rejects.toThrow(/"torch" .* the backbone's input \[8, 8, 1\] has 1 channel/);
    const m = await buildSiamese(
      defaultModelConfig({ arch: 'pretrained', inputShape: [1, 1, 1], backbone: { dir: grey }, preprocess: 'tf' }),
    );
    expect(m.net.getLayer('preprocess')).toBeDefined();
    m.dispose();
    await expect(buildSiamese(defaultModelConfig({ inputShape: [8, 8, 1], preprocess: 'bgr' as InputPreprocess }))).rejects.toThrow(
      /Unknown input preprocessing "bgr"/,
    );
  });

  it('a version saved before the field existed loads as "none"; a siamese.json that contradicts model.json is refused', async () => {
    const cfg = defaultModelConfig({ inputShape: [8, 8, 3], width: 0.25, embeddingSize: 4 });
    const m = await buildSiamese(cfg);
    const dir = join(tempDir(), 'old');
    await saveSiamese(m, dir);
    m.dispose();
    const back = await loadSiamese(dir);
    expect(back.config.preprocess).toBeUndefined();
    expect(back.net.layers.some((l) => l.name === 'preprocess')).toBe(false);
    back.dispose();
    const meta = JSON.parse(readFileSync(join(dir, 'siamese.json'), 'utf8')) as { config: Record<string, unknown> };
    meta.config.preprocess = 'tf';
    writeFileSync(join(dir, 'siamese.json'), JSON.stringify(meta));
    await expect(loadSiamese(dir)).rejects.toThrow(/says input preprocessing "tf" but model.json applies "none"/);
  });

  it('the train arguments validator accepts the modes and names the field otherwise', () => {
    const check = contract['models.train'].args;
    expect(check({ datasetId: 1, preprocess: 'caffe' }, 'args').preprocess).toBe('caffe');
    expect(check({ datasetId: 1 }, 'args').preprocess).toBeUndefined();
    expect(() => check({ datasetId: 1, preprocess: 'bgr' }, 'args')).toThrow(/args\.preprocess: expected one of none, tf, caffe, torch/);
  });
});
