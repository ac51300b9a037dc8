import type { MaskImportDto } from '../../../shared/dto';
import type { SimLensApp } from '../../app';
import { parseIntOption } from '../io';
import { usageError, type CliCommand, type CommandContext, type CommandOutput } from '../types';

const SUBCOMMANDS = ['export', 'import'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

/** Which options each subcommand takes (the runner parses all of them). */
const ACCEPTS: Record<Subcommand, string[]> = {
  export: ['format', 'out', 'author', 'history', 'dataset', 'category'],
  import: ['author', 'dataset'],
};

const dataset = (ctx: CommandContext) =>
  ctx.values.dataset === undefined ? undefined : parseIntOption('dataset', ctx.values.dataset as string, 1, Number.MAX_SAFE_INTEGER);
const author = (ctx: CommandContext) => ctx.values.author as string | undefined;

async function runExport(app: SimLensApp, ctx: CommandContext): Promise<CommandOutput> {
  const format = ctx.values.format as string | undefined;
  const out = ctx.values.out as string | undefined;
  const category = ctx.values.category as string | undefined;
  if (format === undefined) throw usageError('--format is required: png, coco or csv');
  if (format !== 'png' && format !== 'coco' && format !== 'csv') throw usageError(`--format: expected png, coco or csv, got '${format}'`);
  if (out === undefined) throw usageError('--out DIR is required');
  if (category !== undefined && category !== 'class' && category !== 'relevant')
    throw usageError(`--category: expected class or relevant, got '${category}'`);
  if (category !== undefined && format !== 'coco') throw usageError('--category is for --format coco');
  const written = await app.call('masks.export', {
    format,
    out,
    datasetId: dataset(ctx),
    author: author(ctx),
    history: Boolean(ctx.values.history),
    ...(category ? { category } : {}),
  });
  const what =
    format === 'png'
      ? `${written.masks} mask PNG(s) of ${written.images} image(s) into ${written.path}`
      : `${written.masks} mask(s) of ${written.images} image(s) as ${format === 'coco' ? `COCO JSON (categories: ${written.category})` : 'CSV'} to ${written.path}`;
  const lines = [
    `Wrote ${what} (dataset ${written.datasetId}; ${written.author === null ? 'every author' : `author ${written.author}`}; ${written.history ? 'with superseded masks' : 'newest masks only'})`,
    ...(written.skippedEmpty > 0 ? [`  left out ${written.skippedEmpty} empty mask(s) (nothing inside)`] : []),
  ];
  return { data: written, text: lines.join('\n') };
}

function importText(r: MaskImportDto): string {
  const lines = [
    `Imported masks from ${r.path} (${r.format === 'png' ? 'PNG files' : 'COCO JSON'}) into dataset ${r.datasetId}: ` +
      `${r.imported} imported, ${r.unchanged} unchanged, ${r.unmatched} unmatched, ${r.errors} refused`,
  ];
  const problems = r.entries.filter((e) => e.status === 'unmatched' || e.status === 'error');
  for (const e of problems.slice(0, 20)) lines.push(`  ${e.status === 'error' ? 'refused' : 'unmatched'} ${e.name}: ${e.reason}`);
  if (problems.length > 20) lines.push(`  ... and ${problems.length - 20} more (--json lists all)`);
  return lines.join('\n');
}

export const masksCommand: CliCommand = {
  name: 'masks',
  summary: 'Masks out and in: export them (PNG, COCO JSON, CSV), import PNG folders and COCO files',
  synopsis:
    'masks export --format png|coco|csv --out DIR [--author A] [--history] [--dataset ID] [--category class|relevant] | masks import PATH [--author A] [--dataset ID] [--db FILE] [--json]',
  options: {
    format: { type: 'string', arg: 'F', description: 'export: png (a file per image), coco (one JSON file) or csv (one row per mask)' },
    out: { type: 'string', arg: 'DIR', description: 'export: the folder to write into (coco, csv: or the .json / .csv file)' },
    author: { type: 'string', arg: 'A', description: "export: only this author's masks; import: the author of the imported masks" },
    history: { type: 'boolean', description: 'export: include superseded masks (png: in DIR/history/)' },
    dataset: { type: 'string', arg: 'ID', description: 'the dataset (default: the only one, for export the only one with masks)' },
    category: { type: 'string', arg: 'C', description: 'export coco: a category per class label (class, default) or one "relevant"' },
  },
  positionals: { min: 1, max: 2, names: 'a subcommand (export or import)' },
  db: 'existing',
  details:
    'Masks belong to images, per author, with history (every save adds a row; the newest wins).\n' +
    'export --format png writes DIR/<imageId>_<stem of the image file>.png, 0 outside and 255 inside,\n' +
    "at the stored image's size: per image the newest mask (of --author, else of anyone); --history\n" +
    'adds the superseded ones to DIR/history/. --format coco writes DIR/masks.coco.json (images with\n' +
    "their file names and sizes, categories, annotations with RLE segmentation in COCO's compressed\n" +
    'form, area, bbox, iscrowd 1, and author, time and source); --format csv writes DIR/masks.csv, one\n' +
    'row per mask. Both carry the newest mask of every image and author, or every row with --history.\n' +
    'Empty masks are left out.\n' +
    'import PATH takes a folder of PNGs (each named <imageId>_<stem>.png, <stem>.png or <imageId>.png;\n' +
    "any non-zero pixel is inside; the PNG must have the image's size) or a COCO JSON file (images\n" +
    'matched by file_name and size; compressed or uncompressed RLE, polygons; the annotations of one\n' +
    'image and author are united). Each file or annotation is reported: imported, unchanged (the same\n' +
    "as that author's newest mask), unmatched or refused, with the reason; the rest is imported.\n" +
    'Nothing is replaced: imported masks are new rows (source "imported"; author --author, else the\n' +
    'COCO annotation\'s attributes.author, else "import"). The command exits 0 when it ran, whatever\n' +
    'the report says; a file that is not a COCO file, or a missing PATH, fails it.',
  async run(ctx) {
    const [sub, ...rest] = ctx.positionals;
    if (!SUBCOMMANDS.includes(sub as Subcommand)) throw usageError(`unknown masks subcommand '${sub}' (expected export or import)`);
    const subcommand = sub as Subcommand;
    for (const option of Object.keys(masksCommand.options)) {
      if (ctx.values[option] !== undefined && !ACCEPTS[subcommand].includes(option))
        throw usageError(`masks ${subcommand} does not take --${option}`);
    }
    if (subcommand === 'export' && rest.length > 0) throw usageError(`unexpected argument '${rest[0]}'`);
    if (subcommand === 'import' && rest.length === 0) throw usageError('missing the PATH to import (a folder of PNGs or a COCO JSON file)');
    const app = ctx.openApp();
    if (subcommand === 'export') return runExport(app, ctx);
    const report = await app.call('masks.import', { path: rest[0], datasetId: dataset(ctx), author: author(ctx) });
    return { data: report, text: importText(report) };
  },
};
