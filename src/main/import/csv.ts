// Source (2): a CSV of pairs `path_a,path_b,label[,split]`. The header is optional;
// relative paths resolve against the CSV's folder; labels accept 1/0, same/different,
// true/false (and yes/no); split accepts train/val/test (validation/valid → val).
import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { Split } from '../../shared/dto';
import { AppError, invalid } from '../errors';
import type { CsvPair, DroppedRow, FileItem } from './types';

/** The largest pairs CSV read (64 MiB, some million rows): the file is read whole. */
export const MAX_CSV_BYTES = 64 * 1024 * 1024;

/** RFC 4180-ish: quoted fields with "" escapes, CRLF or LF, a UTF-8 BOM ignored. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

const LABELS: Record<string, 0 | 1> = {
  '1': 1,
  '0': 0,
  '1.0': 1,
  '0.0': 0,
  same: 1,
  different: 0,
  diff: 0,
  true: 1,
  false: 0,
  yes: 1,
  no: 0,
  similar: 1,
  dissimilar: 0,
};
const SPLIT_NAMES: Record<string, Split> = { train: 'train', val: 'val', valid: 'val', validation: 'val', test: 'test' };

export const parseLabel = (cell: string): 0 | 1 | undefined => LABELS[cell.trim().toLowerCase()];
const parseSplit = (cell: string): Split | undefined => SPLIT_NAMES[cell.trim().toLowerCase()];

const COLUMN_ALIASES: Record<'a' | 'b' | 'label' | 'split', string[]> = {
  a: ['path_a', 'a', 'image_a', 'path1', 'left'],
  b: ['path_b', 'b', 'image_b', 'path2', 'right'],
  label: ['label', 'same', 'target', 'y'],
  split: ['split', 'set', 'subset'],
};
const KNOWN_COLUMNS = new Set(Object.values(COLUMN_ALIASES).flat());
const EXPECTED = 'path_a,path_b,label[,split]';
const listFew = (items: string[], n = 5) => items.slice(0, n).join(', ') + (items.length > n ? ` (and ${items.length - n} more)` : '');

export interface CsvPlan {
  pairs: CsvPair[];
  files: FileItem[];
  hasSplits: boolean;
  /** rows left out: duplicates, reversed duplicates, self-pairs */
  droppedRows: DroppedRow[];
}

/** Column indexes of a pairs CSV; split is -1 when there is no split column. */
interface Columns {
  a: number;
  b: number;
  label: number;
  split: number;
}

/** Reads and checks a pairs CSV; throws AppError naming the first problem(s). */
export async function planCsv(csvPath: string): Promise<CsvPlan> {
  const name = csvPath.split(sep).pop() as string;
  const size = (await stat(csvPath)).size;
  if (size > MAX_CSV_BYTES) throw invalid(`${name} is ${size} bytes, more than the ${MAX_CSV_BYTES} a pairs CSV may have`);
  const rows = parseCsv(await readFile(csvPath, 'utf8')).filter((r) => r.some((c) => c.trim() !== ''));
  if (rows.length === 0) throw invalid(`${name} is empty: expected rows of ${EXPECTED}`);
  const { columns, dataRows, firstLine } = locateColumns(rows, name);
  if (dataRows.length === 0) throw invalid(`${name} has a header but no pairs`);

  const base = dirname(csvPath);
  const read = readPairs(dataRows, columns, firstLine, base, name);
  const { pairs, droppedRows } = dropRepeatedPairs(read.pairs, base, name);
  const unique = [...new Set(pairs.flatMap((p) => [p.a, p.b]))];
  await checkFilesExist(unique, base, name);
  if (read.hasSplits) checkOneSplitPerPath(pairs, base, name);
  return {
    pairs,
    files: unique.map((p) => ({ path: p, display: displayPath(base, p), classLabel: null })),
    hasSplits: read.hasSplits,
    droppedRows,
  };
}

export const labelWord = (label: 0 | 1) => (label === 1 ? 'same' : 'different');

/** The key of an unordered pair: (a, b) and (b, a) are one pair. */
export const pairKey = <T extends string | number>(a: T, b: T) => (a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`);

/**
 * Keeps the first row of every pair and drops the rest, each reported by its line: a pair
 * given again (in the same or the reversed order) and a file paired with itself. The same
 * pair with both labels is a contradiction the user must settle: refused, naming both lines.
 * (Two files with identical content are one image; that is only known after decoding:
 * csv-pair-set.ts applies the same rules to image ids.)
 */
function dropRepeatedPairs(rows: CsvPair[], base: string, name: string): { pairs: CsvPair[]; droppedRows: DroppedRow[] } {
  const first = new Map<string, CsvPair>();
  const pairs: CsvPair[] = [];
  const droppedRows: DroppedRow[] = [];
  for (const p of rows) {
    if (p.a === p.b) {
      droppedRows.push({ line: p.line, kind: 'selfPair', reason: `a self-pair (${displayPath(base, p.a)} with itself)` });
      continue;
    }
    const key = pairKey(p.a, p.b);
    const seen = first.get(key);
    if (!seen) {
      first.set(key, p);
      pairs.push(p);
    } else if (seen.label !== p.label) {
      throw invalid(
        `${name}: line ${p.line} gives the pair of line ${seen.line} the other label (${labelWord(p.label)} vs ${labelWord(seen.label)})`,
      );
    } else if (seen.a === p.a) {
      droppedRows.push({ line: p.line, kind: 'duplicate', reason: `duplicate of line ${seen.line}` });
    } else {
      droppedRows.push({ line: p.line, kind: 'reversed', reason: `the pair of line ${seen.line} reversed` });
    }
  }
  return { pairs, droppedRows };
}

/**
 * The columns, and the rows that hold pairs. The first row is a header if it names a
 * known column, or cannot be a pair (a data row with a bad label is reported as such).
 * Without a header the columns are path_a,path_b,label and, when any row has a fourth
 * cell, split.
 */
function locateColumns(rows: string[][], name: string): { columns: Columns; dataRows: string[][]; firstLine: number } {
  const first = rows[0].map((c) => c.trim().toLowerCase());
  const looksLikeHeader = first.some((c) => KNOWN_COLUMNS.has(c)) || (first.length < 3 && first.every((c) => !/[./\\]/.test(c)));
  if (!looksLikeHeader) {
    return { columns: { a: 0, b: 1, label: 2, split: rows.some((r) => r.length >= 4) ? 3 : -1 }, dataRows: rows, firstLine: 1 };
  }
  const find = (key: keyof typeof COLUMN_ALIASES) => first.findIndex((c) => COLUMN_ALIASES[key].includes(c));
  const found = { a: find('a'), b: find('b'), label: find('label'), split: find('split') };
  const missing = (['a', 'b', 'label'] as const).filter((k) => found[k] < 0).map((k) => ({ a: 'path_a', b: 'path_b', label: 'label' })[k]);
  if (missing.length > 0) {
    throw invalid(`${name} is missing column(s) ${missing.join(', ')}: its header is "${rows[0].join(',')}", expected ${EXPECTED}`);
  }
  return { columns: found, dataRows: rows.slice(1), firstLine: 2 };
}

/**
 * The pairs of the data rows, their paths resolved against `base`. Throws naming the
 * first bad rows, or when some pairs have a split and others do not.
 */
function readPairs(
  dataRows: string[][],
  col: Columns,
  firstLine: number,
  base: string,
  name: string,
): { pairs: CsvPair[]; hasSplits: boolean } {
  const pairs: CsvPair[] = [];
  const problems: string[] = [];
  let withSplit = 0;
  dataRows.forEach((r, i) => {
    const line = firstLine + i;
    const cell = (c: number) => (c >= 0 && c < r.length ? r[c].trim() : '');
    const need = Math.max(col.a, col.b, col.label) + 1;
    if (r.length < need) {
      problems.push(`line ${line} has ${r.length} column(s), expected ${EXPECTED}`);
      return;
    }
    const a = cell(col.a);
    const b = cell(col.b);
    const label = parseLabel(cell(col.label));
    if (!a || !b) problems.push(`line ${line} has an empty path`);
    if (label === undefined) problems.push(`line ${line}: label "${cell(col.label)}" is not 1/0, same/different or true/false`);
    let split: Split | null = null;
    if (cell(col.split) !== '') {
      const s = parseSplit(cell(col.split));
      if (!s) problems.push(`line ${line}: split "${cell(col.split)}" is not train, val or test`);
      else {
        split = s;
        withSplit++;
      }
    }
    if (a && b && label !== undefined) {
      pairs.push({
        a: isAbsolute(a) ? resolve(a) : resolve(base, a),
        b: isAbsolute(b) ? resolve(b) : resolve(base, b),
        label,
        split,
        line,
      });
    }
  });
  if (problems.length > 0) throw invalid(`${name}: ${listFew(problems, 3)}`);
  if (withSplit > 0 && withSplit < pairs.length) {
    const line = pairs.find((p) => p.split === null)!.line;
    throw invalid(`${name}: some pairs have a split and some do not (line ${line} has none); give every pair a split or none`);
  }
  return { pairs, hasSplits: withSplit > 0 };
}

/** Every named file must exist. */
async function checkFilesExist(paths: string[], base: string, name: string): Promise<void> {
  const isFile = (p: string) =>
    stat(p).then(
      (st) => st.isFile(),
      () => false,
    );
  const missing: string[] = [];
  // a few at a time: one stat per file on libuv's threads, without flooding them
  for (let i = 0; i < paths.length; i += 64) {
    const chunk = paths.slice(i, i + 64);
    const found = await Promise.all(chunk.map(isFile));
    chunk.forEach((p, j) => found[j] || missing.push(p));
  }
  if (missing.length > 0) {
    throw new AppError(
      'not_found',
      `${name} names ${missing.length} file(s) that do not exist: ${listFew(missing.map((p) => displayPath(base, p)))} (relative paths are read from ${base})`,
    );
  }
}

/** With given splits, one image may not be in two of them. */
function checkOneSplitPerPath(pairs: CsvPair[], base: string, name: string): void {
  const seen = new Map<string, { split: Split; line: number }>();
  for (const p of pairs) {
    for (const path of [p.a, p.b]) {
      const prev = seen.get(path);
      if (prev && prev.split !== p.split) {
        throw invalid(
          `${name}: ${displayPath(base, path)} is in split ${prev.split} (line ${prev.line}) and in ${p.split} (line ${p.line}); an image may be in one split only`,
        );
      }
      if (!prev) seen.set(path, { split: p.split!, line: p.line });
    }
  }
}

/** What the report shows for a path: relative to the CSV's folder when inside it, else absolute. */
export function displayPath(base: string, path: string): string {
  const rel = relative(base, path);
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel.split(sep).join('/');
}
