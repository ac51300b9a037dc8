// TensorFlow.js backend selection for the engine, best first:
//   tensorflow (@tensorflow/tfjs-node-gpu, CUDA) > tensorflow (@tensorflow/tfjs-node)
//   > wasm (SIMD, XNNPACK) > cpu (pure JS, last resort: 30-100x slower than wasm for convolutions).
// SIMLENS_BACKEND=tensorflow|wasm|cpu (or the `force` option) forces one. The notes say why each
// better backend was not used; they are shown in the UI and in `simlens info`.
//
// Idempotent and per-thread: every worker_thread has its own tfjs engine and calls this once.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from './kernels';

import { NATIVE_PACKAGES, parseForced, type BackendName, type NativePackage } from './backend-env';

export { BACKEND_NAMES, NATIVE_PACKAGES, installedNativePackage, parseForced, preferredBackend } from './backend-env';
export type { BackendName, NativePackage } from './backend-env';

export interface BackendInfo {
  /** The tfjs backend in use: tf.getBackend(). */
  name: BackendName;
  /** For 'tensorflow': which package provided it. */
  package?: NativePackage;
  /** For 'tensorflow': whether libtensorflow runs on a CUDA device (tfjs-node-gpu with a GPU). */
  gpu?: boolean;
  /** For 'wasm': SIMD and thread count (threads are never available in Node: 1). */
  wasm?: { simd: boolean; threads: number; kernels: string[] };
  /** Why the better backends were not used, and other facts worth showing. */
  notes: string[];
  /** Whether tensor work benefits from several worker_threads (single-threaded backends). */
  parallelizeWithWorkers: boolean;
}

export interface InitBackendOptions {
  /** Force a backend; default: process.env.SIMLENS_BACKEND, else the best available. */
  force?: BackendName;
  /** Environment to read SIMLENS_BACKEND from (tests). */
  env?: NodeJS.ProcessEnv;
}

/**
 * What `require('@tensorflow/tfjs-node')` / `require('@tensorflow/tfjs-node-gpu')` gives: the
 * subset we use, typed here so this file type-checks without either package installed.
 * Requiring the package registers the 'tensorflow' backend with @tensorflow/tfjs-core.
 */
export interface TfjsNodeModule {
  version: Record<string, string>;
}
/** The subset of tfjs-node's NodeJSKernelBackend we read. */
interface TfjsNodeBackendLike {
  isGPUPackage?: boolean;
  isUsingGpuDevice?: boolean;
}

const requireFromHere = createRequire(__filename);

/**
 * Requires an optional package by a name the bundler and TypeScript do not resolve statically.
 * Exported for tests (they inject a fake loader through `loadNative`).
 */
export function requireNative(pkg: NativePackage): TfjsNodeModule {
  const id: string = pkg;
  return requireFromHere(id) as TfjsNodeModule;
}

let loadNative: (pkg: NativePackage) => TfjsNodeModule = requireNative;
/** Tests only: replace how the native packages are loaded. Returns a restore function. */
export function setNativeLoaderForTests(loader: (pkg: NativePackage) => TfjsNodeModule): () => void {
  const previous = loadNative;
  loadNative = loader;
  return () => {
    loadNative = previous;
  };
}

let pending: { key: string; promise: Promise<BackendInfo> } | null = null;
let current: BackendInfo | null = null;

/** The backend chosen by the last successful initBackend() in this thread, or null. */
export function backendInfo(): BackendInfo | null {
  return current;
}

/** The folder holding tfjs-backend-wasm's .wasm binaries (its dist folder). */
export function wasmBinaryDir(): string {
  return dirname(requireFromHere.resolve('@tensorflow/tfjs-backend-wasm'));
}

/**
 * Chooses and initialises the best tfjs backend in this thread (main thread or worker).
 * Safe to call many times: the same request returns the same promise.
 */
export function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const env = options.env ?? process.env;
  let forced: BackendName | undefined;
  try {
    forced = options.force ?? parseForced(env.SIMLENS_BACKEND);
  } catch (error) {
    return Promise.reject(error);
  }
  const key = forced ?? 'auto';
  if (pending && pending.key === key) return pending.promise;
  const promise = choose(forced, options.force ? 'option' : 'SIMLENS_BACKEND').then((info) => {
    current = info;
    return info;
  });
  pending = { key, promise };
  promise.catch(() => {
    if (pending?.promise === promise) pending = null;
  });
  return promise;
}

function message(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0];
}

async function choose(forced: BackendName | undefined, forcedBy: string): Promise<BackendInfo> {
  const notes: string[] = [];
  if (forced) notes.push(`backend forced to '${forced}' by ${forcedBy}`);
  const order: BackendName[] = forced ? [forced] : ['tensorflow', 'wasm', 'cpu'];
  for (const name of order) {
    const info = await tryBackend(name, notes);
    if (info) return info;
  }
  throw new Error(`No TensorFlow.js backend could be initialised: ${notes.join('; ')}`);
}

async function tryBackend(name: BackendName, notes: string[]): Promise<BackendInfo | null> {
  if (name === 'tensorflow') return tryNative(notes);
  if (name === 'wasm') return tryWasm(notes);
  return tryCpu(notes);
}

async function tryNative(notes: string[]): Promise<BackendInfo | null> {
  for (const pkg of NATIVE_PACKAGES) {
    try {
      loadNative(pkg);
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException)?.code === 'MODULE_NOT_FOUND' && message(error).includes(pkg);
      notes.push(`${pkg} ${missing ? 'not installed' : 'failed to load'}: ${message(error)}`);
      continue;
    }
    if (!tf.findBackendFactory('tensorflow')) {
      notes.push(`${pkg} loaded but did not register the 'tensorflow' backend with this copy of @tensorflow/tfjs-core (version mismatch?)`);
      continue;
    }
    try {
      if (!(await tf.setBackend('tensorflow'))) throw new Error('tf.setBackend returned false');
      await tf.ready();
    } catch (error) {
      notes.push(`${pkg}: the 'tensorflow' backend failed to initialise: ${message(error)}`);
      continue;
    }
    const backend = tf.backend() as unknown as TfjsNodeBackendLike;
    const gpu = Boolean(backend.isUsingGpuDevice);
    if (pkg === '@tensorflow/tfjs-node-gpu' && !gpu)
      notes.push(`${pkg} loaded but no CUDA device is in use: libtensorflow runs on the CPU`);
    return { name: 'tensorflow', package: pkg, gpu, notes, parallelizeWithWorkers: false };
  }
  return null;
}

let wasmPathsSet = false;

async function tryWasm(notes: string[]): Promise<BackendInfo | null> {
  try {
    if (!wasmPathsSet) {
      // In Node the binaries are read from the package's dist folder (the default would be a URL
      // relative to the script, which does not exist in the bundle).
      setWasmPaths(join(wasmBinaryDir(), '/'));
      wasmPathsSet = true;
    }
    if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend returned false');
    await tf.ready();
  } catch (error) {
    notes.push(`wasm backend failed to initialise: ${message(error)}`);
    return null;
  }
  const kernels = registerWasmTrainingKernels();
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  const threads = getThreadsCount();
  notes.push(
    `wasm: SIMD ${simd ? 'on' : 'off'}, ${threads} thread${threads === 1 ? '' : 's'} (multithreaded wasm is not supported by tfjs in Node: use worker_threads for parallelism)`,
  );
  if (kernels.length) notes.push(`wasm: SimLens kernels registered: ${kernels.join(', ')}`);
  return { name: 'wasm', wasm: { simd, threads, kernels }, notes, parallelizeWithWorkers: true };
}

async function tryCpu(notes: string[]): Promise<BackendInfo | null> {
  try {
    if (!(await tf.setBackend('cpu'))) throw new Error('tf.setBackend returned false');
    await tf.ready();
  } catch (error) {
    notes.push(`cpu backend failed to initialise: ${message(error)}`);
    return null;
  }
  notes.push('cpu: pure-JavaScript backend, 30-100x slower than wasm for convolutions');
  return { name: 'cpu', notes, parallelizeWithWorkers: true };
}
