// The shapes an import passes between its planning (plan.ts and the sources) and its
// run (run.ts and the modules it calls).
import type { ImportSourceKind, Split } from '../../shared/dto';
import type { NormaliseOptions } from '../images/decode';

/** One image file an import will decode. */
export interface FileItem {
  /** absolute path */
  path: string;
  /** the path's bytes, when the name is not valid UTF-8 (`path` then holds U+FFFD where they were) */
  fsPath?: Buffer;
  /** what the report shows: the path relative to the imported folder/CSV */
  display: string;
  classLabel: string | null;
}

/** Something the plan already knows it will not import (reported, not fatal). */
export interface SkippedItem {
  display: string;
  reason: string;
}

/** Why a row of a pairs CSV was left out (reported by its line, not fatal). */
export type DroppedRowKind = 'duplicate' | 'reversed' | 'selfPair';

export interface DroppedRow {
  line: number;
  kind: DroppedRowKind;
  reason: string;
}

export interface CsvPair {
  /** absolute paths */
  a: string;
  b: string;
  label: 0 | 1;
  split: Split | null;
  line: number;
}

export interface IdxSet {
  officialSplit: 'train' | 'test';
  imagesPath: string;
  labels: Uint8Array;
  count: number;
  rows: number;
  cols: number;
}

/**
 * Everything an import needs, worked out and checked synchronously before its job
 * starts (so a wrong path or a malformed file is an immediate, clear error).
 */
export type ImportPlan = {
  /** absolute path of the folder / CSV file / idx folder */
  path: string;
  /** dataset name to use (made unique when the dataset is created) */
  name: string;
  /** import into this existing dataset instead of creating one */
  datasetId: number | null;
} & (
  | { kind: 'folder'; files: FileItem[]; skipped: SkippedItem[] }
  | { kind: 'csv'; files: FileItem[]; skipped: SkippedItem[]; pairs: CsvPair[]; hasSplits: boolean; droppedRows: DroppedRow[] }
  | { kind: 'idx'; sets: IdxSet[]; classNames: string[] | null }
);

export type PlanKind = ImportSourceKind;

/** How an import runs: decode limits, batch sizes and a test hook. */
export interface ImportOptions extends NormaliseOptions {
  /** files per transaction (default FILE_BATCH) */
  fileBatch?: number;
  /** idx records per transaction (default IDX_BATCH) */
  idxBatch?: number;
  /** entries a folder walk visits at most (default DEFAULT_MAX_ENTRIES, import/folder.ts) */
  maxEntries?: number;
  /** test hook: called after each committed batch */
  afterBatch?: (done: number, total: number) => void | Promise<void>;
}
