// Event-loop responsiveness of this thread while some work runs on the engine pool (tests of the
// pool). What is asserted is an ordering, not a time: this thread ran timer callbacks WHILE the
// pool's worker was computing the work. Work done in this thread (the bug these tests exist for)
// blocks the loop and leaves the pool idle, so no tick can see the worker busy; the machine's
// speed or load only changes how many ticks there are. Absolute gaps are measured by the
// 'responsiveness' section of `npm run bench`; the figures here are printed for the log only.

export interface Ticks<T> {
  value: T;
  /** timer callbacks run on this thread while the work was pending */
  ticks: number;
  /** of those, the ones that ran while `busy()` held (the worker was computing) */
  busyTicks: number;
  /** for the log: the largest gap between ticks (ms), including the stretch to the end of the work */
  maxGapMs: number;
  /** for the log: the work's wall time (ms) */
  ms: number;
}

/** Runs `work` while a 1 ms timer ticks on this thread; counts the ticks, and those that saw `busy()`. */
export async function ticksWhile<T>(work: () => Promise<T>, busy: () => boolean): Promise<Ticks<T>> {
  let last = performance.now();
  let maxGapMs = 0;
  let ticks = 0;
  let busyTicks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
    ticks++;
    if (busy()) busyTicks++;
  }, 1);
  const t0 = performance.now();
  try {
    const value = await work();
    const end = performance.now();
    return { value, ticks, busyTicks, maxGapMs: Math.max(maxGapMs, end - last), ms: end - t0 };
  } finally {
    clearInterval(timer);
  }
}

/** Ticks this thread must run while the worker computes: any number > 0 shows it was not blocked by it. */
export const MIN_BUSY_TICKS = 5;
