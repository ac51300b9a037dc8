// Backend selection (src/main/engine/runtime/backend.ts). Whether tfjs-node(-gpu) is installed
// depends on the machine (it cannot install on the CI machines; it does on a user's machine or a
// GPU box), so the choice is tested through the injected loader in both states: packages missing
// (Node's MODULE_NOT_FOUND) and present (a stand-in that registers a 'tensorflow' backend the way
// the real package does, as a side effect of require). The real loader is checked for consistency
// with require.resolve, whichever the state of this machine.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  initBackend,
  installedNativePackage,
  NATIVE_PACKAGES,
  preferredBackend,
  requireNative,
  setNativeLoaderForTests,
  type NativePackage,
  type TfjsNodeModule,
} from '../../src/main/engine/runtime/backend';
import { defaultPoolSize } from '../../src/main/engine/runtime/pool/pool';

afterEach(async () => {
  await initBackend({ force: 'wasm' });
});

/** What Node's require throws for a package that is not installed. */
const notFound = (pkg: string) =>
  Object.assign(new Error(`Cannot find module '${pkg}'\nRequire stack:\n- x.js`), { code: 'MODULE_NOT_FOUND' });

/** A loader for which none of the native packages is installed. */
const noneInstalled = (loaded: string[] = []) =>
  setNativeLoaderForTests((pkg): TfjsNodeModule => {
    loaded.push(pkg);
    throw notFound(pkg);
  });

/** A loader for which `installed` are present: requiring one registers 'tensorflow' (priority 3), like tfjs-node. */
const withInstalled = (installed: NativePackage[], loaded: string[] = []) =>
  setNativeLoaderForTests((pkg): TfjsNodeModule => {
    loaded.push(pkg);
    if (!installed.includes(pkg)) throw notFound(pkg);
    const Cpu = (tf.findBackend('cpu') as object).constructor as new () => tf.KernelBackend;
    tf.registerBackend('tensorflow', () => new Cpu(), 3);
    return { version: { 'tfjs-node': '4.22.0' } };
  });

describe('initBackend', () => {
  it('picks wasm (SIMD, 1 thread, SimLens kernels) when neither tfjs-node package is installed, and says why', async () => {
    const loaded: string[] = [];
    const restore = noneInstalled(loaded);
    try {
      const info = await initBackend({ env: {} });
      expect(loaded).toEqual(['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']);
      expect(info.name).toBe('wasm');
      expect(tf.getBackend()).toBe('wasm');
      expect(info.wasm).toMatchObject({ simd: true, threads: 1 });
      expect(info.wasm!.kernels).toEqual(
        expect.arrayContaining([
          'Conv2DBackpropFilter',
          'Conv2DBackpropInput',
          'DepthwiseConv2dNativeBackpropFilter',
          'DepthwiseConv2dNativeBackpropInput',
        ]),
      );
      expect(info.notes.join('\n')).toMatch(/@tensorflow\/tfjs-node-gpu not installed: Cannot find module '@tensorflow\/tfjs-node-gpu'/);
      expect(info.notes.join('\n')).toMatch(/@tensorflow\/tfjs-node not installed: Cannot find module '@tensorflow\/tfjs-node'/);
      expect(info.parallelizeWithWorkers).toBe(true);
    } finally {
      restore();
    }
  });

  it('is idempotent: the same request gives the same promise', () => {
    expect(initBackend({ force: 'wasm' })).toBe(initBackend({ force: 'wasm' }));
  });

  it('SIMLENS_BACKEND forces a backend', async () => {
    const info = await initBackend({ env: { SIMLENS_BACKEND: 'cpu' } });
    expect(info.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(info.notes[0]).toMatch(/forced to 'cpu' by SIMLENS_BACKEND/);
    await expect(initBackend({ env: { SIMLENS_BACKEND: 'webgpu' } })).rejects.toThrow(
      /SIMLENS_BACKEND=webgpu is not one of tensorflow, wasm, cpu/,
    );
  });

  it('forcing tensorflow without tfjs-node fails with the reasons', async () => {
    const restore = noneInstalled();
    try {
      await expect(initBackend({ force: 'tensorflow' })).rejects.toThrow(
        /No TensorFlow.js backend could be initialised: .*tfjs-node-gpu not installed.*tfjs-node not installed/,
      );
    } finally {
      restore();
    }
  });

  it('the real loader requires the package by name: it loads exactly what require.resolve finds on this machine', () => {
    const resolvable = (pkg: string) => {
      try {
        createRequire(__filename).resolve(pkg);
        return true;
      } catch {
        return false;
      }
    };
    for (const pkg of NATIVE_PACKAGES) {
      let error: unknown = null;
      try {
        requireNative(pkg);
      } catch (e) {
        error = e;
      }
      const missing =
        (error as NodeJS.ErrnoException | null)?.code === 'MODULE_NOT_FOUND' && String((error as Error).message).includes(`'${pkg}'`);
      expect(missing, `${pkg}: ${String(error)}`).toBe(!resolvable(pkg));
    }
    // and the light check (no loading) agrees
    expect(installedNativePackage()).toBe(NATIVE_PACKAGES.find(resolvable) ?? null);
  });

  it("uses tfjs-node when present: the package registers 'tensorflow' and is preferred to wasm", async () => {
    const loaded: string[] = [];
    const restore = withInstalled(['@tensorflow/tfjs-node'], loaded);
    try {
      const info = await initBackend({ env: {} });
      expect(loaded).toEqual(['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']);
      expect(info).toMatchObject({ name: 'tensorflow', package: '@tensorflow/tfjs-node', gpu: false, parallelizeWithWorkers: false });
      expect(tf.getBackend()).toBe('tensorflow');
      expect(info.notes.join('\n')).toMatch(/tfjs-node-gpu not installed/);
    } finally {
      restore();
      tf.removeBackend('tensorflow');
    }
  });

  it('prefers tfjs-node-gpu when both are installed, and says when no CUDA device is in use', async () => {
    const loaded: string[] = [];
    const restore = withInstalled(['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'], loaded);
    try {
      const info = await initBackend({ env: {} });
      expect(loaded).toEqual(['@tensorflow/tfjs-node-gpu']); // the first that works is used; the other is never loaded
      expect(info).toMatchObject({ name: 'tensorflow', package: '@tensorflow/tfjs-node-gpu', gpu: false, parallelizeWithWorkers: false });
      expect(info.notes.join('\n')).toMatch(/tfjs-node-gpu loaded but no CUDA device is in use/);
    } finally {
      restore();
      tf.removeBackend('tensorflow');
    }
  });

  it('a native package that loads but cannot initialise falls back to wasm with a note', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined); // tfjs logs the failure
    const restore = setNativeLoaderForTests(() => {
      tf.registerBackend('tensorflow', () => {
        throw new Error('libtensorflow.so.2: cannot open shared object file');
      });
      return { version: {} };
    });
    try {
      const info = await initBackend({ env: { SIMLENS_BACKEND: '' } });
      expect(info.name).toBe('wasm');
      expect(info.notes.join('\n')).toMatch(/'tensorflow' backend failed to initialise/);
    } finally {
      warn.mockRestore();
      restore();
      tf.removeBackend('tensorflow');
    }
  });
});

describe('pool sizing without loading tfjs', () => {
  const resolveOnly =
    (...present: string[]) =>
    (id: string) => {
      if (present.includes(id)) return `/node_modules/${id}/index.js`;
      throw notFound(id);
    };

  it('installedNativePackage: the first native package the resolver finds (gpu first), else null', () => {
    expect(installedNativePackage(resolveOnly())).toBeNull();
    expect(installedNativePackage(resolveOnly('@tensorflow/tfjs-node'))).toBe('@tensorflow/tfjs-node');
    expect(installedNativePackage(resolveOnly('@tensorflow/tfjs-node-gpu'))).toBe('@tensorflow/tfjs-node-gpu');
    expect(installedNativePackage(resolveOnly('@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'))).toBe('@tensorflow/tfjs-node-gpu');
  });

  it('one worker per core for wasm/cpu, one for tfjs-node, SIMLENS_WORKERS overrides', () => {
    // not installed: wasm; installed: tensorflow; SIMLENS_BACKEND wins either way
    expect(preferredBackend({}, () => null)).toBe('wasm');
    expect(preferredBackend({}, () => '@tensorflow/tfjs-node')).toBe('tensorflow');
    expect(preferredBackend({ SIMLENS_BACKEND: 'native' }, () => null)).toBe('tensorflow');
    expect(preferredBackend({ SIMLENS_BACKEND: 'wasm' }, () => '@tensorflow/tfjs-node-gpu')).toBe('wasm');
    expect(defaultPoolSize({}, 'wasm')).toBe(availableParallelism());
    expect(defaultPoolSize({}, 'cpu')).toBe(availableParallelism());
    expect(defaultPoolSize({}, 'tensorflow')).toBe(1);
    expect(defaultPoolSize({ SIMLENS_BACKEND: 'tensorflow' })).toBe(1);
    expect(defaultPoolSize({ SIMLENS_BACKEND: 'cpu' })).toBe(availableParallelism());
    expect(defaultPoolSize({ SIMLENS_WORKERS: '3' })).toBe(3);
    expect(defaultPoolSize({ SIMLENS_WORKERS: '3' }, 'tensorflow')).toBe(3);
    // without an override, the default follows what this machine has installed
    expect(defaultPoolSize({})).toBe(preferredBackend({}) === 'tensorflow' ? 1 : availableParallelism());
  });
});
