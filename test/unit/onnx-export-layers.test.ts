// The ONNX exporter's converters for the layers of pretrained Keras backbones (DenseNet's
// Concatenate, Xception's SeparableConv2D, EfficientNet's squeeze-excitation Reshape and Multiply,
// and the other merges, activations and crops): small functional tfjs models with random weights,
// ONNX Runtime's outputs against tfjs' within 1e-4 of the magnitude (the embedding, and each
// converted layer's own output, NHWC as tfjs gives it), every file through the reference checker,
// and the settings the exporter refuses named with their layer.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportToOnnx, OnnxExportError } from '../../src/main/engine/onnx';
import { ExportedFiles, expectSameAsTfjs, randomizeVectorWeights } from './onnx-compare';

const files = new ExportedFiles();

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => files.remove());

type ST = tf.SymbolicTensor;
const L = tf.layers;
const on = (layer: tf.layers.Layer, x: ST | ST[]): ST => layer.apply(x) as ST;
const conv = (name: string, filters: number, x: ST, extra: Partial<Parameters<typeof L.conv2d>[0]> = {}) =>
  on(L.conv2d({ name, filters, kernelSize: 3, padding: 'same', ...extra }), x);

/** input -> body -> (Flatten if not [b, D]) -> Dense(8): an embedding network around the layers under test. */
function embeddingNet(name: string, inputShape: number[], body: (input: ST) => ST): tf.LayersModel {
  const input = tf.input({ shape: inputShape, name: 'input' });
  let x = body(input);
  if (x.shape.length > 2) x = on(L.flatten({ name: 'flat' }), x);
  return tf.model({ inputs: input, outputs: on(L.dense({ name: 'embedding', units: 8 }), x), name });
}

/** Randomises the network's vectors, then expects ONNX Runtime == tfjs on the embedding and on each of `layers`' outputs. */
async function expectConverted(net: tf.LayersModel, layers: string[], seed: number): Promise<void> {
  try {
    randomizeVectorWeights(net, seed);
    await expectSameAsTfjs(net, files, `${net.name}.onnx`, layers);
  } finally {
    net.dispose();
  }
}

describe('converted layers: ONNX Runtime == tfjs', () => {
  it('Concatenate along the channels (-1 and 3), height and width of feature maps, three inputs, and of [b, D] features; Cropping2D', async () => {
    const net = embeddingNet('concat', [7, 9, 3], (input) => {
      const a = conv('a', 4, input, { activation: 'relu' });
      const channels = on(L.concatenate({ name: 'cat_c', axis: -1 }), [input, a]);
      const three = on(L.concatenate({ name: 'cat_c3', axis: 3 }), [channels, conv('b', 2, channels), a]);
      const cropped = on(
        L.cropping2D({
          name: 'crop',
          cropping: [
            [1, 3],
            [0, 2],
          ],
        }),
        three,
      );
      const height = on(L.concatenate({ name: 'cat_h', axis: 1 }), [cropped, conv('c', 13, cropped)]);
      const width = on(L.concatenate({ name: 'cat_w', axis: 2 }), [
        height,
        on(L.cropping2D({ name: 'crop_sym', cropping: [0, 1] }), height),
      ]);
      const pooled = [L.globalAveragePooling2d({ name: 'gap' }), L.globalMaxPooling2d({ name: 'gmp' })].map((l) => on(l, width));
      return on(L.concatenate({ name: 'cat_features' }), pooled);
    });
    await expectConverted(net, ['cat_c', 'cat_c3', 'crop', 'cat_h', 'cat_w', 'crop_sym', 'cat_features'], 10);
  });

  it('SeparableConv2D: "same" with stride 2 on odd sizes, "valid" with depth multiplier 2 and no bias, dilated, with activations', async () => {
    const net = embeddingNet('separable', [9, 11, 3], (input) => {
      let x = on(L.separableConv2d({ name: 'sep_s2', filters: 5, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }), input);
      x = on(
        L.separableConv2d({ name: 'sep_valid_m2', filters: 4, kernelSize: [3, 2], depthMultiplier: 2, padding: 'valid', useBias: false }),
        x,
      );
      x = on(
        L.separableConv2d({ name: 'sep_dilated', filters: 6, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'swish' }),
        x,
      );
      return on(L.separableConv2d({ name: 'sep_s21', filters: 3, kernelSize: [2, 3], strides: [2, 1], padding: 'same' }), x);
    });
    await expectConverted(net, ['sep_s2', 'sep_valid_m2', 'sep_dilated', 'sep_s21'], 20);
  });

  it('Add, Multiply, Maximum, Minimum, Average: same shapes, three inputs, [b, 1, 1, C] and lower-rank inputs broadcast as tfjs does', async () => {
    const net = embeddingNet('merge', [6, 6, 4], (input) => {
      const [a, b, c] = ['a', 'b', 'c'].map((n) => conv(n, 4, input));
      const se = on(L.reshape({ name: 'se', targetShape: [1, 1, 4] }), on(L.globalAveragePooling2d({ name: 'gap_c' }), c));
      const gapB = on(L.globalAveragePooling2d({ name: 'gap_b' }), b);
      // [b, 1, 6, 4] -> [b, 6, 4]: rank 3, which tfjs broadcasts as [b, 1, 6, 4]
      const row = on(L.reshape({ name: 'row', targetShape: [6, 4] }), conv('d', 4, input, { kernelSize: [6, 1], padding: 'valid' }));
      const merged = [
        on(L.add({ name: 'add3' }), [a, b, c]),
        on(L.multiply({ name: 'mul' }), [a, b]),
        on(L.maximum({ name: 'max3' }), [a, b, c]),
        on(L.minimum({ name: 'min' }), [b, c]),
        on(L.average({ name: 'avg3' }), [a, b, c]),
        on(L.multiply({ name: 'mul_se' }), [a, se]),
        on(L.multiply({ name: 'mul_se_first' }), [se, b]),
        on(L.multiply({ name: 'mul_rank2' }), [a, gapB]),
        on(L.add({ name: 'add_rank3' }), [row, c]),
        on(L.maximum({ name: 'max_rank3_rank2' }), [row, c, gapB]),
      ];
      const features = on(L.average({ name: 'avg_features' }), [gapB, on(L.globalMaxPooling2d({ name: 'gmp_a' }), a)]);
      return on(L.concatenate({ name: 'all' }), [
        on(L.flatten({ name: 'flat_maps' }), on(L.concatenate({ name: 'maps' }), merged)),
        on(L.minimum({ name: 'min_features' }), [features, gapB]),
      ]);
    });
    const merges = ['add3', 'mul', 'max3', 'min', 'avg3', 'mul_se', 'mul_se_first', 'mul_rank2', 'add_rank3', 'max_rank3_rank2'];
    await expectConverted(net, [...merges, 'avg_features', 'min_features'], 30);
  });

  it('Reshape between ranks 2, 3, 4 and 5 (NHWC order kept), with -1; Dense on feature maps and on sequences', async () => {
    const net = embeddingNet('reshape', [4, 6, 3], (input) => {
      const x = conv('conv', 5, input);
      const seq = on(L.reshape({ name: 'to_seq', targetShape: [24, 5] }), x);
      const seqDense = on(L.dense({ name: 'seq_dense', units: 6, activation: 'softmax' }), seq);
      const map = on(L.reshape({ name: 'to_map', targetShape: [8, 3, 6] }), seqDense);
      const swapped = on(L.reshape({ name: 'to_map_any', targetShape: [-1, 4, 6] }), map);
      const five = on(L.reshape({ name: 'to_rank5', targetShape: [2, 3, 4, 6] }), swapped);
      const back = on(L.reshape({ name: 'from_rank5', targetShape: [6, 4, 6] }), five);
      const mapDense = on(L.dense({ name: 'map_dense', units: 3, activation: 'relu' }), back);
      const flat = on(L.reshape({ name: 'to_flat', targetShape: [-1] }), mapDense);
      const column = on(L.reshape({ name: 'to_column', targetShape: [18, 4, 1] }), flat);
      const pixel = on(L.reshape({ name: 'to_pixel', targetShape: [1, 1, 72] }), flat);
      return on(L.concatenate({ name: 'features' }), [
        on(L.flatten({ name: 'flat_column' }), conv('column_conv', 2, column)),
        on(L.flatten({ name: 'flat_pixel' }), on(L.dense({ name: 'pixel_dense', units: 4 }), pixel)),
      ]);
    });
    const reshapes = [
      'to_seq',
      'seq_dense',
      'to_map',
      'to_map_any',
      'to_rank5',
      'from_rank5',
      'map_dense',
      'to_flat',
      'to_column',
      'to_pixel',
    ];
    await expectConverted(net, [...reshapes, 'pixel_dense'], 40);
  });

  it('LeakyReLU, ELU, ThresholdedReLU, PReLU, the Softmax layer (its default axis 1, -1, several axes), gelu, gelu_new, mish, logSoftmax', async () => {
    const alphaInitializer = tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: 5 });
    const net = embeddingNet('activations', [5, 6, 3], (input) => {
      const x = conv('pre', 6, input, { kernelInitializer: tf.initializers.randomUniform({ minval: -1.5, maxval: 1.5, seed: 4 }) });
      const branches = [
        L.leakyReLU({ name: 'leaky', alpha: 0.1 }),
        L.leakyReLU({ name: 'leaky_default' }),
        L.elu({ name: 'elu' }),
        L.thresholdedReLU({ name: 'thresholded', theta: 0.2 }),
        L.prelu({ name: 'prelu', alphaInitializer }),
        L.prelu({ name: 'prelu_shared', alphaInitializer, sharedAxes: [1, 2] }),
        // tfjs runs the softmax over one axis only if it is the last (tfjs-core), or over several axes at once
        L.softmax({ name: 'softmax_last', axis: -1 }),
        L.softmax({ name: 'softmax_channels', axis: [3] }),
        L.softmax({ name: 'softmax_spatial', axis: [1, 2] }),
        ...(['gelu', 'gelu_new', 'mish'] as const).map((a) => L.activation({ name: a, activation: a })),
        // logSoftmax is registered in tfjs but missing from its ActivationIdentifier type
        L.activation({ name: 'logSoftmax', activation: 'logSoftmax' as 'linear' }),
      ];
      const maps = on(
        L.concatenate({ name: 'maps' }),
        branches.map((l) => on(l, x)),
      );
      const features = on(L.dense({ name: 'dense_gelu', units: 5, activation: 'gelu' }), on(L.flatten(), maps));
      // the Softmax layer's default axis is 1 in tfjs (-1 in Keras): the last one of [b, D]
      const probabilities = on(L.softmax({ name: 'softmax_default' }), features);
      return on(L.activation({ name: 'features_logsoftmax', activation: 'logSoftmax' as 'linear' }), probabilities);
    });
    const names = [
      'leaky',
      'leaky_default',
      'elu',
      'thresholded',
      'prelu',
      'prelu_shared',
      'softmax_last',
      'softmax_channels',
      'softmax_spatial',
    ];
    await expectConverted(
      net,
      [...names, 'gelu', 'gelu_new', 'mish', 'logSoftmax', 'dense_gelu', 'softmax_default', 'features_logsoftmax'],
      50,
    );
  });

  it('GlobalAveragePooling2D that keeps its dimensions (Keras keepdims: a [b, 1, 1, C] output) stays NCHW [b, C, 1, 1]', async () => {
    // tfjs 4.22's layer has no keepDims; this stand-in declares the output Keras' layer would.
    class KeepDimsGap extends tf.layers.Layer {
      static className = 'GlobalAveragePooling2D';
      override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape {
        const s = shape as tf.Shape;
        return [s[0], 1, 1, s[3]];
      }
      override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
        return tf.mean(Array.isArray(inputs) ? inputs[0] : inputs, [1, 2], true);
      }
    }
    const net = embeddingNet('gap-keepdims', [5, 7, 3], (input) => {
      const x = conv('conv', 4, input);
      const scale = on(L.dense({ name: 'scale', units: 4, activation: 'sigmoid' }), on(new KeepDimsGap({ name: 'gap_keep' }), x));
      return on(L.multiply({ name: 'scaled' }), [x, scale]);
    });
    await expectConverted(net, ['gap_keep', 'scale', 'scaled'], 60);
  });
});

describe('backbone-like networks: ONNX Runtime == tfjs', () => {
  const bnRelu = (name: string, x: ST) =>
    on(L.activation({ name: `${name}_relu`, activation: 'relu' }), on(L.batchNormalization({ name: `${name}_bn` }), x));

  it('DenseNet-like: stem, two dense blocks (BN-ReLU-conv 1x1-BN-ReLU-conv 3x3, concatenated to the input), a transition, GAP -> Dense', async () => {
    const net = embeddingNet('densenet-like', [20, 20, 3], (input) => {
      let x = on(L.zeroPadding2d({ name: 'stem_pad', padding: 3 }), input);
      x = bnRelu('stem', conv('stem_conv', 8, x, { kernelSize: 7, strides: 2, padding: 'valid', useBias: false }));
      x = on(
        L.maxPooling2d({ name: 'stem_pool', poolSize: 3, strides: 2, padding: 'same' }),
        on(L.zeroPadding2d({ name: 'pool_pad', padding: 1 }), x),
      );
      for (const block of [1, 2]) {
        for (const layer of [1, 2]) {
          const name = `block${block}_${layer}`;
          let y = conv(`${name}_1x1`, 8, bnRelu(`${name}_0`, x), { kernelSize: 1, useBias: false });
          y = conv(`${name}_3x3`, 4, bnRelu(`${name}_1`, y), { useBias: false });
          x = on(L.concatenate({ name: `${name}_concat` }), [x, y]);
        }
        if (block === 1) {
          x = conv('transition_conv', 8, bnRelu('transition', x), { kernelSize: 1, useBias: false });
          x = on(L.averagePooling2d({ name: 'transition_pool', poolSize: 2, strides: 2 }), x);
        }
      }
      return on(L.globalAveragePooling2d({ name: 'avg_pool' }), bnRelu('final', x));
    });
    await expectConverted(net, ['block1_2_concat', 'block2_2_concat'], 70);
  });

  it('Xception-like: entry-flow blocks of SeparableConv2D-BN with a strided 1x1 residual (Add), a middle-flow block, Flatten -> Dense', async () => {
    const net = embeddingNet('xception-like', [19, 17, 3], (input) => {
      let x = bnRelu('stem', conv('stem_conv', 8, input, { strides: 2, padding: 'valid', useBias: false }));
      for (const [i, filters] of [16, 24].entries()) {
        const residual = on(
          L.batchNormalization({ name: `b${i}_res_bn` }),
          conv(`b${i}_res`, filters, x, { kernelSize: 1, strides: 2, useBias: false }),
        );
        let y = i === 0 ? x : on(L.activation({ name: `b${i}_pre_relu`, activation: 'relu' }), x);
        y = bnRelu(`b${i}_sep1`, on(L.separableConv2d({ name: `b${i}_sep1`, filters, kernelSize: 3, padding: 'same', useBias: false }), y));
        y = on(
          L.batchNormalization({ name: `b${i}_sep2_bn` }),
          on(L.separableConv2d({ name: `b${i}_sep2`, filters, kernelSize: 3, padding: 'same', useBias: false }), y),
        );
        y = on(L.maxPooling2d({ name: `b${i}_pool`, poolSize: 3, strides: 2, padding: 'same' }), y);
        x = on(L.add({ name: `b${i}_add` }), [y, residual]);
      }
      let y = x;
      for (const j of [1, 2, 3]) {
        y = on(L.activation({ name: `m_relu${j}`, activation: 'relu' }), y);
        y = on(
          L.batchNormalization({ name: `m_sep${j}_bn` }),
          on(L.separableConv2d({ name: `m_sep${j}`, filters: 24, kernelSize: 3, padding: 'same', useBias: false }), y),
        );
      }
      return on(L.add({ name: 'm_add' }), [y, x]);
    });
    await expectConverted(net, ['b0_add', 'b1_add', 'm_add'], 80);
  });

  /** An MBConv block with squeeze-excitation: expand, depthwise, SE (GAP -> Reshape -> excite -> Multiply), project, residual. */
  function mbConv(name: string, x: ST, se: 'dense' | 'conv'): ST {
    const channels = x.shape[3] as number;
    const swish = (n: string, t: ST) =>
      on(L.activation({ name: `${name}_${n}_swish`, activation: 'swish' }), on(L.batchNormalization({ name: `${name}_${n}_bn` }), t));
    let y = swish('expand', conv(`${name}_expand`, channels * 4, x, { kernelSize: 1, useBias: false }));
    y = swish('dw', on(L.depthwiseConv2d({ name: `${name}_dw`, kernelSize: 3, padding: 'same', useBias: false }), y));
    let s = on(
      L.reshape({ name: `${name}_se_reshape`, targetShape: [1, 1, channels * 4] }),
      on(L.globalAveragePooling2d({ name: `${name}_se_squeeze` }), y),
    );
    s =
      se === 'dense'
        ? on(
            L.dense({ name: `${name}_se_excite`, units: channels * 4, activation: 'sigmoid' }),
            on(L.dense({ name: `${name}_se_reduce`, units: 2, activation: 'swish' }), s),
          )
        : conv(`${name}_se_excite`, channels * 4, conv(`${name}_se_reduce`, 2, s, { kernelSize: 1, activation: 'swish' }), {
            kernelSize: 1,
            activation: 'sigmoid',
          });
    y = on(L.multiply({ name: `${name}_se_excite_mul` }), [y, s]);
    y = on(L.batchNormalization({ name: `${name}_project_bn` }), conv(`${name}_project`, channels, y, { kernelSize: 1, useBias: false }));
    return on(L.add({ name: `${name}_add` }), [on(L.dropout({ name: `${name}_drop`, rate: 0.2 }), y), x]);
  }

  for (const se of ['dense', 'conv'] as const) {
    it(`EfficientNet-like: Rescaling, stem, MBConv blocks with squeeze-excitation (GAP -> Reshape -> ${se === 'dense' ? 'Dense -> Dense(sigmoid)' : 'Conv2D 1x1 -> Conv2D 1x1(sigmoid)'} -> Multiply), GAP -> Dense`, async () => {
      const net = embeddingNet(`efficientnet-like-${se}`, [15, 15, 3], (input) => {
        let x = on(L.rescaling({ name: 'rescaling', scale: 2, offset: -1 }), input);
        x = on(
          L.activation({ name: 'stem_swish', activation: 'swish' }),
          on(L.batchNormalization({ name: 'stem_bn' }), conv('stem_conv', 8, x, { strides: 2, useBias: false })),
        );
        x = mbConv('block1', mbConv('block0', x, se), se);
        return on(L.globalAveragePooling2d({ name: 'avg_pool' }), x);
      });
      await expectConverted(net, ['rescaling', 'block0_se_reshape', 'block0_se_excite', 'block0_se_excite_mul', 'block1_add'], 90);
    });
  }
});

describe('what the exporter refuses among these layers: OnnxExportError naming the layer', () => {
  const refusals: [string, (x: ST) => ST, string][] = [
    [
      'Concatenate along the batch axis',
      (x) => on(L.concatenate({ name: 'cat_batch', axis: 0 }), [x, x]),
      'layer "cat_batch" (class Concatenate) works along axis 0 of a rank-4 value',
    ],
    [
      'Concatenate along a negative axis other than -1 (tfjs runs it as -1)',
      (x) => on(L.concatenate({ name: 'cat_neg', axis: -2 }), [x, x]),
      'layer "cat_neg" (class Concatenate) concatenates along axis -2, which tfjs runs as axis -1 (the last); give the axis as 2',
    ],
    [
      'the Softmax layer over the batch axis',
      (x) => on(L.softmax({ name: 'softmax_batch', axis: 0 }), x),
      'layer "softmax_batch" (class Softmax) works along axis 0',
    ],
    [
      'SeparableConv2D on channelsFirst',
      (x) => on(L.separableConv2d({ name: 'sep_cf', filters: 2, kernelSize: 3, dataFormat: 'channelsFirst' }), x),
      'layer "sep_cf" (class SeparableConv2D) uses dataFormat "channelsFirst"',
    ],
    [
      'Cropping2D on channelsFirst',
      (x) => on(L.cropping2D({ name: 'crop_cf', cropping: 1, dataFormat: 'channelsFirst' }), x),
      'layer "crop_cf" (class Cropping2D) uses dataFormat "channelsFirst"',
    ],
    [
      'Rescaling by a per-channel array',
      (x) => on(L.rescaling({ name: 'rescale_array', scale: [1, 2, 3, 4] as unknown as number }), x),
      'layer "rescale_array" (class Rescaling) has scale [1,2,3,4]',
    ],
  ];
  for (const [what, layer, message] of refusals) {
    it(what, async () => {
      const net = embeddingNet('refused', [6, 6, 4], layer);
      try {
        const error = await exportToOnnx(net).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(OnnxExportError);
        expect((error as OnnxExportError).message).toContain(`ONNX export: ${message}`);
        expect((error as OnnxExportError).layerName).toBe(message.split('"')[1]);
      } finally {
        net.dispose();
      }
    });
  }
});

describe('the reference ONNX checker', () => {
  it('passes every file exported above (onnx.checker.check_model with full_check)', (ctx) => files.expectAllPassChecker(ctx, 10));
});
