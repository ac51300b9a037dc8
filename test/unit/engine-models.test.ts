import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveLayersModel } from '../../src/main/engine/runtime/model-io';
import { backboneBlocks, buildSiamese, defaultModelConfig, loadSiamese, saveSiamese, type ModelConfig } from '../../src/main/engine/models';
import { toCamModel } from '../../src/main/engine/explain';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'simlens-models-'));
  dirs.push(d);
  return d;
};
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

function checkCam(cfg: ModelConfig, expectDefault: string) {
  return async () => {
    const m = await buildSiamese(cfg);
    try {
      expect(m.defaultCamLayer()).toBe(expectDefault);
      expect(m.convLayers().length).toBeGreaterThan(0);
      const cam = toCamModel(m);
      expect(cam.layer).toBe(expectDefault);
      expect(toCamModel(m, expectDefault)).toBe(cam); // cached: built once
      const before = tf.memory().numTensors;
      const x = tf.randomUniform([2, ...cfg.inputShape], 0, 1, 'float32', 7) as tf.Tensor4D;
      const e = m.embed(x);
      const a = cam.features(x);
      expect(a.rank).toBe(4);
      const e2 = cam.head(a);
      expect(e.shape).toEqual([2, cfg.embeddingSize]);
      expect(maxAbsDiff(e, e2)).toBeLessThan(1e-4);
      // the head is differentiable w.r.t. A
      const g = tf.grad((act: tf.Tensor) => tf.sum(cam.score(cam.head(act as tf.Tensor4D), e)))(a);
      expect(g.shape).toEqual(a.shape);
      tf.dispose([x, e, a, e2, g]);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      m.dispose();
    }
  };
}

describe('architectures', () => {
  it(
    'small CNN: named layers, conv4 is the default CAM layer, head(features(x)) == embed(x)',
    checkCam(defaultModelConfig({ inputShape: [16, 16, 1], width: 0.25, embeddingSize: 8 }), 'conv4'),
  );

  it(
    'small CNN, head "gap": conv4 is the default CAM layer, head(features(x)) == embed(x)',
    checkCam(defaultModelConfig({ inputShape: [16, 16, 1], width: 0.25, embeddingSize: 8, head: 'gap' }), 'conv4'),
  );

  it('small CNN heads: "flatten" (default) pools and flattens conv4, "gap" averages it; the convolutions are the same', async () => {
    const flat = await buildSiamese(defaultModelConfig({ inputShape: [16, 16, 1], width: 0.25, embeddingSize: 8, seed: 2 }));
    const gap = await buildSiamese(defaultModelConfig({ inputShape: [16, 16, 1], width: 0.25, embeddingSize: 8, seed: 2, head: 'gap' }));
    try {
      const names = (m: typeof flat) => m.net.layers.map((l) => l.name);
      expect(names(flat)).toEqual(['input', 'conv1', 'conv2', 'pool1', 'conv3', 'conv4', 'pool2', 'flatten', 'dense1', 'embedding']);
      expect(names(gap)).toEqual(['input', 'conv1', 'conv2', 'pool1', 'conv3', 'conv4', 'gap', 'dense1', 'embedding']);
      expect(gap.config.head).toBe('gap');
      expect(flat.config.head).toBeUndefined(); // default stays 'flatten' and old configs read the same
      // same seed -> same conv weights whatever the head
      const w = (m: typeof flat) => m.net.getLayer('conv4').getWeights()[0];
      expect(maxAbsDiff(w(flat), w(gap))).toBe(0);
      // dense1 sees 4*4*16 = 256 features after flatten, 16 after GAP
      expect(flat.net.getLayer('dense1').getWeights()[0].shape).toEqual([256, 32]);
      expect(gap.net.getLayer('dense1').getWeights()[0].shape).toEqual([16, 32]);
      await expect(buildSiamese({ ...defaultModelConfig({ inputShape: [8, 8, 1] }), head: 'nope' as 'gap' })).rejects.toThrow(
        /Unknown small CNN head/,
      );
    } finally {
      flat.dispose();
      gap.dispose();
    }
  });

  it('small CNN, head "gap": ds/dA at conv4 is the same at every position, so Grad-CAM equals HiResCAM', async () => {
    const m = await buildSiamese(defaultModelConfig({ inputShape: [12, 12, 1], width: 0.25, embeddingSize: 8, seed: 4, head: 'gap' }));
    try {
      const cam = toCamModel(m);
      tf.tidy(() => {
        const x1 = tf.randomUniform([1, 12, 12, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
        const x2 = tf.randomUniform([1, 12, 12, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
        const e2 = cam.head(cam.features(x2));
        const a = cam.features(x1);
        const g = tf.grad((act: tf.Tensor) => tf.sum(cam.score(cam.head(act as tf.Tensor4D), e2)))(a);
        const spread = tf.sub(tf.max(g, [1, 2]), tf.min(g, [1, 2]));
        expect(tf.max(spread).dataSync()[0]).toBeLessThan(1e-7);
        const gradcam = tf.sum(tf.mul(tf.mean(g, [1, 2], true), a), -1);
        const hirescam = tf.sum(tf.mul(g, a), -1);
        expect(maxAbsDiff(gradcam, hirescam)).toBeLessThan(1e-6);
      });
    } finally {
      m.dispose();
    }
  });

  it('small CNN has the recipe layer sizes at width 1', async () => {
    const m = await buildSiamese(defaultModelConfig({ inputShape: [28, 28, 1] }));
    const units = (n: string) => m.net.getLayer(n).getConfig() as { filters?: number; units?: number };
    expect([units('conv1').filters, units('conv2').filters, units('conv3').filters, units('conv4').filters]).toEqual([32, 32, 64, 64]);
    expect([units('dense1').units, units('embedding').units]).toEqual([128, 64]);
    expect(m.convLayers()).toEqual(['conv1', 'conv2', 'conv3', 'conv4']);
    m.dispose();
  });

  it('ResNet18: block outputs are the CAM layers; a conv inside a residual block is refused', async () => {
    const cfg = defaultModelConfig({ arch: 'resnet18', inputShape: [16, 16, 3], width: 1 / 16, embeddingSize: 8, headUnits: 8 });
    await checkCam(cfg, 'stage4_block2_out')();
    const m = await buildSiamese(cfg);
    expect(m.camLayers()).toContain('stage2_block1_out');
    expect(m.camLayers()).not.toContain('stage2_block1_conv1');
    expect(() => toCamModel(m, 'stage2_block1_conv1')).toThrow(/cannot be a Grad-CAM target/);
    // an intermediate block output works too
    const cam = toCamModel(m, 'stage2_block2_out');
    const x = tf.randomUniform([1, 16, 16, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    expect(maxAbsDiff(cam.head(cam.features(x)), m.embed(x))).toBeLessThan(1e-4);
    // the CAM sub-models share the layers: the model still saves and reloads as itself
    const dir = join(tempDir(), 'resnet');
    await saveSiamese(m, dir);
    const back = await loadSiamese(dir);
    expect(back.net.layers.length).toBe(m.net.layers.length);
    expect(maxAbsDiff(back.embed(x), m.embed(x))).toBe(0);
    back.dispose();
    m.dispose();
  });

  it('ResNet50 (bottleneck) builds with 16 stages of blocks', async () => {
    const cfg = defaultModelConfig({ arch: 'resnet50', inputShape: [16, 16, 3], width: 1 / 16, embeddingSize: 8, headUnits: 8 });
    await checkCam(cfg, 'stage4_block3_out')();
    const m = await buildSiamese(cfg);
    expect(m.camLayers().filter((n) => n.endsWith('_out'))).toHaveLength(16);
    m.dispose();
  });

  it(
    'MobileNetV2 builds; out_relu is the default CAM layer',
    checkCam(defaultModelConfig({ arch: 'mobilenetv2', inputShape: [16, 16, 3], width: 0.25, embeddingSize: 8, headUnits: 8 }), 'out_relu'),
  );

  it('same seed -> same initial weights; other seed -> different', async () => {
    const cfg = defaultModelConfig({ inputShape: [8, 8, 1], width: 0.125, embeddingSize: 4, seed: 5 });
    const [a, b, c] = await Promise.all([buildSiamese(cfg), buildSiamese(cfg), buildSiamese({ ...cfg, seed: 6 })]);
    const w = (m: typeof a) => m.net.getWeights()[0];
    expect(maxAbsDiff(w(a), w(b))).toBe(0);
    expect(maxAbsDiff(w(a), w(c))).toBeGreaterThan(0);
    [a, b, c].forEach((m) => m.dispose());
  });
});

describe('save / load', () => {
  it('a saved and reloaded model gives identical scores', async () => {
    const cfg = defaultModelConfig({ inputShape: [12, 12, 1], width: 0.25, embeddingSize: 6, seed: 3 });
    const m = await buildSiamese(cfg);
    const dir = join(tempDir(), 'v1');
    await saveSiamese(m, dir);
    const back = await loadSiamese(dir);
    expect(back.config).toEqual(cfg);
    const x1 = tf.randomUniform([4, 12, 12, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    const x2 = tf.randomUniform([4, 12, 12, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    const s1 = m.scorePairs(x1, x2);
    const s2 = back.scorePairs(x1, x2);
    expect(Array.from(s2.score.dataSync())).toEqual(Array.from(s1.score.dataSync()));
    expect(Array.from(s2.d2.dataSync())).toEqual(Array.from(s1.d2.dataSync()));
    tf.dispose([x1, x2, s1.score, s1.d2, s2.score, s2.d2]);
    m.dispose();
    back.dispose();
  });
});

describe('pretrained backbone from a folder', () => {
  async function savedBackbone(): Promise<string> {
    // A small "pretrained" CNN with a classifier top, saved as a tfjs LayersModel folder.
    const input = tf.input({ shape: [10, 10, 3] });
    let x = tf.layers
      .conv2d({
        name: 'b1_conv',
        filters: 4,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed: 1 }),
      })
      .apply(input) as tf.SymbolicTensor;
    x = tf.layers.maxPooling2d({ name: 'b1_pool', poolSize: 2 }).apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .conv2d({
        name: 'b2_conv',
        filters: 6,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed: 2 }),
      })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .conv2d({
        name: 'b3_conv',
        filters: 6,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed: 3 }),
      })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
    const out = tf.layers.dense({ name: 'classes', units: 3, activation: 'softmax' }).apply(x) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    const dir = join(tempDir(), 'backbone');
    await saveLayersModel(model, dir);
    const w = model.getLayer('b2_conv').getWeights()[0].arraySync();
    model.dispose();
    savedWeights = w;
    return dir;
  }
  let savedWeights: unknown;

  it('loads, cuts at the chosen layer, freezes the first blocks, keeps the pretrained weights', async () => {
    const dir = await savedBackbone();
    const cfg = defaultModelConfig({
      arch: 'pretrained',
      inputShape: [1, 1, 1],
      embeddingSize: 5,
      headUnits: 7,
      backbone: { dir, cutLayer: 'b2_conv', frozenBlocks: 1 },
    });
    const m = await buildSiamese(cfg);
    expect(m.config.inputShape).toEqual([10, 10, 3]);
    expect(m.net.layers.map((l) => l.name)).not.toContain('b3_conv');
    expect(m.net.layers.map((l) => l.name)).not.toContain('classes');
    expect(m.net.getLayer('b1_conv').trainable).toBe(false);
    expect(m.net.getLayer('b2_conv').trainable).toBe(true);
    expect(m.net.getLayer('b2_conv').getWeights()[0].arraySync()).toEqual(savedWeights);
    expect(m.defaultCamLayer()).toBe('b2_conv');
    const x = tf.randomUniform([2, 10, 10, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    expect(m.embed(x).shape).toEqual([2, 5]);
    const blocks = backboneBlocks(m.net, m.net.layers.indexOf(m.net.getLayer('b2_conv')));
    expect(blocks.map((b) => b.map((l) => l.name))).toEqual([['b1_conv', 'b1_pool'], ['b2_conv']]);
    // round trip of the composed model
    const vdir = join(tempDir(), 'v');
    await saveSiamese(m, vdir);
    const back = await loadSiamese(vdir);
    expect(maxAbsDiff(back.embed(x), m.embed(x))).toBe(0);
    expect(back.net.getLayer('b1_conv').trainable).toBe(false);
    m.dispose();
    back.dispose();
  });

  it('default cut = last spatial layer; a missing folder or layer is a clear error', async () => {
    const dir = await savedBackbone();
    const m = await buildSiamese(defaultModelConfig({ arch: 'pretrained', inputShape: [1, 1, 1], backbone: { dir, frozenBlocks: -1 } }));
    expect(m.config.backbone?.cutLayer).toBe('b3_conv');
    expect(m.net.getLayer('b3_conv').trainable).toBe(false);
    m.dispose();
    await expect(
      buildSiamese(defaultModelConfig({ arch: 'pretrained', inputShape: [1, 1, 1], backbone: { dir: join(dir, 'nope') } })),
    ).rejects.toThrow(/Could not load/);
    await expect(
      buildSiamese(defaultModelConfig({ arch: 'pretrained', inputShape: [1, 1, 1], backbone: { dir, cutLayer: 'zzz' } })),
    ).rejects.toThrow(/no layer "zzz"/);
  });
});
