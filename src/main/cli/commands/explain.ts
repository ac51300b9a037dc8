import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  EXPLAIN_METHODS,
  SPLITS,
  type ColormapName,
  type ExplainMethod,
  type ExplanationDto,
  type MapSummaryDto,
  type Split,
} from '../../../shared/dto';
import type { SimLensApp } from '../../app';
import { parseIntOption, table, waitForJob } from '../io';
import { CliError, usageError, type CliCommand, type CommandContext } from '../types';

/** --method: one of the explanation methods. */
export function parseMethod(value: string | boolean | undefined): ExplainMethod | undefined {
  if (value === undefined) return undefined;
  if (!EXPLAIN_METHODS.includes(value as ExplainMethod))
    throw usageError(`--method: expected one of ${EXPLAIN_METHODS.join(', ')}, got '${String(value)}'`);
  return value as ExplainMethod;
}

export function parseSplitName(value: string | boolean | undefined): Split | undefined {
  if (value === undefined) return undefined;
  if (!SPLITS.includes(value as Split)) throw usageError(`--split: expected one of ${SPLITS.join(', ')}, got '${String(value)}'`);
  return value as Split;
}

/** The model version's pair ids of a split, in the order batch jobs take them (by id). */
export function splitPairIds(app: SimLensApp, modelId: number, split: Split, label?: 0 | 1, limit?: number): number[] {
  const model = app.models.get(modelId);
  if (model.pairSetId === null) throw new CliError(`Model version ${modelId} has no pair set (it was deleted): use --pair`);
  let pairs = app.models.repo.pairs(model.pairSetId, split);
  if (label !== undefined) pairs = pairs.filter((p) => p.label === label);
  return pairs.slice(0, limit ?? pairs.length).map((p) => p.id);
}

const peak = (m: MapSummaryDto | null) => (m === null ? 'n/a' : m.noEvidence ? 'none' : `${m.peak![0]},${m.peak![1]}`);

function summaryRows(dtos: ExplanationDto[]): string {
  return table([
    ['pair', 'score', 'a: factual peak', 'a: counterf. peak', 'b: factual peak', 'b: counterf. peak'],
    ...dtos.map((d) => [
      d.pairId,
      d.score.toFixed(4),
      peak(d.a.factual),
      peak(d.a.counterfactual),
      peak(d.b.factual),
      peak(d.b.counterfactual),
    ]),
  ]);
}

export const explainCommand: CliCommand = {
  name: 'explain',
  summary: 'Explain pairs with a model version: factual and counterfactual maps of both images, as PNG overlays and a JSON summary',
  synopsis:
    'explain --model ID (--pair ID | --split S) [--method M] [--layer NAME] [--limit N] [--colormap jet|viridis] [--opacity A] [--out DIR] [--db FILE] [--json]',
  options: {
    model: { type: 'string', arg: 'ID', description: 'model version id' },
    pair: { type: 'string', arg: 'ID', description: 'explain this pair' },
    split: { type: 'string', arg: 'S', description: "explain the pairs of this split (train, val, test) of the model's pair set" },
    limit: { type: 'string', arg: 'N', description: 'with --split: at most N pairs (the first by id)' },
    method: { type: 'string', arg: 'M', description: `${EXPLAIN_METHODS.join(', ')} (default gradcam)` },
    layer: { type: 'string', arg: 'NAME', description: "target layer (default: the model's last conv block)" },
    out: {
      type: 'string',
      arg: 'DIR',
      description: 'write overlays DIR/pair-<id>/{a,b}-{factual,counterfactual}.png and DIR/summary.json',
    },
    colormap: { type: 'string', arg: 'C', description: 'jet or viridis (default jet)' },
    opacity: { type: 'string', arg: 'A', description: 'heatmap opacity 0..1 (default 0.5)' },
  },
  positionals: { min: 0, max: 0, names: '' },
  db: 'existing',
  details:
    'Maps are stored in the workspace, so a pair explained once is not computed again.\n' +
    'The overlays are the maps upsampled bilinearly onto the stored images. Methods that define\n' +
    'no counterfactual (rise) get no counterfactual overlay.',
  async run(ctx: CommandContext) {
    const v = ctx.values;
    if (v.model === undefined) throw usageError('missing --model ID');
    const modelId = parseIntOption('model', v.model as string, 1, Number.MAX_SAFE_INTEGER);
    if ((v.pair === undefined) === (v.split === undefined)) throw usageError('give exactly one of --pair ID and --split S');
    const pairId = v.pair === undefined ? undefined : parseIntOption('pair', v.pair as string, 1, Number.MAX_SAFE_INTEGER);
    const split = parseSplitName(v.split);
    const limit = v.limit === undefined ? undefined : parseIntOption('limit', v.limit as string, 1, 1_000_000);
    const method = parseMethod(v.method) ?? 'gradcam';
    const layer = v.layer as string | undefined;
    const colormap = (v.colormap ?? 'jet') as ColormapName;
    if (colormap !== 'jet' && colormap !== 'viridis') throw usageError(`--colormap: expected jet or viridis, got '${String(v.colormap)}'`);
    const opacity = v.opacity === undefined ? 0.5 : Number(v.opacity);
    if (!(opacity >= 0 && opacity <= 1) || String(v.opacity).trim() === '')
      throw usageError(`--opacity: expected a number in [0, 1], got '${String(v.opacity)}'`);

    const app = ctx.openApp();
    let jobId: number | null = null;
    let ids: number[];
    if (pairId !== undefined) ids = [pairId];
    else {
      jobId = (await app.call('explain.batch', { modelId, split, method, layer, limit })).jobId;
      await waitForJob(app, jobId, 'explain', ctx.io);
      ids = splitPairIds(app, modelId, split!, undefined, limit);
    }
    const dtos: ExplanationDto[] = [];
    for (const id of ids) dtos.push(await app.call('explain.pair', { pairId: id, modelId, method, layer }));

    const files: string[] = [];
    const out = v.out === undefined ? null : resolve(v.out as string);
    if (out) {
      for (const d of dtos) {
        const dir = join(out, `pair-${d.pairId}`);
        mkdirSync(dir, { recursive: true });
        for (const image of ['a', 'b'] as const)
          for (const kind of ['factual', 'counterfactual'] as const) {
            if (kind === 'counterfactual' && !d.counterfactualDefined) continue;
            const { png } = await app.explain.overlayPng({ pairId: d.pairId, modelId, method, layer, image, kind, colormap, opacity });
            const file = join(dir, `${image}-${kind}.png`);
            writeFileSync(file, png);
            files.push(file);
          }
      }
      mkdirSync(out, { recursive: true });
      const summary = join(out, 'summary.json');
      writeFileSync(
        summary,
        `${JSON.stringify({ modelId, method, layer: dtos[0]?.layer ?? layer ?? null, colormap, opacity, pairs: dtos }, null, 2)}\n`,
      );
      files.push(summary);
    }
    const first = dtos[0];
    const lines = [
      `Model version ${modelId} · ${method} at ${first ? first.layer : (layer ?? 'default layer')} · ${dtos.length} pair${dtos.length === 1 ? '' : 's'}` +
        (first ? ` · maps ${first.mapHeight}x${first.mapWidth}` : ''),
      '',
      summaryRows(dtos),
    ];
    if (out) lines.push('', `Wrote ${files.length} files to ${out}`);
    return { data: { modelId, method, layer: first?.layer ?? null, jobId, out, files, pairs: dtos }, text: lines.join('\n') };
  },
};
