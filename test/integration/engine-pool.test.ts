// The engine worker pool: real worker_threads running src/main/engine/worker.ts through tsx,
// each with its own wasm backend.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/main/engine/runtime/backend';
import { parallelMapRows, PoolAbortError, WorkerPool, WorkerTaskError } from '../../src/main/engine/runtime/pool';
import { tinyEmbed, type FixtureTasks } from './engine-pool.fixture-tasks';
import { until } from './until';
import type { EngineTasks } from '../../src/main/engine/tasks';

const FIXTURE = join(__dirname, 'engine-pool.fixture-tasks.ts');

let pool: WorkerPool<FixtureTasks & EngineTasks>;

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
  pool = new WorkerPool<FixtureTasks & EngineTasks>({ size: 2, backend: 'wasm', modules: [FIXTURE], cancelGraceMs: 1000 });
  const infos = await pool.ready();
  expect(infos.map((i) => i.name)).toEqual(['wasm', 'wasm']);
});

afterAll(async () => {
  await pool?.close();
  expect(pool.workers().every((w) => w.exited)).toBe(true);
});

describe('WorkerPool', () => {
  it('initialises a backend in every worker and lists the registered tasks', async () => {
    const infos = await pool.broadcast('engine.info');
    expect(infos.map((i) => i.workerIndex).sort()).toEqual([0, 1]);
    for (const info of infos) {
      expect(info.backend!.name).toBe('wasm');
      expect(info.backend!.wasm!.kernels).toContain('Conv2DBackpropFilter');
      expect(info.tasks).toEqual(expect.arrayContaining(['engine.info', 'engine.sleep', 'test.embed', 'test.fail']));
    }
    expect(new Set(pool.workers().map((w) => w.threadId)).size).toBe(2);
  });

  it('parallelMapRows gives exactly the single-thread result, in order', async () => {
    const n = 53; // not a multiple of the chunk size
    const rows = new Float32Array(n * 144).map((_, i) => Math.sin(i * 0.37));
    const reference = tinyEmbed(rows, n); // this thread, wasm, one batch
    let lastProgress = 0;
    const out = await parallelMapRows(pool, 'test.embed', rows, 144, { chunkSize: 7, onProgress: (done) => (lastProgress = done) });
    expect(out.rows).toBe(n);
    expect(out.outSize).toBe(16);
    expect(Array.from(out.data)).toEqual(Array.from(reference));
    expect(lastProgress).toBe(n);
    expect(rows.length).toBe(n * 144); // the caller's buffer is not detached
  });

  it('spreads calls over both workers: two tasks that wait for each other meet', async () => {
    const counter = new SharedArrayBuffer(4);
    const meet = () => pool.run('test.rendezvous', { counter, parties: 2, timeoutMs: 30_000 });
    const [a, b] = await Promise.all([meet(), meet()]);
    expect([a.met, b.met]).toEqual([true, true]); // ran at the same time
    expect(a.threadId).not.toBe(b.threadId);
    expect(
      pool
        .workers()
        .map((w) => w.threadId)
        .sort(),
    ).toEqual([a.threadId, b.threadId].sort());
  });

  it('moves Float32Array buffers both ways when asked', async () => {
    const data = new Float32Array([1, 2, 3]);
    const back = await pool.run('engine.echo', data, { transfer: [data.buffer] });
    expect(data.length).toBe(0); // transferred
    expect(Array.from(back as Float32Array)).toEqual([1, 2, 3]);
  });

  it('propagates errors with the original name and message', async () => {
    const error = await pool.run('test.fail', { message: 'bad input 42' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerTaskError);
    expect((error as Error).name).toBe('RangeError');
    expect((error as Error).message).toBe('bad input 42');
    expect((error as WorkerTaskError).workerStack).toContain('engine-pool.fixture-tasks');
    // @ts-expect-error the task table has no such task: refused by the compiler, and by the worker at run time
    await expect(pool.run('no.such.task')).rejects.toThrow(/Unknown engine task 'no.such.task'/);
  });

  it('relays progress', async () => {
    const seen: Array<[number, string | undefined]> = [];
    await pool.run('test.progress', { steps: 4 }, { onProgress: (f, m) => seen.push([f, m]) });
    expect(seen).toEqual([
      [0.25, 'step 1'],
      [0.5, 'step 2'],
      [0.75, 'step 3'],
      [1, 'step 4'],
    ]);
  });

  it('cancels: queued calls are rejected, running ones stop, the pool keeps working', async () => {
    const controller = new AbortController();
    const started: number[] = [];
    const calls = Array.from({ length: 5 }, (_, i) =>
      pool
        .run('test.spin', { ms: 60_000 }, { signal: controller.signal, onProgress: (_f, m) => m === 'started' && started.push(i) })
        .catch((e: unknown) => e),
    );
    await until(() => started.length === 2, 'both workers to start spinning');
    expect(pool.busy).toBe(2);
    expect(pool.pending).toBe(3);
    const threads = pool.workers().map((w) => w.threadId);
    controller.abort();
    const errors = await Promise.all(calls);
    for (const e of errors) expect(e).toBeInstanceOf(PoolAbortError);
    // The spinning tasks saw the synchronous flag and stopped: both slots free again, their
    // workers kept (a task that ignored the flag would have its worker terminated and replaced).
    await until(() => pool.busy === 0, 'both workers to stop');
    expect(pool.workers().map((w) => w.threadId)).toEqual(threads);
    expect(started).toHaveLength(2); // the three queued calls never started
    const r = await pool.run('engine.sleep', { ms: 1 });
    expect(r.slept).toBeGreaterThanOrEqual(1);
    expect(pool.pending).toBe(0);
    await expect(pool.run('engine.echo', 1, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(PoolAbortError);
  });

  it('cancelling a parallelMap rejects it with AbortError', async () => {
    const controller = new AbortController();
    const rows = new Float32Array(4000 * 144);
    let done = 0;
    const p = parallelMapRows(pool, 'test.embed', rows, 144, {
      chunkSize: 10,
      signal: controller.signal,
      onProgress: (d) => {
        done = d;
        controller.abort(); // on the first chunk back
      },
    });
    await expect(p).rejects.toBeInstanceOf(PoolAbortError);
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(4000);
    expect(pool.pending).toBe(0);
  });

  it('a worker that dies fails its call and is replaced', async () => {
    const before = pool.workers().map((w) => w.threadId);
    await expect(pool.run('test.exit', { code: 3 })).rejects.toThrow(/exited with code 3/);
    await pool.ready();
    expect(pool.workers().filter((w) => !before.includes(w.threadId))).toHaveLength(1);
    expect(await pool.run('test.backend')).toMatchObject({ backend: 'wasm' });
  });

  it('replaces a worker whose task ignores cancellation', async () => {
    const before = pool.workers().map((w) => w.threadId);
    const controller = new AbortController();
    let started = false;
    const p = pool.run('test.stubborn', { ms: 5000 }, { signal: controller.signal, onProgress: (_f, m) => (started ||= m === 'started') });
    await until(() => started, 'the stubborn task to start');
    controller.abort();
    await expect(p).rejects.toBeInstanceOf(PoolAbortError);
    // After the grace period (1 s) the pool terminates the worker and starts another.
    await until(() => pool.workers().some((w) => !before.includes(w.threadId)), 'the stubborn worker to be replaced');
    await pool.ready();
    const after = pool.workers().map((w) => w.threadId);
    expect(after.filter((id) => !before.includes(id))).toHaveLength(1);
    expect(await pool.run('test.backend')).toEqual({ backend: 'wasm', numTensors: 0 });
  });
});

describe('WorkerPool replacing a worker', () => {
  it('a call made while a stubborn worker is being terminated runs on its replacement (it is never sent to the dying worker)', async () => {
    // One worker, so every call goes to that slot: after the grace period the pool terminates it,
    // and calls made before its 'exit' event must wait for the replacement instead of failing.
    const one = new WorkerPool<FixtureTasks & EngineTasks>({ size: 1, backend: 'wasm', modules: [FIXTURE], cancelGraceMs: 100 });
    try {
      await one.ready();
      const before = one.workers()[0].threadId;
      const controller = new AbortController();
      let started = false;
      const stubborn = one.run(
        'test.stubborn',
        { ms: 5000 },
        { signal: controller.signal, onProgress: (_f, m) => (started ||= m === 'started') },
      );
      await until(() => started, 'the stubborn task to start');
      controller.abort();
      await expect(stubborn).rejects.toBeInstanceOf(PoolAbortError);
      // a call on every turn of the event loop until the replacement exists: some land between
      // terminate() and the 'exit' event
      const calls: Promise<unknown>[] = [];
      while (!one.workers().some((w) => w.threadId !== before)) {
        calls.push(one.run('engine.sleep', { ms: 0 }));
        await new Promise((r) => setImmediate(r));
      }
      expect(calls.length).toBeGreaterThan(0);
      const settled = await Promise.allSettled(calls);
      expect(settled.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    } finally {
      await one.close();
    }
  });
});

describe('WorkerPool lifecycle', () => {
  it('rejects calls after close and when workers cannot start', async () => {
    const p = new WorkerPool<EngineTasks>({ size: 1, backend: 'wasm', modules: ['/nonexistent/tasks.ts'] });
    await expect(p.ready()).rejects.toThrow(/failed to start/);
    await expect(p.run('engine.info')).rejects.toThrow(/failed to start|exited/);
    await p.close();
    await expect(p.run('engine.info')).rejects.toThrow(/closed/);
  });

  const bundled = join(__dirname, '../../out/main/engine-worker.js');
  it('runs the bundled worker (out/main/engine-worker.js, after npm run build)', async () => {
    if (!existsSync(bundled)) throw new Error(`${bundled} is missing: run npm run build first`);
    const p = new WorkerPool<EngineTasks>({ size: 1, backend: 'wasm', workerScript: bundled });
    try {
      const [info] = await p.ready();
      expect(info.name).toBe('wasm');
      expect(info.wasm!.kernels).toContain('Conv2DBackpropFilter');
      expect(await p.run('engine.sleep', { ms: 5 })).toMatchObject({ slept: expect.any(Number) });
    } finally {
      await p.close();
    }
  });

  it('an idle pool does not keep the process alive', () => {
    const script = [
      `const { WorkerPool } = require(${JSON.stringify(join(__dirname, '../../src/main/engine/runtime/pool/pool.ts'))});`,
      'const pool = new WorkerPool({ size: 2, backend: "cpu" });',
      'pool.run("engine.sleep", { ms: 50 }).then((r) => console.log("done", r.slept >= 50));',
    ].join('\n');
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: join(__dirname, '../..'),
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('done true');
    expect(r.status).toBe(0);
  });
});

afterAll(() => {
  expect(tf.memory().numTensors).toBe(0);
});
