// Which pairs of the loaded queue the review view prepares ahead (pure): the next ones first
// (where the reviewer goes), then the one before (where "previous" and undo go).

/** Pairs prepared after the current one, and before it. */
export const PREFETCH_AHEAD = 3;
export const PREFETCH_BEHIND = 1;
/** Load the next queue page when the window comes this close to the end of what is loaded. */
export const PAGE_MARGIN = 5;

/**
 * The loaded queue indices to prepare around `index`, nearest first: `ahead` after it, then
 * `behind` before it, all within [0, length). The current index is not part of it.
 */
export function prefetchWindow(index: number, length: number, ahead = PREFETCH_AHEAD, behind = PREFETCH_BEHIND): number[] {
  if (index < 0 || index >= length) return [];
  const out: number[] = [];
  for (let d = 1; d <= ahead && index + d < length; d++) out.push(index + d);
  for (let d = 1; d <= behind && index - d >= 0; d++) out.push(index - d);
  return out;
}

/** The next queue page is wanted: the current pair (or its window) is near the end of the loaded items and more exist. */
export const needsMore = (index: number, length: number, hasMore: boolean, margin = PAGE_MARGIN): boolean =>
  hasMore && index >= length - 1 - Math.max(margin, PREFETCH_AHEAD);

/** The prefetch depth from a stored setting ('0' turns prefetching off, e.g. to measure without it); the default otherwise. */
export function aheadFromSetting(raw: string | null): number {
  if (raw === null || raw.trim() === '') return PREFETCH_AHEAD;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 0 && n <= 20 ? n : PREFETCH_AHEAD;
}
