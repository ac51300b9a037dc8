import { MODEL_EXPORT_FORMATS, type ModelExportFormat, type ModelVersionDto } from '../../../shared/dto';
import { describeFrozenFeatures } from '../../../shared/inference';
import type { SimLensApp } from '../../app';
import { parseIntOption, table } from '../io';
import { usageError, type CliCommand, type CommandContext, type CommandOutput } from '../types';
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
  if (t?.frozenFeatures) lines.push(`Frozen part: ${describeFrozenFeatures(t.frozenFeatures)}`);
  if (m.metrics) lines.push('', metricsTable(metricsSummary(m.metrics)));
  else lines.push('Not evaluated.');
  return lines.join('\n');
}

const modelId = (ctx: CommandContext) => parseIntOption('model', ctx.values.model as string, 1, Number.MAX_SAFE_INTEGER);

/** models export --model ID --out DIR [--format tfjs|onnx] */
async function runExport(app: SimLensApp, ctx: CommandContext): Promise<CommandOutput> {
  const v = ctx.values;
  if (v.dataset !== undefined) throw usageError('models export does not take --dataset');
  if (v.model === undefined) throw usageError('--model ID is required: the version to export');
  if (v.out === undefined) throw usageError('--out DIR is required');
  const format = (v.format ?? 'tfjs') as string;
  if (!(MODEL_EXPORT_FORMATS as readonly string[]).includes(format))
    throw usageError(`--format: expected ${MODEL_EXPORT_FORMATS.join(' or ')}, got '${format}'`);
  const written = await app.call('models.export', { id: modelId(ctx), path: v.out as string, format: format as ModelExportFormat });
  const what = written.format === 'onnx' ? 'as ONNX (checked against tfjs)' : 'as a tfjs model folder';
  return {
    data: written,
    text: [`Exported model version ${modelId(ctx)} ${what} to ${written.path}:`, ...written.files.map((f) => `  ${f}`)].join('\n'),
  };
}

export const modelsCommand: CliCommand = {
  name: 'models',
  summary: 'List model versions with their val/test metrics, show one (--model ID), or export one (models export)',
  synopsis: 'models [--dataset ID] [--model ID] | models export --model ID --out DIR [--format tfjs|onnx] [--db FILE] [--json]',
  options: {
    dataset: { type: 'string', arg: 'ID', description: 'only the versions trained on this dataset' },
    model: {
      type: 'string',
      arg: 'ID',
      description: 'show this version: config and all stored metrics (with --json: the full record); export: the version',
    },
    format: {
      type: 'string',
      arg: 'F',
      description: 'export: tfjs (default: a copy of the model folder) or onnx (model.onnx + simlens-onnx.json)',
    },
    out: { type: 'string', arg: 'DIR', description: 'export: the folder to write (created; must be empty if it exists)' },
  },
  positionals: { min: 0, max: 1, names: 'an optional subcommand (export)' },
  db: 'existing',
  details:
    'export --format onnx writes DIR/model.onnx, the embedding network (ONNX opset 13: input "input"\n' +
    '[batch, H, W, C] float32 NHWC in [0, 1], the input preprocessing inside the graph; output\n' +
    '"embedding" [batch, D]) and DIR/simlens-onnx.json (input size and range, how SimLens resizes,\n' +
    'the preprocessing in the graph, tau and the decision threshold: score = exp(-||e1 - e2||^2 / tau),\n' +
    '"same" when score >= threshold). Before writing, ONNX Runtime\'s embedding of 4 random images is\n' +
    "checked against tfjs' (max difference <= 1e-4 of the magnitude). A network with a layer the\n" +
    'exporter does not convert fails with the layer and its class named.',
  async run(ctx) {
    const v = ctx.values;
    const [sub] = ctx.positionals;
    if (sub !== undefined && sub !== 'export') throw usageError(`unknown models subcommand '${sub}' (expected export)`);
    const app = ctx.openApp();
    if (sub === 'export') return runExport(app, ctx);
    if (v.format !== undefined || v.out !== undefined) throw usageError('--format and --out are options of models export');
    if (v.model !== undefined) {
      const model = await app.call('models.get', { id: modelId(ctx) });
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
