// Verdicts for people and tools: CSV (RFC 4180, a header row) or JSON, one row per verdict with
// its pair's images, the version and the reviewer's answers; current verdicts, or all rows.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ArgsOf } from '../../shared/contract';
import type { ReviewExportDto } from '../../shared/dto';
import { AppError, notFound } from '../errors';
import { toCsv, type CsvValue } from '../review/csv';
import type { Db } from '../store/db';
import { DatasetsRepo } from '../store/datasets-repo';
import { ModelsRepo } from '../store/models-repo';
import { ReviewReportsRepo, type ExportRow } from '../store/review-reports-repo';

/** The CSV columns, in order (and the JSON rows' keys). */
export const EXPORT_COLUMNS = [
  'pair_id',
  'split',
  'label',
  'image_a_id',
  'image_a_path',
  'image_a_class',
  'image_b_id',
  'image_b_path',
  'image_b_class',
  'model_id',
  'model_name',
  'reviewer',
  'similarity',
  'heatmap_a',
  'heatmap_b',
  'method',
  'layer',
  'note',
  'tags',
  'created_at',
  'current',
  'origin',
  'uid',
] as const satisfies readonly (keyof ExportRow)[];

/** Writes a file whole or not at all: into a sibling temp file, then renamed over the target (also for bundles). */
export function writeFileAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw new AppError('failed', `Could not write ${path}: ${(error as Error).message}`);
  }
}

/** A JSON export row: the CSV's columns with their JSON types (tags a list, current a boolean). */
function jsonRow(r: ExportRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of EXPORT_COLUMNS) out[c] = r[c];
  return { ...out, tags: r.tags === '' ? [] : r.tags.split(';'), current: r.current === 1 };
}

export class ReviewExportService {
  private readonly reports: ReviewReportsRepo;
  private readonly datasets: DatasetsRepo;
  private readonly modelsRepo: ModelsRepo;

  constructor(db: Db) {
    this.reports = new ReviewReportsRepo(db);
    this.datasets = new DatasetsRepo(db);
    this.modelsRepo = new ModelsRepo(db);
  }

  export(args: ArgsOf<'review.export'>): ReviewExportDto {
    if (args.modelId !== undefined && !this.modelsRepo.get(args.modelId)) throw notFound('Model version', args.modelId);
    if (args.datasetId !== undefined && !this.datasets.exists(args.datasetId)) throw notFound('Dataset', args.datasetId);
    const history = args.history ?? false;
    const rows = this.reports.exportRows({ modelId: args.modelId, datasetId: args.datasetId, reviewer: args.reviewer, history });
    const path = resolve(args.path);
    const text =
      args.format === 'csv'
        ? toCsv([[...EXPORT_COLUMNS], ...rows.map((r) => EXPORT_COLUMNS.map((c) => r[c] as CsvValue))])
        : `${JSON.stringify(rows.map(jsonRow), null, 2)}\n`;
    writeFileAtomic(path, text);
    return { path, format: args.format, rows: rows.length, history };
  }
}
