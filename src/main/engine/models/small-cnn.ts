// The small CNN for images up to 64 px (the Fashion-MNIST recipe):
//   conv32-conv32-pool-conv64-conv64-pool-dense128-dense(embedding)        head 'flatten'
//   conv32-conv32-pool-conv64-conv64-GAP-dense128-dense(embedding)         head 'gap'
// 3x3 'same' convolutions with ReLU, 2x2 max pooling. `width` scales every layer.
import * as tf from '@tensorflow/tfjs';
import { preprocessOf, SMALL_HEADS, type ModelConfig } from './config';
import { apply, SeedSequence, type ST } from './layers-util';
import { preprocessInput } from './preprocess';

export function buildSmallCnn(cfg: ModelConfig): tf.LayersModel {
  const head = cfg.head ?? 'flatten';
  if (!SMALL_HEADS.includes(head)) throw new Error(`Unknown small CNN head "${String(head)}"; choose one of: ${SMALL_HEADS.join(', ')}`);
  const seeds = new SeedSequence(cfg.seed);
  const f1 = Math.max(1, Math.round(32 * cfg.width));
  const f2 = Math.max(1, Math.round(64 * cfg.width));
  const dense = Math.max(1, Math.round(128 * cfg.width));
  const useBias = cfg.convBias ?? true;
  const conv = (name: string, filters: number) =>
    tf.layers.conv2d({ name, filters, kernelSize: 3, padding: 'same', activation: 'relu', useBias, kernelInitializer: seeds.heNormal() });
  const input = tf.input({ shape: cfg.inputShape, name: 'input' });
  let x: ST = apply(conv('conv1', f1), preprocessInput(input, preprocessOf(cfg)));
  x = apply(conv('conv2', f1), x);
  x = apply(tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }), x);
  x = apply(conv('conv3', f2), x);
  x = apply(conv('conv4', f2), x);
  if (head === 'gap') {
    x = apply(tf.layers.globalAveragePooling2d({ name: 'gap' }), x);
  } else {
    x = apply(tf.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }), x);
    x = apply(tf.layers.flatten({ name: 'flatten' }), x);
  }
  x = apply(tf.layers.dense({ name: 'dense1', units: dense, activation: 'relu', kernelInitializer: seeds.heNormal() }), x);
  const e = apply(tf.layers.dense({ name: 'embedding', units: cfg.embeddingSize, kernelInitializer: seeds.glorotUniform() }), x);
  return tf.model({ inputs: input, outputs: e, name: 'small_cnn' });
}
