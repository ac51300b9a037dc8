// The decoy benchmark (`simlens bench decoy`, SCIENCE.md section 5): does retraining with the
// experts' masks move a model off a shortcut? From the real Fashion-MNIST (decoy-data.ts): a clean
// model (no patches), a decoy model (the patch tied to the class in train and val), and the decoy
// model retrained with each mask loss (rrr, energy, hint) and with the mask-guided augmentation,
// object masks on `maskedShare` (<= 10%) of the training images. Each row: test accuracy and ROC
// AUC on the random-patch test split (threshold chosen on that model's val split), the mean
// energy-based pointing game of the factual Grad-CAM maps at the default layer against the object
// masks of the test images (both images of every test pair), and the wall time. Training runs on
// the engine worker pool when one is given (data-parallel, as the app trains), else in this thread.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RETRAIN_DEFAULTS } from '../../shared/dto';
import type { ImageSet, PairList } from '../engine/data';
import { explainPairs, toCamModel } from '../engine/explain';
import { energyPointingGame } from '../engine/explain/metrics';
import { defaultModelConfig, loadSiamese, type ModelConfig } from '../engine/models';
import { initBackend, type TaskPool } from '../engine/runtime';
import {
  retrainTask,
  retrainTaskParallel,
  trainTask,
  trainTaskParallel,
  type MapTarget,
  type MaskData,
  type RetrainLoss,
  type RetrainOutcome,
  type TrainOutcome,
  type TrainTasks,
} from '../engine/train';
import { readIdx } from '../images/idx';
import { createRng, shuffleInPlace } from '../pairs/rng';
import { balancedPairs, buildDecoyImages, PATCH, sampleByClass, SIDE, type DecoyKind } from './decoy-data';

export const DEFAULT_FASHION_DIR = '/usr/share/datasets/fashion-mnist';

export interface DecoyBenchOptions {
  /** Fashion-MNIST idx files (train-*, t10k-*) */
  dataDir: string;
  seed: number;
  kind: DecoyKind;
  /** images per class: train and val from Fashion-MNIST's train file, test from t10k */
  trainPerClass: number;
  valPerClass: number;
  testPerClass: number;
  /** share of the training images with an object mask (at most 0.1) */
  maskedShare: number;
  /** epochs of the clean and decoy models, and of each retraining */
  trainEpochs: number;
  retrainEpochs: number;
  /** the small CNN's width multiplier and head */
  width: number;
  head: 'flatten' | 'gap';
  batchSize: number;
  learningRate: number;
  retrainLearningRate: number;
  /** lambda of each mask loss */
  lambda: Record<'rrr' | 'energy' | 'hint', number>;
  losses: RetrainLoss[];
  /** each masked image is an anchor this many times per retraining epoch */
  maskedRepeat: number;
  /** the maps the mask losses look at (the engine's default when absent: 'factual') */
  maps?: MapTarget;
  /** train on this pool (data-parallel); else in this thread */
  pool?: TaskPool<TrainTasks>;
  onProgress?: (message: string) => void;
  signal?: AbortSignal;
}

// The mask losses as the app retrains (RETRAIN_DEFAULTS: lambda, both maps, masked images 4 times
// an anchor per epoch), 6 epochs: docs/notes/decoy-bench.md has the runs that chose them.
export const DEFAULT_DECOY_OPTIONS: Omit<DecoyBenchOptions, 'dataDir' | 'pool' | 'onProgress' | 'signal'> = {
  seed: 0,
  kind: 'position',
  trainPerClass: 300,
  valPerClass: 50,
  testPerClass: 100,
  maskedShare: 0.1,
  trainEpochs: 4,
  retrainEpochs: 6,
  width: 0.5,
  head: 'gap',
  batchSize: 64,
  learningRate: 1e-3,
  retrainLearningRate: 1e-3,
  lambda: { rrr: RETRAIN_DEFAULTS.lambda.rrr, energy: RETRAIN_DEFAULTS.lambda.energy, hint: RETRAIN_DEFAULTS.lambda.hint },
  losses: ['rrr', 'energy', 'hint', 'augment'],
  maskedRepeat: RETRAIN_DEFAULTS.maskedRepeat,
  maps: RETRAIN_DEFAULTS.maps,
};

export interface DecoyRow {
  /** 'clean', 'decoy', or 'retrain <loss>' */
  model: string;
  loss: RetrainLoss | null;
  lambda: number | null;
  epochs: number;
  /** on the random-patch test split */
  testAccuracy: number;
  testAuc: number;
  /** mean energy-based pointing game of the test images' factual Grad-CAM maps against their object masks */
  epg: number | null;
  /** images measured (maps with evidence) of those in the test pairs */
  epgImages: number;
  /** mean share of the same maps' energy on the patch (its 4x4 square grown by 2 px: 8x8, 8% of the image; at the border, less) */
  patchEnergy: number | null;
  /** what the retraining ran ('augment' after a failed second-derivative check) and why */
  used: RetrainLoss | null;
  fallback: string | null;
  /** retraining: the mask term's last-epoch mean */
  maskLoss: number | null;
  seconds: number;
}

export interface DecoyBenchResult {
  dataset: string;
  kind: DecoyKind;
  seed: number;
  backend: string;
  workers: number;
  sizes: {
    trainImages: number;
    maskedTrainImages: number;
    valImages: number;
    testImages: number;
    valPairs: number;
    testPairs: number;
    model: string;
  };
  rows: DecoyRow[];
  /** clean minus decoy test accuracy, and the share of it the best retraining closed */
  gap: number;
  best: { model: string; gapClosed: number; epg: number | null } | null;
  aims: { gapClosed80: boolean; epgAbove07: boolean };
  seconds: number;
}

/** Reads Fashion-MNIST's four idx files. */
async function readFashion(dir: string): Promise<{ trainX: Uint8Array; trainY: Uint8Array; testX: Uint8Array; testY: Uint8Array }> {
  const [trainX, trainY, testX, testY] = await Promise.all(
    ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'].map((f) =>
      readIdx(join(dir, f)),
    ),
  );
  return { trainX: trainX.data, trainY: trainY.data, testX: testX.data, testY: testY.data };
}

/** The mean EPG of the factual Grad-CAM maps of both images of `pairs` against `masks` (by image index). */
export async function meanEpg(
  modelDir: string,
  images: ImageSet,
  pairs: PairList,
  maskOf: (image: number) => Uint8Array | null,
  signal?: AbortSignal,
  patchOf?: (image: number) => Uint8Array | null,
): Promise<{ epg: number | null; images: number; patchShare: number | null }> {
  const model = await loadSiamese(modelDir);
  try {
    const cam = toCamModel(model);
    const explained = await explainPairs(cam, { shape: images.shape, pixels: images.pixels, a: pairs.a, b: pairs.b }, 'gradcam', {
      batchSize: 64,
      signal,
    });
    // the masks are on the images' grid (not necessarily the benchmark's 28x28)
    const [maskH, maskW] = images.shape;
    let sum = 0;
    let n = 0;
    let patchSum = 0;
    let patchN = 0;
    explained.forEach((e, k) => {
      for (const which of [0, 1] as const) {
        const image = which === 0 ? pairs.a[k] : pairs.b[k];
        const mask = maskOf(image);
        if (!mask || e.noEvidence[which].factual) continue;
        const map = { data: e.maps[2 * which]!, h: e.h, w: e.w };
        const epg = energyPointingGame(map, { data: mask.map((v) => (v > 127 ? 1 : 0)), h: maskH, w: maskW });
        if (epg === null) continue;
        sum += epg;
        n++;
        const patch = patchOf?.(image);
        const share = patch ? energyPointingGame(map, { data: patch.map((v) => (v > 127 ? 1 : 0)), h: maskH, w: maskW }) : null;
        if (share !== null) {
          patchSum += share;
          patchN++;
        }
      }
    });
    return { epg: n > 0 ? sum / n : null, images: n, patchShare: patchN > 0 ? patchSum / patchN : null };
  } finally {
    model.dispose();
  }
}

/** The benchmark's images, pairs and masks (everything before training). */
export interface DecoyData {
  images: ImageSet;
  model: ModelConfig;
  train: Record<'clean' | 'decoy', { indices: Int32Array; classes: Int32Array }>;
  val: Record<'clean' | 'decoy', PairList>;
  test: PairList;
  /** object masks of the masked decoy training images */
  masks: MaskData;
  /** the object mask of a test image (by image index), else null */
  testMask: (image: number) => Uint8Array | null;
  /** the patch's square grown by 2 px (0/255) of a test image (by image index), else null */
  testPatch: (image: number) => Uint8Array | null;
  sizes: DecoyBenchResult['sizes'];
}

/** Pixels around the patch counted as "on the patch": a 14x14 map upsampled spreads a 4x4 patch's evidence this far. */
const PATCH_MARGIN = 2;

/** The patch's square grown by PATCH_MARGIN (8x8, 8% of the image) as a 0/255 mask, or null for an image without a patch. */
function patchSquare(patch: { y: number; x: number } | null): Uint8Array | null {
  if (!patch) return null;
  const m = new Uint8Array(SIDE * SIDE);
  for (let y = Math.max(0, patch.y - PATCH_MARGIN); y < Math.min(SIDE, patch.y + PATCH + PATCH_MARGIN); y++)
    for (let x = Math.max(0, patch.x - PATCH_MARGIN); x < Math.min(SIDE, patch.x + PATCH + PATCH_MARGIN); x++) m[y * SIDE + x] = 255;
  return m;
}

/** Builds the benchmark's data from Fashion-MNIST (seeded). */
export async function prepareDecoyData(o: Omit<DecoyBenchOptions, 'pool' | 'onProgress' | 'signal'>): Promise<DecoyData> {
  if (!(o.maskedShare > 0 && o.maskedShare <= 0.1)) throw new Error(`maskedShare must be in (0, 0.1], got ${o.maskedShare}`);
  const fm = await readFashion(o.dataDir);
  const rng = createRng(o.seed, 0xdec0);
  const trainIdx = sampleByClass(fm.trainY, o.trainPerClass, rng);
  const valIdx = sampleByClass(fm.trainY, o.valPerClass, rng, new Set(trainIdx));
  const testIdx = sampleByClass(fm.testY, o.testPerClass, rng);
  const patchRng = createRng(o.seed, 0xba7c);
  const sets = {
    cleanTrain: buildDecoyImages(fm.trainX, fm.trainY, trainIdx, o.kind, 'none', patchRng),
    cleanVal: buildDecoyImages(fm.trainX, fm.trainY, valIdx, o.kind, 'none', patchRng),
    decoyTrain: buildDecoyImages(fm.trainX, fm.trainY, trainIdx, o.kind, 'tied', patchRng),
    decoyVal: buildDecoyImages(fm.trainX, fm.trainY, valIdx, o.kind, 'tied', patchRng),
    test: buildDecoyImages(fm.testX, fm.testY, testIdx, o.kind, 'random', patchRng),
  };
  // one image set: [clean train | clean val | decoy train | decoy val | test]
  const order = ['cleanTrain', 'cleanVal', 'decoyTrain', 'decoyVal', 'test'] as const;
  const offsets = {} as Record<(typeof order)[number], number>;
  let count = 0;
  for (const k of order) {
    offsets[k] = count;
    count += sets[k].classes.length;
  }
  const area = SIDE * SIDE;
  const pixels = new Float32Array(count * area);
  for (const k of order) pixels.set(sets[k].pixels, offsets[k] * area);
  const trainOf = (k: 'cleanTrain' | 'decoyTrain') => ({
    indices: Int32Array.from(sets[k].classes, (_, i) => offsets[k] + i),
    classes: sets[k].classes,
  });
  const val = {
    clean: balancedPairs(sets.cleanVal.classes, offsets.cleanVal, o.seed + 1),
    decoy: balancedPairs(sets.decoyVal.classes, offsets.decoyVal, o.seed + 1),
  };
  const test = balancedPairs(sets.test.classes, offsets.test, o.seed + 2);
  // object masks of a seeded maskedShare of the decoy training images
  const nTrain = sets.decoyTrain.classes.length;
  const order2 = Array.from({ length: nTrain }, (_, i) => i);
  shuffleInPlace(order2, createRng(o.seed, 0x3a5c));
  const masked = order2.slice(0, Math.floor(o.maskedShare * nTrain)).sort((p, q) => p - q);
  const masks: MaskData = { images: Int32Array.from(masked, (i) => offsets.decoyTrain + i), masks: new Uint8Array(masked.length * area) };
  masked.forEach((i, j) => masks.masks.set(sets.decoyTrain.masks.subarray(i * area, (i + 1) * area), j * area));
  const model = defaultModelConfig({
    arch: 'small',
    inputShape: [SIDE, SIDE, 1],
    width: o.width,
    embeddingSize: 32,
    seed: o.seed,
    head: o.head,
  });
  return {
    images: { shape: [SIDE, SIDE, 1], count, pixels },
    model,
    train: { clean: trainOf('cleanTrain'), decoy: trainOf('decoyTrain') },
    val,
    test,
    masks,
    testMask: (img) =>
      img >= offsets.test ? sets.test.masks.subarray((img - offsets.test) * area, (img - offsets.test + 1) * area) : null,
    testPatch: (img) => (img >= offsets.test ? patchSquare(sets.test.patches[img - offsets.test] ?? null) : null),
    sizes: {
      trainImages: nTrain,
      maskedTrainImages: masked.length,
      valImages: sets.decoyVal.classes.length,
      testImages: sets.test.classes.length,
      valPairs: val.decoy.a.length,
      testPairs: test.a.length,
      model: `small CNN (${o.head} head) width ${o.width}, embedding ${model.embeddingSize}, ${SIDE}x${SIDE}x1`,
    },
  };
}

/** Runs the benchmark; every model is trained from the same seed on the same images. */
export async function runDecoyBenchmark(options: DecoyBenchOptions): Promise<DecoyBenchResult> {
  const t0 = Date.now();
  const o = options;
  const say = o.onProgress ?? (() => undefined);
  const backend = (await initBackend()).name;
  say(`reading Fashion-MNIST from ${o.dataDir}`);
  const d = await prepareDecoyData(o);
  const { images, model, masks, testMask, testPatch } = d;
  const testPairs = d.test;
  const valPairs = d.val;
  const trainOf = (k: 'cleanTrain' | 'decoyTrain') => (k === 'cleanTrain' ? d.train.clean : d.train.decoy);
  const work = mkdtempSync(join(tmpdir(), 'simlens-decoy-'));
  const rows: DecoyRow[] = [];
  const progress = (what: string) => (_f: number, message: string) => say(`${what}: ${message}`);
  try {
    const train = async (name: 'clean' | 'decoy'): Promise<{ dir: string; outcome: TrainOutcome; seconds: number }> => {
      const started = Date.now();
      const dir = join(work, name);
      const req = {
        model,
        train: {
          epochs: o.trainEpochs,
          batchSize: o.batchSize,
          learningRate: o.learningRate,
          seed: o.seed,
          earlyStoppingPatience: 0,
          lrPatience: 0,
        },
        data: { images, train: trainOf(name === 'clean' ? 'cleanTrain' : 'decoyTrain'), val: valPairs[name] },
        evaluate: { val: valPairs[name], test: testPairs },
        outDir: dir,
      };
      const hooks = { signal: o.signal, progress: progress(name) };
      const outcome = o.pool ? await trainTaskParallel(o.pool, req, hooks) : await trainTask(req, hooks);
      return { dir, outcome, seconds: (Date.now() - started) / 1000 };
    };
    const row = async (
      name: string,
      dir: string,
      outcome: TrainOutcome | RetrainOutcome,
      seconds: number,
      extra: Partial<DecoyRow>,
    ): Promise<DecoyRow> => {
      say(`${name}: measuring the maps of ${testPairs.a.length} test pairs`);
      const { epg, images: epgImages, patchShare } = await meanEpg(dir, images, testPairs, testMask, o.signal, testPatch);
      const test = outcome.evaluation.splits.test!;
      const r: DecoyRow = {
        model: name,
        loss: null,
        lambda: null,
        epochs: outcome.training.history.length,
        testAccuracy: test.accuracy,
        testAuc: test.auc,
        epg,
        epgImages,
        patchEnergy: patchShare,
        used: null,
        fallback: null,
        maskLoss: null,
        seconds,
        ...extra,
      };
      say(
        `${name}: test accuracy ${r.testAccuracy.toFixed(4)}, AUC ${r.testAuc.toFixed(4)}, EPG ${epg?.toFixed(4) ?? '-'}, on the patch ${patchShare?.toFixed(4) ?? '-'} (${seconds.toFixed(1)} s)`,
      );
      return r;
    };
    const clean = await train('clean');
    rows.push(await row('clean', clean.dir, clean.outcome, clean.seconds, {}));
    const decoy = await train('decoy');
    rows.push(await row('decoy', decoy.dir, decoy.outcome, decoy.seconds, {}));
    for (const loss of o.losses) {
      const started = Date.now();
      const dir = join(work, `retrain-${loss}`);
      const lambda = loss === 'augment' ? 0 : o.lambda[loss];
      const req = {
        model: decoy.outcome.config,
        initFromDir: decoy.dir,
        train: { epochs: o.retrainEpochs, batchSize: o.batchSize, learningRate: o.retrainLearningRate, seed: o.seed },
        data: { images, train: trainOf('decoyTrain'), val: valPairs.decoy },
        masks,
        method: { loss, lambda, maskedRepeat: o.maskedRepeat, ...(o.maps ? { maps: o.maps } : {}) },
        evaluate: { val: valPairs.decoy, test: testPairs },
        outDir: dir,
      };
      const hooks = { signal: o.signal, progress: progress(`retrain ${loss}`) };
      const outcome = o.pool ? await retrainTaskParallel(o.pool, req, hooks) : await retrainTask(req, hooks);
      const last = outcome.training.history[outcome.training.history.length - 1];
      rows.push(
        await row(`retrain ${loss}`, dir, outcome, (Date.now() - started) / 1000, {
          loss,
          lambda: loss === 'augment' ? null : lambda,
          used: outcome.retrain.used,
          fallback: outcome.retrain.fallback,
          maskLoss: last?.maskLoss ?? null,
        }),
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const [cleanRow, decoyRow, ...retrained] = rows;
  const gap = cleanRow.testAccuracy - decoyRow.testAccuracy;
  const closed = (r: DecoyRow) => (gap > 0 ? (r.testAccuracy - decoyRow.testAccuracy) / gap : 0);
  const best = retrained.length > 0 ? retrained.reduce((p, q) => (closed(q) > closed(p) ? q : p)) : null;
  return {
    dataset: o.dataDir,
    kind: o.kind,
    seed: o.seed,
    backend,
    workers: o.pool?.size ?? 1,
    sizes: d.sizes,
    rows,
    gap,
    best: best && { model: best.model, gapClosed: closed(best), epg: best.epg },
    aims: { gapClosed80: best !== null && closed(best) >= 0.8, epgAbove07: retrained.some((r) => (r.epg ?? 0) > 0.7) },
    seconds: (Date.now() - t0) / 1000,
  };
}
