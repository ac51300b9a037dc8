// All SQL for the faithfulness summaries of model versions (one per version: the newest run).
import type { FaithfulnessSummaryDto } from '../../shared/dto';
import type { Db } from './db';

export class FaithfulnessRepo {
  constructor(private readonly db: Db) {}

  /** Replaces the version's summary. */
  put(modelId: number, jobId: number | null, summary: FaithfulnessSummaryDto): void {
    this.db
      .prepare(
        `INSERT INTO faithfulness (model_id, job_id, summary, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (model_id) DO UPDATE SET job_id = excluded.job_id, summary = excluded.summary, created_at = excluded.created_at`,
      )
      .run(modelId, jobId, JSON.stringify(summary), summary.createdAt);
  }

  get(modelId: number): FaithfulnessSummaryDto | null {
    const row = this.db.prepare('SELECT summary FROM faithfulness WHERE model_id = ?').get(modelId) as { summary: string } | undefined;
    return row ? (JSON.parse(row.summary) as FaithfulnessSummaryDto) : null;
  }
}
