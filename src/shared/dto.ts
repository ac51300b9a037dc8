// Data shapes that cross the process boundary (main <-> renderer, HTTP, CLI --json).
// Plain JSON only: no Buffers, no Dates (ISO strings), no class instances.

export type Split = 'train' | 'val' | 'test';
export const SPLITS: readonly Split[] = ['train', 'val', 'test'];

export type JobKind = 'import' | 'pairs' | 'train' | 'evaluate' | 'explain' | 'metrics';
export type JobStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled' | 'interrupted';

export interface JobDto {
  id: number;
  kind: JobKind;
  status: JobStatus;
  /** 0..1 */
  progress: number;
  message: string | null;
  error: string | null;
  params: Record<string, unknown>;
  result: Record<string, unknown> | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export type ImportSourceKind = 'folder' | 'csv' | 'idx';

export interface DatasetDto {
  id: number;
  name: string;
  sourceKind: ImportSourceKind;
  sourcePath: string;
  createdAt: string;
  imageCount: number;
  /** True when the source carries its own test split (e.g. Fashion-MNIST t10k). */
  hasOfficialTest: boolean;
}

export interface ClassCountDto {
  classLabel: string;
  total: number;
  /** Images per split in the dataset's current pair set (0 when no pairs yet). */
  train: number;
  val: number;
  test: number;
  unassigned: number;
}

export interface PairSetDto {
  id: number;
  datasetId: number;
  source: 'generated' | 'csv';
  seed: number | null;
  ratios: [number, number, number] | null;
  pairsPerAnchor: number | null;
  createdAt: string;
  pairCount: number;
  /** pairs per split and label */
  counts: { split: Split; label: 0 | 1; count: number }[];
}

export interface DatasetDetailDto extends DatasetDto {
  classes: ClassCountDto[];
  pairSets: PairSetDto[];
}

export type ImportFileStatus = 'imported' | 'duplicate' | 'skipped' | 'error';

export interface ImportReportEntryDto {
  path: string;
  status: ImportFileStatus;
  /** Why a file was skipped/failed, or which image it duplicates. */
  reason: string | null;
  imageId: number | null;
}

export interface ImportReportDto {
  jobId: number;
  totals: Record<ImportFileStatus, number>;
  entries: ImportReportEntryDto[];
  total: number;
}

export interface ImageDto {
  id: number;
  datasetId: number;
  sha256: string;
  sourcePath: string;
  classLabel: string | null;
  width: number;
  height: number;
  channels: number;
}

export interface PairDto {
  id: number;
  pairSetId: number;
  split: Split;
  /** 1 = same, 0 = different */
  label: 0 | 1;
  a: ImageDto;
  b: ImageDto;
}

export interface PairPageDto {
  rows: PairDto[];
  total: number;
  /** Pass back as `afterId` to fetch the next page; null at the end. */
  nextAfterId: number | null;
}

export interface AppInfoDto {
  version: string;
  shell: 'electron' | 'browser' | 'cli';
  dbPath: string;
  schemaVersion: number;
  /** tfjs backend in use and why better ones were not (filled by the engine). */
  backend: { name: string; notes: string[] } | null;
}
