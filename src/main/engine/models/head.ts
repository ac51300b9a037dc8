// The embedding head of the paper: global average pool -> Dense(headUnits) -> ReLU -> Dense(k).
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './config';
import { apply, type SeedSequence, type ST } from './layers-util';

export function embeddingHead(x: ST, cfg: ModelConfig, seeds: SeedSequence): ST {
  let h = apply(tf.layers.globalAveragePooling2d({ name: 'head_pool' }), x);
  h = apply(tf.layers.dense({ name: 'head_dense', units: cfg.headUnits, activation: 'relu', kernelInitializer: seeds.heNormal() }), h);
  return apply(tf.layers.dense({ name: 'embedding', units: cfg.embeddingSize, kernelInitializer: seeds.glorotUniform() }), h);
}
