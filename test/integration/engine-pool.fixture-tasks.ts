// Tasks for test/integration/engine-pool.test.ts, imported by the pool's workers (`modules`).
import { threadId } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { defineTasks, registerTasks } from '../../src/main/engine/runtime/pool/registry';

/** Deterministic weights in [-0.5, 0.5). */
function weights(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 4294967296 - 0.5;
  }
  return out;
}

/** A tiny conv "embedding": rows of 12x12x1 images -> 16 floats each. Same code in the test process and the workers. */
export function tinyEmbed(rows: Float32Array, count: number): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(rows, [count, 12, 12, 1]);
    const w1 = tf.tensor4d(weights(3 * 3 * 1 * 8, 1), [3, 3, 1, 8]);
    const w2 = tf.tensor2d(weights(6 * 6 * 8 * 16, 2), [6 * 6 * 8, 16]);
    const h = tf.maxPool(tf.relu(tf.conv2d(x, w1, 1, 'same')), 2, 2, 'valid');
    return tf.matMul(tf.reshape(h, [count, 6 * 6 * 8]), w2).dataSync() as Float32Array;
  });
}

export const fixtureTasks = defineTasks({
  'test.embed': (p: { rows: Float32Array; count: number }) => tinyEmbed(p.rows, p.count),

  'test.fail': (p: { message: string }) => {
    throw new RangeError(p.message);
  },

  /** Busy loop (never yields) that stops only through the synchronous cancel flag. Says 'started' first. */
  'test.spin': (p: { ms: number }, ctx) => {
    ctx.progress(0, 'started');
    const t0 = Date.now();
    let n = 0;
    while (Date.now() - t0 < p.ms) {
      ctx.throwIfCancelled();
      n++;
    }
    return n;
  },

  /** Ignores cancellation: the pool must terminate and replace its worker after the grace period. Says 'started' first. */
  'test.stubborn': (p: { ms: number }, ctx) => {
    ctx.progress(0, 'started');
    const t0 = Date.now();
    while (Date.now() - t0 < p.ms) {
      /* busy */
    }
    return 'done';
  },

  'test.progress': async (p: { steps: number }, ctx) => {
    for (let i = 1; i <= p.steps; i++) {
      await new Promise((r) => setImmediate(r));
      ctx.progress(i / p.steps, `step ${i}`);
    }
    return p.steps;
  },

  /**
   * A barrier of `parties` tasks over shared memory: each arrives, then blocks (Atomics.wait, never
   * yielding) until all have arrived. Tasks run one after another would never meet: the first
   * gives up after `timeoutMs` (a bound on a wait that fails the test, not a measured time).
   */
  'test.rendezvous': (p: { counter: SharedArrayBuffer; parties: number; timeoutMs: number }) => {
    const arrived = new Int32Array(p.counter);
    Atomics.add(arrived, 0, 1);
    Atomics.notify(arrived, 0);
    const deadline = Date.now() + p.timeoutMs;
    for (let seen = Atomics.load(arrived, 0); seen < p.parties; seen = Atomics.load(arrived, 0)) {
      const left = deadline - Date.now();
      if (left <= 0) return { met: false, threadId };
      Atomics.wait(arrived, 0, seen, left);
    }
    return { met: true, threadId };
  },

  'test.backend': () => ({ backend: tf.getBackend(), numTensors: tf.memory().numTensors }),

  /** Ends the worker thread (process.exit in a worker only stops that thread). */
  'test.exit': (p: { code: number }) => {
    process.exit(p.code);
  },
});

registerTasks(fixtureTasks);

export type FixtureTasks = typeof fixtureTasks;
