// Epoch checkpoints of a training run, so that a run killed mid-way resumes from its last
// finished epoch and ends exactly where an uninterrupted run with the same seed ends.
//
// What a checkpoint holds (TrainCheckpoint):
// - the epoch loop's state (trainer.ts: trainLoop): the last finished epoch, the learning
//   rate for the next one, the best epoch and its AUC, the plateau counters, the history;
// - the pair-drawing and augmentation RNGs' state: each epoch's generators are seeded from
//   (seed, epoch) (trainLoop), so at an epoch boundary their whole state is that pair, kept
//   here explicitly and checked on resume;
// - the runner's tensors (RunnerState): all weights (BatchNorm statistics included), the best
//   epoch's snapshot, and Adam's state (iteration count, beta powers, first and second moments).
//
// On disk: a folder `epoch-<E>` per checkpoint with state.json and tensors.bin (the float32
// arrays one after the other, little-endian), written as `epoch-<E>.tmp` and renamed once
// complete and synced, so a kill while writing leaves the previous checkpoint intact. Older
// checkpoints are removed after the rename.
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { EpochDto } from '../../../shared/dto';
import * as tf from '@tensorflow/tfjs';

/** Adam's state: enough to continue bit for bit (tfjs's own setWeights recomputes the beta powers, which can differ in the last bit). */
export interface AdamState {
  iterations: number;
  accBeta1: number;
  accBeta2: number;
  /** first moments of every trainable variable (in the runner's variable order), then the second moments, flat */
  moments: Float32Array;
}

/** The tensors of a run: what a StepRunner exports and imports (trainer.ts). */
export interface RunnerState {
  /** every weight of the network, net.getWeights() order, flat */
  weights: Float32Array;
  /** the best epoch's weights (same layout), when there is one */
  bestWeights: Float32Array | null;
  adam: AdamState;
}

/** The epoch loop's state after a finished epoch. */
export interface LoopState {
  /** the last finished epoch (1-based) */
  epoch: number;
  /** the learning rate of the next epoch */
  learningRate: number;
  best: { auc: number; epoch: number } | null;
  sinceImprovement: number;
  sinceLrChange: number;
  stoppedEarly: boolean;
  history: EpochDto[];
  stepsDone: number;
  /** the generators the next epoch uses: (seed, stream) pairs, see the top of this file */
  rng: { seed: number; pairStream: number; augmentStream: number };
}

export interface TrainCheckpoint {
  loop: LoopState;
  runner: RunnerState;
}

/** The private fields of tfjs's AdamOptimizer this module reads and writes. */
interface AdamInternals {
  iterations_: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
}

const internals = (optimizer: tf.AdamOptimizer) => optimizer as unknown as AdamInternals;

function flat(tensors: tf.Tensor[]): Float32Array {
  if (tensors.length === 0) return new Float32Array(0);
  const joined = tf.tidy(() => tf.concat(tensors.map((t) => tf.reshape(t, [-1]))));
  const out = joined.dataSync() as Float32Array;
  joined.dispose();
  return Float32Array.from(out);
}

/** Adam's state; `vars`: the trainable variables in the order the optimizer was given them. */
export function readAdamState(optimizer: tf.AdamOptimizer, vars: tf.Variable[]): AdamState {
  const o = internals(optimizer);
  if (o.accumulatedFirstMoment.length !== vars.length && o.accumulatedFirstMoment.length !== 0)
    throw new Error(`Adam holds ${o.accumulatedFirstMoment.length} moments for ${vars.length} variables`);
  const moments =
    o.accumulatedFirstMoment.length === 0
      ? new Float32Array(2 * vars.reduce((n, v) => n + v.size, 0))
      : flat([...o.accumulatedFirstMoment.map((m) => m.variable), ...o.accumulatedSecondMoment.map((m) => m.variable)]);
  return {
    iterations: o.iterations_ ?? 0,
    accBeta1: o.accBeta1.dataSync()[0],
    accBeta2: o.accBeta2.dataSync()[0],
    moments,
  };
}

/** Puts a readAdamState() state back into an optimizer of the same variables. */
export function writeAdamState(optimizer: tf.AdamOptimizer, vars: tf.Variable[], state: AdamState): void {
  const o = internals(optimizer);
  const total = vars.reduce((n, v) => n + v.size, 0);
  if (state.moments.length !== 2 * total) throw new Error(`Adam state of ${state.moments.length} values for ${total} parameters`);
  tf.dispose([...o.accumulatedFirstMoment.map((m) => m.variable), ...o.accumulatedSecondMoment.map((m) => m.variable)]);
  let offset = 0;
  const take = (v: tf.Variable, suffix: string) => {
    const values = state.moments.subarray(offset, offset + v.size);
    offset += v.size;
    return { originalName: `${v.name}/${suffix}`, variable: tf.tidy(() => tf.tensor(values, v.shape).variable(false)) };
  };
  o.accumulatedFirstMoment = vars.map((v) => take(v, 'm'));
  o.accumulatedSecondMoment = vars.map((v) => take(v, 'v'));
  o.iterations_ = state.iterations;
  tf.tidy(() => {
    o.accBeta1.assign(tf.scalar(state.accBeta1));
    o.accBeta2.assign(tf.scalar(state.accBeta2));
  });
}

// ---- files ----

const STATE = 'state.json';
const TENSORS = 'tensors.bin';
const EPOCH_DIR = /^epoch-(\d+)$/;

interface StateFile {
  format: 'simlens-train-checkpoint';
  loop: LoopState;
  adam: Omit<AdamState, 'moments'>;
  /** lengths of the arrays in tensors.bin, in order: weights, bestWeights (0 = none), moments */
  lengths: { weights: number; bestWeights: number | null; moments: number };
}

async function writeSynced(path: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * Writes `checkpoint` into `dir` as epoch-<E> (atomically: written aside, synced, renamed) and
 * removes older checkpoints there. Resolves with the checkpoint's folder.
 */
export async function writeCheckpoint(dir: string, checkpoint: TrainCheckpoint): Promise<string> {
  await mkdir(dir, { recursive: true });
  const name = `epoch-${checkpoint.loop.epoch}`;
  const tmp = join(dir, `${name}.tmp`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  const { weights, bestWeights, adam } = checkpoint.runner;
  const state: StateFile = {
    format: 'simlens-train-checkpoint',
    loop: checkpoint.loop,
    adam: { iterations: adam.iterations, accBeta1: adam.accBeta1, accBeta2: adam.accBeta2 },
    lengths: { weights: weights.length, bestWeights: bestWeights?.length ?? null, moments: adam.moments.length },
  };
  await writeSynced(join(tmp, TENSORS), Buffer.concat([weights, bestWeights ?? new Float32Array(0), adam.moments].map(bytesOf)));
  await writeSynced(join(tmp, STATE), JSON.stringify(state));
  const final = join(dir, name);
  await rm(final, { recursive: true, force: true });
  await rename(tmp, final);
  for (const entry of await readdir(dir)) {
    const m = EPOCH_DIR.exec(entry);
    if ((m && Number(m[1]) < checkpoint.loop.epoch) || (entry.endsWith('.tmp') && entry !== `${name}.tmp`))
      await rm(join(dir, entry), { recursive: true, force: true });
  }
  return final;
}

/** Reads a checkpoint folder written by writeCheckpoint. */
export async function readCheckpoint(folder: string): Promise<TrainCheckpoint> {
  const state = JSON.parse(await readFile(join(folder, STATE), 'utf8')) as StateFile;
  if (state.format !== 'simlens-train-checkpoint') throw new Error(`${folder} is not a SimLens training checkpoint`);
  const bytes = await readFile(join(folder, TENSORS));
  const { weights, bestWeights, moments } = state.lengths;
  if (bytes.length !== 4 * (weights + (bestWeights ?? 0) + moments))
    throw new Error(
      `${join(folder, TENSORS)} holds ${bytes.length} bytes, its state.json says ${4 * (weights + (bestWeights ?? 0) + moments)}`,
    );
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  return {
    loop: state.loop,
    runner: {
      weights: all.slice(0, weights),
      bestWeights: bestWeights === null ? null : all.slice(weights, weights + bestWeights),
      adam: { ...state.adam, moments: all.slice(weights + (bestWeights ?? 0)) },
    },
  };
}
