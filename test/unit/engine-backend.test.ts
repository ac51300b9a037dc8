// Backend selection (src/main/engine/runtime/backend.ts). On these machines tfjs-node(-gpu) cannot install,
// so the auto choice is wasm; the tfjs-node path is exercised with a stand-in package that
// registers a 'tensorflow' backend the way the real one does (as a side effect of require).
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { initBackend, requireNative, setNativeLoaderForTests, type TfjsNodeModule } from '../../src/main/engine/runtime/backend';

afterEach(async () => {
  await initBackend({ force: 'wasm' });
});

describe('initBackend', () => {
  it('picks wasm here (SIMD, 1 thread, SimLens kernels) and says why not tfjs-node', async () => {
    const info = await initBackend({ env: {} });
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
    await expect(initBackend({ force: 'tensorflow' })).rejects.toThrow(
      /No TensorFlow.js backend could be initialised: .*tfjs-node-gpu not installed.*tfjs-node not installed/,
    );
  });

  it('the real loader requires the package by name', () => {
    expect(() => requireNative('@tensorflow/tfjs-node')).toThrow(/Cannot find module '@tensorflow\/tfjs-node'/);
  });

  it("uses tfjs-node when present: the package registers 'tensorflow' and is preferred to wasm", async () => {
    const loaded: string[] = [];
    const restore = setNativeLoaderForTests((pkg): TfjsNodeModule => {
      loaded.push(pkg);
      if (pkg === '@tensorflow/tfjs-node-gpu') throw Object.assign(new Error(`Cannot find module '${pkg}'`), { code: 'MODULE_NOT_FOUND' });
      // What requiring @tensorflow/tfjs-node does: register a 'tensorflow' backend (priority 3).
      const Cpu = (tf.findBackend('cpu') as object).constructor as new () => tf.KernelBackend;
      tf.registerBackend('tensorflow', () => new Cpu(), 3);
      return { version: { 'tfjs-node': '4.22.0' } };
    });
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
  it('one worker per core for wasm/cpu, one for tfjs-node, SIMLENS_WORKERS overrides', async () => {
    const { defaultPoolSize } = await import('../../src/main/engine/runtime/pool/pool');
    const { preferredBackend } = await import('../../src/main/engine/runtime/backend-env');
    const { availableParallelism } = await import('node:os');
    expect(preferredBackend({})).toBe('wasm'); // tfjs-node(-gpu) not installed here
    expect(preferredBackend({ SIMLENS_BACKEND: 'native' })).toBe('tensorflow');
    expect(defaultPoolSize({})).toBe(availableParallelism());
    expect(defaultPoolSize({}, 'tensorflow')).toBe(1);
    expect(defaultPoolSize({ SIMLENS_BACKEND: 'tensorflow' })).toBe(1);
    expect(defaultPoolSize({ SIMLENS_WORKERS: '3' })).toBe(3);
  });
});
