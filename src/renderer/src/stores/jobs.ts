import { defineStore } from 'pinia';
import { computed, ref, watch, type ComputedRef } from 'vue';
import type { JobDto } from '../../../shared/dto';
import { onEvent, useApi } from '../api';
import { fmtInt } from '../format';
import { useAppStore } from './app';

const FINISHED = new Set<JobDto['status']>(['done', 'failed', 'cancelled', 'interrupted']);
export const isFinished = (job: Pick<JobDto, 'status'> | null | undefined): boolean => !!job && FINISHED.has(job.status);

/** "N / M pairs" from an explain or metrics job's structured progress (null without it). */
export function pairsProgressText(job: Pick<JobDto, 'data'> | null | undefined): string | null {
  const d = job?.data;
  return d?.kind === 'pairs' ? `${fmtInt(d.done)} / ${fmtInt(d.total)} pairs` : null;
}

/** The one-line status of a job: its error when failed, `doneText` when done, else its pairs progress or message. */
export function jobStatusText(job: Pick<JobDto, 'status' | 'error' | 'message' | 'data'>, doneText?: string): string {
  if (job.status === 'failed') return job.error ?? 'failed';
  if (job.status === 'done' && doneText) return doneText;
  if (!isFinished(job)) return pairsProgressText(job) ?? job.message ?? '';
  return job.message ?? '';
}

/**
 * The jobs this window cares about, kept current by `job.updated` events. A slow poll
 * backs the events up while a watched job runs (an event stream can drop and reconnect).
 */
export const useJobsStore = defineStore('jobs', () => {
  const api = useApi();
  const byId = ref<Record<number, JobDto>>({});
  const watched = new Set<number>();
  let timer: ReturnType<typeof setInterval> | null = null;
  let subscribed = false;

  function put(job: JobDto): void {
    const prev = byId.value[job.id];
    // Events can arrive out of order with the poll; never step back from a finished state.
    if (prev && isFinished(prev) && !isFinished(job)) return;
    byId.value[job.id] = job;
    if (isFinished(job)) watched.delete(job.id);
    if (watched.size === 0 && timer) {
      clearInterval(timer);
      timer = null;
    }
  }

  function init(): void {
    if (subscribed) return;
    subscribed = true;
    onEvent('job.updated', (job) => {
      if (watched.has(job.id) || byId.value[job.id]) put(job);
    });
  }

  async function poll(): Promise<void> {
    for (const id of [...watched]) {
      try {
        put(await api['jobs.get']({ id }));
      } catch {
        /* the next event or poll will tell */
      }
    }
  }

  /** Starts following a job (e.g. just started by this window). */
  function watch(id: number): void {
    init();
    watched.add(id);
    timer ??= setInterval(() => void poll(), 3000);
    void poll();
  }

  async function cancel(id: number): Promise<void> {
    put(await api['jobs.cancel']({ id }));
  }

  return { byId, init, watch, cancel, put };
});

/** One kind of job a store starts and follows (a training run, an evaluation, a batch explanation, ...). */
export interface TrackedJob {
  /** The job followed now (the latest started), null before the first. */
  id: ComputedRef<number | null>;
  /** Its latest state, from the jobs store. */
  job: ComputedRef<JobDto | null>;
  running: ComputedRef<boolean>;
  /** Follows this job from now on (one just started, or one found running). */
  follow(jobId: number): void;
  /** Asks main to cancel the followed job; a refusal becomes a notice. */
  cancel(): Promise<void>;
}

export interface TrackedJobOptions {
  /** What the job is, for the notice when it fails: "<what> failed: <error>". */
  what: string;
  /** Every new state of the followed job (each job.updated event brings a new JobDto). */
  onUpdate?: (job: JobDto, prev: JobDto | null | undefined) => void;
  /** Once per job, when it first reaches a finished state (after the failure notice, if any). */
  onFinished?: (job: JobDto) => unknown;
}

/**
 * A job followed by a store: call inside a setup store. Keeps the id of the job last
 * started, its live state, cancel, a notice when it fails and the store's hooks.
 */
export function useTrackedJob(options: TrackedJobOptions): TrackedJob {
  const jobs = useJobsStore();
  const app = useAppStore();
  const id = ref<number | null>(null);
  const job = computed(() => (id.value ? (jobs.byId[id.value] ?? null) : null));
  const running = computed(() => !!job.value && !isFinished(job.value));

  function follow(jobId: number): void {
    id.value = jobId;
    jobs.watch(jobId);
  }

  async function cancel(): Promise<void> {
    if (id.value === null) return;
    try {
      await jobs.cancel(id.value);
    } catch (error) {
      app.notify(error);
    }
  }

  watch(job, (current, prev) => {
    if (!current) return;
    options.onUpdate?.(current, prev);
    // finished now, and not already before (the same job's later copies change nothing)
    if (!isFinished(current) || (prev && prev.id === current.id && isFinished(prev))) return;
    if (current.status === 'failed') app.notify(new Error(`${options.what} failed: ${current.error ?? 'unknown error'}`));
    void options.onFinished?.(current);
  });

  return { id: computed(() => id.value), job, running, follow, cancel };
}
