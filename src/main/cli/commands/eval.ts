import { SPLITS, type ModelMetricsDto, type Split, type SplitMetricsDto } from '../../../shared/dto';
import { parseIntOption, table, waitForJob } from '../io';
import { usageError, type CliCommand } from '../types';

/** The numbers of one split, without the ROC points and histograms. */
export interface SplitSummary {
  auc: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  threshold: number;
  pairs: number;
  same: number;
  different: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export interface MetricsSummary {
  threshold: number;
  thresholdSource: ModelMetricsDto['thresholdSource'];
  splits: Partial<Record<Split, SplitSummary>>;
  evaluatedAt: string;
}

export function splitSummary(m: SplitMetricsDto): SplitSummary {
  const { auc, accuracy, precision, recall, f1, threshold, pairs, same, different, tp, fp, tn, fn } = m;
  return { auc, accuracy, precision, recall, f1, threshold, pairs, same, different, tp, fp, tn, fn };
}

/** A version's stored metrics for --json: per split AUC, accuracy, precision, recall, F1, threshold, counts (`only`: these splits). */
export function metricsSummary(m: ModelMetricsDto, only?: readonly Split[]): MetricsSummary {
  const splits: MetricsSummary['splits'] = {};
  for (const s of SPLITS) {
    const sm = m.splits[s];
    if (sm && (!only || only.includes(s))) splits[s] = splitSummary(sm);
  }
  return { threshold: m.threshold, thresholdSource: m.thresholdSource, splits, evaluatedAt: m.evaluatedAt };
}

/** The human table of a MetricsSummary. */
export function metricsTable(m: MetricsSummary): string {
  const f = (x: number) => x.toFixed(4);
  return table([
    ['split', 'pairs', 'AUC', 'accuracy', 'precision', 'recall', 'F1', 'threshold'],
    ...SPLITS.flatMap((s) => {
      const r = m.splits[s];
      return r ? [[s, r.pairs, f(r.auc), f(r.accuracy), f(r.precision), f(r.recall), f(r.f1), f(r.threshold)]] : [];
    }),
  ]);
}

/** --split: one split or a comma-separated list (train, val, test). */
export function parseSplitList(value: string): Split[] {
  const parts = value.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => !SPLITS.includes(p as Split))) {
    throw usageError(`--split: expected one or more of ${SPLITS.join(', ')} (comma-separated), got '${value}'`);
  }
  return [...new Set(parts as Split[])];
}

export const evalCommand: CliCommand = {
  name: 'eval',
  summary: 'Evaluate a model version on its pair set: AUC, accuracy, precision, recall and F1 at the validation threshold',
  synopsis: 'eval --model ID [--split test] [--db FILE] [--json]',
  options: {
    model: { type: 'string', arg: 'ID', description: 'model version id (simlens models lists them)' },
    split: { type: 'string', arg: 'S', description: 'train, val or test, or a comma-separated list (default val,test)' },
  },
  positionals: { min: 0, max: 0, names: '' },
  db: 'existing',
  details:
    "The version's pairs of each split are scored again and the metrics stored with the version.\n" +
    'The decision threshold is chosen on val (maximising accuracy) when val is evaluated, else the\n' +
    "version's stored threshold is kept. AUC is the ROC AUC of the continuous scores over the whole split.",
  async run(ctx) {
    const v = ctx.values;
    if (v.model === undefined) throw usageError('missing --model ID');
    const modelId = parseIntOption('model', v.model as string, 1, Number.MAX_SAFE_INTEGER);
    const splits = v.split === undefined ? undefined : parseSplitList(v.split as string);
    const app = ctx.openApp();
    const { jobId } = await app.call('models.evaluate', { id: modelId, splits });
    await waitForJob(app, jobId, 'eval', ctx.io);
    const model = await app.call('models.get', { id: modelId });
    const metrics = metricsSummary(model.metrics!, splits ?? ['val', 'test']);
    const lines = [
      `Model version ${model.id} "${model.name}" (${model.arch}) · pair set ${model.pairSetId ?? '-'} · threshold ${metrics.threshold.toFixed(4)} (${metrics.thresholdSource === 'val' ? 'chosen on val' : 'stored'})`,
      '',
      metricsTable(metrics),
    ];
    return { data: { jobId, modelId, metrics }, text: lines.join('\n') };
  },
};
