// Event-loop responsiveness of this thread while some work runs (tests of the engine pool).

/**
 * Largest gap between ticks of a 10 ms interval (this thread's event loop) while `work` runs,
 * including the stretch from the last tick to its end (work that blocks throughout lets no
 * tick in at all, and would otherwise read as a 0 ms gap).
 */
export async function maxTickGap<T>(work: () => Promise<T>): Promise<{ value: T; maxGapMs: number; ticks: number; ms: number }> {
  let last = performance.now();
  let maxGapMs = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
    ticks++;
  }, 10);
  const t0 = performance.now();
  try {
    const value = await work();
    const end = performance.now();
    return { value, maxGapMs: Math.max(maxGapMs, end - last), ticks, ms: end - t0 };
  } finally {
    clearInterval(timer);
  }
}
