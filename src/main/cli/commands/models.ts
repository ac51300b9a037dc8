import type { ModelVersionDto } from '../../../shared/dto';
import { parseIntOption, table } from '../io';
import type { CliCommand } from '../types';
import { metricsSummary, metricsTable } from './eval';

const f = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(4));

function describe(m: ModelVersionDto): string {
  const lines = [
    `Model version ${m.id} "${m.name}" (${m.arch}) · dataset ${m.datasetId ?? '-'} · pair set ${m.pairSetId ?? '-'}${m.parentId ? ` · parent ${m.parentId}` : ''} · seed ${m.seed ?? '-'} · backend ${m.backend ?? '-'} · ${m.createdAt}`,
    `Weights: ${m.weightsPath ?? 'none'}`,
  ];
  const t = m.metrics?.training;
  if (t)
    lines.push(
      `Training: ${t.history.length} epochs, ${t.seconds.toFixed(1)} s, best epoch ${t.bestEpoch} (val AUC ${t.bestValAuc.toFixed(4)})${t.stoppedEarly ? ', stopped early' : ''}`,
    );
  if (m.metrics) lines.push('', metricsTable(metricsSummary(m.metrics)));
  else lines.push('Not evaluated.');
  return lines.join('\n');
}

export const modelsCommand: CliCommand = {
  name: 'models',
  summary: 'List model versions with their val/test metrics, or show one (--model ID)',
  synopsis: 'models [--db FILE] [--dataset ID] [--model ID] [--json]',
  options: {
    dataset: { type: 'string', arg: 'ID', description: 'only the versions trained on this dataset' },
    model: { type: 'string', arg: 'ID', description: 'show this version: config and all stored metrics (with --json: the full record)' },
  },
  positionals: { min: 0, max: 0, names: '' },
  db: 'existing',
  async run(ctx) {
    const v = ctx.values;
    const app = ctx.openApp();
    if (v.model !== undefined) {
      const model = await app.call('models.get', { id: parseIntOption('model', v.model as string, 1, Number.MAX_SAFE_INTEGER) });
      return { data: model, text: describe(model) };
    }
    const datasetId = v.dataset === undefined ? undefined : parseIntOption('dataset', v.dataset as string, 1, Number.MAX_SAFE_INTEGER);
    const list = await app.call('models.list', { datasetId });
    const data = list.map((m) => ({ ...m, metrics: m.metrics ? metricsSummary(m.metrics) : null }));
    const text =
      list.length === 0
        ? 'No model versions yet (simlens train).'
        : table([
            ['id', 'name', 'arch', 'dataset', 'pair set', 'val AUC', 'test AUC', 'test acc.', 'created'],
            ...data.map((m) => [
              m.id,
              m.name,
              m.arch,
              m.datasetId ?? '-',
              m.pairSetId ?? '-',
              f(m.metrics?.splits.val?.auc),
              f(m.metrics?.splits.test?.auc),
              f(m.metrics?.splits.test?.accuracy),
              m.createdAt,
            ]),
          ]);
    return { data, text };
  },
};
