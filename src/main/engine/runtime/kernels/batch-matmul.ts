// BatchMatMul for the wasm backend, wrapping tfjs-backend-wasm 4.22's own: with transposeA or
// transposeB its kernel leaves XNNPACK's fast path (the dense layers' gradients dx = dy·Wᵀ and
// dW = xᵀ·dy: 16-66 ms for the small CNN's 3136x128 layer on 64 images), while a physical
// Transpose followed by the plain product takes 2-4 ms. So transpose first, then multiply.
import * as tf from '@tensorflow/tfjs';
import { type KernelBackend, type TensorInfo, withScope } from './util';

/** Transposing is only worth it above this many elements in the operand (tiny products are cheap either way). */
const MIN_ELEMENTS = 4096;

export function makeBatchMatMulConfig(backendName: string, original: tf.KernelConfig): tf.KernelConfig {
  const inner = original.kernelFunc;
  return {
    kernelName: tf.BatchMatMul,
    backendName,
    setupFunc: original.setupFunc,
    disposeFunc: original.disposeFunc,
    kernelFunc: (args) => {
      const { inputs, attrs } = args;
      const backend = args.backend as KernelBackend;
      const a = inputs.a as TensorInfo;
      const b = inputs.b as TensorInfo;
      const transposeA = Boolean(attrs?.transposeA);
      const transposeB = Boolean(attrs?.transposeB);
      const size = (t: TensorInfo) => t.shape.reduce((p, d) => p * d, 1);
      const fixA = transposeA && size(a) >= MIN_ELEMENTS;
      const fixB = transposeB && size(b) >= MIN_ELEMENTS;
      if (!fixA && !fixB) return inner(args);
      return withScope(backend, backendName, (s) => {
        const swapLast = (t: TensorInfo) => {
          const r = t.shape.length;
          const perm = Array.from({ length: r }, (_, i) => i);
          perm[r - 2] = r - 1;
          perm[r - 1] = r - 2;
          return s.transpose(t, perm);
        };
        const a2 = fixA ? swapLast(a) : a;
        const b2 = fixB ? swapLast(b) : b;
        const out = inner({
          inputs: { a: a2, b: b2 },
          backend,
          attrs: { ...attrs, transposeA: transposeA && !fixA, transposeB: transposeB && !fixB },
        }) as TensorInfo;
        return out;
      });
    },
  };
}
