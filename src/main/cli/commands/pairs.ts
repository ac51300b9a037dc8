import { SPLITS } from '../../../shared/dto';
import { SEED_MAX } from '../../../shared/limits';
import type { SimLensApp } from '../../app';
import { parseIntOption, resultOf, table, waitForJob } from '../io';
import { CliError, usageError, type CliCommand } from '../types';

/** "80/10/10" (also "80,10,10" or "80:10:10") → [80, 10, 10]. */
export function parseSplit(value: string): [number, number, number] {
  const parts = value.split(/[/,:]/).map((p) => p.trim());
  const nums = parts.map(Number);
  if (parts.length !== 3 || parts.some((p) => p === '') || nums.some((n) => !Number.isFinite(n) || n < 0 || n > 100)) {
    throw usageError(`--split: expected three numbers 0-100 like 80/10/10 (train/val/test), got '${value}'`);
  }
  return nums as [number, number, number];
}

/** The dataset to work on: --dataset, or the only one there is. */
export async function pickDataset(app: SimLensApp, value: string | undefined): Promise<number> {
  if (value !== undefined) return parseIntOption('dataset', value, 1, Number.MAX_SAFE_INTEGER);
  const datasets = await app.call('datasets.list', {});
  if (datasets.length === 0) throw new CliError('The database has no datasets yet: import one first (simlens import <path>)');
  if (datasets.length > 1) {
    throw usageError(
      `The database has ${datasets.length} datasets: choose one with --dataset ID (${datasets.map((d) => `${d.id} "${d.name}"`).join(', ')})`,
    );
  }
  return datasets[0].id;
}

export const pairsCommand: CliCommand = {
  name: 'pairs',
  summary: "Split a dataset's images into train/val/test and draw balanced pairs in each split",
  synopsis: 'pairs [--db FILE] [--dataset ID] [--seed S] [--split 80/10/10] [--per-anchor K] [--json]',
  options: {
    dataset: { type: 'string', arg: 'ID', description: 'dataset id (default: the only dataset)' },
    seed: { type: 'string', arg: 'S', description: `random seed, 0..${SEED_MAX} (default: a random one, reported)` },
    split: { type: 'string', arg: 'T/V/T', description: 'train/val/test ratios (default 80/10/10)' },
    'per-anchor': { type: 'string', arg: 'K', description: 'positive and negative partners per image, 1..20 (default 1)' },
  },
  positionals: { min: 0, max: 0, names: '' },
  db: 'existing',
  details:
    'Images are split first (stratified by class), then pairs are drawn inside each split, so no\n' +
    'image is in two splits. A dataset with an official test split (e.g. Fashion-MNIST t10k) keeps\n' +
    'it as the test split and splits its other images train:val by the first two ratios (default\n' +
    '90/10; the third ratio is then ignored). Images without a class label are left out.\n' +
    'The same seed gives the same pairs. Each run adds a new pair set.',
  async run(ctx) {
    const seed = ctx.values.seed === undefined ? undefined : parseIntOption('seed', ctx.values.seed as string, 0, SEED_MAX);
    const ratios = ctx.values.split === undefined ? undefined : parseSplit(ctx.values.split as string);
    const pairsPerAnchor =
      ctx.values['per-anchor'] === undefined ? undefined : parseIntOption('per-anchor', ctx.values['per-anchor'] as string, 1, 20);
    const app = ctx.openApp();
    const datasetId = await pickDataset(app, ctx.values.dataset as string | undefined);
    const { jobId } = await app.call('pairs.generate', { datasetId, seed, ratios, pairsPerAnchor });
    const r = resultOf(await waitForJob(app, jobId, 'pairs', ctx.io), 'pairs');

    const lines = [
      `Pair set ${r.pairSetId} for dataset ${r.datasetId}: ${r.pairCount} pairs (seed ${r.seed}, ${r.pairsPerAnchor} per anchor).`,
      r.protocol === 'official-test'
        ? `Split: official test images as test; the others train/val ${r.ratios[0]}/${r.ratios[1]}.`
        : `Split: train/val/test ${r.ratios.join('/')}.`,
      '',
      table([
        ['split', 'images', 'classes', 'same', 'different', 'no pair'],
        ...SPLITS.map((s) => [
          s,
          r.counts[s].images,
          r.counts[s].classes,
          r.counts[s].positive,
          r.counts[s].negative,
          r.counts[s].anchorsWithoutPairs,
        ]),
      ]),
    ];
    if (r.warnings.length > 0) lines.push('', ...r.warnings.map((w) => `note: ${w}`));
    return { data: { jobId, ...r }, text: lines.join('\n') };
  },
};
