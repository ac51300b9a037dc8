// Mask-guided retraining (engine/train/retrain.ts): data-parallel over 2 workers equals the
// single-thread run (as train-parallel.test.ts shows for plain training), the second-derivative
// check runs on the workers' backend, a checkpoint is written per epoch, cancel frees everything;
// and on a tiny decoy set a short retraining raises the energy-based pointing game.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meanEpg } from '../../src/main/bench/decoy';
import type { ImageSet, PairList } from '../../src/main/engine/data/dataset';
import { buildSiamese, defaultModelConfig, loadSiamese, saveSiamese, type ModelConfig } from '../../src/main/engine/models';
import { initBackend } from '../../src/main/engine/runtime/backend';
import { WorkerPool } from '../../src/main/engine/runtime/pool';
import type { MaskData } from '../../src/main/engine/train/mask/plan';
import { retrainTask, retrainTaskParallel, type RetrainRequest } from '../../src/main/engine/train/retrain';
import { trainTask } from '../../src/main/engine/train/run';
import { TrainingCancelledError } from '../../src/main/engine/train/trainer';
import type { EngineTasks } from '../../src/main/engine/tasks';
import { createRng } from '../../src/main/pairs/rng';
import { toyTrainData } from '../unit/engine-toy';

let pool: WorkerPool<EngineTasks>;
let work: string;
const workerTensors = async () => (await pool.broadcast('engine.info')).map((i) => i.memory.numTensors);

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
  pool = new WorkerPool<EngineTasks>({ size: 2, backend: 'wasm', cancelGraceMs: 5000 });
  await pool.ready();
  work = mkdtempSync(join(tmpdir(), 'simlens-retrain-engine-'));
});
afterAll(async () => {
  await pool?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

const MODEL = defaultModelConfig({ inputShape: [8, 8, 1], width: 0.25, embeddingSize: 8, seed: 3 });

/** Masks (the blob's quadrant, dilated) of every 4th train image of the toy data. */
function toyMasks(classes: Int32Array): MaskData {
  const images = Array.from({ length: 12 }, (_, i) => 4 * i);
  const masks = new Uint8Array(images.length * 64);
  images.forEach((img, j) => {
    const c = classes[img];
    const oy = c < 2 ? 1 : 4;
    const ox = c % 2 === 0 ? 1 : 4;
    for (let y = oy - 1; y <= oy + 3; y++)
      for (let x = ox - 1; x <= ox + 3; x++) if (y >= 0 && y < 8 && x >= 0 && x < 8) masks[j * 64 + y * 8 + x] = 255;
  });
  return { images: Int32Array.from(images), masks };
}

async function parentDir(): Promise<string> {
  const dir = join(work, 'parent');
  if (!existsSync(dir)) {
    const model = await buildSiamese(MODEL);
    await saveSiamese(model, dir);
    model.dispose();
  }
  return dir;
}

function request(loss: RetrainRequest['method']['loss'], out: string): RetrainRequest {
  const d = toyTrainData();
  return {
    model: MODEL,
    initFromDir: join(work, 'parent'),
    train: { epochs: 2, batchSize: 12, learningRate: 3e-3, seed: 5, maxStepsPerEpoch: 3 },
    data: { images: d.images, train: d.train, val: d.val },
    masks: toyMasks(d.train.classes),
    method: { loss, lambda: loss === 'augment' ? 0 : 5, maps: 'both' },
    evaluate: { val: d.val },
    outDir: join(work, out),
    checkpointDir: join(work, `${out}-checkpoint`),
  };
}

const flatWeights = async (dir: string) => {
  const m = await loadSiamese(dir);
  const w = m.net.getWeights().flatMap((t) => Array.from(t.dataSync()));
  m.dispose();
  return w;
};

describe('mask-guided retraining over 2 workers', () => {
  for (const loss of ['energy', 'augment'] as const) {
    it(`${loss}: the single-thread run's history and weights; a checkpoint per epoch; no tensors left here or in the workers`, async () => {
      await parentDir();
      const before = tf.memory().numTensors;
      const checkpoints: number[] = [];
      const local = await retrainTask(request(loss, `local-${loss}`), {
        progress: (_f, _m, d) => {
          if (d?.kind === 'epoch') {
            const meta = JSON.parse(readFileSync(join(work, `local-${loss}-checkpoint`, 'siamese.json'), 'utf8')) as {
              checkpoint: { epoch: number };
            };
            checkpoints.push(meta.checkpoint.epoch);
          }
        },
      });
      expect(checkpoints).toEqual([1, 2]);
      expect(tf.memory().numTensors).toBe(before);
      const baseline = await workerTensors();
      const dp = await retrainTaskParallel(pool, request(loss, `dp-${loss}`));
      expect(await workerTensors()).toEqual(baseline);
      expect(tf.memory().numTensors).toBe(before);

      expect(dp.retrain).toEqual(local.retrain);
      expect(dp.retrain.used).toBe(loss);
      if (loss === 'energy') {
        expect(local.check!.ok).toBe(true);
        expect(dp.check!.ok).toBe(true);
        expect(dp.check!.analytic!).toBeCloseTo(local.check!.analytic!, 5);
      } else expect(dp.check).toBeNull();
      expect(dp.training.history.length).toBe(2);
      dp.training.history.forEach((e, i) => {
        const l = local.training.history[i];
        expect(Math.abs(e.loss - l.loss)).toBeLessThanOrEqual(1e-3 * Math.abs(l.loss));
        expect(Math.abs(e.valAuc - l.valAuc)).toBeLessThan(1e-3);
        if (loss === 'energy') {
          expect(e.maskLoss!).toBeGreaterThan(0);
          expect(Math.abs(e.maskLoss! - l.maskLoss!)).toBeLessThanOrEqual(1e-3 * Math.abs(l.maskLoss!) + 1e-6);
        }
      });
      // the last epoch's weights (keep: 'last'), equal up to rounding
      const [wl, wd] = [await flatWeights(join(work, `local-${loss}`)), await flatWeights(join(work, `dp-${loss}`))];
      expect(wd.length).toBe(wl.length);
      let max = 0;
      let sum = 0;
      wl.forEach((v, i) => {
        const d = Math.abs(v - wd[i]);
        max = Math.max(max, d);
        sum += d;
      });
      expect(max).toBeLessThan(6 * 3e-3);
      expect(sum / wl.length).toBeLessThan(1e-4);
    });
  }

  it('a cancelled data-parallel retraining throws TrainingCancelledError and frees the replicas', async () => {
    await parentDir();
    const baseline = await workerTensors();
    const controller = new AbortController();
    const req = { ...request('rrr', 'cancelled'), train: { epochs: 100, batchSize: 4, learningRate: 1e-3, seed: 1 } };
    const run = retrainTaskParallel(pool, req, {
      signal: controller.signal,
      progress: (_f, _m, d) => {
        if (d?.kind === 'step' && d.info.step === 2) controller.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(TrainingCancelledError);
    expect(existsSync(join(work, 'cancelled'))).toBe(false);
    expect(await workerTensors()).toEqual(baseline);
  });
});

// ---- a tiny decoy set: 16x16, 4 classes of centred shapes, a bright corner patch tied to the class ----

const S = 16;

function decoySet(perClass: number, tied: boolean, seed: number): { images: ImageSet; classes: Int32Array; masks: Uint8Array } {
  const rng = createRng(seed, 0xd);
  const n = 4 * perClass;
  const pixels = new Float32Array(n * S * S);
  const classes = new Int32Array(n);
  const masks = new Uint8Array(n * S * S);
  for (let i = 0; i < n; i++) {
    const c = i % 4;
    classes[i] = c;
    const o = i * S * S;
    for (let p = 0; p < S * S; p++) pixels[o + p] = 0.05 * rng.next();
    for (let y = 4; y < 12; y++)
      for (let x = 4; x < 12; x++) {
        const on =
          c === 0
            ? y >= 7 && y <= 8
            : c === 1
              ? x >= 7 && x <= 8
              : c === 2
                ? Math.abs(x - y) <= 1
                : y === 4 || y === 11 || x === 4 || x === 11;
        if (on) pixels[o + y * S + x] = 0.45 + 0.15 * rng.next();
      }
    for (let y = 3; y < 13; y++) for (let x = 3; x < 13; x++) masks[o + y * S + x] = 255; // the object, dilated
    const corner = tied ? c : rng.int(4);
    const [py, px] = [corner < 2 ? 0 : S - 3, corner % 2 === 0 ? 0 : S - 3];
    for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) pixels[o + (py + y) * S + px + x] = 1;
  }
  return { images: { shape: [S, S, 1], count: n, pixels }, classes, masks };
}

function allPairs(classes: Int32Array, offset: number, max: number): PairList {
  const a: number[] = [];
  const b: number[] = [];
  const label: number[] = [];
  for (let i = 0; i < classes.length && a.length < max; i++)
    for (let j = i + 1; j < classes.length && a.length < max; j += 3) {
      a.push(offset + i);
      b.push(offset + j);
      label.push(classes[i] === classes[j] ? 1 : 0);
    }
  return { a: Int32Array.from(a), b: Int32Array.from(b), label: Uint8Array.from(label) };
}

describe('retraining on a tiny decoy set', () => {
  it('raises the energy-based pointing game of the test maps', async () => {
    const train = decoySet(40, true, 1); // 160 images, the patch's corner tied to the class
    const test = decoySet(10, false, 2); // 40 images, the patch at random
    const count = train.images.count + test.images.count;
    const pixels = new Float32Array(count * S * S);
    pixels.set(train.images.pixels);
    pixels.set(test.images.pixels, train.images.pixels.length);
    const images: ImageSet = { shape: [S, S, 1], count, pixels };
    const off = train.images.count;
    const val = allPairs(train.classes.slice(120), 120, 200);
    const testPairs = allPairs(test.classes, off, 200);
    const model: ModelConfig = defaultModelConfig({ inputShape: [S, S, 1], width: 0.25, embeddingSize: 16, seed: 2, head: 'gap' });
    const data = { images, train: { indices: Int32Array.from({ length: 120 }, (_, i) => i), classes: train.classes.slice(0, 120) }, val };
    const decoyDir = join(work, 'decoy');
    await trainTask({
      model,
      train: { epochs: 4, batchSize: 32, learningRate: 3e-3, seed: 1, earlyStoppingPatience: 0 },
      data,
      evaluate: { val },
      outDir: decoyDir,
    });
    const testMask = (img: number) => (img >= off ? test.masks.subarray((img - off) * S * S, (img - off + 1) * S * S) : null);
    const before = await meanEpg(decoyDir, images, testPairs, testMask);
    // masks on 12 of the 120 training images (10%)
    const masked = Array.from({ length: 12 }, (_, i) => 10 * i);
    const masks: MaskData = { images: Int32Array.from(masked), masks: new Uint8Array(12 * S * S) };
    masked.forEach((img, j) => masks.masks.set(train.masks.subarray(img * S * S, (img + 1) * S * S), j * S * S));
    const out = await retrainTask({
      model,
      initFromDir: decoyDir,
      train: { epochs: 4, batchSize: 32, learningRate: 3e-3, seed: 1 },
      data,
      masks,
      method: { loss: 'energy', lambda: 2, maps: 'both', maskedRepeat: 4 },
      evaluate: { val },
      outDir: join(work, 'retrained'),
    });
    expect(out.retrain.used).toBe('energy');
    const after = await meanEpg(join(work, 'retrained'), images, testPairs, testMask);
    console.log(
      `[tiny decoy] EPG ${before.epg} -> ${after.epg} (${after.images} maps); mask loss by epoch ${out.training.history.map((h) => h.maskLoss?.toFixed(4)).join(' ')}`,
    );
    expect(after.epg!).toBeGreaterThan(before.epg! + 0.05);
  });
});
