// Which engine runs the forwards that need no weight gradient (embedding for evaluation and
// scoring, the forward to a CAM target layer, the masked forwards of Score-CAM, occlusion, RISE,
// deletion and insertion): ONNX Runtime (onnxruntime-node) where it loads, else the tfjs backend
// of backend.ts. SIMLENS_INFER=ort|tfjs (or the `force` option) forces one; forcing 'ort' where
// ONNX Runtime cannot load falls back to tfjs with the reason in the notes (shown by app.info,
// the footer and `simlens info`), since every result is the same on both, only slower.
//
// Execution providers: the accelerated ones onnxruntime-node lists for this platform (CUDA on
// Linux when its libraries are installed, DirectML on Windows, CoreML on macOS) are each tried on
// a one-node model; the CPU provider is always last. SIMLENS_ORT_PROVIDERS=cpu (a comma list)
// restricts them.
//
// Per thread and idempotent, like initBackend: each engine worker loads its own ONNX Runtime.
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import type * as Ort from 'onnxruntime-node';
import { OnnxGraphBuilder } from '../onnx/graph-builder';
import { uninterrupted } from './pool/native-gate';

export type InferenceEngineName = 'ort' | 'tfjs';
export const INFERENCE_ENGINES: readonly InferenceEngineName[] = ['ort', 'tfjs'];

const requireFromHere = createRequire(__filename);

/** onnxruntime-node's names of the execution providers SimLens tries, best first. */
const ACCELERATED_PROVIDERS = ['cuda', 'dml', 'coreml'] as const;

export interface InferenceInfo {
  /** The engine of the forwards without weight gradient. */
  name: InferenceEngineName;
  /** onnxruntime-node's version, when it loaded. */
  ortVersion?: string;
  /** The execution providers sessions are created with, best first ('cpu' last). */
  providers: string[];
  /** Intra-op threads per ONNX Runtime session in this thread. */
  threads: number;
  /** Why ONNX Runtime or a provider is not used, and how it was chosen. */
  notes: string[];
}

export interface InitInferenceOptions {
  force?: InferenceEngineName;
  env?: NodeJS.ProcessEnv;
}

/** SIMLENS_INFER's value (aliases: onnx, onnxruntime); undefined if empty. */
export function parseInferForced(value: string | undefined): InferenceEngineName | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const alias: Record<string, InferenceEngineName> = { ort: 'ort', onnx: 'ort', onnxruntime: 'ort', tfjs: 'tfjs' };
  const name = alias[value.trim().toLowerCase()];
  if (!name) throw new Error(`SIMLENS_INFER=${value} is not one of ${INFERENCE_ENGINES.join(', ')}`);
  return name;
}

/**
 * Threads per session: SIMLENS_ORT_THREADS, else every core in the main thread (the CLI and
 * tests run there alone) and 1 in an engine worker (the pool runs one worker per core; measured:
 * `npm run bench -- ort`).
 */
export function ortThreads(env: NodeJS.ProcessEnv = process.env, inWorker = !isMainThread): number {
  const forced = Number(env.SIMLENS_ORT_THREADS);
  if (Number.isInteger(forced) && forced >= 1 && forced <= 256) return forced;
  return inWorker ? 1 : Math.max(1, availableParallelism());
}

let ortModule: Promise<typeof Ort> | undefined;

/**
 * onnxruntime-node, loaded once per thread. SIMLENS_ORT_MODULE names another module id: the
 * tests point it at a missing one to run as on a machine without ONNX Runtime.
 */
export function loadOnnxRuntime(env: NodeJS.ProcessEnv = process.env): Promise<typeof Ort> {
  ortModule ??= (env.SIMLENS_ORT_MODULE ? import(env.SIMLENS_ORT_MODULE) : import('onnxruntime-node'))
    // A CommonJS package: its exports are the namespace's, or its default's where Node's
    // detection of CommonJS named exports misses them.
    .then((m: unknown) => ('InferenceSession' in (m as object) ? m : (m as { default: unknown }).default) as typeof Ort)
    .catch((error: unknown) => {
      ortModule = undefined;
      throw new Error(`ONNX Runtime (onnxruntime-node) could not be loaded: ${firstLine(error)}`);
    });
  return ortModule;
}

const firstLine = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0];

let pending: { key: string; promise: Promise<InferenceInfo> } | null = null;
let current: InferenceInfo | null = null;

/** The choice of the last initInference() in this thread, or null before it. */
export function inferenceInfo(): InferenceInfo | null {
  return current;
}

/** Chooses the inference engine of this thread (see the file's comment). Never rejects on a missing ONNX Runtime. */
export function initInference(options: InitInferenceOptions = {}): Promise<InferenceInfo> {
  const env = options.env ?? process.env;
  let forced: InferenceEngineName | undefined;
  try {
    forced = options.force ?? parseInferForced(env.SIMLENS_INFER);
  } catch (error) {
    return Promise.reject(error);
  }
  const key = `${forced ?? 'auto'}|${env.SIMLENS_ORT_PROVIDERS ?? ''}|${env.SIMLENS_ORT_MODULE ?? ''}`;
  if (pending && pending.key === key) return pending.promise;
  const promise = choose(forced, options.force ? 'option' : 'SIMLENS_INFER', env).then((info) => {
    current = info;
    return info;
  });
  pending = { key, promise };
  return promise;
}

async function choose(forced: InferenceEngineName | undefined, forcedBy: string, env: NodeJS.ProcessEnv): Promise<InferenceInfo> {
  const notes: string[] = [];
  const threads = ortThreads(env);
  if (forced) notes.push(`inference forced to '${forced}' by ${forcedBy}`);
  if (forced === 'tfjs') return { name: 'tfjs', providers: [], threads, notes };
  let ort: typeof Ort;
  try {
    ort = await loadOnnxRuntime(env);
  } catch (error) {
    notes.push(`${firstLine(error)}: every forward runs on tfjs`);
    return { name: 'tfjs', providers: [], threads, notes };
  }
  const providers = await workingProviders(ort, env, notes);
  return { name: 'ort', ortVersion: ort.env.versions?.node ?? ort.env.versions?.common, providers, threads, notes };
}

/** The providers to create sessions with: each accelerated one that runs a one-node model here, then 'cpu'. */
async function workingProviders(ort: typeof Ort, env: NodeJS.ProcessEnv, notes: string[]): Promise<string[]> {
  const allowed = env.SIMLENS_ORT_PROVIDERS?.split(',')
    .map((p) => p.trim().toLowerCase())
    .filter(Boolean);
  const listed = new Map((ort.listSupportedBackends?.() ?? []).map((b) => [b.name, b.bundled]));
  const providers: string[] = [];
  for (const name of ACCELERATED_PROVIDERS) {
    if (!listed.has(name)) continue;
    // A provider not bundled with the package (CUDA) lives in a library of its own, which the
    // package's install script downloads; the project's .npmrc skips that download (see README).
    if (!listed.get(name) && !providerLibraryPresent(name)) {
      notes.push(`ONNX Runtime provider '${name}' is not installed (its library was not downloaded: see the README's GPU note)`);
      continue;
    }
    if (allowed && !allowed.includes(name)) {
      notes.push(`ONNX Runtime provider '${name}' left out by SIMLENS_ORT_PROVIDERS`);
      continue;
    }
    try {
      await uninterrupted(async () => {
        const session = await ort.InferenceSession.create(identityModel(), { executionProviders: [name] });
        await session.release();
      });
      providers.push(name);
    } catch (error) {
      notes.push(`ONNX Runtime provider '${name}' is not usable here: ${firstLine(error)}`);
    }
  }
  providers.push('cpu');
  return providers;
}

/** Whether onnxruntime-node's folder holds the provider's own library (libonnxruntime_providers_<name>.so / .dll). */
function providerLibraryPresent(name: string): boolean {
  try {
    const binding = join(dirname(requireFromHere.resolve('onnxruntime-node/package.json')), 'bin');
    const stack = [binding];
    while (stack.length > 0) {
      const dir = stack.pop()!;
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) stack.push(join(dir, entry.name));
        else if (entry.name.includes(`onnxruntime_providers_${name}`)) return true;
      }
    }
  } catch {
    // no package folder to look into
  }
  return false;
}

/** A model of one Identity node (float [1] -> [1]): enough to see whether a provider starts. */
function identityModel(): Uint8Array {
  const g = new OnnxGraphBuilder(['x', 'y']);
  g.addGraphInput('x', [1]);
  g.addNode('Identity', ['x'], {}, 'probe', 'y');
  g.addGraphOutput('y', [1]);
  return g.encodeModel({ graphName: 'probe', producerVersion: '' });
}

/** Tests only: forget this thread's choice (and loaded module), so the next initInference chooses again. */
export function resetInferenceForTests(): void {
  pending = null;
  current = null;
  ortModule = undefined;
}
