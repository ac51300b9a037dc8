// MaxPoolGrad for the wasm backend, replacing tfjs-backend-wasm 4.22's, which is WRONG when every
// value of a pooling window is negative (it sends the gradient to the window's first position
// instead of its maximum; found by test/unit/engine-kernel-probe.test.ts) and slow (17-22 ms for the
// small CNN's 64x28x28x32 pool). This one runs in JS on the wasm heap, with the 'cpu' backend's
// semantics: the gradient goes to the FIRST maximum of each window in row-major order, padding is
// never a maximum; overlapping windows add up.
import * as tf from '@tensorflow/tfjs';
import type { KernelBackend, TensorInfo } from './util';

interface HeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array;
}

export interface MaxPoolGradAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export function maxPoolGradImpl(backend: KernelBackend, dy: TensorInfo, input: TensorInfo, attrs: MaxPoolGradAttrs): TensorInfo {
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const {
    batchSize: nb,
    inHeight: h,
    inWidth: w,
    inChannels: c,
    outHeight: ho,
    outWidth: wo,
    strideHeight: sh,
    strideWidth: sw,
    filterHeight: fh,
    filterWidth: fw,
  } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const heap = backend as unknown as HeapBackend;
  const dx = heap.makeOutput(input.shape, 'float32');
  // Views AFTER makeOutput (an allocation may grow, and so move, the wasm memory).
  const xv = heap.typedArrayFromHeap(input);
  const dyv = heap.typedArrayFromHeap(dy);
  const dxv = heap.typedArrayFromHeap(dx);
  dxv.fill(0);
  const maxVal = new Float32Array(c);
  const maxIdx = new Int32Array(c);
  for (let n = 0; n < nb; n++) {
    for (let p = 0; p < ho; p++) {
      const r0 = p * sh - pt;
      const rMin = Math.max(0, r0);
      const rMax = Math.min(h, r0 + fh);
      for (let q = 0; q < wo; q++) {
        const c0 = q * sw - pl;
        const cMin = Math.max(0, c0);
        const cMax = Math.min(w, c0 + fw);
        maxVal.fill(-Infinity);
        maxIdx.fill(-1);
        for (let r = rMin; r < rMax; r++) {
          for (let col = cMin; col < cMax; col++) {
            const base = ((n * h + r) * w + col) * c;
            for (let k = 0; k < c; k++) {
              const v = xv[base + k];
              if (v > maxVal[k]) {
                maxVal[k] = v;
                maxIdx[k] = base + k;
              }
            }
          }
        }
        const out = ((n * ho + p) * wo + q) * c;
        for (let k = 0; k < c; k++) {
          const i = maxIdx[k];
          if (i >= 0) dxv[i] += dyv[out + k];
        }
      }
    }
  }
  return dx;
}

export function makeMaxPoolGradConfig(backendName: string): tf.KernelConfig {
  return {
    kernelName: tf.MaxPoolGrad,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) =>
      maxPoolGradImpl(backend as KernelBackend, inputs.dy as TensorInfo, inputs.input as TensorInfo, attrs as unknown as MaxPoolGradAttrs),
  };
}
