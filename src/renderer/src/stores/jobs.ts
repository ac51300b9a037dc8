import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { JobDto } from '../../../shared/dto';
import { onEvent, useApi } from '../api';
import { fmtInt } from '../format';

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
