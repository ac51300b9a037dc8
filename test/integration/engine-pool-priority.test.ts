// WorkerPool task priority: 'interactive' calls start before queued 'background' ones (never
// preempting a running task); calls pinned to a worker (broadcast) keep their order on it.
// Orderings only (a 1-worker pool whose worker is held by a blocking call while the queue is
// built), so nothing depends on timing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PoolAbortError, WorkerPool } from '../../src/main/engine/runtime/pool';
import type { EngineTasks } from '../../src/main/engine/tasks';

let pool: WorkerPool<EngineTasks>;

beforeAll(async () => {
  pool = new WorkerPool<EngineTasks>({ size: 1, backend: 'wasm' });
  await pool.ready();
});

afterAll(async () => {
  await pool?.close();
});

/** Records the order in which calls complete (one worker: the order they ran in). */
function recorder() {
  const order: string[] = [];
  const track = (label: string, p: Promise<unknown>) =>
    p.then(
      () => void order.push(label),
      (e: Error) => void order.push(`${label}:${e.name}`),
    );
  return { order, track };
}

describe('WorkerPool priority', () => {
  it('runs queued interactive calls first, in their order, after the running call; background ones keep theirs', async () => {
    const { order, track } = recorder();
    const calls = [track('blocker', pool.run('engine.sleep', { ms: 150 }))];
    calls.push(track('A', pool.run('engine.echo', 'A')));
    calls.push(track('B', pool.run('engine.echo', 'B', { priority: 'background' })));
    calls.push(track('I', pool.run('engine.echo', 'I', { priority: 'interactive' })));
    calls.push(track('C', pool.run('engine.echo', 'C')));
    calls.push(track('J', pool.run('engine.echo', 'J', { priority: 'interactive' })));
    expect(pool.pending).toBe(5);
    await Promise.all(calls);
    expect(order).toEqual(['blocker', 'I', 'J', 'A', 'B', 'C']);
  });

  it('a pinned (broadcast) call never overtakes an earlier one pinned to the same worker', async () => {
    const { order, track } = recorder();
    const calls = [track('blocker', pool.run('engine.sleep', { ms: 150 }))];
    calls.push(track('X (broadcast, background)', pool.broadcast('engine.echo', 'X')));
    calls.push(track('Y (broadcast, interactive)', pool.broadcast('engine.echo', 'Y', { priority: 'interactive' })));
    calls.push(track('Z (interactive)', pool.run('engine.echo', 'Z', { priority: 'interactive' })));
    calls.push(track('W (background)', pool.run('engine.echo', 'W')));
    await Promise.all(calls);
    // Z overtakes X; Y, interactive but pinned behind X, waits for X, then overtakes W
    expect(order).toEqual(['blocker', 'Z (interactive)', 'X (broadcast, background)', 'Y (broadcast, interactive)', 'W (background)']);
  });

  it('a queued interactive call can be cancelled; the others still run in order', async () => {
    const { order, track } = recorder();
    const controller = new AbortController();
    const calls = [track('blocker', pool.run('engine.sleep', { ms: 100 }))];
    calls.push(track('A', pool.run('engine.echo', 'A')));
    calls.push(track('I', pool.run('engine.echo', 'I', { priority: 'interactive', signal: controller.signal })));
    calls.push(track('J', pool.run('engine.echo', 'J', { priority: 'interactive' })));
    controller.abort();
    await Promise.all(calls);
    expect(order).toEqual(['I:AbortError', 'blocker', 'J', 'A']);
    await expect(pool.run('engine.echo', 1, { priority: 'interactive', signal: AbortSignal.abort() })).rejects.toBeInstanceOf(
      PoolAbortError,
    );
    expect(pool.pending).toBe(0);
  });
});
