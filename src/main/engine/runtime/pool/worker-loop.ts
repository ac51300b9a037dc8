// The message loop of an engine worker thread (its entry is engine/worker.ts, built as
// out/main/engine-worker.js; from sources it runs through tsx). It initialises its own tfjs
// backend, imports the extra task modules it was given, then runs one registered task at a time
// on request. See pool.ts for the other side.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../backend';
import { useNativeGate } from './native-gate';
import type { FromWorker, ToWorker, WorkerInit } from './protocol';
import { collectTransferables, serializeError } from './protocol';
import { cached, getTask, TaskCancelledError, taskNames, type TaskContext } from './registry';

const requireFromHere = createRequire(__filename);
const port = parentPort;
if (!port) throw new Error('engine worker: must run in a worker_thread');
const init = workerData as WorkerInit;
const cancelFlag = new Int32Array(init.cancelFlag);
useNativeGate(init.nativeGate);
const controllers = new Map<number, AbortController>();
const queue: Array<Extract<ToWorker, { type: 'run' }>> = [];
let running = false;

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(msg, transfer);
}

/** Starts serving the pool: call once, after registering the worker's tasks (registry.ts). */
export async function serveWorker(): Promise<void> {
  try {
    const backend = await initBackend(init.backend ? { force: init.backend } : {});
    // require, not import(): from sources the .ts modules load through tsx's CommonJS hook.
    for (const m of init.modules) requireFromHere(m.startsWith('file:') ? fileURLToPath(m) : m);
    post({ type: 'ready', backend, tasks: taskNames() });
  } catch (error) {
    post({ type: 'init-error', error: serializeError(error) });
    return;
  }
  port!.on('message', (msg: ToWorker) => {
    if (msg.type === 'cancel') {
      controllers.get(msg.id)?.abort();
      const i = queue.findIndex((q) => q.id === msg.id);
      if (i >= 0) {
        queue.splice(i, 1);
        post({ type: 'error', id: msg.id, error: serializeError(new TaskCancelledError(), true) });
      }
      return;
    }
    queue.push(msg);
    void drain();
  });
}

async function drain(): Promise<void> {
  if (running) return;
  running = true;
  try {
    while (queue.length) await runOne(queue.shift()!);
  } finally {
    running = false;
  }
}

async function runOne(msg: Extract<ToWorker, { type: 'run' }>): Promise<void> {
  const { id, task: name, payload } = msg;
  const controller = new AbortController();
  controllers.set(id, controller);
  const isCancelled = () => controller.signal.aborted || Atomics.load(cancelFlag, 0) === id;
  const ctx: TaskContext = {
    signal: controller.signal,
    get cancelled() {
      return isCancelled();
    },
    throwIfCancelled() {
      if (isCancelled()) throw new TaskCancelledError();
    },
    progress(fraction, message, data) {
      const transfer = data === undefined ? [] : collectTransferables(data);
      post(
        { type: 'progress', id, fraction, ...(message !== undefined ? { message } : {}), ...(data !== undefined ? { data } : {}) },
        transfer,
      );
    },
    cache: cached,
    workerIndex: init.index,
  };
  try {
    const fn = getTask(name);
    if (!fn) throw new Error(`Unknown engine task '${name}' (registered: ${taskNames().join(', ')})`);
    if (isCancelled()) throw new TaskCancelledError();
    const result = await fn(payload, ctx);
    post({ type: 'result', id, result }, collectTransferables(result));
  } catch (error) {
    post({ type: 'error', id, error: serializeError(error, isCancelled()) });
  } finally {
    controllers.delete(id);
  }
}
