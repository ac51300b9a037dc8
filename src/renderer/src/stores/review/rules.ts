// What a verdict is in the review view (pure): its answers, when it is complete, what a key
// press changes, which explanation a write records, and where auto-advance goes.
import type { HeatmapAnswer, SimilarityAnswer, VerdictDto } from '../../../../shared/dto';

/** A reviewer's answers on one pair: the state review.verdict stores in full on every change. */
export interface Answers {
  similarity: SimilarityAnswer | null;
  heatmapA: HeatmapAnswer | null;
  heatmapB: HeatmapAnswer | null;
  note: string | null;
  /** normalised, sorted */
  tags: string[];
}

export const NO_ANSWERS: Readonly<Answers> = Object.freeze({ similarity: null, heatmapA: null, heatmapB: null, note: null, tags: [] });

export function answersOf(v: VerdictDto | null | undefined): Answers {
  if (!v) return { ...NO_ANSWERS, tags: [] };
  return { similarity: v.similarity, heatmapA: v.heatmapA, heatmapB: v.heatmapB, note: v.note, tags: [...v.tags] };
}

/** All three questions answered (the note and tags are optional). */
export const isComplete = (a: Answers): boolean => a.similarity !== null && a.heatmapA !== null && a.heatmapB !== null;

/** Nothing to store: review.verdict refuses a verdict without an answer, a note or a tag. */
export const isEmpty = (a: Answers): boolean =>
  a.similarity === null && a.heatmapA === null && a.heatmapB === null && a.note === null && a.tags.length === 0;

/** How many of the three questions are answered. */
export const answeredCount = (a: Answers): number => [a.similarity, a.heatmapA, a.heatmapB].filter((x) => x !== null).length;

export const sameAnswers = (a: Answers, b: Answers): boolean =>
  a.similarity === b.similarity &&
  a.heatmapA === b.heatmapA &&
  a.heatmapB === b.heatmapB &&
  a.note === b.note &&
  a.tags.join(';') === b.tags.join(';');

/** The answers after a change (a tag list is kept sorted and without duplicates). */
export function withChange(a: Answers, change: Partial<Answers>): Answers {
  const next = { ...a, ...change };
  return { ...next, tags: [...new Set(next.tags)].sort() };
}

/** The answers with a tag added or removed. */
export function toggleTag(a: Answers, tag: string): Answers {
  return withChange(a, { tags: a.tags.includes(tag) ? a.tags.filter((t) => t !== tag) : [...a.tags, tag] });
}

/**
 * Auto-advance: this change made the verdict complete. A change to a verdict that was complete
 * already (the reviewer came back to correct it) stays on the pair.
 */
export const completesVerdict = (before: Answers, after: Answers): boolean => !isComplete(before) && isComplete(after);

/** The explanation a verdict is recorded with: the one on screen, as explain.pair named it. */
export interface Shown {
  method: VerdictDto['method'] & string;
  layer: string;
}

/**
 * The method and layer a write records. A change to a heatmap answer records the maps shown
 * now; any other change keeps what the stored verdict recorded (the heatmaps were judged on
 * those), and a verdict without heatmap answers records none.
 */
export function shownFor(
  before: Answers,
  after: Answers,
  stored: Pick<VerdictDto, 'method' | 'layer'> | null,
  shown: Shown | null,
): Shown | null {
  if (after.heatmapA === null && after.heatmapB === null) return null;
  const heatmapChanged = before.heatmapA !== after.heatmapA || before.heatmapB !== after.heatmapB;
  if (!heatmapChanged && stored?.method && stored.layer) return { method: stored.method, layer: stored.layer };
  return shown;
}

/**
 * Where skip and auto-advance go: the first pair after `from` whose verdict is not complete
 * (`complete(i)` says for the loaded item i); null when every loaded pair after it is.
 */
export function nextToReview(length: number, from: number, complete: (i: number) => boolean): number | null {
  for (let i = Math.max(0, from + 1); i < length; i++) if (!complete(i)) return i;
  return null;
}
