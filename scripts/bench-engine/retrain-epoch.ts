// Benchmark: one epoch of mask-loss retraining against one plain epoch of the SAME model on the
// SAME pairs, in the same run (issue 11: at most 3x). The pairs are one epoch of the retraining's
// explicit-pair plan (engine/train/mask/plan.ts) over real Fashion-MNIST images (1000 train images,
// 10% with an object mask, as the decoy benchmark builds them; batches of 64 pairs): the plain epoch
// runs the same batches without their masks (contrastive loss only), the mask-loss epochs run them
// with the masks (contrastive loss + rrr / energy / hint through the second derivative). Both in
// this thread (local step runners) and data-parallel over the worker pool; the small CNN with its
// flatten head (the default) and with the GAP head. Also the worst case: every image masked.
//
//   npx tsx scripts/bench-engine/retrain-epoch.ts [--workers 2] [--per-class 100]
import { availableParallelism } from 'node:os';
import { DEFAULT_DECOY_OPTIONS, prepareDecoyData } from '../../src/main/bench/decoy';
import { buildSiamese, defaultModelConfig, type ModelConfig } from '../../src/main/engine/models';
import { initBackend } from '../../src/main/engine/runtime/backend';
import { WorkerPool } from '../../src/main/engine/runtime/pool';
import type { EngineTasks } from '../../src/main/engine/tasks';
import { createDataParallelRunner } from '../../src/main/engine/train/data-parallel';
import type { MaskLossKind } from '../../src/main/engine/train/mask/loss';
import { maskEpochPlanner, type MaskData } from '../../src/main/engine/train/mask/plan';
import { localMaskStepRunner } from '../../src/main/engine/train/mask/runner';
import {
  DEFAULT_TRAIN_CONFIG,
  localStepRunner,
  type StepBatch,
  type StepRunner,
  type TrainData,
} from '../../src/main/engine/train/trainer';
import { arg, machine, report, round, type Figures } from './common';

const KINDS: MaskLossKind[] = ['rrr', 'energy', 'hint'];

async function epochSeconds(runner: StepRunner, batches: StepBatch[]): Promise<number> {
  await runner.step(batches[0], 1e-3); // warm-up (kernels, caches)
  const t0 = performance.now();
  for (const b of batches) await runner.step(b, 1e-3);
  return (performance.now() - t0) / 1000;
}

function epochBatches(data: TrainData, masks: MaskData): { withMasks: StepBatch[]; plain: StepBatch[]; masked: number } {
  const plan = maskEpochPlanner(data, masks, { mode: { kind: 'loss', lambda: 1 } })(1, { ...DEFAULT_TRAIN_CONFIG, batchSize: 64, seed: 1 });
  const withMasks = Array.from({ length: plan.steps }, (_, s) => plan.batch(s));
  const plain = withMasks.map(({ mask: _mask, ...rest }) => rest);
  return { withMasks, plain, masked: withMasks.reduce((n, b) => n + (b.mask?.index.length ?? 0), 0) };
}

export async function benchRetrainEpoch(options: { workers?: number; perClass?: number } = {}): Promise<Figures> {
  const workers = options.workers ?? Math.max(2, availableParallelism());
  await initBackend({ force: 'wasm' });
  const d = await prepareDecoyData({
    ...DEFAULT_DECOY_OPTIONS,
    trainPerClass: options.perClass ?? 100,
    valPerClass: 2,
    testPerClass: 2,
    dataDir: process.env.SIMLENS_FASHION_MNIST ?? '/usr/share/datasets/fashion-mnist',
  });
  const data: TrainData = { images: d.images, train: d.train.decoy, val: d.val.decoy };
  const some = epochBatches(data, d.masks);
  const everyImage: MaskData = {
    images: d.train.decoy.indices,
    masks: new Uint8Array(d.train.decoy.indices.length * 28 * 28).fill(255),
  };
  const all = epochBatches(data, everyImage);
  const figures: Figures = {
    ...machine(),
    workers,
    train_images: d.sizes.trainImages,
    masked_train_images: d.sizes.maskedTrainImages,
    pairs_per_epoch: some.plain.reduce((n, b) => n + b.labels.length, 0),
    steps_per_epoch: some.plain.length,
    masked_slots_per_epoch: some.masked,
  };
  const pool = new WorkerPool<EngineTasks>({ size: workers, backend: 'wasm' });
  await pool.ready();
  try {
    for (const head of ['flatten', 'gap'] as const) {
      const config: ModelConfig = defaultModelConfig({ inputShape: [28, 28, 1], embeddingSize: 64, seed: 1, head });
      // this thread
      const model = await buildSiamese(config);
      const plainRunner = localStepRunner(model, { learningRate: 1e-3, margin: 2 });
      const plain = await epochSeconds(plainRunner, some.plain);
      await plainRunner.dispose();
      figures[`${head}_plain_epoch_s`] = round(plain, 2);
      let worst = 0;
      for (const kind of KINDS) {
        const runner = localMaskStepRunner(model, { learningRate: 1e-3, margin: 2, mask: { kind, maps: 'factual' } });
        const s = await epochSeconds(runner, some.withMasks);
        await runner.dispose();
        figures[`${head}_${kind}_epoch_s`] = round(s, 2);
        figures[`${head}_${kind}_ratio`] = round(s / plain, 2);
        worst = Math.max(worst, s / plain);
      }
      const both = localMaskStepRunner(model, { learningRate: 1e-3, margin: 2, mask: { kind: 'energy', maps: 'both' } });
      figures[`${head}_energy_both_maps_ratio`] = round((await epochSeconds(both, some.withMasks)) / plain, 2);
      await both.dispose();
      const everyRunner = localMaskStepRunner(model, { learningRate: 1e-3, margin: 2, mask: { kind: 'energy', maps: 'factual' } });
      const plainAll = localStepRunner(model, { learningRate: 1e-3, margin: 2 });
      const pAll = await epochSeconds(plainAll, all.plain);
      figures[`${head}_energy_every_image_masked_ratio`] = round((await epochSeconds(everyRunner, all.withMasks)) / pAll, 2);
      await everyRunner.dispose();
      await plainAll.dispose();
      model.dispose();
      figures[`${head}_worst_ratio_10pct_masks`] = round(worst, 2);
      // data-parallel over the pool
      const dpPlain = await createDataParallelRunner(pool, { model: config, learningRate: 1e-3, margin: 2 });
      const dpPlainS = await epochSeconds(dpPlain, some.plain);
      await dpPlain.dispose();
      const dpMask = await createDataParallelRunner(pool, {
        model: config,
        learningRate: 1e-3,
        margin: 2,
        mask: { kind: 'energy', maps: 'both' }, // the app's default (RETRAIN_DEFAULTS)
      });
      const dpMaskS = await epochSeconds(dpMask, some.withMasks);
      await dpMask.dispose();
      figures[`${head}_pool_plain_epoch_s`] = round(dpPlainS, 2);
      figures[`${head}_pool_energy_epoch_s`] = round(dpMaskS, 2);
      figures[`${head}_pool_energy_ratio`] = round(dpMaskS / dpPlainS, 2);
    }
  } finally {
    await pool.close();
  }
  figures.target_ratio = 3;
  figures.meets_target = ['flatten', 'gap'].every(
    (h) => (figures[`${h}_worst_ratio_10pct_masks`] as number) <= 3 && (figures[`${h}_pool_energy_ratio`] as number) <= 3,
  );
  return figures;
}

if (require.main === module) {
  void benchRetrainEpoch({ workers: arg('workers', Math.max(2, availableParallelism())), perClass: arg('per-class', 100) }).then((f) =>
    report('retrain', f),
  );
}
