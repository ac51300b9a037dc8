// The messages between the pool (main thread) and an engine worker. Payloads and results are
// structured-cloned; ArrayBuffers listed as transferables move instead of being copied.
import type { BackendInfo, BackendName } from '../backend';

/** workerData of an engine worker. */
export interface WorkerInit {
  /** Backend to force in the worker (else SIMLENS_BACKEND / the best available). */
  backend?: BackendName;
  /** Extra modules to import (absolute paths or file: URLs) that call registerTask(). */
  modules: string[];
  /** Int32Array over a SharedArrayBuffer: [0] = id of the task to cancel (read synchronously). */
  cancelFlag: SharedArrayBuffer;
  /** Worker index in its pool (0-based), for logs and tests. */
  index: number;
  /** Int32Array over a SharedArrayBuffer: native calls in flight, closed before terminate (native-gate.ts). */
  nativeGate: SharedArrayBuffer;
}

export type ToWorker = { type: 'run'; id: number; task: string; payload: unknown } | { type: 'cancel'; id: number };

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  /** Set when the task stopped because it was cancelled. */
  cancelled?: boolean;
}

export type FromWorker =
  | { type: 'ready'; backend: BackendInfo; tasks: string[] }
  | { type: 'init-error'; error: SerializedError }
  | { type: 'progress'; id: number; fraction: number; message?: string; data?: unknown }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; error: SerializedError };

export function serializeError(error: unknown, cancelled = false): SerializedError {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack, ...(cancelled ? { cancelled } : {}) };
  return { name: 'Error', message: String(error), ...(cancelled ? { cancelled } : {}) };
}

/**
 * The ArrayBuffers under a value's typed arrays (walking plain objects and arrays), for
 * postMessage's transfer list. Only whole buffers are listed: a view on part of a buffer is copied.
 */
export function collectTransferables(value: unknown, out: ArrayBuffer[] = [], depth = 0): ArrayBuffer[] {
  if (value === null || typeof value !== 'object' || depth > 4) return out;
  if (ArrayBuffer.isView(value)) {
    const buf = value.buffer;
    if (buf instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === buf.byteLength && !out.includes(buf)) out.push(buf);
    return out;
  }
  if (value instanceof ArrayBuffer) {
    if (!out.includes(value)) out.push(value);
    return out;
  }
  if (Array.isArray(value)) {
    for (const v of value) collectTransferables(v, out, depth + 1);
    return out;
  }
  if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTransferables(v, out, depth + 1);
  }
  return out;
}
