import { basename } from 'node:path';
import type { ArgsOf } from '../../shared/contract';
import type { ClassCountDto, DatasetDetailDto, DatasetDto, ImportReportDto, JobDto } from '../../shared/dto';
import { AppError, notFound } from '../errors';
import { planImport } from '../import/plan';
import { runImport } from '../import/run';
import type { ImportOptions } from '../import/types';
import type { Db } from '../store/db';
import { DatasetsRepo } from '../store/datasets-repo';
import { ImportReportsRepo } from '../store/import-reports-repo';
import { PairsRepo } from '../store/pairs-repo';
import type { JobRunner } from './jobs';

/** Label shown for images without a class (CSV imports). */
export const UNLABELLED = '(unlabelled)';

/** Datasets: import (folder / pairs CSV / idx) as a job with a per-file report, summaries, delete. */
export class DatasetService {
  private readonly repo: DatasetsRepo;
  private readonly reports: ImportReportsRepo;
  private readonly pairsRepo: PairsRepo;

  constructor(
    private readonly db: Db,
    private readonly jobs: JobRunner,
    /** decode limits and test hooks for imports */
    private readonly importOptions: ImportOptions = {},
  ) {
    this.repo = new DatasetsRepo(db);
    this.pairsRepo = new PairsRepo(db);
    this.reports = new ImportReportsRepo(db);
  }

  list(): DatasetDto[] {
    return this.repo.list();
  }

  get(id: number): DatasetDetailDto {
    const dataset = this.repo.get(id);
    if (!dataset) throw notFound('Dataset', id);
    const newest = this.repo.newestPairSetId(id);
    const classes = new Map<string, ClassCountDto>();
    for (const row of this.repo.classSplitCounts(id, newest)) {
      const label = row.classLabel ?? UNLABELLED;
      let c = classes.get(label);
      if (!c) classes.set(label, (c = { classLabel: label, total: 0, train: 0, val: 0, test: 0, unassigned: 0 }));
      c.total += row.count;
      if (row.split) c[row.split] += row.count;
      else c.unassigned += row.count;
    }
    return { ...dataset, classes: [...classes.values()], pairSets: this.pairsRepo.listPairSets(id) };
  }

  /**
   * Checks the source (rejects with an AppError for a missing path, an empty folder, a
   * malformed CSV or idx file) and then imports it as a job. Planning never blocks this
   * thread (see import/plan.ts); it resolves once the job has started.
   */
  async startImport(args: ArgsOf<'datasets.import'>): Promise<JobDto> {
    const plan = await planImport(args, this.repo, { maxEntries: this.importOptions.maxEntries });
    const planned = plan.kind === 'idx' ? plan.sets.reduce((a, s) => a + s.count, 0) : plan.files.length;
    const params = {
      path: plan.path,
      kind: plan.kind,
      name: args.name ?? null,
      datasetId: plan.datasetId,
      source: basename(plan.path),
      planned,
    };
    return this.jobs.start('import', params, (ctx) => runImport(this.db, plan, ctx, this.importOptions));
  }

  delete(id: number): { deleted: boolean } {
    return { deleted: this.repo.delete(id) };
  }

  importReport(args: ArgsOf<'jobs.importReport'>): ImportReportDto {
    const job = this.jobs.get(args.jobId);
    if (job.kind !== 'import') throw new AppError('invalid_argument', `Job ${args.jobId} is a ${job.kind} job, not an import`);
    return this.reports.page(args.jobId, { status: args.status, offset: args.offset, limit: args.limit });
  }
}
