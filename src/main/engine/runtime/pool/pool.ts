// A pool of engine worker threads, each with its own tfjs backend. wasm (and cpu) run on ONE thread
// in Node, so N workers use N cores; with tfjs-node (multi-threaded libtensorflow) one worker is
// enough. Tasks are functions registered by name in the workers (tasks.ts); the pool queues calls,
// hands each to an idle worker, relays progress, cancels (AbortSignal) and propagates errors with
// their original message. Idle workers do not keep the process alive; close() terminates them.
//
// Priority. A call is 'background' (the default: training, batch explain/metrics jobs) or
// 'interactive' (work a user waits for: one pair's map, a model's description, a sanity check).
// A free worker takes the oldest queued interactive call before any background one; equal
// priorities keep their order (FIFO). Nothing is preempted: an interactive call waits for the
// first worker to finish the task it is running, i.e. one batch chunk or one data-parallel
// training task ('train.dp.grads' / 'train.dp.apply': the coordinator, data-parallel.ts, issues
// step k+1's tasks only once every worker has applied step k, so overtaking queued tasks cannot
// reorder a replica's steps). Calls pinned to a worker (broadcast) also run in their order on that
// worker whatever their priority: a pinned call never overtakes an earlier one pinned to the same
// worker. Interactive calls can delay background ones indefinitely (not the reverse): keep them
// small. Limitation: a single long task is not split, so with ONE worker (the tfjs-node default)
// busy with a whole 'models.train' run, an interactive call waits until that run ends or is
// cancelled; there is no preemption (a tfjs task cannot be suspended, and a second worker would
// compete with libtensorflow's own threads for the same cores).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { BackendInfo } from '../backend';
import { preferredBackend, type BackendName } from '../backend-env';
import { closeNativeGate } from './native-gate';
import type { FromWorker, SerializedError, ToWorker, WorkerInit } from './protocol';
import type { TaskPayload, TaskResult, TaskTable } from './registry';

export interface WorkerPoolOptions {
  /** Number of workers; default: defaultPoolSize() (SIMLENS_WORKERS, else 1 with tfjs-node, else one per core). */
  size?: number;
  /** Backend to force in every worker (default: SIMLENS_BACKEND / the best available). */
  backend?: BackendName;
  /** Extra task modules (absolute paths) each worker imports after the built-in ones. */
  modules?: string[];
  /** Worker script; default: engine-worker.js next to the bundle, or worker.ts through tsx from sources. */
  workerScript?: string;
  /** After cancelling a running task, how long to wait for it to stop before terminating its worker. */
  cancelGraceMs?: number;
  /** Extra environment for the workers (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

/** 'interactive' calls are started before queued 'background' ones (the default); see above. */
export type TaskPriority = 'interactive' | 'background';

export interface RunOptions {
  signal?: AbortSignal;
  /** Default 'background'. An interactive call overtakes queued background calls (never a running one). */
  priority?: TaskPriority;
  onProgress?: (fraction: number, message?: string, data?: unknown) => void;
  /** Buffers to move to the worker instead of copying (they become unusable here). */
  transfer?: ArrayBuffer[];
}

/**
 * What callers of the pool see: the one pool interface (WorkerPool implements it; tests wrap
 * it to count calls). Task names, payloads and results come from the table T, so a call that
 * names an unknown task or passes the wrong payload does not compile.
 */
export interface TaskPool<T extends TaskTable> {
  /** Number of workers. */
  readonly size: number;
  /** Workers busy with a task, and calls waiting for one (WorkerPool has them; wrappers may not). */
  readonly busy?: number;
  readonly pending?: number;
  /** Type-level only (never set): lets generic helpers such as parallelMap infer the table T. */
  readonly tasks?: T;
  /** Runs `task(payload)` on a worker. Rejects with the task's error, or AbortError when cancelled. */
  run<K extends keyof T & string>(task: K, ...args: CallArgs<TaskPayload<T[K]>, RunOptions>): Promise<TaskResult<T[K]>>;
  /** Runs `task` once on EVERY worker (e.g. to load a model everywhere, or clear caches). */
  broadcast<K extends keyof T & string>(
    task: K,
    ...args: CallArgs<TaskPayload<T[K]>, Omit<RunOptions, 'transfer'>>
  ): Promise<Array<TaskResult<T[K]>>>;
}

/** A call's payload and options; the payload may be left out when the task takes none. */
export type CallArgs<P, O> = undefined extends P ? [payload?: P, options?: O] : [payload: P, options?: O];

/** A task's error, re-thrown in the caller with the worker's name and message. */
export class WorkerTaskError extends Error {
  readonly workerStack?: string;
  constructor(
    error: SerializedError,
    readonly task: string,
  ) {
    super(error.message);
    this.name = error.name;
    this.workerStack = error.stack;
  }
}

/** Rejection of a cancelled call (name 'AbortError', like fetch's). */
export class PoolAbortError extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'AbortError';
  }
}

interface Job {
  id: number;
  task: string;
  payload: unknown;
  options: RunOptions;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  settled: boolean;
  slot?: Slot;
  onAbort?: () => void;
}

interface Slot {
  index: number;
  worker: Worker;
  cancelFlag: Int32Array;
  /** The worker's native calls in flight; closed before it is terminated (native-gate.ts). */
  nativeGate: Int32Array;
  ready: Promise<BackendInfo>;
  job: Job | null;
  /** A cancelled job still running in the worker: the slot stays busy until it reports back. */
  draining: boolean;
  killTimer?: NodeJS.Timeout;
  /** The worker said 'ready' (backend initialised, task modules imported). */
  isReady: boolean;
  /** The worker could not start: it is not replaced (it would fail again). */
  failed: boolean;
  exited: boolean;
}

const requireFromHere = createRequire(__filename);

/**
 * Default worker count: SIMLENS_WORKERS; else 1 when the backend will be tfjs-node(-gpu)
 * (libtensorflow uses every core, or the GPU, from one thread); else one per core (wasm and cpu
 * run on a single thread in Node).
 */
export function defaultPoolSize(env: NodeJS.ProcessEnv = process.env, backend?: BackendName): number {
  const v = Number(env.SIMLENS_WORKERS);
  if (Number.isInteger(v) && v > 0) return v;
  if ((backend ?? preferredBackend(env)) === 'tensorflow') return 1;
  return Math.max(1, availableParallelism());
}

/**
 * How to start the worker: the bundled engine-worker.js, or, from sources (vitest, tsx), engine/worker.ts
 * through tsx's CommonJS hook, registered by a two-line eval bootstrap (module hooks given with
 * `--import tsx` in a worker's execArgv do not apply to the worker's own entry on Node 20).
 */
export function resolveWorkerScript(explicit?: string): { script: string; eval: boolean } {
  const fromSources = __filename.endsWith('.ts');
  // In the bundle this code may sit in out/main or in a shared chunk under out/main/chunks.
  const candidates = explicit
    ? [explicit]
    : fromSources
      ? [join(__dirname, '..', '..', 'worker.ts')]
      : [join(__dirname, 'engine-worker.js'), join(__dirname, '..', 'engine-worker.js')];
  const script = candidates.find((c) => existsSync(c));
  if (!script) throw new Error(`Engine worker script not found: ${candidates.join(' or ')}`);
  if (!script.endsWith('.ts')) return { script, eval: false };
  const tsxCjs = requireFromHere.resolve('tsx/cjs');
  return { script: `require(${JSON.stringify(tsxCjs)});\nrequire(${JSON.stringify(script)});\n`, eval: true };
}

export class WorkerPool<T extends TaskTable> implements TaskPool<T> {
  readonly size: number;
  declare readonly tasks?: T;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  private readonly options: WorkerPoolOptions;
  private readonly start: { script: string; eval: boolean };

  constructor(options: WorkerPoolOptions = {}) {
    this.options = options;
    this.size = Math.max(1, Math.floor(options.size ?? defaultPoolSize(options.env ?? process.env, options.backend)));
    this.start = resolveWorkerScript(options.workerScript);
    for (let i = 0; i < this.size; i++) this.slots.push(this.spawn(i));
  }

  /** Resolves when every worker has initialised its backend: their BackendInfo. */
  ready(): Promise<BackendInfo[]> {
    return Promise.all(this.slots.map((s) => s.ready));
  }

  /** Number of calls waiting for a worker. */
  get pending(): number {
    return this.queue.length;
  }

  /** Number of workers busy with a task (including cancelled ones still stopping). */
  get busy(): number {
    return this.slots.filter((s) => s.job || s.draining).length;
  }

  /** For diagnostics and tests: one entry per worker slot. */
  workers(): Array<{ index: number; threadId: number; ready: boolean; busy: boolean; exited: boolean }> {
    return this.slots.map((s) => ({
      index: s.index,
      threadId: s.worker.threadId,
      ready: s.isReady,
      busy: Boolean(s.job || s.draining),
      exited: s.exited,
    }));
  }

  run<K extends keyof T & string>(task: K, ...[payload, options = {}]: CallArgs<TaskPayload<T[K]>, RunOptions>): Promise<TaskResult<T[K]>> {
    type R = TaskResult<T[K]>;
    if (this.closed) return Promise.reject(new Error('WorkerPool is closed'));
    if (options.signal?.aborted) return Promise.reject(new PoolAbortError());
    return new Promise<R>((resolve, reject) => {
      const job: Job = { id: this.nextId++, task, payload, options, resolve: resolve as (v: unknown) => void, reject, settled: false };
      if (options.signal) {
        job.onAbort = () => this.cancel(job);
        options.signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.queue.push(job);
      this.dispatch();
    });
  }

  broadcast<K extends keyof T & string>(
    task: K,
    ...[payload, options = {}]: CallArgs<TaskPayload<T[K]>, Omit<RunOptions, 'transfer'>>
  ): Promise<Array<TaskResult<T[K]>>> {
    return Promise.all(this.slots.map((slot) => this.runOn<TaskResult<T[K]>>(slot, task, payload, options)));
  }

  /** Terminates every worker; calls not finished are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = new Error('WorkerPool closed');
    for (const job of this.queue.splice(0)) this.settle(job, error, false);
    await Promise.all(
      this.slots.map(async (slot) => {
        if (slot.killTimer) clearTimeout(slot.killTimer);
        if (slot.job) this.settle(slot.job, error, false);
        slot.ready.catch(() => undefined);
        if (!slot.exited) await this.terminate(slot);
      }),
    );
  }

  /** Terminates a slot's worker once no native call is in flight in it (native-gate.ts). */
  private async terminate(slot: Slot): Promise<void> {
    await closeNativeGate(slot.nativeGate);
    await slot.worker.terminate();
  }

  // -- internals --

  private spawn(index: number): Slot {
    const cancelFlag = new SharedArrayBuffer(4);
    const nativeGate = new SharedArrayBuffer(4);
    const init: WorkerInit = { backend: this.options.backend, modules: this.options.modules ?? [], cancelFlag, index, nativeGate };
    const worker = new Worker(this.start.script, {
      eval: this.start.eval,
      workerData: init,
      execArgv: [],
      env: this.options.env ?? process.env,
    });
    const slot: Slot = {
      index,
      worker,
      cancelFlag: new Int32Array(cancelFlag),
      nativeGate: new Int32Array(nativeGate),
      ready: null as unknown as Promise<BackendInfo>,
      job: null,
      draining: false,
      isReady: false,
      failed: false,
      exited: false,
    };
    let settleReady: { resolve: (b: BackendInfo) => void; reject: (e: unknown) => void };
    slot.ready = new Promise<BackendInfo>((resolve, reject) => {
      settleReady = { resolve, reject };
    });
    slot.ready.catch(() => undefined); // observed through ready() / run()
    worker.on('message', (msg: FromWorker) => {
      switch (msg.type) {
        case 'ready':
          slot.isReady = true;
          settleReady.resolve(msg.backend);
          this.dispatch();
          if (!slot.job) worker.unref(); // idle workers never keep the process alive
          break;
        case 'init-error': {
          const error = new WorkerTaskError(msg.error, 'init');
          error.message = `Engine worker ${index} failed to start: ${msg.error.message}`;
          slot.failed = true;
          settleReady.reject(error);
          this.failWorkerJobs(slot, error);
          break;
        }
        case 'progress':
          if (slot.job && slot.job.id === msg.id && !slot.job.settled) slot.job.options.onProgress?.(msg.fraction, msg.message, msg.data);
          break;
        case 'result':
        case 'error':
          this.finished(slot, msg);
          break;
      }
    });
    worker.on('error', (error) => {
      settleReady.reject(error);
      this.crashed(slot, error);
    });
    worker.on('exit', (code) => {
      slot.exited = true;
      settleReady.reject(new Error(`Engine worker ${index} exited (code ${code}) before it was ready`));
      this.crashed(slot, new Error(`Engine worker ${index} exited with code ${code}`));
    });
    // A starting worker keeps the process alive (someone may await ready()); once ready, only busy ones do.
    return slot;
  }

  private runOn<R>(slot: Slot, task: string, payload: unknown, options: RunOptions): Promise<R> {
    if (this.closed) return Promise.reject(new Error('WorkerPool is closed'));
    return new Promise<R>((resolve, reject) => {
      const job: Job = {
        id: this.nextId++,
        task,
        payload,
        options,
        resolve: resolve as (v: unknown) => void,
        reject,
        settled: false,
        slot,
      };
      if (options.signal) {
        if (options.signal.aborted) return reject(new PoolAbortError());
        job.onAbort = () => this.cancel(job);
        options.signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.queue.push(job);
      this.dispatch();
    });
  }

  private dispatch(): void {
    if (this.closed) return;
    for (const slot of this.slots) {
      if (slot.job || slot.draining || slot.exited) continue;
      if (!slot.isReady) continue; // still starting: dispatched again on 'ready'
      const i = this.pick(slot);
      if (i < 0) continue;
      const [job] = this.queue.splice(i, 1);
      this.send(slot, job);
    }
  }

  /**
   * Index in the queue of the next job for a free `slot`: the oldest interactive job it may run,
   * else the oldest background one. It may run unpinned jobs and, of the jobs pinned to it, only
   * the oldest (pinned jobs of a worker keep their order whatever their priority).
   */
  private pick(slot: Slot): number {
    let best = -1;
    let pinnedSeen = false;
    for (let i = 0; i < this.queue.length; i++) {
      const job = this.queue[i];
      if (job.slot !== undefined) {
        if (job.slot !== slot || pinnedSeen) continue;
        pinnedSeen = true;
      }
      if (job.options.priority === 'interactive') return i;
      if (best < 0) best = i;
    }
    return best;
  }

  private send(slot: Slot, job: Job): void {
    slot.job = job;
    job.slot = slot;
    Atomics.store(slot.cancelFlag, 0, 0);
    slot.worker.ref(); // a busy worker keeps the process alive until it answers
    const msg: ToWorker = { type: 'run', id: job.id, task: job.task, payload: job.payload };
    try {
      slot.worker.postMessage(msg, job.options.transfer ?? []);
    } catch (error) {
      slot.job = null;
      slot.worker.unref();
      this.settle(job, error, false);
      this.dispatch();
    }
  }

  private finished(slot: Slot, msg: Extract<FromWorker, { type: 'result' | 'error' }>): void {
    const job = slot.job;
    if (slot.draining && (!job || job.id === msg.id)) {
      // The cancelled task has stopped: the worker is free again.
      slot.draining = false;
      if (slot.killTimer) clearTimeout(slot.killTimer);
      slot.killTimer = undefined;
    }
    if (job && job.id === msg.id) {
      slot.job = null;
      if (msg.type === 'result') this.settle(job, null, true, msg.result);
      else this.settle(job, msg.error.cancelled ? new PoolAbortError() : new WorkerTaskError(msg.error, job.task), false);
    }
    if (!slot.job && !slot.draining) slot.worker.unref();
    this.dispatch();
  }

  private cancel(job: Job): void {
    if (job.settled) return;
    const queued = this.queue.indexOf(job);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.settle(job, new PoolAbortError(), false);
      return;
    }
    const slot = job.slot;
    if (!slot || slot.job !== job) return;
    // Running: tell the worker (synchronous flag + message), reject now, keep the slot busy until it stops.
    Atomics.store(slot.cancelFlag, 0, job.id);
    slot.worker.postMessage({ type: 'cancel', id: job.id } satisfies ToWorker);
    slot.job = null;
    slot.draining = true;
    this.settle(job, new PoolAbortError(), false);
    const grace = this.options.cancelGraceMs ?? 10_000;
    slot.killTimer = setTimeout(() => {
      // The task ignores cancellation: replace the worker. The slot takes no more work from here
      // on (exited): a call arriving before the 'exit' event would otherwise be sent to the dying
      // worker and fail with its exit code; 'exit' then replaces the slot (crashed).
      if (!slot.draining || this.closed) return;
      slot.exited = true;
      void this.terminate(slot);
    }, grace);
    slot.killTimer.unref();
  }

  private crashed(slot: Slot, error: Error): void {
    if (slot.killTimer) clearTimeout(slot.killTimer);
    slot.exited = true;
    const job = slot.job;
    slot.job = null;
    slot.draining = false;
    if (job) this.settle(job, error, false);
    if (this.closed) return;
    if (slot.failed || !slot.isReady) {
      // It never started: replacing it would fail the same way.
      slot.failed = true;
      this.failWorkerJobs(slot, error);
      return;
    }
    // Replace the worker so the pool keeps its size.
    const replacement = this.spawn(slot.index);
    this.slots[this.slots.indexOf(slot)] = replacement;
    for (const j of this.queue) if (j.slot === slot) j.slot = replacement;
    this.dispatch();
  }

  private failWorkerJobs(slot: Slot, error: unknown): void {
    // A worker that cannot start fails the calls pinned to it and, if no worker can start, all calls.
    for (const job of this.queue.filter((j) => j.slot === slot)) {
      this.queue.splice(this.queue.indexOf(job), 1);
      this.settle(job, error, false);
    }
    if (this.slots.every((s) => s.failed)) {
      for (const job of this.queue.splice(0)) this.settle(job, error, false);
    }
  }

  private settle(job: Job, error: unknown, ok: boolean, value?: unknown): void {
    if (job.settled) return;
    job.settled = true;
    if (job.onAbort) job.options.signal?.removeEventListener('abort', job.onAbort);
    if (ok) job.resolve(value);
    else job.reject(error);
  }
}
