import type { JobDto, JobKind, JobProgressData, JobResultOf } from '../../shared/dto';
import { AppError, notFound } from '../errors';
import type { EventBus } from '../events';
import type { JobsRepo } from '../store/jobs-repo';

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

/** Data that must reach the UI even when updates come faster than the throttle. */
const neverThrottled = (data: JobProgressData | undefined) => data?.kind === 'train.epoch';

/**
 * Runs long work as jobs: a row in the store from start to end, `job.updated` events,
 * cancel through an AbortSignal. A task that throws fails its job with the message;
 * one that sees the signal ends as 'cancelled'.
 */
export class JobRunner {
  private readonly running = new Map<number, { controller: AbortController; done: Promise<void> }>();

  constructor(
    private readonly repo: JobsRepo,
    private readonly events: EventBus,
  ) {
    repo.markAbandonedAsInterrupted();
  }

  /** Creates the job row and starts the task on the next tick; returns the job at once. */
  start<K extends JobKind>(kind: K, params: Record<string, unknown>, task: JobTask<K>): JobDto {
    const job = this.repo.create(kind, params);
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
    };
    try {
      if (controller.signal.aborted) throw new JobCancelledError();
      this.repo.markRunning(id);
      this.emit(id);
      const result = await task(ctx);
      if (controller.signal.aborted) throw new JobCancelledError();
      this.repo.finish(id, 'done', { result });
    } catch (error) {
      if (error instanceof JobCancelledError || controller.signal.aborted) {
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

  /** Cancels everything and waits: for shutdown. */
  async stopAll(): Promise<void> {
    for (const { controller } of this.running.values()) controller.abort();
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  private emit(id: number): void {
    const job = this.repo.get(id);
    if (job) this.events.emit('job.updated', job);
  }
}
