// The light half of backend selection (no tfjs import): names, SIMLENS_BACKEND parsing, and whether
// a native package is installed. The main thread uses it to size the worker pool without loading
// TensorFlow.js; backend.ts does the actual initialisation.
import { createRequire } from 'node:module';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

/** The optional native packages, best first. Both register the 'tensorflow' backend. */
export const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;
export type NativePackage = (typeof NATIVE_PACKAGES)[number];

const requireFromHere = createRequire(__filename);

/** SIMLENS_BACKEND's value as a backend name (aliases: node, tfjs-node, native); undefined if empty. */
export function parseForced(value: string | undefined): BackendName | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim().toLowerCase();
  const alias: Record<string, BackendName> = {
    tensorflow: 'tensorflow',
    node: 'tensorflow',
    'tfjs-node': 'tensorflow',
    native: 'tensorflow',
    wasm: 'wasm',
    cpu: 'cpu',
  };
  const name = alias[v];
  if (!name) throw new Error(`SIMLENS_BACKEND=${value} is not one of ${BACKEND_NAMES.join(', ')}`);
  return name;
}

/** How a package name is resolved (require.resolve); tests pass another to try both states. */
export type PackageResolver = (id: string) => string;

/** The first native package that is installed (resolvable), without loading it; or null. */
export function installedNativePackage(resolve: PackageResolver = (id) => requireFromHere.resolve(id)): NativePackage | null {
  for (const pkg of NATIVE_PACKAGES) {
    try {
      const id: string = pkg;
      resolve(id);
      return pkg;
    } catch {
      // not installed
    }
  }
  return null;
}

/** The backend initBackend() will try first under `env` (nothing is initialised); `installed`: for tests. */
export function preferredBackend(
  env: NodeJS.ProcessEnv = process.env,
  installed: () => NativePackage | null = installedNativePackage,
): BackendName {
  return parseForced(env.SIMLENS_BACKEND) ?? (installed() ? 'tensorflow' : 'wasm');
}
