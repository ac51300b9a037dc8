// Helpers for composing wasm kernels out of kernels the wasm backend already has. Kernels call
// each other's kernelFunc directly on TensorInfos (no tf ops: nothing is recorded on the gradient
// tape, no engine bookkeeping) and free their intermediates with backend.disposeData.
import * as tf from '@tensorflow/tfjs';

export type TensorInfo = tf.TensorInfo;
export type NamedAttrMap = tf.NamedAttrMap;
export type KernelBackend = tf.KernelBackend;
export type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

/** Runs another kernel of the same backend on TensorInfos. */
export class KernelScope {
  private readonly owned: TensorInfo[] = [];

  constructor(
    readonly backend: KernelBackend,
    readonly backendName: string,
  ) {}

  /** Runs `kernelName` and keeps the output for disposal by `dispose()` unless `keep()` is called. */
  run(kernelName: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
    const kernel = tf.getKernel(kernelName, this.backendName);
    if (!kernel) throw new Error(`Kernel '${kernelName}' not registered for backend '${this.backendName}'`);
    const out = kernel.kernelFunc({ inputs, attrs, backend: this.backend }) as TensorInfo | TensorInfo[];
    if (Array.isArray(out)) throw new Error(`Kernel '${kernelName}' returned several outputs`);
    this.owned.push(out);
    return out;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    if (x.shape.length === shape.length && x.shape.every((d, i) => d === shape[i])) return x;
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  /** Zero padding; a no-op when every pad is 0. */
  pad(x: TensorInfo, paddings: Array<[number, number]>): TensorInfo {
    if (paddings.every(([a, b]) => a === 0 && b === 0)) return x;
    return this.run('PadV2', { x }, { paddings, constantValue: 0 });
  }

  /** Slice; a no-op when it covers the whole tensor. */
  slice(x: TensorInfo, begin: number[], size: number[]): TensorInfo {
    if (begin.every((b) => b === 0) && size.every((s, i) => s === x.shape[i])) return x;
    return this.run('Slice', { x }, { begin, size });
  }

  /** An output of a kernel run outside run() (e.g. a wrapped kernel): disposed with the scope. */
  own<T extends TensorInfo>(x: T): T {
    this.owned.push(x);
    return x;
  }

  /** The result leaves the scope: it is not disposed by dispose(). */
  keep<T extends TensorInfo>(x: T): T {
    const i = this.owned.indexOf(x);
    if (i >= 0) this.owned.splice(i, 1);
    return x;
  }

  /** Frees every intermediate not kept. */
  dispose(): void {
    for (const t of this.owned) this.backend.disposeData(t.dataId);
    this.owned.length = 0;
  }
}

/** Runs `f` in a KernelScope and disposes intermediates, keeping the returned TensorInfo. */
export function withScope(backend: KernelBackend, backendName: string, f: (s: KernelScope) => TensorInfo): TensorInfo {
  const scope = new KernelScope(backend, backendName);
  try {
    return scope.keep(f(scope));
  } finally {
    scope.dispose();
  }
}

export function pair(v: number | [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}
