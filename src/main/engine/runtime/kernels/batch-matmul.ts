// BatchMatMul for the wasm backend, wrapping tfjs-backend-wasm 4.22's own: with transposeA or
// transposeB its kernel leaves XNNPACK's fast path (the dense layers' gradients dx = dy·Wᵀ and
// dW = xᵀ·dy: 16-66 ms for the small CNN's 3136x128 layer on 64 images), while a physical
// Transpose followed by the plain product takes 2-4 ms. So transpose first, then multiply.
// Transposing is not free either (wasm's Transpose moves ~0.1 element/ns), so of the two plain
// products that give C = op(a)·op(b),
//   direct:   op(a) · op(b)                 transposes a if transposeA, b if transposeB
//   flipped: (op(b)ᵀ · op(a)ᵀ)ᵀ             transposes a unless transposeA, b unless transposeB, and C
// the one moving fewer elements is taken. Measured: a Dense layer's input gradient dy·Wᵀ with dy
// [2, 256] and W [2048, 256] (ResNet50's head, one pair): 5.9 ms direct, 0.3 ms flipped.
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
      const [m, n] = [transposeA ? a.shape.at(-1)! : a.shape.at(-2)!, transposeB ? b.shape.at(-2)! : b.shape.at(-1)!];
      const batch = Math.max(size(a) / (a.shape.at(-1)! * a.shape.at(-2)!), size(b) / (b.shape.at(-1)! * b.shape.at(-2)!));
      const directCost = (fixA ? size(a) : 0) + (fixB ? size(b) : 0);
      const flippedCost = (transposeA ? 0 : size(a)) + (transposeB ? 0 : size(b)) + batch * m * n;
      return withScope(backend, backendName, (s) => {
        const swapLast = (t: TensorInfo) => {
          const r = t.shape.length;
          const perm = Array.from({ length: r }, (_, i) => i);
          perm[r - 2] = r - 1;
          perm[r - 1] = r - 2;
          return s.transpose(t, perm);
        };
        const plain = { ...attrs, transposeA: false, transposeB: false };
        if (flippedCost < directCost) {
          // Cᵀ = op(b)ᵀ · op(a)ᵀ, both plain products; then C = (Cᵀ)ᵀ
          const x = transposeB ? b : swapLast(b);
          const y = transposeA ? a : swapLast(a);
          const outT = s.own(inner({ inputs: { a: x, b: y }, backend, attrs: plain }) as TensorInfo);
          return swapLast(outT);
        }
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
