// The dataset an import writes into, and the import's report: every file, idx record
// or skipped entry ends as one report row (imported, duplicate, skipped or error),
// counted in the totals that become the job's result.
import type { ImportFileStatus } from '../../shared/dto';
import type { Db } from '../store/db';
import { ImagesRepo } from '../store/images-repo';
import { ImportReportsRepo } from '../store/import-reports-repo';

export class ImportTarget {
  readonly images: ImagesRepo;
  readonly totals: Record<ImportFileStatus, number> = { imported: 0, duplicate: 0, skipped: 0, error: 0 };
  private readonly reports: ImportReportsRepo;

  constructor(
    readonly db: Db,
    private readonly jobId: number,
    readonly datasetId: number,
  ) {
    this.images = new ImagesRepo(db);
    this.reports = new ImportReportsRepo(db);
  }

  /** Adds one report row and counts it. Call inside the transaction that writes the image. */
  report(path: string, status: ImportFileStatus, reason: string | null, imageId: number | null): void {
    this.reports.add(this.jobId, { path, status, reason, imageId });
    this.totals[status]++;
  }
}
