import type { DatasetDetailDto, JobDto } from '../../../shared/dto';
import { describeInference } from '../../../shared/inference';
import { table } from '../io';
import type { CliCommand } from '../types';

const JOBS_SCANNED = 500;
const RECENT_JOBS = 5;

export const infoCommand: CliCommand = {
  name: 'info',
  summary: 'Show the workspace: datasets, class counts, pair sets, schema version, job history',
  synopsis: 'info [--db FILE] [--json]',
  options: {},
  positionals: { min: 0, max: 0, names: '' },
  db: 'existing',
  async run(ctx) {
    const app = ctx.openApp();
    const appInfo = await app.call('app.info', {});
    const list = await app.call('datasets.list', {});
    const datasets: DatasetDetailDto[] = [];
    for (const d of list) datasets.push(await app.call('datasets.get', { id: d.id }));
    const jobs = await app.call('jobs.list', { limit: JOBS_SCANNED });
    const byKind: Record<string, Record<string, number>> = {};
    for (const j of jobs) {
      byKind[j.kind] ??= {};
      byKind[j.kind][j.status] = (byKind[j.kind][j.status] ?? 0) + 1;
    }
    const recent = jobs.slice(0, RECENT_JOBS);
    const data = { app: appInfo, schemaVersion: appInfo.schemaVersion, datasets, jobs: { scanned: jobs.length, byKind, recent } };

    const lines = [`SimLens ${appInfo.version} · database ${appInfo.dbPath} · schema version ${appInfo.schemaVersion}`];
    if (appInfo.backend)
      lines.push(`Engine backend: ${appInfo.backend.name}${appInfo.backend.notes.length ? ` (${appInfo.backend.notes.join('; ')})` : ''}`);
    if (appInfo.inference) {
      const i = appInfo.inference;
      lines.push(`Inference: ${describeInference(i)}${i.notes.length ? ` (${i.notes.join('; ')})` : ''}`);
      for (const f of i.fallbacks) lines.push(`  model ${f.modelId} "${f.name}" runs on tfjs: ${f.reason}`);
    }
    lines.push('');
    if (datasets.length === 0) lines.push('No datasets yet (simlens import <path>).');
    for (const d of datasets) {
      lines.push(
        `Dataset ${d.id} "${d.name}": ${d.imageCount} images, ${d.classes.length} classes, from ${d.sourceKind} ${d.sourcePath}${d.hasOfficialTest ? ' (official test split)' : ''}`,
      );
      if (d.classes.length > 0) {
        lines.push(
          indent(
            table([
              ['class', 'images', 'train', 'val', 'test', 'unassigned'],
              ...d.classes.map((c) => [c.classLabel, c.total, c.train, c.val, c.test, c.unassigned]),
            ]),
          ),
        );
      }
      if (d.pairSets.length === 0) lines.push('  No pair sets (simlens pairs).');
      for (const s of d.pairSets) {
        const per = (split: string) => {
          const same = s.counts.find((c) => c.split === split && c.label === 1)?.count ?? 0;
          const diff = s.counts.find((c) => c.split === split && c.label === 0)?.count ?? 0;
          return `${split} ${same}+${diff}`;
        };
        const how =
          s.source === 'csv' ? 'from CSV' : `seed ${s.seed}, ratios ${s.ratios?.join('/') ?? '-'}, ${s.pairsPerAnchor} per anchor`;
        lines.push(`  Pair set ${s.id} (${how}): ${s.pairCount} pairs; same+different: ${['train', 'val', 'test'].map(per).join(', ')}`);
      }
      lines.push('');
    }
    lines.push(`Jobs (last ${jobs.length}): ${summariseJobs(byKind) || 'none'}`);
    for (const j of recent) lines.push(`  ${describeJob(j)}`);
    return { data, text: lines.join('\n').trimEnd() };
  },
};

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

function summariseJobs(byKind: Record<string, Record<string, number>>): string {
  return Object.entries(byKind)
    .map(
      ([kind, statuses]) =>
        `${kind} ${Object.entries(statuses)
          .map(([s, n]) => `${n} ${s}`)
          .join(', ')}`,
    )
    .join('; ');
}

function describeJob(j: JobDto): string {
  return `#${j.id} ${j.kind} ${j.status} ${j.createdAt}${j.error ? ` (${j.error})` : ''}`;
}
