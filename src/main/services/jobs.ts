import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { JobDto, JobKind, JobProgressData, JobResultOf } from '../../shared/dto';
import { AppError, notFound } from '../errors';
import type { EventBus } from '../events';
import type { JobOwner, JobsRepo, UnfinishedJob } from '../store/jobs-repo';

/** What a running job's task gets: progress reporting and a cancellation signal. */
export interface JobContext {
  jobId: number;
  signal: AbortSignal;
  /**
   * progress in [0, 1], with an optional message and structured data (JobDto.data); throttled
   * before it reaches the store and the UI, except updates with 'train.epoch' data (one per epoch).
   * An update that gets through is written to the job's row, data included.
   */
  progress(fraction: number, message?: string, data?: JobProgressData): void;
  /** Throws JobCancelledError if the job was cancelled; call between units of work. */
  throwIfCancelled(): void;
  /** True when the job stops because the app is closing (it ends `interrupted`, not `cancelled`): keep what lets it resume. */
  stoppedByShutdown(): boolean;
  saveCheckpoint(checkpoint: unknown): void;
}

export class JobCancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'JobCancelledError';
  }
}

/** A job's work: it resolves with the result of its kind (JobResults), stored as the job's result. */
export type JobTask<K extends JobKind> = (ctx: JobContext) => Promise<JobResultOf<K>>;

const PROGRESS_INTERVAL_MS = 100;

/** How often a runner refreshes the heartbeat of its unfinished jobs. */
export const HEARTBEAT_MS = 2_000;
/** A job whose heartbeat is older than this has no owner running it (whatever its pid says). */
export const STALE_SECONDS = 30;
/** Every this many heartbeats, jobs of owners that are gone are marked interrupted. */
const SWEEP_EVERY = 5;

/** Tokens of the runners alive in this process (tests may open one workspace twice in one process). */
const liveTokens = new Set<string>();

/** Whether a process with this pid runs on this machine (EPERM: it runs, as another user). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the process that owns an unfinished job is gone, so the job can never finish:
 * - a row from before owners were recorded (migration 0009), or with a stale heartbeat;
 * - an owner on this machine whose pid no longer runs, or runs as a process that is not the
 *   owner (our own pid with another token: a previous run, e.g. pid 1 of a restarted container).
 * An owner on another machine is judged by its heartbeat alone.
 */
export function ownerIsGone(job: UnfinishedJob, me: JobOwner): boolean {
  if (job.ownerToken !== null && liveTokens.has(job.ownerToken)) return false;
  if (job.ownerToken === null || job.stale) return true;
  if (job.ownerHost !== me.host || job.ownerPid === null) return false;
  return job.ownerPid === me.pid || !processAlive(job.ownerPid);
}

export interface JobRunnerOptions {
  /** Who runs the jobs started here (default: this process, with a fresh token). */
  owner?: JobOwner;
}

/** Data that must reach the UI even when updates come faster than the throttle. */
const neverThrottled = (data: JobProgressData | undefined) => data?.kind === 'train.epoch';

/**
 * Runs long work as jobs: a row in the store from start to end, `job.updated` events,
 * cancel through an AbortSignal. A task that throws fails its job with the message;
 * one that sees the signal ends as 'cancelled'.
 */
export class JobRunner {
  private readonly running = new Map<number, { controller: AbortController; done: Promise<void> }>();
  /** This process as the owner of the jobs it starts (migration 0009). */
  readonly owner: JobOwner;
  private readonly timer: NodeJS.Timeout;
  private beats = 0;
  /** Set by stopAll: the jobs it aborts end `interrupted` (they may be resumed), not `cancelled`. */
  private shuttingDown = false;

  constructor(
    private readonly repo: JobsRepo,
    private readonly events: EventBus,
    options: JobRunnerOptions = {},
  ) {
    this.owner = options.owner ?? { pid: process.pid, host: hostname(), token: randomUUID() };
    liveTokens.add(this.owner.token);
    this.interruptAbandoned();
    // the heartbeat tells other processes this one still runs its jobs; it does not keep Node alive
    this.timer = setInterval(() => this.beat(), HEARTBEAT_MS);
    this.timer.unref();
  }

  /**
   * Marks interrupted the unfinished jobs whose owning process is gone (ownerIsGone): a crash
   * or a kill left them. Jobs of live processes, this one's and others', are left alone.
   * Runs at start-up and every few heartbeats; returns the ids it marked.
   */
  interruptAbandoned(): number[] {
    const gone = this.repo
      .unfinished(STALE_SECONDS)
      .filter((job) => ownerIsGone(job, this.owner))
      .map((job) => job.id);
    if (gone.length === 0) return [];
    this.repo.markInterrupted(gone, 'SimLens stopped while this job ran (its process is gone)');
    for (const id of gone) this.emit(id);
    return gone;
  }

  private beat(): void {
    try {
      if (this.running.size > 0) this.repo.heartbeat(this.owner.token);
      if (++this.beats % SWEEP_EVERY === 0) this.interruptAbandoned();
    } catch {
      // the database is closed or busy for longer than its timeout: the next beat tries again
    }
  }

  /** Stops the heartbeat (the app is closing; call after stopAll). */
  dispose(): void {
    clearInterval(this.timer);
    liveTokens.delete(this.owner.token);
  }

  /** Creates the job row and starts the task on the next tick; returns the job at once. */
  start<K extends JobKind>(kind: K, params: Record<string, unknown>, task: JobTask<K>): JobDto {
    const job = this.repo.create(kind, params, this.owner);
    const controller = new AbortController();
    const done = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.run(job.id, controller, task));
    this.running.set(job.id, { controller, done });
    this.emit(job.id);
    return this.repo.get(job.id)!;
  }

  private async run<K extends JobKind>(id: number, controller: AbortController, task: JobTask<K>): Promise<void> {
    let lastEmit = 0;
    // the first update of each kind of data gets through too (e.g. the first training step right
    // after the 'loading' phase), so the UI learns the new phase's shape at once
    const kindsSeen = new Set<string>();
    const ctx: JobContext = {
      jobId: id,
      signal: controller.signal,
      progress: (fraction, message, data) => {
        const now = Date.now();
        const firstOfKind = data !== undefined && !kindsSeen.has(data.kind);
        if (now - lastEmit < PROGRESS_INTERVAL_MS && fraction < 1 && !neverThrottled(data) && !firstOfKind) return;
        if (data) kindsSeen.add(data.kind);
        lastEmit = now;
        // the row keeps this update's data (or none), so jobs.get in any process sees it
        this.repo.setProgress(id, Math.min(1, Math.max(0, fraction)), message ?? null, data ?? null);
        this.emit(id);
      },
      throwIfCancelled: () => {
        if (controller.signal.aborted) throw new JobCancelledError();
      },
      saveCheckpoint: (checkpoint) => this.repo.saveCheckpoint(id, checkpoint),
      stoppedByShutdown: () => this.shuttingDown && controller.signal.aborted,
    };
    try {
      if (controller.signal.aborted) throw new JobCancelledError();
      this.repo.markRunning(id);
      this.emit(id);
      const result = await task(ctx);
      if (controller.signal.aborted) throw new JobCancelledError();
      this.repo.finish(id, 'done', { result });
    } catch (error) {
      if ((error instanceof JobCancelledError || controller.signal.aborted) && this.shuttingDown) {
        this.repo.finish(id, 'interrupted', { error: 'SimLens was closed while this job ran' });
      } else if (error instanceof JobCancelledError || controller.signal.aborted) {
        this.repo.finish(id, 'cancelled', { error: 'Cancelled by the user' });
      } else {
        this.repo.finish(id, 'failed', { error: error instanceof Error ? error.message : String(error) });
      }
    } finally {
      this.running.delete(id);
      this.emit(id);
    }
  }

  get(id: number): JobDto {
    const job = this.repo.get(id);
    if (!job) throw notFound('Job', id);
    return job;
  }

  /** What a job saved with ctx.saveCheckpoint (JSON), or null. */
  checkpoint(id: number): unknown {
    this.get(id);
    return this.repo.checkpoint(id);
  }

  list(limit = 50): JobDto[] {
    return this.repo.list(limit);
  }

  cancel(id: number): JobDto {
    const job = this.get(id);
    const entry = this.running.get(id);
    if (!entry) {
      if (job.status === 'queued' || job.status === 'running') throw new AppError('conflict', `Job ${id} is not running in this process`);
      return job;
    }
    entry.controller.abort();
    return this.get(id);
  }

  /** Resolves when the job has finished (any status). */
  async wait(id: number): Promise<JobDto> {
    await this.running.get(id)?.done;
    return this.get(id);
  }

  /** Stops everything and waits: for shutdown. The stopped jobs end `interrupted` (a training can be resumed). */
  async stopAll(): Promise<void> {
    this.shuttingDown = true;
    for (const { controller } of this.running.values()) controller.abort();
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  private emit(id: number): void {
    const job = this.repo.get(id);
    if (job) this.events.emit('job.updated', job);
  }
}
