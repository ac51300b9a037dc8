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

// ---- models (Siamese model versions, training, evaluation) ----

export type ModelArch = 'small' | 'resnet18' | 'resnet50' | 'mobilenetv2' | 'pretrained';
export const MODEL_ARCHS: readonly ModelArch[] = ['small', 'resnet18', 'resnet50', 'mobilenetv2', 'pretrained'];

export interface RocPointDto {
  fpr: number;
  tpr: number;
  /** "same" when score >= threshold; null for the (0,0) end (threshold +infinity) */
  threshold: number | null;
}

export interface ScoreHistogramDto {
  /** bins + 1 edges over [0, 1] */
  edges: number[];
  same: number[];
  different: number[];
}

/** Metrics of one split at the version's threshold; AUC over the whole split from continuous scores. */
export interface SplitMetricsDto {
  threshold: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  auc: number;
  pairs: number;
  same: number;
  different: number;
  roc: RocPointDto[];
  histogram: ScoreHistogramDto;
}

export interface EpochDto {
  epoch: number;
  loss: number;
  valAuc: number;
  learningRate: number;
  seconds: number;
  /** val AUC rose: this epoch's weights became the best checkpoint */
  improved: boolean;
}

export interface ModelMetricsDto {
  /** decision threshold on the score s, chosen on validation (maximising accuracy) */
  threshold: number;
  thresholdSource: 'val' | 'given';
  splits: Partial<Record<Split, SplitMetricsDto>>;
  training?: { history: EpochDto[]; bestEpoch: number; bestValAuc: number; stoppedEarly: boolean; seconds: number };
  evaluatedAt: string;
}

export interface ModelVersionDto {
  id: number;
  name: string;
  datasetId: number | null;
  pairSetId: number | null;
  parentId: number | null;
  jobId: number | null;
  arch: ModelArch;
  /** architecture + training hyper-parameters */
  config: Record<string, unknown>;
  /** folder (model.json + shards), relative to the workspace */
  weightsPath: string | null;
  seed: number | null;
  backend: string | null;
  metrics: ModelMetricsDto | null;
  createdAt: string;
}
