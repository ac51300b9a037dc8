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

/** The process that runs a job (migration 0009): pid and host, and a random token per process. */
export interface JobOwner {
  pid: number;
  host: string;
  token: string;
}

/** A queued or running job's owner as stored, and whether its heartbeat is older than the staleness bound. */
export interface UnfinishedJob {
  id: number;
  ownerPid: number | null;
  ownerHost: string | null;
  ownerToken: string | null;
  stale: boolean;
}

export class JobsRepo {
  constructor(private readonly db: Db) {}

  create(kind: JobKind, params: Record<string, unknown>, owner?: JobOwner): JobDto {
    const { lastInsertRowid } = this.db
      .prepare(
        `INSERT INTO jobs (kind, status, params, owner_pid, owner_host, owner_token, heartbeat_at) VALUES (?, 'queued', ?, ?, ?, ?, ${NOW})`,
      )
      .run(kind, JSON.stringify(params), owner?.pid ?? null, owner?.host ?? null, owner?.token ?? null);
    return this.get(Number(lastInsertRowid))!;
  }

  /** Refreshes the heartbeat of every unfinished job of this owner. */
  heartbeat(token: string): number {
    return this.db.prepare(`UPDATE jobs SET heartbeat_at = ${NOW} WHERE owner_token = ? AND status IN ('queued', 'running')`).run(token)
      .changes;
  }

  /** Queued and running jobs with their owners; `stale`: no heartbeat for `staleSeconds`. */
  unfinished(staleSeconds: number): UnfinishedJob[] {
    return this.db
      .prepare(
        `SELECT id, owner_pid AS ownerPid, owner_host AS ownerHost, owner_token AS ownerToken,
                (heartbeat_at IS NULL OR heartbeat_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?)) AS stale
         FROM jobs WHERE status IN ('queued', 'running')`,
      )
      .all(`-${staleSeconds} seconds`)
      .map((r) => ({ ...(r as UnfinishedJob), stale: Boolean((r as { stale: number }).stale) }));
  }

  /** Marks these jobs interrupted, if they are still unfinished (their owner might have finished them meanwhile). */
  markInterrupted(ids: number[], reason: string): number {
    const stmt = this.db.prepare(
      `UPDATE jobs SET status = 'interrupted', error = ?, data = NULL, finished_at = ${NOW} WHERE id = ? AND status IN ('queued', 'running')`,
    );
    return this.db.transaction(() => ids.reduce((n, id) => n + stmt.run(reason, id).changes, 0))();
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

  /** The job's checkpoint (JSON), or null. */
  checkpoint(id: number): unknown {
    const row = this.db.prepare('SELECT checkpoint FROM jobs WHERE id = ?').get(id) as { checkpoint: string | null } | undefined;
    return row?.checkpoint ? (JSON.parse(row.checkpoint) as unknown) : null;
  }
}
