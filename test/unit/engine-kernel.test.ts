// The wasm training kernels (src/main/engine/runtime/kernels) against tfjs's 'cpu' backend.
// Tolerance: max |wasm - cpu| <= 1e-4 * max(1, max |cpu|) per gradient (float32, different
// summation orders). Leaks: tf.memory().numTensors AND the wasm backend's own data-id count must be
// unchanged after each case (kernel intermediates are backend data, not engine tensors).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/main/engine/runtime/backend';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
const TOL = 1e-4;

function rand(shape: number[], seed: number): Float32Array {
  // Deterministic values in [-1, 1) (xorshift), identical on both backends.
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  let s = seed * 2654435761 + 1;
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

function onBackend<T>(name: string, f: () => T): T {
  tf.setBackend(name);
  return f();
}

function maxRelErr(a: Float32Array, ref: Float32Array): number {
  let err = 0;
  let mag = 1;
  for (let i = 0; i < ref.length; i++) {
    err = Math.max(err, Math.abs(a[i] - ref[i]));
    mag = Math.max(mag, Math.abs(ref[i]));
  }
  return err / mag;
}

/** Gradients of sum(op(x, w) * dy) w.r.t. x and w on one backend: exactly the two backprop kernels. */
function grads(backend: string, op: (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D, xs: number[], ws: number[], seed: number) {
  return onBackend(backend, () => {
    const x = tf.tensor4d(rand(xs, seed), xs as [number, number, number, number]);
    const w = tf.tensor4d(rand(ws, seed + 1), ws as [number, number, number, number]);
    const yShape = tf.tidy(() => op(x, w).shape);
    const dy = tf.tensor(rand(yShape, seed + 2), yShape);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(op(a as tf.Tensor4D, b as tf.Tensor4D), dy)));
    const [dx, dw] = g([x, w]);
    const out = { dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array, dxShape: dx.shape, dwShape: dw.shape };
    tf.dispose([x, w, dy, dx, dw]);
    return out;
  });
}

function checkAgainstCpu(op: (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D, xs: number[], ws: number[], seed = 7) {
  const ref = grads('cpu', op, xs, ws, seed);
  tf.setBackend('wasm');
  const tensorsBefore = tf.memory().numTensors;
  const idsBefore = tf.backend().numDataIds();
  const got = grads('wasm', op, xs, ws, seed);
  expect(tf.memory().numTensors).toBe(tensorsBefore);
  expect(tf.backend().numDataIds()).toBe(idsBefore);
  expect(got.dxShape).toEqual(ref.dxShape);
  expect(got.dwShape).toEqual(ref.dwShape);
  const errX = maxRelErr(got.dx, ref.dx);
  const errW = maxRelErr(got.dw, ref.dw);
  expect(errX, 'input gradient').toBeLessThan(TOL);
  expect(errW, 'filter gradient').toBeLessThan(TOL);
}

beforeAll(async () => {
  const info = await initBackend({ force: 'wasm' });
  expect(info.name).toBe('wasm');
  await tf.ready();
});

describe('wasm Conv2DBackpropFilter / Conv2DBackpropInput vs cpu', () => {
  // [x shape, filter shape [kh,kw,ci,co], strides, pad]
  const cases: Array<[number[], number[], number | [number, number], Pad]> = [
    [[1, 5, 5, 1], [3, 3, 1, 1], 1, 'same'],
    [[1, 5, 5, 1], [3, 3, 1, 8], 1, 'valid'],
    [[4, 7, 7, 3], [3, 3, 3, 8], 1, 'same'],
    [[4, 7, 7, 3], [3, 3, 3, 8], 2, 'same'],
    [[4, 7, 7, 3], [3, 3, 3, 8], 2, 'valid'],
    [[1, 8, 8, 8], [3, 3, 8, 3], 2, 'same'],
    [[1, 8, 8, 8], [3, 3, 8, 3], 2, 'valid'],
    [[4, 9, 6, 3], [1, 1, 3, 8], 2, 'valid'], // ResNet projection shortcut
    [[4, 9, 6, 3], [1, 1, 3, 8], 1, 'same'],
    [[1, 11, 11, 3], [7, 7, 3, 8], 2, 'same'], // ResNet stem, small
    [[2, 10, 12, 8], [2, 2, 8, 1], 2, 'same'], // even kernel
    [[2, 10, 12, 3], [3, 5, 3, 8], [1, 2], 'same'], // non-square kernel, unequal strides
    [[2, 10, 12, 3], [5, 3, 3, 8], [2, 1], 'valid'],
    [[4, 28, 28, 1], [3, 3, 1, 8], 1, 'valid'], // the small CNN's first layer
    [
      [2, 9, 9, 3],
      [3, 3, 3, 8],
      1,
      [
        [0, 0],
        [1, 2],
        [0, 1],
        [0, 0],
      ],
    ], // explicit pads
    [
      [2, 9, 9, 3],
      [3, 3, 3, 8],
      2,
      [
        [0, 0],
        [2, 0],
        [1, 1],
        [0, 0],
      ],
    ],
    // More than 4 input channels: the dilated-conv form of the filter gradient (<= 4: im2col + matMul).
    [[4, 9, 9, 8], [3, 3, 8, 8], 2, 'valid'],
    [
      [2, 9, 9, 6],
      [3, 3, 6, 4],
      2,
      [
        [0, 0],
        [2, 0],
        [1, 1],
        [0, 0],
      ],
    ],
    [[2, 10, 12, 5], [3, 5, 5, 8], [1, 2], 'same'],
    [[2, 11, 11, 16], [1, 1, 16, 8], 2, 'valid'],
    [[4, 14, 14, 32], [3, 3, 32, 16], 1, 'same'],
  ];
  for (const [xs, ws, strides, pad] of cases) {
    it(`x ${xs.join('x')}, filter ${ws.join('x')}, strides ${strides}, pad ${JSON.stringify(pad)}`, () => {
      checkAgainstCpu((x, w) => tf.conv2d(x, w, strides, pad), xs, ws);
    });
  }
  it('fused conv2d (bias + relu, as tf.layers uses it)', () => {
    const bias = (b: string) => onBackend(b, () => tf.tensor1d(rand([8], 3)));
    const bc = bias('cpu');
    const bw = bias('wasm');
    checkAgainstCpu(
      (x, w) => tf.fused.conv2d({ x, filter: w, strides: 2, pad: 'same', bias: tf.getBackend() === 'cpu' ? bc : bw, activation: 'relu' }),
      [4, 9, 9, 3],
      [3, 3, 3, 8],
    );
    tf.dispose([bc, bw]);
  });
});

describe('wasm DepthwiseConv2dNativeBackpropFilter / Input vs cpu', () => {
  // [x shape, filter shape [kh,kw,c,m], strides, pad, dilations]. (tfjs has no gradient for dilated
  // depthwise convolutions, so dilations stay 1 here.)
  const cases: Array<[number[], number[], number, Pad, number]> = [
    [[4, 7, 7, 3], [3, 3, 3, 1], 1, 'same', 1],
    [[4, 7, 7, 8], [3, 3, 8, 1], 2, 'same', 1], // MobileNetV2 stride-2 block
    [[4, 8, 8, 8], [3, 3, 8, 1], 2, 'valid', 1],
    [[1, 9, 9, 3], [3, 3, 3, 2], 2, 'valid', 1], // channel multiplier 2
    [[2, 8, 8, 3], [3, 3, 3, 2], 1, 'same', 1],
    [[1, 6, 6, 1], [3, 3, 1, 1], 2, 'same', 1],
    [
      [2, 9, 9, 3],
      [5, 5, 3, 1],
      1,
      [
        [0, 0],
        [1, 3],
        [2, 2],
        [0, 0],
      ],
      1,
    ],
  ];
  for (const [xs, ws, strides, pad, dil] of cases) {
    it(`x ${xs.join('x')}, filter ${ws.join('x')}, strides ${strides}, pad ${JSON.stringify(pad)}, dilation ${dil}`, () => {
      checkAgainstCpu((x, w) => tf.depthwiseConv2d(x, w, strides, pad, 'NHWC', dil), xs, ws);
    });
  }
});

describe('wasm MaxPoolGrad (replaced: wasm 4.22 misroutes all-negative windows) vs cpu', () => {
  const cases: Array<[number[], number, number, 'same' | 'valid']> = [
    [[1, 4, 4, 1], 2, 2, 'valid'],
    [[4, 8, 8, 3], 2, 2, 'valid'],
    [[2, 9, 9, 8], 3, 2, 'same'], // ResNet stem pool: overlapping windows
    [[2, 7, 7, 3], 3, 1, 'same'],
    [[1, 7, 5, 2], 2, 2, 'same'], // odd sizes, padded windows
  ];
  for (const [xs, size, stride, pad] of cases) {
    it(`x ${xs.join('x')}, pool ${size}, stride ${stride}, ${pad} (inputs all negative, then mixed)`, () => {
      for (const shift of [-2, 0]) {
        const run = (b: string) =>
          onBackend(b, () => {
            const x = tf.tensor4d(
              rand(xs, 11).map((v) => v + shift),
              xs as [number, number, number, number],
            );
            const yShape = tf.tidy(() => tf.maxPool(x, size, stride, pad).shape);
            const dy = tf.tensor(rand(yShape, 12), yShape);
            const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, size, stride, pad), dy)))(x);
            const out = dx.dataSync() as Float32Array;
            tf.dispose([x, dy, dx]);
            return out;
          });
        const ref = run('cpu');
        tf.setBackend('wasm');
        const before = tf.backend().numDataIds();
        // Same positions; overlapping windows may add their dy in another order (float rounding).
        expect(maxRelErr(run('wasm'), ref)).toBeLessThan(1e-6);
        expect(tf.backend().numDataIds()).toBe(before);
      }
    });
  }
});

describe('wasm BatchMatMul with transposes (wrapped) vs cpu', () => {
  const cases: Array<[number[], number[], boolean, boolean]> = [
    [[64, 128], [300, 128], false, true],
    [[300, 64], [300, 16], true, false],
    [[3, 40, 50], [3, 60, 40], true, true],
    [[5, 7], [7, 3], false, false],
    // the flipped form (op(b)ᵀ · op(a)ᵀ)ᵀ: a dense layer's input gradient dy·Wᵀ, a broadcast batch, aᵀ·b with a thin b
    [[2, 256], [2048, 256], false, true],
    [[1, 6, 512], [3, 700, 512], false, true],
    [[5000, 3], [5000, 1], true, false],
  ];
  for (const [as, bs, ta, tb] of cases) {
    it(`a ${as.join('x')}${ta ? 'ᵀ' : ''} · b ${bs.join('x')}${tb ? 'ᵀ' : ''}`, () => {
      const run = (b: string) =>
        onBackend(b, () =>
          tf.tidy(() => tf.matMul(tf.tensor(rand(as, 1), as), tf.tensor(rand(bs, 2), bs), ta, tb).dataSync() as Float32Array),
        );
      const ref = run('cpu');
      tf.setBackend('wasm');
      const before = tf.backend().numDataIds();
      expect(maxRelErr(run('wasm'), ref)).toBeLessThan(TOL);
      expect(tf.backend().numDataIds()).toBe(before);
    });
  }
});

describe('wasm Mean / Sum over the spatial axes (an AvgPool) vs cpu', () => {
  const cases: Array<['mean' | 'sum', number[], number | number[], boolean]> = [
    ['mean', [8, 7, 7, 2048], [1, 2], false], // global average pooling of ResNet50's last block, 4 pairs
    ['mean', [2, 14, 10, 96], [2, 1], true], // Grad-CAM's channel weights mean_uv(g), keepDims
    ['sum', [3, 9, 11, 600], [-3, -2], true],
    ['sum', [4, 16, 16, 80], [1, 2], false],
    // not the spatial pair: wasm's own kernel
    ['mean', [4, 16, 16, 80], [1, 2, 3], false],
    ['sum', [4, 16, 16, 80], 3, false],
  ];
  for (const [op, shape, axis, keepDims] of cases) {
    it(`${op} of ${shape.join('x')} over ${JSON.stringify(axis)}${keepDims ? ', keepDims' : ''}`, () => {
      const run = (b: string) =>
        onBackend(b, () =>
          tf.tidy(() => {
            const x = tf.tensor(rand(shape, 5), shape);
            const y = op === 'mean' ? tf.mean(x, axis, keepDims) : tf.sum(x, axis, keepDims);
            return { values: y.dataSync() as Float32Array, shape: y.shape };
          }),
        );
      const ref = run('cpu');
      tf.setBackend('wasm');
      const before = tf.backend().numDataIds();
      const got = run('wasm');
      expect(got.shape).toEqual(ref.shape);
      expect(maxRelErr(got.values, ref.values)).toBeLessThan(TOL);
      expect(tf.backend().numDataIds()).toBe(before);
    });
  }
  it('an int32 sum over the spatial axes stays exact (wasm own kernel)', () => {
    tf.setBackend('wasm');
    const x = tf.tensor4d(
      Int32Array.from({ length: 2 * 128 * 128 }, (_, i) => i % 7),
      [2, 128, 128, 1],
      'int32',
    );
    const y = tf.sum(x, [1, 2]);
    expect(y.dtype).toBe('int32');
    const expected = [0, 1].map((b) => Array.from({ length: 16384 }, (_, i) => (b * 16384 + i) % 7).reduce((p, v) => p + v, 0));
    expect(Array.from(y.dataSync())).toEqual(expected);
    tf.dispose([x, y]);
  });
});
