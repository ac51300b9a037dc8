// Benchmark: epoch time of training a pretrained backbone with frozen blocks, today's path (the
// whole network in tfjs: SIMLENS_INFER=tfjs) against frozen features (the frozen part on ONNX
// Runtime, its features cached across epochs; only the part above it in tfjs:
// src/main/engine/train/frozen-features.ts), in the same run, on the same data and seed.
//
// Backbone: SimLens's ResNet18 (width --width) at --size x --size x 3, seeded weights with
// randomised BatchNorm statistics, saved as a tfjs LayersModel folder and loaded as a 'pretrained'
// backbone cut at its last stage; --frozen blocks frozen (default: all but the last residual
// block; -1: the whole backbone). Data: --images synthetic images of 4 classes (3/4 train, the
// pairs among the rest val). The tfjs backend is the app's (initBackend: wasm here). Single thread
// (trainSiamese, as the 'models.train' task in an engine worker): ONNX Runtime with 1 intra-op
// thread, as in a worker, unless SIMLENS_ORT_THREADS says otherwise. --workers 2: data-parallel
// over 2 engine workers instead (trainDataParallel, as the app trains on a pool of 2 or more).
// --retrain: mask-guided retraining (engine/train/retrain.ts, loss 'energy', lambda 1) of the
// version trained nowhere (its initial weights saved as the parent), with a mask (its class's
// square) on every 4th train image, instead of plain training; the map layer is the model's default
// (the cut layer, above the frozen part). --rounds N runs the two N times, alternately, and keeps each epoch's fastest time (the machine is
// shared: the fastest is the least disturbed).
//
//   npx tsx scripts/bench-engine/frozen-train.ts [--size 96] [--width 0.5] [--images 256] [--epochs 3] [--batch 32] [--frozen N] [--workers 0] [--rounds 1] [--retrain] [--lr 1e-3]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { MaskData } from '../../src/main/engine/train/mask/plan';
import { retrainTask, retrainTaskParallel, type RetrainRequest } from '../../src/main/engine/train/retrain';
import { buildSiamese, defaultModelConfig, saveSiamese, type ModelConfig } from '../../src/main/engine/models';
import { backboneBlocks, loadBackbone } from '../../src/main/engine/models/pretrained';
import { initBackend } from '../../src/main/engine/runtime/backend';
import { initInference, resetInferenceForTests } from '../../src/main/engine/runtime/inference';
import { saveLayersModel } from '../../src/main/engine/runtime/model-io';
import { WorkerPool } from '../../src/main/engine/runtime/pool';
import type { EngineTasks } from '../../src/main/engine/tasks';
import { trainDataParallel } from '../../src/main/engine/train/data-parallel';
import { trainSiamese, type TrainConfig, type TrainData, type TrainResult } from '../../src/main/engine/train/trainer';
import { createRng } from '../../src/main/pairs/rng';
import { arg, flag, machine, report, round, type Figures } from './common';

process.env.SIMLENS_ORT_THREADS ??= '1';

/** `n` images of 4 classes: a bright square in one quadrant per class, on noise. */
function syntheticData(n: number, size: number): TrainData {
  const rng = createRng(7);
  const floats = size * size * 3;
  const pixels = new Float32Array(n * floats);
  const classes = new Int32Array(n);
  const side = Math.floor(size / 3);
  for (let i = 0; i < n; i++) {
    const c = i % 4;
    classes[i] = c;
    const [oy, ox] = [c < 2 ? 2 : size - side - 2, c % 2 === 0 ? 2 : size - side - 2];
    for (let p = 0; p < floats; p++) pixels[i * floats + p] = rng.next() * 0.4;
    for (let y = 0; y < side; y++)
      for (let x = 0; x < side; x++)
        for (let k = 0; k < 3; k++) pixels[i * floats + ((oy + y) * size + ox + x) * 3 + k] = 0.6 + rng.next() * 0.4;
  }
  const nTrain = Math.floor((n * 3) / 4);
  const a: number[] = [];
  const b: number[] = [];
  const label: number[] = [];
  for (let i = nTrain; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      a.push(i);
      b.push(j);
      label.push(classes[i] === classes[j] ? 1 : 0);
    }
  return {
    images: { shape: [size, size, 3], count: n, pixels },
    train: { indices: Int32Array.from({ length: nTrain }, (_, i) => i), classes: classes.slice(0, nTrain) },
    val: { a: Int32Array.from(a), b: Int32Array.from(b), label: Uint8Array.from(label) },
  };
}

/** A ResNet18 with randomised BN statistics saved as a backbone folder; its cut layer and block count. */
async function saveBackbone(dir: string, size: number, width: number): Promise<{ cutLayer: string; blocks: number }> {
  const built = await buildSiamese(defaultModelConfig({ arch: 'resnet18', inputShape: [size, size, 3], width, seed: 11 }));
  let seed = 100;
  for (const layer of built.net.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const fresh = tf.tidy(() =>
      layer.weights.map((v) => {
        const [lo, hi] = v.originalName.endsWith('moving_variance')
          ? [0.5, 2]
          : v.originalName.endsWith('gamma')
            ? [0.5, 1.5]
            : [-0.3, 0.3];
        return tf.randomUniform(v.shape as number[], lo, hi, 'float32', seed++);
      }),
    );
    layer.setWeights(fresh);
    tf.dispose(fresh);
  }
  const cutLayer = built
    .camLayers()
    .filter((l) => l.endsWith('_out'))
    .pop()!;
  await saveLayersModel(built.net, dir);
  built.dispose();
  const backbone = await loadBackbone(dir);
  const blocks = backboneBlocks(backbone, backbone.layers.indexOf(backbone.getLayer(cutLayer))).length;
  backbone.dispose();
  return { cutLayer, blocks };
}

async function main(): Promise<void> {
  const size = arg('size', 96);
  const width = arg('width', 0.5);
  const images = arg('images', 256);
  const epochs = arg('epochs', 3);
  const batch = arg('batch', 32);
  const workers = arg('workers', 0);
  const rounds = arg('rounds', 1);
  const backendInfo = await initBackend();
  const dir = mkdtempSync(join(tmpdir(), 'simlens-bench-frozen-'));
  const pools: WorkerPool<EngineTasks>[] = [];
  try {
    const { cutLayer, blocks } = await saveBackbone(join(dir, 'backbone'), size, width);
    const frozenBlocks = arg('frozen', blocks - 1);
    const model: ModelConfig = defaultModelConfig({
      arch: 'pretrained',
      inputShape: [size, size, 3],
      embeddingSize: 64,
      headUnits: 128,
      seed: 1,
      backbone: { dir: join(dir, 'backbone'), cutLayer, frozenBlocks },
    });
    const data = syntheticData(images, size);
    const config: Partial<TrainConfig> = {
      epochs,
      batchSize: batch,
      learningRate: arg('lr', 1e-3),
      seed: 3,
      earlyStoppingPatience: 0,
      lrPatience: 0,
    };

    const retrain = flag('retrain');
    const parentDir = join(dir, 'parent');
    let request: ((out: string) => RetrainRequest) | null = null;
    if (retrain) {
      const parent = await buildSiamese(model);
      await saveSiamese(parent, parentDir);
      parent.dispose();
      // every 4th train image: a mask on its class's square (where syntheticData draws it)
      const masked = Array.from(data.train!.indices).filter((i) => i % 4 === 0);
      const side = Math.floor(size / 3);
      const masks = new Uint8Array(masked.length * size * size);
      masked.forEach((img, j) => {
        const c = data.train!.classes[img];
        const [oy, ox] = [c < 2 ? 2 : size - side - 2, c % 2 === 0 ? 2 : size - side - 2];
        for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) masks[j * size * size + (oy + y) * size + ox + x] = 255;
      });
      const maskData: MaskData = { images: Int32Array.from(masked), masks };
      request = (out) => ({
        model,
        initFromDir: parentDir,
        train: config,
        data,
        masks: maskData,
        method: { loss: 'energy', lambda: 1 },
        evaluate: { val: data.val },
        outDir: join(dir, out),
      });
    }
    let runs = 0;
    const run = async (engine: 'tfjs' | 'ort'): Promise<TrainResult> => {
      const out = `out-${engine}-${runs++}`;
      if (workers > 0) {
        const pool = new WorkerPool<EngineTasks>({ size: workers, env: { ...process.env, SIMLENS_INFER: engine } });
        pools.push(pool);
        await pool.ready();
        if (request) return (await retrainTaskParallel(pool, request(out))).training;
        return (await trainDataParallel(pool, { model }, data, config)).training;
      }
      resetInferenceForTests();
      await initInference(engine === 'tfjs' ? { force: 'tfjs' } : {});
      if (request) return (await retrainTask(request(out))).training;
      const m = await buildSiamese(model);
      try {
        return await trainSiamese(m, data, config);
      } finally {
        m.dispose();
      }
    };
    const results: Record<'tfjs' | 'ort', TrainResult[]> = { tfjs: [], ort: [] };
    for (let r = 0; r < rounds; r++) {
      results.tfjs.push(await run('tfjs'));
      results.ort.push(await run('ort'));
    }
    const [before, after] = [results.tfjs[0], results.ort[0]];
    if (after.frozenFeatures?.used !== true) throw new Error(`frozen features were not used: ${after.frozenFeatures?.reason}`);

    const mean = (xs: number[]) => xs.reduce((p, q) => p + q, 0) / xs.length;
    /** each epoch's fastest time over the rounds */
    const secs = (r: TrainResult) =>
      r.history.map((e, i) => Math.min(...results[r === before ? 'tfjs' : 'ort'].map((x) => x.history[i].seconds)));
    const later = (r: TrainResult) => mean(secs(r).slice(1));
    const figures: Figures = {
      ...machine(),
      backend: backendInfo.name,
      mode: `${retrain ? 'mask-guided retraining (energy)' : 'training'}, ${workers > 0 ? `data-parallel over ${workers} workers` : 'single thread'}`,
      ort_threads: workers > 0 ? 1 : Number(process.env.SIMLENS_ORT_THREADS),
      input: `${size}x${size}x3`,
      backbone: `resnet18 width ${width}, ${blocks} blocks, cut at ${cutLayer}`,
      frozen_blocks: frozenBlocks,
      boundary: after.frozenFeatures.boundary!,
      feature_floats_per_image: after.frozenFeatures.featureSize!,
      features_cached: after.frozenFeatures.cached!,
      train_images: data.train!.indices.length,
      val_pairs: data.val.a.length,
      batch_pairs: batch,
      tfjs_epoch_s: secs(before)
        .map((s) => round(s, 2))
        .join(' '),
      frozen_ort_epoch_s: secs(after)
        .map((s) => round(s, 2))
        .join(' '),
      ratio_epoch1: round(secs(before)[0] / secs(after)[0], 2),
      ratio_later_epochs: round(later(before) / later(after), 2),
      ratio_total: round(mean(secs(before)) / mean(secs(after)), 2),
      rounds,
      ort_images: after.frozenFeatures.ortImages,
      loss_tfjs: before.history.map((e) => e.loss.toFixed(5)).join(' '),
      loss_frozen_ort: after.history.map((e) => e.loss.toFixed(5)).join(' '),
    };
    report('frozen-train', figures);
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
