import type { ArgsOf } from '../../shared/contract';
import type { DatasetDetailDto, DatasetDto, ImportReportDto, JobDto } from '../../shared/dto';
import type { Db } from '../store/db';
import type { JobRunner } from './jobs';

// SKELETON: to be implemented (import of folder / CSV / idx as a job, per-file report).
export class DatasetService {
  constructor(
    private readonly db: Db,
    private readonly jobs: JobRunner,
  ) {}

  list(): DatasetDto[] {
    throw new Error('not implemented');
  }

  get(id: number): DatasetDetailDto {
    throw new Error(`not implemented ${id}`);
  }

  startImport(args: ArgsOf<'datasets.import'>): JobDto {
    throw new Error(`not implemented ${JSON.stringify(args)} ${String(this.db)} ${String(this.jobs)}`);
  }

  delete(id: number): { deleted: boolean } {
    throw new Error(`not implemented ${id}`);
  }

  importReport(args: ArgsOf<'jobs.importReport'>): ImportReportDto {
    throw new Error(`not implemented ${JSON.stringify(args)}`);
  }
}
