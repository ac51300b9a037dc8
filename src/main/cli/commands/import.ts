import { resolve } from 'node:path';
import type { ImportFileStatus, ImportReportEntryDto } from '../../../shared/dto';
import { parseIntOption, resultOf, table, waitForJob } from '../io';
import { usageError, type CliCommand } from '../types';

const KINDS = ['auto', 'folder', 'csv', 'idx'] as const;
type Kind = (typeof KINDS)[number];
const PROBLEMS_SHOWN = 100;

export const importCommand: CliCommand = {
  name: 'import',
  summary: 'Import images: a folder of class sub-folders, a CSV of pairs, or MNIST idx files',
  synopsis: 'import <path> [--db FILE] [--name N] [--kind auto|folder|csv|idx] [--dataset ID] [--follow-links] [--json]',
  options: {
    name: { type: 'string', arg: 'N', description: 'name of the new dataset (default: from the path)' },
    kind: { type: 'string', arg: 'KIND', description: 'auto (default), folder, csv or idx' },
    dataset: { type: 'string', arg: 'ID', description: 'import into this existing dataset instead of a new one' },
    'follow-links': { type: 'boolean', description: 'folder imports: follow symbolic links that point outside the folder' },
  },
  positionals: { min: 1, max: 1, names: '<path>' },
  db: 'create',
  details:
    'Files that cannot be read are reported by name with the reason and skipped; the rest is imported.\n' +
    'Re-importing the same image content does not duplicate it. A folder walk does not follow symbolic\n' +
    'links out of the folder unless --follow-links is given, and stops past 200,000 entries. A pairs CSV\n' +
    'keeps the first row of a pair: repeats, reversed repeats and self-pairs are reported by line; the same\n' +
    'pair with both labels is refused.',
  async run(ctx) {
    const kind = (ctx.values.kind as string | undefined) ?? 'auto';
    if (!(KINDS as readonly string[]).includes(kind)) throw usageError(`--kind: expected one of ${KINDS.join(', ')}, got '${kind}'`);
    const datasetId =
      ctx.values.dataset === undefined ? undefined : parseIntOption('dataset', ctx.values.dataset as string, 1, Number.MAX_SAFE_INTEGER);
    const path = resolve(ctx.positionals[0]);
    const app = ctx.openApp();
    const { jobId } = await app.call('datasets.import', {
      path,
      kind: kind as Kind,
      name: ctx.values.name as string | undefined,
      datasetId,
      followLinks: ctx.values['follow-links'] === true ? true : undefined,
    });
    const result = resultOf(await waitForJob(app, jobId, 'import', ctx.io), 'import');

    const report = await app.call('jobs.importReport', { jobId, status: undefined, offset: undefined, limit: 1 });
    const problems: ImportReportEntryDto[] = [];
    for (const status of ['error', 'skipped'] as ImportFileStatus[]) {
      const page = await app.call('jobs.importReport', { jobId, status, offset: undefined, limit: PROBLEMS_SHOWN });
      problems.push(...page.entries);
    }
    const dataset = await app.call('datasets.get', { id: result.datasetId });
    const data = { jobId, datasetId: dataset.id, dataset, totals: report.totals, problems: problems.slice(0, PROBLEMS_SHOWN), result };

    const lines: string[] = [];
    const t = report.totals;
    lines.push(
      `Imported into dataset ${dataset.id} "${dataset.name}" (${dataset.imageCount} images, ${dataset.classes.length} classes${dataset.hasOfficialTest ? ', official test split' : ''}).`,
    );
    lines.push(`Files: ${t.imported} imported, ${t.duplicate} duplicate, ${t.skipped} skipped, ${t.error} error(s).`);
    if (problems.length > 0) {
      lines.push('', 'Not imported:');
      lines.push(table([['status', 'file', 'reason'], ...problems.map((p) => [p.status, p.path, p.reason ?? ''])]));
      const more = t.skipped + t.error - problems.length;
      if (more > 0) lines.push(`... and ${more} more (see --json or the app's import report).`);
    }
    return { data, text: lines.join('\n') };
  },
};
