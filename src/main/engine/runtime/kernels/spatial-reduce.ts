// Mean and Sum for the wasm backend, wrapping tfjs-backend-wasm 4.22's own: a reduction over axes
// that are not the innermost ones first transposes them innermost (a full copy at ~0.3 element/ns),
// which makes the spatial reduction of NHWC feature maps, axes [1, 2], the dearest step around
// a CAM head: global average pooling in the forward and Grad-CAM's channel weights mean_uv(g).
// An average pool over the whole map [h, w] (XNNPACK) gives the same values without the copy.
// Measured on [8, 7, 7, 2048] (ResNet50's last block, 4 pairs): Mean 2.5 ms, AvgPool 0.34 ms.
// Sum over [1, 2] is that average times h*w. Only float32 rank-4 inputs reduced over exactly
// axes 1 and 2 take this path; everything else goes to wasm's kernel.
import * as tf from '@tensorflow/tfjs';
import { type KernelBackend, type TensorInfo, withScope } from './util';

/** Below this many input elements the transpose is cheap and wasm's own kernel is used. */
const MIN_ELEMENTS = 16384;

function spatialAxes(x: TensorInfo, axis: unknown): boolean {
  if (x.shape.length !== 4 || x.dtype !== 'float32') return false;
  const list = (Array.isArray(axis) ? axis : [axis]).map((a) => (Number(a) + 4) % 4).sort();
  return list.length === 2 && list[0] === 1 && list[1] === 2;
}

function makeSpatialReduceConfig(
  kernelName: typeof tf.Mean | typeof tf.Sum,
  backendName: string,
  original: tf.KernelConfig,
): tf.KernelConfig {
  const inner = original.kernelFunc;
  return {
    kernelName,
    backendName,
    setupFunc: original.setupFunc,
    disposeFunc: original.disposeFunc,
    kernelFunc: (args) => {
      const x = args.inputs.x as TensorInfo;
      const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
      const size = x.shape.reduce((p, d) => p * d, 1);
      if (size < MIN_ELEMENTS || !spatialAxes(x, axis)) return inner(args);
      const [n, h, w, c] = x.shape;
      return withScope(args.backend as KernelBackend, backendName, (s) => {
        // [n, h, w, c] -> [n, 1, 1, c]
        let out = s.run(tf.AvgPool, { x }, { filterSize: [h, w], strides: [h, w], pad: 'valid' });
        if (kernelName === tf.Sum) {
          const scale = s.run(tf.Fill, {}, { shape: [], value: h * w, dtype: 'float32' });
          out = s.run(tf.Multiply, { a: out, b: scale });
        }
        return keepDims ? out : s.reshape(out, [n, c]);
      });
    },
  };
}

export const makeMeanConfig = (backendName: string, original: tf.KernelConfig) => makeSpatialReduceConfig(tf.Mean, backendName, original);
export const makeSumConfig = (backendName: string, original: tf.KernelConfig) => makeSpatialReduceConfig(tf.Sum, backendName, original);
