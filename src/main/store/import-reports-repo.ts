import type { ImportFileStatus, ImportReportDto, ImportReportEntryDto } from '../../shared/dto';
import type { Db } from './db';

export interface NewReportEntry {
  path: string;
  status: ImportFileStatus;
  reason: string | null;
  imageId: number | null;
}

/** All SQL for import_reports: one row per file (or idx record) an import job looked at. */
export class ImportReportsRepo {
  private readonly insert;

  constructor(private readonly db: Db) {
    this.insert = db.prepare('INSERT INTO import_reports (job_id, path, status, reason, image_id) VALUES (?, ?, ?, ?, ?)');
  }

  /** Call inside the caller's transaction. */
  add(jobId: number, e: NewReportEntry): void {
    this.insert.run(jobId, e.path, e.status, e.reason, e.imageId);
  }

  totals(jobId: number): Record<ImportFileStatus, number> {
    const totals: Record<ImportFileStatus, number> = { imported: 0, duplicate: 0, skipped: 0, error: 0 };
    const rows = this.db.prepare('SELECT status, count(*) AS n FROM import_reports WHERE job_id = ? GROUP BY status').all(jobId) as {
      status: ImportFileStatus;
      n: number;
    }[];
    for (const r of rows) totals[r.status] = r.n;
    return totals;
  }

  page(jobId: number, opts: { status?: ImportFileStatus; offset?: number; limit?: number }): ImportReportDto {
    const totals = this.totals(jobId);
    const where = opts.status ? 'job_id = ? AND status = ?' : 'job_id = ?';
    const params: (string | number)[] = opts.status ? [jobId, opts.status] : [jobId];
    const entries = this.db
      .prepare(`SELECT path, status, reason, image_id AS imageId FROM import_reports WHERE ${where} ORDER BY id LIMIT ? OFFSET ?`)
      .all(...params, opts.limit ?? 100, opts.offset ?? 0) as ImportReportEntryDto[];
    const total = opts.status ? totals[opts.status] : Object.values(totals).reduce((a, b) => a + b, 0);
    return { jobId, totals, entries, total };
  }
}
