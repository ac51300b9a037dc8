import type { HeatmapShareDto, KappaDto, ReviewImportDto, ReviewStatsDto } from '../../../shared/dto';
import type { SimLensApp } from '../../app';
import { parseIntOption, table } from '../io';
import { usageError, type CliCommand, type CommandContext, type CommandOutput } from '../types';

const SUBCOMMANDS = ['export', 'import', 'stats'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

/** Which options each subcommand takes (the runner parses all of them). */
const ACCEPTS: Record<Subcommand, string[]> = {
  export: ['format', 'out', 'history', 'model', 'dataset', 'reviewer'],
  import: ['dry-run'],
  stats: ['model'],
};

const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);
const kappa = (k: KappaDto | null) =>
  k === null ? '-' : `${k.kappa === null ? 'undefined' : k.kappa.toFixed(3)} (${k.method}, ${k.pairs} pairs)`;
const share = (s: HeatmapShareDto) => [s.total, s.sensible, s.notSensible, s.unsure, pct(s.share)];

const id = (ctx: CommandContext, name: string) =>
  ctx.values[name] === undefined ? undefined : parseIntOption(name, ctx.values[name] as string, 1, Number.MAX_SAFE_INTEGER);
const reviewer = (ctx: CommandContext) => ctx.values.reviewer as string | undefined;

async function runExport(app: SimLensApp, ctx: CommandContext): Promise<CommandOutput> {
  const format = ctx.values.format as string | undefined;
  const out = ctx.values.out as string | undefined;
  if (format === undefined) throw usageError('--format is required: csv, json or bundle');
  if (out === undefined) throw usageError('--out FILE is required');
  const scope = { modelId: id(ctx, 'model'), datasetId: id(ctx, 'dataset'), reviewer: reviewer(ctx) };
  if (format === 'bundle') {
    const written = await app.call('review.exportBundle', { path: out, ...scope });
    const lines = [
      `Wrote a review bundle of ${written.verdicts} verdict(s) with their history (${written.models.length} model version(s), ${written.images} images) of dataset ${written.dataset.id} "${written.dataset.name}" to ${written.path}`,
      ...written.skipped.map((s) => `  left out model version ${s.modelId}: ${s.reason}`),
      ...(written.masks > 0 ? [`  with ${written.masks} mask row(s) of the dataset's images`] : []),
    ];
    return { data: written, text: lines.join('\n') };
  }
  if (format !== 'csv' && format !== 'json') throw usageError(`--format: expected csv, json or bundle, got '${format}'`);
  const written = await app.call('review.export', { path: out, format, history: Boolean(ctx.values.history), ...scope });
  return {
    data: written,
    text: `Wrote ${written.rows} verdict row(s) (${written.history ? 'with superseded rows' : 'current verdicts only'}) as ${format.toUpperCase()} to ${written.path}`,
  };
}

function importText(r: ReviewImportDto): string {
  const lines = [
    `${r.dryRun ? 'Would import' : 'Imported'} ${r.imported} of ${r.bundle.verdicts} verdict(s) from ${r.path} (dataset "${r.bundle.dataset}" matched dataset ${r.datasetId}): ` +
      `${r.imported} imported, ${r.alreadyPresent} already present, ${r.unmatched} unmatched`,
  ];
  const unmatched = r.entries.filter((e) => e.status === 'unmatched');
  for (const e of unmatched.slice(0, 20)) lines.push(`  unmatched ${e.uid} (${e.reviewer}): ${e.reason}`);
  if (unmatched.length > 20) lines.push(`  ... and ${unmatched.length - 20} more (--json lists all)`);
  // masks (bundles of version 2)
  const m = r.masks;
  if (m.entries.length > 0) {
    lines.push(`Masks: ${m.imported} imported, ${m.alreadyPresent} already present, ${m.unmatched} unmatched`);
    const missed = m.entries.filter((e) => e.status === 'unmatched');
    for (const e of missed.slice(0, 20)) lines.push(`  unmatched mask ${e.uid} (${e.author}): ${e.reason}`);
    if (missed.length > 20) lines.push(`  ... and ${missed.length - 20} more (--json lists all)`);
  }
  return lines.join('\n');
}

function statsText(s: ReviewStatsDto): string {
  const v = s.verdicts;
  const sim = s.similarity;
  const lines = [
    `Model version ${s.modelId} · threshold ${s.threshold === null ? '-' : s.threshold.toFixed(4)} · ${v.current} current verdict(s) on ${v.pairs} pair(s) (${v.complete} complete), ${v.superseded} superseded`,
  ];
  if (s.reviewers.length > 0)
    lines.push('', table([['reviewer', 'verdicts', 'complete'], ...s.reviewers.map((r) => [r.reviewer, r.current, r.complete])]));
  lines.push(
    '',
    `Heatmaps judged sensible: ${pct(s.heatmaps.overall.share)} of ${s.heatmaps.overall.total}`,
    table([
      ['class', 'judged', 'sensible', 'not sensible', 'unsure', 'share'],
      ...s.heatmaps.byClass.map((c) => [c.classLabel ?? '(none)', ...share(c)]),
    ]),
    table([
      ['method', 'judged', 'sensible', 'not sensible', 'unsure', 'share'],
      ...s.heatmaps.byMethod.map((m) => [m.method ?? '(not recorded)', ...share(m)]),
    ]),
    '',
    "Similarity verdicts against the model's own error:",
    table([
      ['', 'model right', 'model wrong'],
      ['"correct"', sim.correctModelRight, sim.correctModelWrong],
      ['"wrong"', sim.wrongModelRight, sim.wrongModelWrong],
    ]),
    ...(sim.undecided > 0 ? [`(${sim.undecided} on pairs without a decision)`] : []),
    '',
    `Tags: ${s.tags.map((t) => `${t.tag} ${t.count}`).join(', ')}`,
    'Agreement (kappa):',
    ...s.agreement.map((a) => `  ${a.question}: ${kappa(a.overall)}`),
  );
  return lines.join('\n');
}

export const reviewCommand: CliCommand = {
  name: 'review',
  summary: 'Verdicts out and in: export them (CSV, JSON, review bundle), import a bundle, summarise a model version',
  synopsis:
    'review export --format csv|json|bundle --out FILE [--history] [--model ID] [--dataset ID] [--reviewer NAME] | review import BUNDLE [--dry-run] | review stats --model ID [--db FILE] [--json]',
  options: {
    format: { type: 'string', arg: 'F', description: 'export: csv or json (one row per verdict), or bundle (for review import)' },
    out: { type: 'string', arg: 'FILE', description: 'export: the file to write (replaced if it exists)' },
    history: { type: 'boolean', description: 'export csv/json: include superseded verdicts (bundles always carry them)' },
    model: { type: 'string', arg: 'ID', description: 'export: only this model version; stats: the version to summarise' },
    dataset: { type: 'string', arg: 'ID', description: "export: only this dataset's verdicts" },
    reviewer: { type: 'string', arg: 'NAME', description: "export: only this reviewer's verdicts" },
    'dry-run': { type: 'boolean', description: 'import: report what would be imported, write nothing' },
  },
  positionals: { min: 1, max: 2, names: 'a subcommand (export, import or stats)' },
  db: 'existing',
  details:
    "export --format csv|json writes one row per verdict: pair, split, label, both images' ids, paths\n" +
    'and classes, model version, reviewer, the answers (similarity; heatmap A and B), the method and\n' +
    'layer shown, note, tags (joined by ";"), time, whether it is current, origin and uid. Without\n' +
    '--history only current verdicts (the newest of each pair, version and reviewer) are written.\n' +
    'export --format bundle writes a review bundle: every verdict with its history, keyed by the\n' +
    "images' content hashes and the versions' weight fingerprints, with a checksum. Give it to\n" +
    'another workspace of the same dataset, where `simlens review import BUNDLE` adds the verdicts\n' +
    'it does not know yet (by uid): nothing is overwritten and importing twice changes nothing. An\n' +
    'import is all or nothing; a damaged or edited bundle, or one of a dataset the workspace does not\n' +
    'hold, is refused. stats summarises a version: heatmaps judged sensible per class and method,\n' +
    "similarity verdicts against the model's own error, tags, and agreement between reviewers\n" +
    "(Cohen's kappa for two, Fleiss' kappa for more, with the number of pairs judged by all).",
  async run(ctx) {
    const [sub, ...rest] = ctx.positionals;
    if (!SUBCOMMANDS.includes(sub as Subcommand)) throw usageError(`unknown review subcommand '${sub}' (expected export, import or stats)`);
    const subcommand = sub as Subcommand;
    for (const option of Object.keys(reviewCommand.options)) {
      if (ctx.values[option] !== undefined && !ACCEPTS[subcommand].includes(option))
        throw usageError(`review ${subcommand} does not take --${option}`);
    }
    if (subcommand !== 'import' && rest.length > 0) throw usageError(`unexpected argument '${rest[0]}'`);
    const app = ctx.openApp();
    if (subcommand === 'export') return runExport(app, ctx);
    if (subcommand === 'import') {
      if (rest.length === 0) throw usageError('missing the BUNDLE file to import');
      const report = await app.call('review.importBundle', { path: rest[0], dryRun: Boolean(ctx.values['dry-run']) });
      return { data: report, text: importText(report) };
    }
    const modelId = id(ctx, 'model');
    if (modelId === undefined) throw usageError('--model ID is required');
    const stats = await app.call('review.stats', { modelId });
    return { data: stats, text: statsText(stats) };
  },
};
