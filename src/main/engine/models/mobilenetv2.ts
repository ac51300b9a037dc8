// MobileNetV2 (Sandler et al. 2018): inverted residual blocks with linear
// bottlenecks, ReLU6, width multiplier alpha = cfg.width. The final 1x1 conv
// ('out_relu', 1280 channels for alpha <= 1) is the default Grad-CAM layer.
// Inputs up to 64 px keep full resolution in the stem (stride 1).
import * as tf from '@tensorflow/tfjs';
import { preprocessOf, type ModelConfig } from './config';
import { embeddingHead } from './head';
import { apply, SeedSequence, type ST } from './layers-util';
import { preprocessInput } from './preprocess';

function makeDivisible(v: number, divisor = 8): number {
  const n = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  return n < 0.9 * v ? n + divisor : n;
}

const bn = (name: string) => tf.layers.batchNormalization({ name, momentum: 0.9, epsilon: 1e-3 });
const relu6 = (name: string) => tf.layers.activation({ name, activation: 'relu6' });

function invertedResidual(x: ST, name: string, expansion: number, outCh: number, stride: number, seeds: SeedSequence): ST {
  const inCh = x.shape[3] as number;
  let y = x;
  if (expansion !== 1) {
    y = apply(
      tf.layers.conv2d({
        name: `${name}_expand`,
        filters: inCh * expansion,
        kernelSize: 1,
        useBias: false,
        kernelInitializer: seeds.heNormal(),
      }),
      y,
    );
    y = apply(bn(`${name}_expand_bn`), y);
    y = apply(relu6(`${name}_expand_relu`), y);
  }
  y = apply(
    tf.layers.depthwiseConv2d({
      name: `${name}_depthwise`,
      kernelSize: 3,
      strides: stride,
      padding: 'same',
      useBias: false,
      depthwiseInitializer: seeds.heNormal(),
    }),
    y,
  );
  y = apply(bn(`${name}_depthwise_bn`), y);
  y = apply(relu6(`${name}_depthwise_relu`), y);
  y = apply(
    tf.layers.conv2d({ name: `${name}_project`, filters: outCh, kernelSize: 1, useBias: false, kernelInitializer: seeds.heNormal() }),
    y,
  );
  y = apply(bn(`${name}_project_bn`), y);
  if (stride === 1 && inCh === outCh) y = apply(tf.layers.add({ name: `${name}_add` }), [x, y]);
  return y;
}

// [expansion t, channels c, repeats n, first stride s]
const SETTINGS: [number, number, number, number][] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

export function buildMobileNetV2(cfg: ModelConfig): tf.LayersModel {
  const seeds = new SeedSequence(cfg.seed);
  const alpha = cfg.width;
  const input = tf.input({ shape: cfg.inputShape, name: 'input' });
  const small = Math.min(cfg.inputShape[0], cfg.inputShape[1]) <= 64;
  let x = apply(
    tf.layers.conv2d({
      name: 'stem_conv',
      filters: makeDivisible(32 * alpha),
      kernelSize: 3,
      strides: small ? 1 : 2,
      padding: 'same',
      useBias: false,
      kernelInitializer: seeds.heNormal(),
    }),
    preprocessInput(input, preprocessOf(cfg)),
  );
  x = apply(bn('stem_bn'), x);
  x = apply(relu6('stem_relu'), x);
  let blockId = 0;
  for (const [t, c, n, s] of SETTINGS) {
    const outCh = makeDivisible(c * alpha);
    for (let i = 0; i < n; i++) x = invertedResidual(x, `block_${blockId++}`, t, outCh, i === 0 ? s : 1, seeds);
  }
  const lastCh = alpha > 1 ? makeDivisible(1280 * alpha) : 1280;
  x = apply(tf.layers.conv2d({ name: 'out_conv', filters: lastCh, kernelSize: 1, useBias: false, kernelInitializer: seeds.heNormal() }), x);
  x = apply(bn('out_bn'), x);
  x = apply(relu6('out_relu'), x);
  return tf.model({ inputs: input, outputs: embeddingHead(x, cfg, seeds), name: 'mobilenetv2' });
}
