import type { JobDto, JobKind, JobProgressData, JobResultOf, JobStatus } from '../../shared/dto';
import type { Db } from './db';

interface JobRow {
  id: number;
  kind: JobKind;
  status: JobStatus;
  progress: number;
  message: string | null;
  error: string | null;
  params: string;
  result: string | null;
  /** JSON JobProgressData of the latest update while running (migration 0004) */
  data: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** The row as a JobDto: its result is what JobRunner stored from the task of the row's kind (JobResults). */
const toDto = (r: JobRow): JobDto =>
  ({
    id: r.id,
    kind: r.kind,
    status: r.status,
    progress: r.progress,
    message: r.message,
    error: r.error,
    params: JSON.parse(r.params) as Record<string, unknown>,
    result: r.result === null ? null : (JSON.parse(r.result) as JobResultOf<JobKind>),
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    ...(r.data === null ? {} : { data: JSON.parse(r.data) as JobProgressData }),
  }) as JobDto;

const NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

export class JobsRepo {
  constructor(private readonly db: Db) {}

  create(kind: JobKind, params: Record<string, unknown>): JobDto {
    const { lastInsertRowid } = this.db
      .prepare("INSERT INTO jobs (kind, status, params) VALUES (?, 'queued', ?)")
      .run(kind, JSON.stringify(params));
    return this.get(Number(lastInsertRowid))!;
  }

  get(id: number): JobDto | undefined {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    return row && toDto(row);
  }

  list(limit: number): JobDto[] {
    return (this.db.prepare('SELECT * FROM jobs ORDER BY id DESC LIMIT ?').all(limit) as JobRow[]).map(toDto);
  }

  markRunning(id: number): void {
    this.db.prepare(`UPDATE jobs SET status = 'running', started_at = ${NOW} WHERE id = ?`).run(id);
  }

  /** One progress update: the fraction, its message and its structured data (replacing the previous update's). */
  setProgress(id: number, progress: number, message: string | null, data: JobProgressData | null = null): void {
    this.db
      .prepare('UPDATE jobs SET progress = ?, message = ?, data = ? WHERE id = ?')
      .run(progress, message, data === null ? null : JSON.stringify(data), id);
  }

  finish(id: number, status: Exclude<JobStatus, 'queued' | 'running'>, fields: { error?: string; result?: unknown }): void {
    this.db
      .prepare(
        `UPDATE jobs SET status = ?, error = ?, result = ?, data = NULL, finished_at = ${NOW}, progress = CASE WHEN ? = 'done' THEN 1 ELSE progress END WHERE id = ?`,
      )
      .run(status, fields.error ?? null, fields.result === undefined ? null : JSON.stringify(fields.result), status, id);
  }

  saveCheckpoint(id: number, checkpoint: unknown): void {
    this.db.prepare('UPDATE jobs SET checkpoint = ? WHERE id = ?').run(JSON.stringify(checkpoint), id);
  }

  /** After a crash: jobs left queued/running were not finished by anyone. */
  markAbandonedAsInterrupted(): number {
    return this.db
      .prepare(
        `UPDATE jobs SET status = 'interrupted', error = 'SimLens stopped while this job ran', data = NULL, finished_at = ${NOW} WHERE status IN ('queued', 'running')`,
      )
      .run().changes;
  }
}
