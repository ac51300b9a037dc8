import type { ArgsOf } from '../../shared/contract';
import type { JobDto, PairPageDto } from '../../shared/dto';
import type { Db } from '../store/db';
import type { JobRunner } from './jobs';

// SKELETON: to be implemented (split images first, then balanced pairs per split; paging).
export class PairService {
  constructor(
    private readonly db: Db,
    private readonly jobs: JobRunner,
  ) {}

  startGenerate(args: ArgsOf<'pairs.generate'>): JobDto {
    throw new Error(`not implemented ${JSON.stringify(args)} ${String(this.db)} ${String(this.jobs)}`);
  }

  page(args: ArgsOf<'pairs.page'>): PairPageDto {
    throw new Error(`not implemented ${JSON.stringify(args)}`);
  }
}
