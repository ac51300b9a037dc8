// The review workbench's rules for what people type: reviewer names, tags and notes. Shared
// so the contract's validators (main), the bundle reader (main) and the UI (before it sends)
// apply the same ones. No runtime dependencies beyond ./validate.
import { ValidationError, type Check } from './validate';

export const REVIEWER_NAME_MAX = 100;
export const TAG_MAX = 40;
export const TAGS_PER_VERDICT_MAX = 20;
export const NOTE_MAX = 4000;
/** Default half-width of the "near the threshold" band on the score. */
export const NEAR_BAND_DEFAULT = 0.05;

// C0 and C1 control characters, DEL, and the Unicode line / paragraph separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
// Notes may have line breaks and tabs, nothing else of the kind.
const NOTE_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

/** What is wrong with a reviewer name (after trimming), or null when it is fine. */
export function reviewerNameProblem(raw: string): string | null {
  const name = raw.trim();
  if (name.length === 0) return 'a reviewer name must not be empty';
  if (name.length > REVIEWER_NAME_MAX) return `a reviewer name has at most ${REVIEWER_NAME_MAX} characters (got ${name.length})`;
  if (CONTROL.test(name)) return 'a reviewer name must not contain control characters (tabs, line breaks, ...)';
  return null;
}

/**
 * A tag as stored: trimmed, inner whitespace collapsed to one space, lower-case (so "Background"
 * and "background " count together). Throws a message naming the problem.
 */
export function normaliseTag(raw: string): string {
  const tag = raw.trim().replace(/\s+/g, ' ').toLowerCase();
  if (tag.length === 0) throw new Error('a tag must not be empty');
  if (tag.length > TAG_MAX) throw new Error(`a tag has at most ${TAG_MAX} characters (got ${tag.length})`);
  if (CONTROL.test(tag)) throw new Error('a tag must not contain control characters');
  // ';' joins the tags of a verdict in the CSV export
  if (tag.includes(';')) throw new Error("a tag must not contain ';'");
  return tag;
}

/** A verdict's tags, normalised, without duplicates, sorted. Throws a message naming the problem. */
export function normaliseTags(raw: readonly string[]): string[] {
  if (raw.length > TAGS_PER_VERDICT_MAX) throw new Error(`a verdict has at most ${TAGS_PER_VERDICT_MAX} tags (got ${raw.length})`);
  return [...new Set(raw.map(normaliseTag))].sort();
}

/** A note as stored: trimmed; null when empty. Throws a message naming the problem. */
export function normaliseNote(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  const note = raw.trim();
  if (note.length > NOTE_MAX) throw new Error(`a note has at most ${NOTE_MAX} characters (got ${note.length})`);
  if (NOTE_CONTROL.test(note)) throw new Error('a note must not contain control characters other than line breaks and tabs');
  return note.length === 0 ? null : note;
}

const shown = (value: unknown) => (value === undefined ? 'nothing' : JSON.stringify(value)?.slice(0, 60));

/** Contract check of a reviewer name: a string, returned trimmed. */
export const reviewerName: Check<string> = (value, path) => {
  if (typeof value !== 'string') throw new ValidationError(`${path}: expected a reviewer name (a string), got ${shown(value)}`);
  const problem = reviewerNameProblem(value);
  if (problem) throw new ValidationError(`${path}: ${problem}`);
  return value.trim();
};

/** Contract check of one tag (e.g. a queue's tag filter): a string, returned normalised. */
export const reviewTag: Check<string> = (value, path) => {
  if (typeof value !== 'string') throw new ValidationError(`${path}: expected a tag (a string), got ${shown(value)}`);
  try {
    return normaliseTag(value);
  } catch (error) {
    throw new ValidationError(`${path}: ${(error as Error).message}`);
  }
};

/** Contract check of a verdict's tags: an array of strings, returned normalised, deduplicated, sorted. */
export const reviewTags: Check<string[]> = (value, path) => {
  if (!Array.isArray(value)) throw new ValidationError(`${path}: expected an array of tags, got ${shown(value)}`);
  if (value.length > TAGS_PER_VERDICT_MAX)
    throw new ValidationError(`${path}: a verdict has at most ${TAGS_PER_VERDICT_MAX} tags (got ${value.length})`);
  return normaliseTags(value.map((t, i) => reviewTag(t, `${path}[${i}]`)));
};

/** Contract check of a note: a string (null allowed), returned trimmed; empty becomes null. */
export const reviewNote: Check<string | null> = (value, path) => {
  if (value === null) return null;
  if (typeof value !== 'string') throw new ValidationError(`${path}: expected a note (a string), got ${shown(value)}`);
  try {
    return normaliseNote(value);
  } catch (error) {
    throw new ValidationError(`${path}: ${(error as Error).message}`);
  }
};
