// Tasks every engine worker has: introspection and cache control (plus echo/sleep, handy to test
// the plumbing: transfer, progress, cancellation).
import * as tf from '@tensorflow/tfjs';
import { backendInfo } from './backend';
import { openSessions } from '../onnx/session-cache';
import { initInference } from './inference';
import { clearCache, defineTasks, taskNames } from './pool/registry';

export const runtimeTasks = defineTasks({
  'engine.info': async (_p: undefined, ctx) => ({
    workerIndex: ctx.workerIndex,
    backend: backendInfo(),
    /** this worker's inference engine (ONNX Runtime or tfjs), chosen on first use */
    inference: await initInference(),
    /** ONNX Runtime sessions open in this worker (file, threads, users) */
    ortSessions: openSessions(),
    tasks: taskNames(),
    memory: { numTensors: tf.memory().numTensors, numBytes: tf.memory().numBytes },
  }),

  /** Drops the worker's cached entries whose key starts with `prefix` (all without one); resolves with their count. */
  'engine.clearCache': (p: { prefix?: string } | undefined) => clearCache(p?.prefix ?? ''),

  'engine.echo': (p: unknown) => p,

  /** Sleeps `ms` in steps of `step` ms, reporting progress and stopping when cancelled. */
  'engine.sleep': async (p: { ms: number; step?: number }, ctx) => {
    const step = p.step ?? 10;
    const t0 = Date.now();
    while (Date.now() - t0 < p.ms) {
      ctx.throwIfCancelled();
      await new Promise((r) => setTimeout(r, step));
      ctx.progress(Math.min(1, (Date.now() - t0) / p.ms));
    }
    return { slept: Date.now() - t0 };
  },
});

/** The table's type: what a TaskPool<RuntimeTasks> may run. */
export type RuntimeTasks = typeof runtimeTasks;
