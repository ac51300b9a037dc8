// Kernels SimLens adds to (or replaces in) tfjs-backend-wasm 4.22 so that training runs on wasm:
//   Conv2DBackpropFilter                 missing: conv of x^T with dy^T as the filter (dilated)
//   Conv2DBackpropInput                  replaced: wasm's is a plain C++ loop, ~10x slower than
//                                        this XNNPACK-based one (phase-split when strided)
//   DepthwiseConv2dNativeBackpropFilter  missing (MobileNetV2): one depthwise conv, batch folded
//   DepthwiseConv2dNativeBackpropInput   missing (MobileNetV2): depthwise conv with flipped filter
//   MaxPoolGrad                          replaced: wasm's sends the gradient to the wrong place when
//                                        a whole window is negative (and is 3-4x slower)
//   BatchMatMul                          wrapped: with transposeA/B wasm's is 5-15x slower than a
//                                        Transpose + the plain product (dense-layer gradients)
//   Mean, Sum                            wrapped: over axes [1, 2] of NHWC maps an AvgPool, 7x
//                                        faster than wasm's transpose + reduce
// Every kernel is composed of kernels wasm already has (Transpose, Slice, Reverse, StridedSlice,
// Conv2D, DepthwiseConv2dNative, DepthToSpace, Sum, AvgPool, Multiply) and is checked against the 'cpu' backend in
// test/unit/engine-kernel*.test.ts.
import * as tf from '@tensorflow/tfjs';
import { makeBatchMatMulConfig } from './batch-matmul';
import { makeConv2dBackpropFilterConfig } from './conv2d-backprop-filter';
import { makeConv2dBackpropInputConfig } from './conv2d-backprop-input';
import { makeMaxPoolGradConfig } from './max-pool-grad';
import { makeMeanConfig, makeSumConfig } from './spatial-reduce';
import { makeDepthwiseBackpropFilterConfig, makeDepthwiseBackpropInputConfig } from './depthwise-backprop';

export { conv2dBackpropFilterImpl } from './conv2d-backprop-filter';
export { conv2dBackpropInputImpl } from './conv2d-backprop-input';
export { depthwiseBackpropFilterImpl, depthwiseBackpropInputImpl } from './depthwise-backprop';
export { maxPoolGradImpl } from './max-pool-grad';

/** Kernels registered only when wasm lacks them. */
const ADD_IF_MISSING = [makeConv2dBackpropFilterConfig, makeDepthwiseBackpropFilterConfig, makeDepthwiseBackpropInputConfig];
/** Kernels replaced even when wasm has them (theirs is much slower). */
const REPLACE = [makeConv2dBackpropInputConfig, makeMaxPoolGradConfig];

/** Kernels wrapped: the backend's own still does the cases the wrapper does not speed up. */
const WRAP: Array<[string, (backendName: string, original: tf.KernelConfig) => tf.KernelConfig]> = [
  [tf.BatchMatMul, makeBatchMatMulConfig],
  [tf.Mean, makeMeanConfig],
  [tf.Sum, makeSumConfig],
];

const registered = new Map<string, string[]>();

/**
 * Registers SimLens's training kernels for `backendName` (default 'wasm'); idempotent. Returns the
 * names of the kernels registered by SimLens (also on later calls).
 */
export function registerWasmTrainingKernels(backendName = 'wasm'): string[] {
  const done = registered.get(backendName);
  if (done) return [...done];
  const names: string[] = [];
  for (const make of ADD_IF_MISSING) {
    const config = make(backendName);
    if (tf.getKernel(config.kernelName, backendName)) continue;
    tf.registerKernel(config);
    names.push(config.kernelName);
  }
  for (const make of REPLACE) {
    const config = make(backendName);
    if (tf.getKernel(config.kernelName, backendName)) tf.unregisterKernel(config.kernelName, backendName);
    tf.registerKernel(config);
    names.push(config.kernelName);
  }
  for (const [kernelName, wrap] of WRAP) {
    const original = tf.getKernel(kernelName, backendName);
    if (!original) continue;
    tf.unregisterKernel(kernelName, backendName);
    tf.registerKernel(wrap(backendName, original));
    names.push(kernelName);
  }
  registered.set(backendName, names);
  return [...names];
}

/** Tests and benchmarks: the kernel configs, to compare against the backend's own. */
export const kernelFactories = {
  makeMaxPoolGradConfig,
  makeBatchMatMulConfig,
  makeMeanConfig,
  makeSumConfig,
  makeConv2dBackpropFilterConfig,
  makeConv2dBackpropInputConfig,
  makeDepthwiseBackpropFilterConfig,
  makeDepthwiseBackpropInputConfig,
};
