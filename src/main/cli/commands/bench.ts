// `simlens bench decoy`: the decoy benchmark (src/main/bench/decoy.ts) on the real Fashion-MNIST,
// without a workspace: a clean model, a decoy model, and the decoy model retrained with each mask
// loss and with the augmentation; per row test accuracy and ROC AUC on the random-patch test split,
// the mean energy-based pointing game against the object masks, and the wall time.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { DECOY_KINDS, type DecoyKind } from '../../bench/decoy-data';
import { DEFAULT_DECOY_OPTIONS, DEFAULT_FASHION_DIR, runDecoyBenchmark, type DecoyBenchResult } from '../../bench/decoy';
import { WorkerPool } from '../../engine/runtime';
import type { EngineTasks } from '../../engine/tasks';
import { parseIntOption, parseNumberOption, table } from '../io';
import { CliError, usageError, type CliCommand } from '../types';
import { SEED_MAX } from '../../../shared/limits';

const f4 = (x: number | null) => (x === null ? '-' : x.toFixed(4));

function benchText(r: DecoyBenchResult): string {
  const s = r.sizes;
  return [
    `Decoy benchmark (${r.kind} decoy, seed ${r.seed}) on ${r.dataset}: ${s.trainImages} train images (${s.maskedTrainImages} with an object mask), ` +
      `${s.valImages} val images (${s.valPairs} pairs, patch tied to the class), ${s.testImages} test images (${s.testPairs} pairs, patch at random); ` +
      `${s.model}; backend ${r.backend}, ${r.workers} worker(s).`,
    '',
    table([
      ['model', 'loss', 'lambda', 'epochs', 'test acc', 'test AUC', 'EPG', 'on patch', 'seconds', 'note'],
      ...r.rows.map((row) => [
        row.model,
        row.used ?? '-',
        row.lambda === null ? '-' : `${row.lambda}`,
        `${row.epochs}`,
        f4(row.testAccuracy),
        f4(row.testAuc),
        f4(row.epg),
        f4(row.patchEnergy),
        row.seconds.toFixed(1),
        row.fallback ?? '',
      ]),
    ]),
    '',
    `Clean minus decoy test accuracy: ${r.gap.toFixed(4)}. ` +
      (r.best
        ? `Best retraining: ${r.best.model}, closing ${(100 * r.best.gapClosed).toFixed(1)}% of the gap, EPG ${f4(r.best.epg)}.`
        : ''),
    `Aims: gap closed >= 80%: ${r.aims.gapClosed80 ? 'yes' : 'no'}; a retraining's mean EPG > 0.7: ${r.aims.epgAbove07 ? 'yes' : 'no'}. Total ${r.seconds.toFixed(0)} s.`,
  ].join('\n');
}

export const benchCommand: CliCommand = {
  name: 'bench',
  summary: 'Benchmarks without a workspace: decoy (does retraining with masks move a model off a shortcut?)',
  synopsis:
    'bench decoy [--seed S] [--data DIR] [--kind position|shade] [--train-per-class N] [--test-per-class N] [--epochs N] [--retrain-epochs N] [--workers N] [--json]',
  options: {
    seed: { type: 'string', arg: 'S', description: 'seed of the samples, patches, masks and models (default 0)' },
    data: { type: 'string', arg: 'DIR', description: `Fashion-MNIST idx files (default $SIMLENS_FASHION_MNIST or ${DEFAULT_FASHION_DIR})` },
    kind: { type: 'string', arg: 'K', description: "the decoy: the patch's position (default) or its shade tied to the class" },
    'train-per-class': {
      type: 'string',
      arg: 'N',
      description: `training images per class (default ${DEFAULT_DECOY_OPTIONS.trainPerClass})`,
    },
    'val-per-class': {
      type: 'string',
      arg: 'N',
      description: `validation images per class (default ${DEFAULT_DECOY_OPTIONS.valPerClass})`,
    },
    'test-per-class': { type: 'string', arg: 'N', description: `test images per class (default ${DEFAULT_DECOY_OPTIONS.testPerClass})` },
    'masked-share': {
      type: 'string',
      arg: 'X',
      description: `share of training images with an object mask, (0, 0.1] (default ${DEFAULT_DECOY_OPTIONS.maskedShare})`,
    },
    epochs: {
      type: 'string',
      arg: 'N',
      description: `epochs of the clean and decoy models (default ${DEFAULT_DECOY_OPTIONS.trainEpochs})`,
    },
    'retrain-epochs': {
      type: 'string',
      arg: 'N',
      description: `epochs of each retraining (default ${DEFAULT_DECOY_OPTIONS.retrainEpochs})`,
    },
    workers: { type: 'string', arg: 'N', description: 'engine workers to train on, data-parallel (default 2; 0 = this thread)' },
  },
  positionals: { min: 1, max: 1, names: 'a benchmark (decoy)' },
  db: 'none',
  details:
    "decoy: from the real Fashion-MNIST, a training split where a small white patch's position (or a\n" +
    "patch's shade) is tied to the class, a test split with the patch at random, and object masks (each\n" +
    "garment's own pixels, dilated, without the patch) on at most 10% of the training images standing in\n" +
    'for an expert. Trains a clean and a decoy model, retrains the decoy model with rrr, energy, hint and\n' +
    "augment; reports each one's test accuracy and ROC AUC, mean EPG against the object masks, and time.",
  async run(ctx) {
    const [name] = ctx.positionals;
    if (name !== 'decoy') throw usageError(`unknown benchmark '${name}'; available: decoy`);
    const v = ctx.values;
    const int = (n: string, min: number, max: number) => (v[n] === undefined ? undefined : parseIntOption(n, v[n] as string, min, max));
    const kind = (v.kind as string | undefined) ?? DEFAULT_DECOY_OPTIONS.kind;
    if (!(DECOY_KINDS as readonly string[]).includes(kind)) throw usageError(`--kind: expected position or shade, got '${kind}'`);
    const dataDir = resolve((v.data as string | undefined) ?? process.env.SIMLENS_FASHION_MNIST ?? DEFAULT_FASHION_DIR);
    if (!existsSync(resolve(dataDir, 'train-images-idx3-ubyte.gz')))
      throw new CliError(`No Fashion-MNIST idx files in ${dataDir} (install the dataset-fashion-mnist package, or pass --data DIR)`);
    const maskedShare =
      v['masked-share'] === undefined ? undefined : parseNumberOption('masked-share', v['masked-share'] as string, 1e-6, 0.1);
    const workers = int('workers', 0, 64) ?? 2;
    const options = {
      ...DEFAULT_DECOY_OPTIONS,
      dataDir,
      kind: kind as DecoyKind,
      seed: int('seed', 0, SEED_MAX) ?? DEFAULT_DECOY_OPTIONS.seed,
      trainPerClass: int('train-per-class', 2, 6000) ?? DEFAULT_DECOY_OPTIONS.trainPerClass,
      valPerClass: int('val-per-class', 2, 1000) ?? DEFAULT_DECOY_OPTIONS.valPerClass,
      testPerClass: int('test-per-class', 2, 1000) ?? DEFAULT_DECOY_OPTIONS.testPerClass,
      maskedShare: maskedShare ?? DEFAULT_DECOY_OPTIONS.maskedShare,
      trainEpochs: int('epochs', 1, 100) ?? DEFAULT_DECOY_OPTIONS.trainEpochs,
      retrainEpochs: int('retrain-epochs', 1, 100) ?? DEFAULT_DECOY_OPTIONS.retrainEpochs,
    };
    const pool = workers > 0 ? new WorkerPool<EngineTasks>({ size: workers }) : undefined;
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    try {
      const result = await runDecoyBenchmark({
        ...options,
        ...(pool ? { pool } : {}),
        signal: controller.signal,
        onProgress: (message) => {
          if (ctx.io.stderrIsTTY) ctx.io.err(`\r\x1b[Kbench decoy: ${message.slice(0, 150)}`);
        },
      });
      if (ctx.io.stderrIsTTY) ctx.io.err('\n');
      return { data: result, text: benchText(result) };
    } catch (error) {
      if (controller.signal.aborted) throw new CliError('bench decoy cancelled', 130);
      throw error;
    } finally {
      process.off('SIGINT', onSigint);
      await pool?.close();
    }
  },
};
