// ResNet18 (basic blocks [2,2,2,2]) and ResNet50 (bottleneck blocks [3,4,6,3]),
// He et al. 2016, with BatchNorm, as embedding backbones: the last stage's output
// goes to the paper's head (GAP -> Dense -> ReLU -> Dense(k)).
// Images larger than 64 px get the ImageNet stem (7x7/2 conv + 3x3/2 max pool);
// smaller ones a 3x3/1 conv stem (as for CIFAR) so that 28x28 inputs are not pooled away.
// Layer names: stem_conv, stage{s}_block{b}_conv{i}, ..., stage{s}_block{b}_out (the
// block output after the residual add + ReLU: the Grad-CAM cut points).
import * as tf from '@tensorflow/tfjs';
import { preprocessOf, type ModelConfig } from './config';
import { embeddingHead } from './head';
import { apply, SeedSequence, type ST } from './layers-util';
import { preprocessInput } from './preprocess';

function convBn(x: ST, name: string, filters: number, kernel: number, stride: number, seeds: SeedSequence, relu: boolean): ST {
  let y = apply(
    tf.layers.conv2d({
      name: `${name}`,
      filters,
      kernelSize: kernel,
      strides: stride,
      padding: 'same',
      useBias: false,
      kernelInitializer: seeds.heNormal(),
    }),
    x,
  );
  y = apply(tf.layers.batchNormalization({ name: `${name}_bn`, momentum: 0.9, epsilon: 1e-5 }), y);
  return relu ? apply(tf.layers.activation({ name: `${name}_relu`, activation: 'relu' }), y) : y;
}

function basicBlock(x: ST, name: string, filters: number, stride: number, seeds: SeedSequence): ST {
  const inCh = x.shape[3] as number;
  let y = convBn(x, `${name}_conv1`, filters, 3, stride, seeds, true);
  y = convBn(y, `${name}_conv2`, filters, 3, 1, seeds, false);
  const shortcut = stride !== 1 || inCh !== filters ? convBn(x, `${name}_proj`, filters, 1, stride, seeds, false) : x;
  const sum = apply(tf.layers.add({ name: `${name}_add` }), [y, shortcut]);
  return apply(tf.layers.activation({ name: `${name}_out`, activation: 'relu' }), sum);
}

function bottleneckBlock(x: ST, name: string, filters: number, stride: number, seeds: SeedSequence): ST {
  const inCh = x.shape[3] as number;
  const outCh = filters * 4;
  let y = convBn(x, `${name}_conv1`, filters, 1, 1, seeds, true);
  y = convBn(y, `${name}_conv2`, filters, 3, stride, seeds, true);
  y = convBn(y, `${name}_conv3`, outCh, 1, 1, seeds, false);
  const shortcut = stride !== 1 || inCh !== outCh ? convBn(x, `${name}_proj`, outCh, 1, stride, seeds, false) : x;
  const sum = apply(tf.layers.add({ name: `${name}_add` }), [y, shortcut]);
  return apply(tf.layers.activation({ name: `${name}_out`, activation: 'relu' }), sum);
}

export function buildResNet(cfg: ModelConfig, depth: 18 | 50): tf.LayersModel {
  const seeds = new SeedSequence(cfg.seed);
  const base = Math.max(1, Math.round(64 * cfg.width));
  const blocks = depth === 18 ? [2, 2, 2, 2] : [3, 4, 6, 3];
  const block = depth === 18 ? basicBlock : bottleneckBlock;
  const input = tf.input({ shape: cfg.inputShape, name: 'input' });
  const large = Math.min(cfg.inputShape[0], cfg.inputShape[1]) > 64;
  const x0 = preprocessInput(input, preprocessOf(cfg));
  let x = large ? convBn(x0, 'stem_conv', base, 7, 2, seeds, true) : convBn(x0, 'stem_conv', base, 3, 1, seeds, true);
  if (large) x = apply(tf.layers.maxPooling2d({ name: 'stem_pool', poolSize: 3, strides: 2, padding: 'same' }), x);
  blocks.forEach((n, s) => {
    for (let b = 0; b < n; b++) {
      const stride = b === 0 && s > 0 ? 2 : 1;
      x = block(x, `stage${s + 1}_block${b + 1}`, base * 2 ** s, stride, seeds);
    }
  });
  return tf.model({ inputs: input, outputs: embeddingHead(x, cfg, seeds), name: `resnet${depth}` });
}
