// Interactive explanations do not wait for a training run or a batch job (pool task priority).
// A real pool of 2 wasm workers runs, at the same time:
//   (a) a data-parallel training of a small model (engine/train/data-parallel.ts: per step one
//       'train.dp.grads' per worker, then a broadcast 'train.dp.apply'), kept running until the
//       test stops it, and
//   (b) a batch explain job: BATCH 'explain.pairs' tasks queued at once (the 'background' priority),
// while a single-pair 'explain.pairs' with the 'interactive' priority is asked for, directly on the
// pool and through ExplainService.explainPair (the UI's path).
//
// The bounds are orderings, not wall times (2 busy cores in CI): an interactive task waits only
// for the first worker to finish the task it is running (a training share, an apply, or one batch
// task), then runs. So while it is pending, at most one training step completes on top of the
// one in flight (a step needs both workers), and only the 2 batch tasks already running plus
// those the other worker finishes meanwhile (batch tasks are 4 times the interactive one: ~1)
// complete: we require fewer than 10 of the BATCH queued ones; without priority (plain FIFO) all
// of them complete first (measured before the priority existed: 118 of 120).
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultModelConfig } from '../../src/main/engine/models';
import { WorkerPool, type RunOptions } from '../../src/main/engine/runtime/pool';
import type { TrainConfig } from '../../src/main/engine/train/trainer';
import { replicaChecksums, trainDataParallel } from '../../src/main/engine/train/data-parallel';
import { ExplainService } from '../../src/main/services/explain';
import { toyTrainData } from '../unit/engine-toy';
import { demoWorkspace, fixedModel, pooledExplainService, type Workspace } from './explain-fixture';
import type { EnginePool, EngineTasks } from '../../src/main/engine/tasks';

/** Batch tasks queued at once, PER_TASK pairs each (a batch job's chunk; the interactive call has 1). */
const BATCH = 100;
const PER_TASK = 4;
/** Fewer than this many queued batch tasks may complete while an interactive call is pending. */
const MAX_BATCH_AHEAD = 10;

const TRAIN_MODEL = defaultModelConfig({ inputShape: [8, 8, 1], width: 0.25, embeddingSize: 8, seed: 3 });
// Many epochs: the run lasts until the test aborts it.
const TRAIN_CONFIG: Partial<TrainConfig> = {
  epochs: 100_000,
  batchSize: 16,
  learningRate: 3e-3,
  seed: 5,
  earlyStoppingPatience: 0,
  maxStepsPerEpoch: 4,
};

let ws: Workspace;
let pool: WorkerPool<EngineTasks>;
let service: ExplainService;
let modelId: number;
let modelDir: string;
let pairId: number;
/** Tasks the pool was asked to run, with their priority. */
const asked: Array<{ task: string; priority?: string }> = [];

/** An 'explain.pairs' payload of `pairs` pairs of deterministic 28x28 images (Grad-CAM). */
function explainPayload(pairs: number, seed: number) {
  const pixels = new Float32Array(2 * pairs * 784).map((_, i) => 0.5 + 0.5 * Math.sin((i + 1) * 0.013 * (seed + 1)));
  return {
    shape: [28, 28, 1] as [number, number, number],
    pixels,
    a: Int32Array.from({ length: pairs }, (_, i) => 2 * i),
    b: Int32Array.from({ length: pairs }, (_, i) => 2 * i + 1),
    modelDir,
    modelKey: `${modelDir}@priority-test`,
    method: 'gradcam' as const,
  };
}

/** A data-parallel training over the pool that runs until `stop()`; counts completed steps. */
function startTraining() {
  const controller = new AbortController();
  let steps = 0;
  let ended = false;
  const counting: EnginePool = {
    size: pool.size,
    run: (task, ...args) => pool.run(task, ...args),
    broadcast: async (task, ...args) => {
      const r = await pool.broadcast(task, ...args);
      if (task === 'train.dp.apply') steps++;
      return r;
    },
  };
  const run = trainDataParallel(counting, { model: TRAIN_MODEL }, toyTrainData(), TRAIN_CONFIG, { signal: controller.signal }).then(
    () => 'finished' as const,
    (e: Error) => (controller.signal.aborted ? ('stopped' as const) : Promise.reject(e)),
  );
  const tracked = run.finally(() => (ended = true));
  return {
    steps: () => steps,
    ended: () => ended,
    async untilSteps(n: number) {
      while (steps < n && !ended) await new Promise((r) => setTimeout(r, 5));
    },
    async stop() {
      controller.abort();
      return tracked;
    },
  };
}

/** Queues `n` background explain tasks of PER_TASK pairs; counts completions. */
function queueBatch(n: number) {
  let completed = 0;
  const t0 = performance.now();
  let endMs = 0;
  const all = Promise.all(
    Array.from({ length: n }, (_, i) =>
      pool.run('explain.pairs', explainPayload(PER_TASK, i)).then(() => {
        completed++;
      }),
    ),
  ).then(() => (endMs = performance.now() - t0));
  return { completed: () => completed, done: all, endMs: () => endMs };
}

/** Awaits `call`; reports its wall time and how far the training and batch advanced meanwhile. */
async function measure(call: () => Promise<unknown>, training?: ReturnType<typeof startTraining>, batch?: ReturnType<typeof queueBatch>) {
  const steps0 = training?.steps() ?? 0;
  const batch0 = batch?.completed() ?? 0;
  const t0 = performance.now();
  await call();
  return {
    ms: performance.now() - t0,
    trainingSteps: (training?.steps() ?? 0) - steps0,
    trainingEnded: training?.ended() ?? false,
    batchCompleted: (batch?.completed() ?? 0) - batch0,
    /** batch tasks not yet completed when the call returned */
    batchPending: batch ? BATCH - batch.completed() : 0,
  };
}

const workerTensors = async () => (await pool.broadcast('engine.info')).map((i) => i.memory.numTensors);
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const interactiveCall = () => pool.run('explain.pairs', explainPayload(1, 999), { priority: 'interactive' });

beforeAll(async () => {
  ws = await demoWorkspace('simlens-explain-priority-');
  modelId = await fixedModel(ws, { width: 1, embeddingSize: 16, seed: 3 });
  modelDir = ws.app.models.weightsDir(modelId);
  pairId = ws.app.models.repo.pairs(ws.pairSetId, 'test')[0].id;
  // the default worker tasks (engine/tasks.ts: explain.*, train.dp.*), like the app's pool
  pool = new WorkerPool<EngineTasks>({ size: 2, backend: 'wasm', cancelGraceMs: 5000 });
  await pool.ready();
  const run = pool.run.bind(pool);
  pool.run = ((task: string, payload?: unknown, options?: RunOptions) => {
    asked.push({ task, priority: options?.priority });
    return (run as (task: string, payload?: unknown, options?: RunOptions) => Promise<unknown>)(task, payload, options);
  }) as typeof pool.run;
  service = pooledExplainService(ws, pool);
  // load the explained model (and its Grad-CAM sub-model) in both workers: measured below is the map itself
  await pool.broadcast('explain.pairs', explainPayload(1, 0));
  await service.explainPair({ pairId, modelId, refresh: true });
  await pool.broadcast('explain.pairs', {
    ...explainPayload(1, 0),
    modelKey: `${modelDir}@${ws.app.models.repo.get(modelId)!.created_at}`,
  });
}, 120_000);

afterAll(async () => {
  await pool?.close();
  await ws?.close();
});

describe('interactive explanations on a busy pool', () => {
  it('a single-pair explain.pairs gets its map within about one training step / batch task, not after them', async () => {
    const tensorsHere = tf.memory().numTensors;
    const baseline = await workerTensors();
    const alone: number[] = [];
    for (let i = 0; i < 3; i++) alone.push((await measure(interactiveCall)).ms);
    const batchTaskAlone = (await measure(() => pool.run('explain.pairs', explainPayload(PER_TASK, 5)))).ms;

    const training = startTraining();
    await training.untilSteps(5);
    expect(training.ended()).toBe(false);
    const t0 = performance.now();
    // (a) training only: a step needs both workers, so at most the step in flight plus one completes
    const duringTraining = await measure(interactiveCall, training);
    // (b) training + a queued batch job: the interactive call overtakes the queued tasks
    const batch = queueBatch(BATCH);
    while (batch.completed() < 2) await new Promise((r) => setTimeout(r, 2));
    const duringBoth = await measure(interactiveCall, training, batch);
    // the service's single-pair path (explainPair, refresh: computed again) behind another batch
    await batch.done;
    const batch2 = queueBatch(BATCH);
    while (batch2.completed() < 2) await new Promise((r) => setTimeout(r, 2));
    const viaService = await measure(() => service.explainPair({ pairId, modelId, refresh: true }), training, batch2);
    await Promise.all([batch.done, batch2.done]);
    const stepsAtBatchEnd = training.steps();
    const outcome = await training.stop();
    const trainingMs = performance.now() - t0;

    console.log(
      [
        `interactive explain.pairs (1 pair, Grad-CAM) alone: median ${median(alone).toFixed(0)} ms (${alone.map((m) => m.toFixed(0)).join(', ')}); one batch task (${PER_TASK} pairs) alone ${batchTaskAlone.toFixed(0)} ms`,
        `during DP training: ${duringTraining.ms.toFixed(0)} ms, ${duringTraining.trainingSteps} training step(s) completed meanwhile`,
        `during DP training + ${BATCH} queued batch tasks: ${duringBoth.ms.toFixed(0)} ms; batch tasks completed meanwhile ${duringBoth.batchCompleted}, training steps ${duringBoth.trainingSteps}`,
        `ExplainService.explainPair during DP training + a second batch of ${BATCH}: ${viaService.ms.toFixed(0)} ms; its batch tasks completed meanwhile ${viaService.batchCompleted}, training steps ${viaService.trainingSteps}`,
        `the batch jobs took ${batch.endMs().toFixed(0)} / ${batch2.endMs().toFixed(0)} ms; training ran ${trainingMs.toFixed(0)} ms (${stepsAtBatchEnd} steps by the batch's end) until stopped (${outcome})`,
      ].join('\n'),
    );

    expect(outcome).toBe('stopped'); // the training was still running throughout
    for (const m of [duringTraining, duringBoth, viaService]) expect(m.trainingEnded).toBe(false);
    expect(duringTraining.trainingSteps).toBeLessThanOrEqual(2);
    expect(duringBoth.batchCompleted).toBeLessThan(MAX_BATCH_AHEAD);
    expect(viaService.batchCompleted).toBeLessThan(MAX_BATCH_AHEAD);
    // so each returned while most of its batch was still queued (the times above are printed, not asserted)
    expect(duringBoth.batchPending).toBeGreaterThan(BATCH - 2 - MAX_BATCH_AHEAD);
    expect(viaService.batchPending).toBeGreaterThan(BATCH - 2 - MAX_BATCH_AHEAD);
    // nothing leaked: here (the coordinator does no tensor work) or in the workers
    expect(tf.memory().numTensors).toBe(tensorsHere);
    expect(await workerTensors()).toEqual(baseline);
  }, 180_000);

  it('interactive calls overtaking training tasks leave a data-parallel run exactly as without them', async () => {
    const config: Partial<TrainConfig> = { ...TRAIN_CONFIG, epochs: 3, maxStepsPerEpoch: 6 };
    const train = () =>
      trainDataParallel(pool, { model: TRAIN_MODEL }, toyTrainData(), config, {}, (runner) => replicaChecksums(pool, runner.runId));
    const quiet = await train();
    // the same run while interactive maps are asked back to back (each overtakes the queued
    // 'train.dp.grads' / 'train.dp.apply' tasks it finds) and a batch job is queued
    let stop = false;
    let interactive = 0;
    const flood = (async () => {
      while (!stop) {
        await interactiveCall();
        interactive++;
      }
    })();
    const batch = queueBatch(20);
    const busy = await train().finally(() => (stop = true));
    await Promise.all([flood, batch.done]);
    console.log(`data-parallel run with ${interactive} interactive calls overtaking its tasks: same history and weights`);
    expect(interactive).toBeGreaterThan(0);
    const curve = (r: typeof quiet) => r.training.history.map(({ seconds: _s, ...e }) => e);
    expect(curve(busy)).toEqual(curve(quiet)); // losses, AUCs, best epoch: bit for bit
    expect(busy.training.bestEpoch).toBe(quiet.training.bestEpoch);
    expect(new Set(busy.after).size).toBe(1); // replicas identical
    expect(busy.after).toEqual(quiet.after);
  }, 120_000);

  it('ExplainService marks its single-pair work interactive and its batch work background', async () => {
    const fresh = await fixedModel(ws, { width: 0.5, embeddingSize: 16, seed: 11 }); // not described yet
    asked.length = 0;
    await service.layers(fresh);
    await service.explainPair({ pairId, modelId: fresh, refresh: true });
    await service.sanity({ pairId, modelId: fresh, seed: 1, maxLayers: 1 });
    const job = await service.startBatch({ modelId: fresh, pairIds: [pairId], skipExisting: false });
    const done = await ws.app.jobs.wait(job.id);
    expect(done.status).toBe('done');
    const interactive = asked.filter((a) => a.priority === 'interactive').map((a) => a.task);
    expect(interactive).toEqual(expect.arrayContaining(['explain.describe', 'explain.pairs', 'explain.sanity']));
    expect(interactive.filter((t) => t === 'explain.pairs')).toHaveLength(1); // the batch's is not
    expect(asked.filter((a) => a.task === 'explain.pairs' && a.priority === undefined)).toHaveLength(1);
  }, 60_000);
});
