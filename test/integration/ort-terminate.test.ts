// A pool worker terminated while ONNX Runtime runs a session in it (a cancelled task past its
// grace period, the pool closing) must not take the process down: onnxruntime-node's session
// runs synchronously in native code, and a terminated worker returning from it aborts the whole
// process (exit code 134, "terminate called after throwing an instance of 'Napi::Error'"). The
// pool waits for the worker's native call to return (runtime/pool/native-gate.ts). Without the
// gate this file's process aborts; with it, the pool replaces the worker and goes on.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSiamese, defaultModelConfig, saveSiamese } from '../../src/main/engine/models';
import { PoolAbortError, WorkerPool } from '../../src/main/engine/runtime/pool';
import type { EngineTasks } from '../../src/main/engine/tasks';

const dir = mkdtempSync(join(tmpdir(), 'simlens-ort-terminate-'));
const modelDir = join(dir, 'resnet');
const SHAPE: [number, number, number] = [96, 96, 3];
/** One ONNX Runtime run of this many images takes a good part of a second here (one thread). */
const IMAGES = 200;

beforeAll(async () => {
  const m = await buildSiamese(defaultModelConfig({ arch: 'resnet18', inputShape: SHAPE, width: 0.5, seed: 1 }));
  await saveSiamese(m, modelDir);
  m.dispose();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rows = (n: number) => new Float32Array(n * SHAPE[0] * SHAPE[1] * SHAPE[2]).map((_, i) => (i % 255) / 255);
const embed = (pool: WorkerPool<EngineTasks>, n: number, signal?: AbortSignal) =>
  pool.run('models.embed', { modelDir, modelKey: 'terminate', shape: SHAPE, rows: rows(n), count: n }, { signal });

/** A pool whose worker has loaded the version and its ONNX session (export done), ready to run. */
async function warmPool(cancelGraceMs: number): Promise<WorkerPool<EngineTasks>> {
  const env = { ...process.env };
  delete env.SIMLENS_INFER;
  const pool = new WorkerPool<EngineTasks>({ size: 1, backend: 'wasm', env, cancelGraceMs });
  const info = await pool.broadcast('engine.info');
  expect(info[0].inference.name).toBe('ort');
  expect((await embed(pool, 2)).length).toBe(2 * 64);
  return pool;
}

describe('terminating a worker inside an ONNX Runtime run', () => {
  it('a cancelled task past its grace: the worker is replaced after its run returns, the process lives on', async () => {
    const pool = await warmPool(1);
    try {
      const controller = new AbortController();
      const running = embed(pool, IMAGES, controller.signal);
      await new Promise((r) => setTimeout(r, 150)); // inside the run by now
      controller.abort();
      await expect(running).rejects.toBeInstanceOf(PoolAbortError);
      // the replacement worker serves the next call
      const again = await embed(pool, 3);
      expect(again.length).toBe(3 * 64);
      expect(Number.isFinite(again[0])).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('closing the pool while a run is in flight', async () => {
    const pool = await warmPool(10_000);
    const running = embed(pool, IMAGES).catch((error: unknown) => error);
    await new Promise((r) => setTimeout(r, 150));
    await pool.close();
    expect(String(await running)).toMatch(/WorkerPool closed/);
    expect(pool.workers().every((w) => w.exited)).toBe(true);
  });
});
