// Data shapes that cross the process boundary (main <-> renderer, HTTP, CLI --json).
// Plain JSON only: no Buffers, no Dates (ISO strings), no class instances.

export type Split = 'train' | 'val' | 'test';
export const SPLITS: readonly Split[] = ['train', 'val', 'test'];

export type JobStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled' | 'interrupted';

/** What a job of each kind returns: its JobDto.result once done. */
export interface JobResults {
  import: ImportJobResult;
  pairs: PairsJobResult;
  train: TrainJobResult;
  evaluate: EvaluateJobResult;
  explain: ExplainJobResult;
  metrics: ExplainMetricsDto;
  faithfulness: FaithfulnessSummaryDto;
  retrain: RetrainJobResult;
  compare: CompareDto;
}
export type JobKind = keyof JobResults;
export type JobResultOf<K extends JobKind> = JobResults[K];

/** A job of one kind; JobDto is the union over the kinds, so narrowing on `kind` types `result`. */
export interface JobOf<K extends JobKind> {
  id: number;
  kind: K;
  status: JobStatus;
  /** 0..1 */
  progress: number;
  message: string | null;
  error: string | null;
  params: Record<string, unknown>;
  /** null until the job is done */
  result: JobResults[K] | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /**
   * Structured progress of the latest update while the job runs (absent when finished, or when
   * the latest update had none). Kept on the job's row, so a job another process runs (e.g. the
   * CLI on the same workspace, seen through jobs.get) has it too. 'train.epoch' updates are
   * never throttled away (but a later update replaces them on the row).
   */
  data?: JobProgressData;
}

/** The job type of each kind (indexed with a generic kind, it stays JobOf<K>: see shared/job-result.ts). */
export type JobsByKind = { [K in JobKind]: JobOf<K> };
export type JobDto = JobsByKind[JobKind];

/** Structured job progress (JobDto.data), by kind. */
export type JobProgressData =
  /**
   * a training step: running mean loss of the epoch so far, and the latest finished epoch's val
   * AUC with that epoch's number (null before the first), repeated on every step so that an
   * update replacing the epoch's own record (throttling; a row polled by another process) loses nothing
   */
  | {
      kind: 'train.step';
      epoch: number;
      epochs: number;
      step: number;
      steps: number;
      loss: number;
      learningRate: number;
      etaSeconds: number;
      valAuc: number | null;
      valAucEpoch: number | null;
    }
  /** an epoch finished: its record (the same as in the result's history) */
  | { kind: 'train.epoch'; record: EpochDto; epochs: number | null }
  /** explain / metrics jobs: pairs done of the total */
  | { kind: 'pairs'; done: number; total: number };

// ---- job results (JobResults), by kind ----

/** The pair set a CSV import wrote: the CSV's pairs whose two images made it in. */
export interface CsvPairSetResult {
  pairSetId: number;
  pairs: number;
  /** CSV pairs left out because one of their images could not be imported */
  droppedPairs: number;
  /** CSV pairs per split */
  splitPairs: Record<Split, number>;
  /** CSV rows left out, by why: the same pair again, the same pair reversed, an image with itself (also two files of identical content) */
  droppedRows?: Record<'duplicate' | 'reversed' | 'selfPair', number>;
}

/** The result of an 'import' job; the pair set's fields only for a CSV import. */
export interface ImportJobResult extends Partial<CsvPairSetResult> {
  datasetId: number;
  datasetName: string;
  totals: Record<ImportFileStatus, number>;
}

/** Pairs per label in one split, as reported in a pairs job's result. */
export interface SplitCountsResult {
  images: number;
  classes: number;
  positive: number;
  negative: number;
  anchorsWithoutPairs: number;
}

/** The result of a 'pairs' job. */
export interface PairsJobResult {
  pairSetId: number;
  datasetId: number;
  seed: number;
  /** 'official-test': the dataset's official test images are the test split; the rest split train:val by `ratios`. */
  protocol: 'ratios' | 'official-test';
  ratios: [number, number, number];
  pairsPerAnchor: number;
  pairCount: number;
  counts: Record<Split, SplitCountsResult>;
  /** Images without a class label: left out of every split. */
  skippedUnlabelled: number;
  warnings: string[];
}

/** A version's metrics in short: the threshold, and AUC and accuracy of each evaluated split (e.g. valAuc, testAccuracy). */
export type ModelMetricsSummary = { threshold: number } & Partial<Record<`${Split}Auc` | `${Split}Accuracy`, number>>;

/** The result of a 'train' job: the new version and its metrics in short. */
export type TrainJobResult = ModelMetricsSummary & {
  modelId: number;
  bestEpoch: number;
  /** epochs trained (early stopping may end before the epochs asked for) */
  epochs: number;
  history: EpochDto[];
};

/** The result of an 'evaluate' job: the version and its new metrics in short. */
export type EvaluateJobResult = ModelMetricsSummary & { modelId: number };

/** The result of an 'explain' (batch explanation) job. */
export interface ExplainJobResult {
  modelId: number;
  method: ExplainMethod;
  /** the stored layer key ('input' for input-space methods) */
  layer: string;
  split: Split | null;
  /** pairs asked for */
  pairs: number;
  explained: number;
  /** pairs already explained with this method and layer (left as stored) */
  skipped: number;
  workers: number;
  /** null when nothing was explained */
  msPerPair: number | null;
  seconds: number;
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

/** A stored image's pixels at its stored size: uint8, row-major, `channels` per pixel (1 grey, 3 RGB), base64. */
export interface ImagePixelsDto {
  id: number;
  width: number;
  height: number;
  channels: 1 | 3;
  data: string;
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
  /** Pass back as `afterId` to fetch the next page; null at the end (always null on a page fetched with `beforeId`). */
  nextAfterId: number | null;
  /** Only on a page fetched with `beforeId`: pass back as `beforeId` to fetch the page before it; null at the start. */
  prevBeforeId?: number | null;
}

/** The decoy demo ("Fashion-MNIST with decoys") as added or found. */
export interface DecoyDemoDto {
  /** false: it was there already */
  created: boolean;
  datasetId: number;
  pairSetId: number;
  /** the decoy-trained version */
  modelId: number;
  backgroundJobIds: number[];
}

export interface AppInfoDto {
  version: string;
  shell: 'electron' | 'browser' | 'cli';
  dbPath: string;
  schemaVersion: number;
  /** tfjs backend in use and why better ones were not (filled by the engine). */
  backend: { name: string; notes: string[] } | null;
  /** The engine of the forwards without weight gradient (issue #12): ONNX Runtime, else tfjs. */
  inference: InferenceInfoDto | null;
}

export interface InferenceInfoDto {
  /** 'ort': ONNX Runtime (onnxruntime-node); 'tfjs': the tfjs backend above. */
  name: 'ort' | 'tfjs';
  ortVersion?: string;
  /** Execution providers sessions use, best first ('cpu' last). */
  providers: string[];
  /** Intra-op threads of each ONNX Runtime session, and how many sessions run at once (the engine's workers). */
  threads: number;
  sessions: number;
  /** How the engine was chosen; why ONNX Runtime or a provider is not used. */
  notes: string[];
  /** Versions that run on tfjs although ONNX Runtime is in use, with the reason (a layer the exporter does not convert...). */
  fallbacks: { modelId: number; name: string; reason: string }[];
}

// ---- models (Siamese model versions, training, evaluation) ----

export type ModelArch = 'small' | 'resnet18' | 'resnet50' | 'mobilenetv2' | 'pretrained';
export const MODEL_ARCHS: readonly ModelArch[] = ['small', 'resnet18', 'resnet50', 'mobilenetv2', 'pretrained'];
/**
 * Input preprocessing applied inside the network as its first op (images stay in [0, 1]):
 * 'none'; 'tf' ([-1, 1]: Keras MobileNetV2 / Inception); 'caffe' (RGB -> BGR, 0-255 minus the
 * ImageNet BGR means: Keras ResNet50 / VGG); 'torch' (ImageNet mean / std per channel).
 */
export type InputPreprocess = 'none' | 'tf' | 'caffe' | 'torch';
export const INPUT_PREPROCESS: readonly InputPreprocess[] = ['none', 'tf', 'caffe', 'torch'];

/**
 * What the small CNN puts after its last conv block (conv4):
 *  - 'flatten' (the recipe): pool2 -> flatten -> dense1 -> embedding;
 *  - 'gap': global average pooling of conv4 -> dense1 -> embedding. ds/dA at conv4 is then
 *    the same at every position, so Grad-CAM's averaged weights lose nothing (Grad-CAM =
 *    HiResCAM = CAM up to the head's non-linearity; Draelos 2020).
 */
export type SmallCnnHead = 'flatten' | 'gap';

export interface PretrainedBackboneDto {
  /** Folder with a tfjs LayersModel (model.json + weight shards). */
  dir: string;
  /** Name of the layer whose output feeds the head; default: the last layer with a 4-D output. */
  cutLayer?: string;
  /**
   * How many of the backbone's blocks stay frozen, counted from the input. A block
   * is the stretch of layers between two consecutive cut points of the graph (for a
   * ResNet: the stem, then each residual block; for a plain CNN: each conv layer and
   * what follows it up to the next one). -1 freezes the whole backbone.
   */
  frozenBlocks?: number;
}

/**
 * What a Siamese model is made of: saved next to its weights (siamese.json) and in the version's
 * config (ModelVersionConfigDto.model), so a version can be rebuilt and explained later.
 * Fields added later are optional: configs saved before them lack them.
 */
export interface ModelConfigDto {
  arch: ModelArch;
  /** [height, width, channels] of the network input; images are resized to it. */
  inputShape: [number, number, number];
  /** Size of the embedding e (default 64). */
  embeddingSize: number;
  /** Contrastive margin m (default 2.0). */
  margin: number;
  /** Score temperature τ in s = exp(-d²/τ); default (m/2)². */
  tau: number;
  /** Seed of the weight initialisers. */
  seed: number;
  /**
   * Width scale: the small CNN's filters are [32, 64]·width and dense 128·width;
   * ResNets start at 64·width filters; MobileNetV2's alpha. Default 1. Tests use
   * fractions to get tiny networks.
   */
  width: number;
  /** Units of the hidden dense layer before the embedding (resnet/mobilenet/pretrained head; paper: 256). */
  headUnits: number;
  /** Small CNN only: the head after conv4 (default 'flatten'; absent in configs saved before it existed). */
  head?: SmallCnnHead;
  /**
   * Small CNN only: whether its convolutions have a bias (absent: true, as saved before it
   * existed). Without one, a conv block's output is exactly 0 where its receptive field sees only
   * black (0) pixels, so no channel stays active on a black background and no CAM can put
   * evidence there; with one, a channel whose bias keeps it active everywhere lights up the
   * background in every gradient map that weighs it.
   */
  convBias?: boolean;
  backbone?: PretrainedBackboneDto;
  /**
   * Input preprocessing, applied inside the network as its first layer ('preprocess'), so
   * images stay in [0, 1] everywhere else (stored pixels, CAM overlays, deletion metrics)
   * and a saved model carries it. Pick what the pretrained backbone was trained with:
   *  - 'none' (default; absent in configs saved before it existed): x in [0, 1] as is;
   *  - 'tf': 2x - 1, in [-1, 1] (Keras MobileNet/MobileNetV2/Inception/Xception);
   *  - 'caffe': RGB -> BGR, 255x minus the ImageNet BGR means [103.939, 116.779, 123.68]
   *    (Keras ResNet50/101/152 v1, VGG16/19);
   *  - 'torch': (x - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225] per RGB channel
   *    (Keras DenseNet, PyTorch-trained models).
   * 'caffe' and 'torch' are per-RGB-channel and need a 3-channel network input; the
   * layer never changes the channel count. Grayscale images become 3 channels when the
   * input has 3 (a pretrained backbone's input always sets it; the image decoder
   * replicates the grey channel), so a 1-channel input with 'caffe'/'torch' is an error
   * (see checkPreprocess) rather than a silent guess at grey ImageNet statistics.
   */
  preprocess?: InputPreprocess;
}

/** Training-time augmentation of the images (all 0: none). */
export interface AugmentDto {
  /** Probability of a horizontal flip (0 = never). */
  flip: number;
  /** Maximum shift in pixels along each axis (0 = none). */
  maxShift: number;
  /** Maximum absolute brightness offset added to every pixel (0 = none); result clamped to [0, 1]. */
  brightness: number;
}

/** The training settings a version was trained with (the rest of the trainer's settings: its defaults). */
export interface TrainSettingsDto {
  epochs: number;
  /** pairs per batch */
  batchSize: number;
  /** Adam's initial learning rate */
  learningRate: number;
  /** contrastive margin (the model's) */
  margin: number;
  /** seed of pair draws and augmentation */
  seed: number;
  /** stop after this many epochs without a rise of val AUC (0 = never) */
  earlyStoppingPatience: number;
  /** lower the learning rate after this many epochs without a rise (0 = never) */
  lrPatience: number;
  augment: AugmentDto;
}

/** A version's config (ModelVersionDto.config): its architecture and how it was trained. */
export interface ModelVersionConfigDto {
  model: ModelConfigDto;
  /** absent for a version not made by a 'train' job (e.g. registered from saved weights) */
  train?: TrainSettingsDto;
  /** a version registered from a saved model folder (e.g. the bundled demo model): that folder */
  importedFrom?: string;
  /** a version made by a 'retrain' job: how the experts' masks were used (the masks themselves: models.maskSnapshot) */
  retrain?: RetrainSettingsDto;
}

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

/** Confusion counts and the metrics derived from them at one threshold on the score. */
export interface BinaryMetricsDto {
  threshold: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
}

/** Metrics of one split at the version's threshold; AUC over the whole split from continuous scores. */
export interface SplitMetricsDto extends BinaryMetricsDto {
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
  /** mask-guided retraining: the epoch's mean contrastive part and mean (lambda-weighted) mask part of `loss` */
  contrastiveLoss?: number;
  maskLoss?: number;
}

/**
 * How a training ran the frozen blocks of a pretrained backbone (issue #12): on ONNX Runtime up to
 * the last frozen layer (only the layers above it in tfjs), or the whole network in tfjs and why.
 */
export interface FrozenFeaturesDto {
  used: boolean;
  /** the last layer of the last frozen block */
  boundary?: string;
  /** whether the frozen part's outputs were cached across epochs */
  cached?: boolean;
  /** why the frozen part ran in tfjs (used: false), or why its outputs were not cached (used: true) */
  reason?: string;
  /** images through the frozen part on ONNX Runtime */
  ortImages: number;
}

export interface ModelMetricsDto {
  /** decision threshold on the score s, chosen on validation (maximising accuracy) */
  threshold: number;
  thresholdSource: 'val' | 'given';
  splits: Partial<Record<Split, SplitMetricsDto>>;
  training?: {
    history: EpochDto[];
    bestEpoch: number;
    bestValAuc: number;
    stoppedEarly: boolean;
    seconds: number;
    /** a model with frozen blocks (a pretrained backbone): where its frozen part ran */
    frozenFeatures?: FrozenFeaturesDto;
  };
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
  config: ModelVersionConfigDto;
  /** folder (model.json + shards), relative to the workspace */
  weightsPath: string | null;
  seed: number | null;
  backend: string | null;
  metrics: ModelMetricsDto | null;
  createdAt: string;
}

/**
 * How models.export writes a version: 'tfjs' copies its folder (model.json + shards + siamese.json);
 * 'onnx' writes model.onnx (the embedding network, opset 13) and simlens-onnx.json (input size and
 * range, the preprocessing inside the graph, tau and threshold), checked against tfjs first.
 */
export type ModelExportFormat = 'tfjs' | 'onnx';
export const MODEL_EXPORT_FORMATS: readonly ModelExportFormat[] = ['tfjs', 'onnx'];

/** What models.export wrote. */
export interface ModelExportDto {
  /** the folder written */
  path: string;
  format: ModelExportFormat;
  /** the files written into it, relative */
  files: string[];
}

// ---- explanations (Grad-CAM family for pairs, overlays, faithfulness) ----

/** Explanation methods (the ids of src/main/engine/explain/cam). */
export type ExplainMethod = 'gradcam' | 'gradcampp' | 'xgradcam' | 'hirescam' | 'layercam' | 'scorecam' | 'occlusion' | 'rise';
export const EXPLAIN_METHODS: readonly ExplainMethod[] = [
  'gradcam',
  'gradcampp',
  'xgradcam',
  'hirescam',
  'layercam',
  'scorecam',
  'occlusion',
  'rise',
];
export type ColormapName = 'jet' | 'viridis';

export interface ExplainMethodDto {
  id: ExplainMethod;
  label: string;
  kind: 'gradient' | 'perturbation';
  /** false: the method defines no counterfactual map (the UI says so) */
  counterfactualDefined: boolean;
  counterfactualHow: string;
  /** works on a target layer (false: input space, e.g. occlusion) */
  usesLayer: boolean;
}

export interface ExplainLayersDto {
  modelId: number;
  /** the model's selectable target layers, input to output */
  layers: string[];
  /** the last convolutional block */
  default: string;
  methods: ExplainMethodDto[];
  /** the network's input [height, width, channels] (maps of small inputs get their reliability hint at once) */
  inputShape: [number, number, number];
  /** the version's most faithful method (its faithfulness summary), else Grad-CAM */
  defaultMethod: ExplainMethod;
  /** where defaultMethod comes from: the stored faithfulness summary, or none yet (Grad-CAM) */
  defaultMethodFrom: 'faithfulness' | 'none';
}

export interface MapSummaryDto {
  /** the ReLU'd map is all zero: nothing in this image supports that direction */
  noEvidence: boolean;
  /** max before normalisation (comparable across images and directions) */
  scale: number;
  /** argmax (row, col) in map cells; null without evidence */
  peak: [number, number] | null;
  /** share of cells >= 0.5 after normalisation */
  areaAbove50: number;
}

export interface ExplanationImageDto {
  imageId: number;
  factual: MapSummaryDto;
  /** null when the method defines no counterfactual */
  counterfactual: MapSummaryDto | null;
}

export interface ExplanationDto {
  pairId: number;
  modelId: number;
  method: ExplainMethod;
  /** target layer ('input' for input-space methods) */
  layer: string;
  /** map grid before upsampling */
  mapHeight: number;
  mapWidth: number;
  /** s of the pair */
  score: number;
  counterfactualDefined: boolean;
  a: ExplanationImageDto;
  b: ExplanationImageDto;
  /** Score-CAM: channels masked per image (a, b), of the layer's `total`, under the cap `maxChannels` */
  channels?: ScoreCamChannelsDto;
  /** true when read from the store, false when computed by this call */
  cached: boolean;
  explainMs: number;
  createdAt: string;
}

export interface ScoreCamChannelsDto {
  /** channels whose masks were scored, per image: the active ones, at most maxChannels */
  used: [number, number];
  /** channels that vary spatially, per image */
  active: [number, number];
  /** the target layer's channels */
  total: number;
  /** the cap (null: none) */
  maxChannels: number | null;
}

export interface OverlayDto {
  /** data:image/png;base64,... at the stored image's size */
  dataUrl: string;
  width: number;
  height: number;
  noEvidence: boolean;
}

export interface AucTripleDto {
  /** mean AUC of the method's maps */
  map: number;
  random: number;
  centre: number;
  /** share of images where the map beats the random map (deletion: lower; insertion: higher) */
  shareBeatsRandom: number;
  shareBeatsCentre: number;
}

/** Result of an 'explain.metrics' job. */
export interface ExplainMetricsDto {
  modelId: number;
  method: ExplainMethod;
  layer: string;
  split: Split | null;
  /** only same (1) / different (0) pairs; null: both */
  label: 0 | 1 | null;
  pairs: number;
  /** images with a factual map (those measured) and without (no evidence) */
  images: number;
  noEvidence: number;
  steps: number;
  deletion: AucTripleDto | null;
  insertion: AucTripleDto | null;
  /** per PAIR (mean over its measured images): share where the map's deletion AUC < the random map's */
  pairShareDeletionBeatsRandom: number | null;
  pairShareInsertionBeatsRandom: number | null;
  /** mean curves: s over the fraction removed / inserted */
  curves: {
    fractions: number[];
    deletion: { map: number[]; random: number[]; centre: number[] };
    insertion: { map: number[]; random: number[]; centre: number[] };
  } | null;
  /** agreement with the images' newest masks, when any image has one */
  masks: { images: number; epg: number | null; pointingGame: number | null; iou: number | null } | null;
  seconds: number;
}

export interface SanityStepDto {
  layersRandomized: number;
  /** the last layer randomised */
  label: string | null;
  /** Spearman rho of each image's map with the original's (null: undefined, e.g. a constant map) */
  factual: [number | null, number | null];
  counterfactual: [number | null, number | null];
  absRaw: [number | null, number | null];
}

export interface SanityDto {
  pairId: number;
  modelId: number;
  method: ExplainMethod;
  layer: string;
  /** the layers in the order they were randomised (top first) */
  order: string[];
  steps: SanityStepDto[];
}

/**
 * What removed pixels become in the deletion / insertion curves: black, a Gaussian blur of the
 * image, the dataset's mean colour, or ROAD's noisy linear imputation from the pixels kept (Rong et
 * al. 2022). Black removes nothing where the image is already black.
 */
export type FaithfulnessBaseline = 'black' | 'blur' | 'mean' | 'road';
export const FAITHFULNESS_BASELINES: readonly FaithfulnessBaseline[] = ['black', 'blur', 'mean', 'road'];

/** One method's faithfulness under one baseline. */
export interface FaithfulnessByBaselineDto {
  /** mean AUCs over the measured images (deletion: lower is better; insertion: higher) */
  deletion: AucTripleDto | null;
  insertion: AucTripleDto | null;
  /** pairs with at least one measured image */
  pairs: number;
  /** per PAIR (sum of its measured images' AUCs): share where the map beats the random map / the centre prior */
  pairShareBeatsRandom: { deletion: number | null; insertion: number | null };
  pairShareBeatsCentre: { deletion: number | null; insertion: number | null };
}

export interface FaithfulnessMethodDto {
  method: ExplainMethod;
  /** the method's name for people ("Grad-CAM") */
  label: string;
  /** images whose factual map had no evidence (not measured) */
  noEvidence: number;
  byBaseline: Partial<Record<FaithfulnessBaseline, FaithfulnessByBaselineDto>>;
  /**
   * Mean over blur, mean and ROAD of (insertion - deletion AUC) of the map minus that of the
   * random map: > 0 is better than random on average; null when nothing was measured.
   */
  score: number | null;
}

/** A version's faithfulness per method, measured on validation pairs (a 'faithfulness' job); stored with the version. */
export interface FaithfulnessSummaryDto {
  modelId: number;
  /** the split and label of the pairs measured (label 1: same-class pairs, whose factual maps explain the similarity) */
  split: Split;
  label: 0 | 1 | null;
  pairs: number;
  /** the target layer of the layer-based methods */
  layer: string;
  steps: number;
  seed: number;
  baselines: FaithfulnessBaseline[];
  /** the dataset's mean colour the 'mean' baseline used, per channel (of the measured images) */
  channelMeans: number[];
  methods: FaithfulnessMethodDto[];
  /** the method with the highest score: the version's default in the explanation and review views */
  defaultMethod: ExplainMethod;
  seconds: number;
  createdAt: string;
}

/** One image's map against a random map on its own pair: is the map worse than chance? */
export interface ImageReliabilityDto {
  /** deletion AUC of the map (lower is better) and of a seeded random map, same baseline */
  map: number;
  random: number;
  /** the map's deletion is no better than the random map's: the map does not show what the model uses */
  worseThanRandom: boolean;
}

/** A cheap reliability hint for the maps of one pair (explain.reliability). */
export interface ReliabilityDto {
  pairId: number;
  modelId: number;
  method: ExplainMethod;
  layer: string;
  baseline: FaithfulnessBaseline;
  steps: number;
  /** per image; null when its factual map has no evidence (nothing to rank) */
  a: ImageReliabilityDto | null;
  b: ImageReliabilityDto | null;
}

// ---- review (verdicts, review queue and sessions, agreement, bundles; src/main/services/review*.ts) ----

/** Was the model's same / different call on the pair right? */
export type SimilarityAnswer = 'correct' | 'wrong';
export const SIMILARITY_ANSWERS: readonly SimilarityAnswer[] = ['correct', 'wrong'];
/** Does an image's heatmap point at what should matter? */
export type HeatmapAnswer = 'sensible' | 'not_sensible' | 'unsure';
export const HEATMAP_ANSWERS: readonly HeatmapAnswer[] = ['sensible', 'not_sensible', 'unsure'];
/** The questions of a verdict (agreement is measured per question). */
export type ReviewQuestion = 'similarity' | 'heatmapA' | 'heatmapB';
export const REVIEW_QUESTIONS: readonly ReviewQuestion[] = ['similarity', 'heatmapA', 'heatmapB'];
/** Tags every workspace offers; reviewers add their own. */
export const DEFAULT_REVIEW_TAGS: readonly string[] = ['background', 'decoy', 'texture'];

/** Queue orders: |score - threshold| ascending (most uncertain first), seeded random (stable for a seed), pair id. */
export type ReviewOrder = 'uncertainty' | 'random' | 'pair';
export const REVIEW_ORDERS: readonly ReviewOrder[] = ['uncertainty', 'random', 'pair'];

/** One stored verdict row: the current one of (pair, model, reviewer) or an earlier one (history). */
export interface VerdictDto {
  id: number;
  /** random UUID; a bundle import skips the uids a workspace already knows */
  uid: string;
  pairId: number;
  /** null when the model version was deleted after the verdict */
  modelId: number | null;
  reviewer: string;
  similarity: SimilarityAnswer | null;
  heatmapA: HeatmapAnswer | null;
  heatmapB: HeatmapAnswer | null;
  /** the explanation the reviewer saw when judging the heatmaps (null: not recorded, e.g. no heatmap answer) */
  method: ExplainMethod | null;
  layer: string | null;
  note: string | null;
  /** normalised (trimmed, lower-case), sorted */
  tags: string[];
  /** all three answers given */
  complete: boolean;
  /** the newest row of its (pair, model, reviewer): the verdict in force */
  current: boolean;
  /** written here, or brought in by a bundle import */
  origin: 'local' | 'imported';
  createdAt: string;
}

/** review.verdict: the row written (or, when nothing changed, the current one). */
export interface VerdictResultDto {
  verdict: VerdictDto;
  /** false: the answers equal the current verdict's, no row was added */
  changed: boolean;
  /** the verdict this one supersedes (null: the first of this reviewer for the pair) */
  previous: VerdictDto | null;
}

/** review.undo: the row removed and the verdict in force afterwards. */
export interface VerdictUndoDto {
  /** null: the reviewer had no verdict to undo */
  undone: VerdictDto | null;
  /** the earlier verdict that is current again, or null */
  current: VerdictDto | null;
}

export interface ReviewerDto {
  /** the workspace's current reviewer; null until set (the UI asks once per workspace) */
  name: string | null;
  /** every reviewer with a verdict in this workspace, by name */
  known: string[];
}

/**
 * Queue filters, combined with AND; absent or false = not applied. Counts of every filter come
 * with each queue page (ReviewFilterCountsDto).
 */
export interface ReviewFiltersDto {
  /** no current verdict by this reviewer ('me') / by any reviewer ('anyone') */
  unreviewed?: 'me' | 'anyone';
  /** the model says "same" (score >= threshold) but the pair is different */
  falsePositive?: boolean;
  /** the model says "different" but the pair is same */
  falseNegative?: boolean;
  /** |score - threshold| <= nearBand */
  nearThreshold?: boolean;
  /** half-width of the "near the threshold" band on the score (default 0.05) */
  nearBand?: number;
  /** some reviewer's current verdict judged heatmap A or B not sensible */
  heatmapNotSensible?: boolean;
  /** two reviewers' current verdicts give different answers to a question */
  reviewersDisagree?: boolean;
  /** either image has this class */
  classLabel?: string;
  /** some reviewer's current verdict carries this tag */
  tag?: string;
  /**
   * heatmap energy mostly outside the mask: an image of the pair has a mask (its newest, any
   * author) and the stored factual map of the version's default method puts more than half of
   * its energy outside it (src/main/services/mask-energy.ts)
   */
  maskOutside?: boolean;
}

/** How many pairs of the base set (the model's pairs of the split) each filter keeps on its own. */
export interface ReviewFilterCountsDto {
  /** the base set */
  all: number;
  /** pairs with a score of this model (the others have no decision) */
  scored: number;
  unreviewedByMe: number;
  unreviewedByAnyone: number;
  falsePositive: number;
  falseNegative: number;
  nearThreshold: number;
  heatmapNotSensible: number;
  reviewersDisagree: number;
  /** pairs whose stored default-method map puts most of its energy outside an image's mask (ReviewFiltersDto.maskOutside) */
  maskOutside: number;
  /** per class label: pairs with an image of that class */
  classes: { classLabel: string; count: number }[];
  /** per tag (the defaults, tags in use anywhere): pairs whose current verdicts carry it */
  tags: { tag: string; count: number }[];
}

export interface ReviewImageDto {
  id: number;
  classLabel: string | null;
  sourcePath: string;
  /** the stored image's size (its masks are this size) */
  width: number;
  height: number;
}

export interface ReviewQueueItemDto {
  pairId: number;
  /** 0-based place in the filtered, ordered queue */
  position: number;
  split: Split;
  /** 1 = same, 0 = different */
  label: 0 | 1;
  a: ReviewImageDto;
  b: ReviewImageDto;
  /** this model's score (null: not scored on this split) */
  score: number | null;
  /** the model's call: 1 = same (score >= threshold); null without a score or threshold */
  decision: 0 | 1 | null;
  /** decision === label; null without a decision */
  modelRight: boolean | null;
  /** this reviewer's current verdict */
  verdict: VerdictDto | null;
  /** other reviewers with a current verdict on this pair and model */
  othersReviewed: number;
}

export interface ReviewQueueDto {
  modelId: number;
  pairSetId: number;
  split: Split;
  reviewer: string;
  filters: ReviewFiltersDto;
  order: ReviewOrder;
  seed: number;
  /** the version's decision threshold (null: not evaluated) */
  threshold: number | null;
  items: ReviewQueueItemDto[];
  /** pairs that pass all filters */
  total: number;
  /** position of the first item */
  offset: number;
  /** pass back as `afterPairId` for the next page; null at the end */
  nextAfterPairId: number | null;
  counts: ReviewFilterCountsDto;
}

/** A reviewer's review session on a model version: where it stands, and where it resumes. */
export interface ReviewSessionDto {
  reviewer: string;
  modelId: number;
  split: Split;
  filters: ReviewFiltersDto;
  order: ReviewOrder;
  seed: number;
  /** the pair the reviewer was on, and its position then */
  pairId: number | null;
  position: number;
  updatedAt: string;
  /** where to resume: the first pair this reviewer has no verdict on, from the stored pair on (then from the start); null when none is left */
  next: { pairId: number; position: number } | null;
}

/** Tallies of heatmap answers; share = sensible / (sensible + not sensible + unsure), null when none. */
export interface HeatmapShareDto {
  sensible: number;
  notSensible: number;
  unsure: number;
  total: number;
  share: number | null;
}

/** Agreement on one question. */
export interface KappaDto {
  /** 'cohen' for two raters, 'fleiss' for three or more */
  method: 'cohen' | 'fleiss';
  raters: string[];
  /** pairs every one of these raters answered (those the kappa is computed on) */
  pairs: number;
  /** null when undefined: no pair, or chance agreement is 1 (everyone used one answer) */
  kappa: number | null;
  /** observed and chance agreement */
  observed: number | null;
  expected: number | null;
}

export interface QuestionAgreementDto {
  question: ReviewQuestion;
  /** all reviewers together (Cohen for two, Fleiss for more); null with fewer than two reviewers */
  overall: KappaDto | null;
  /** every two reviewers (Cohen) */
  pairwise: KappaDto[];
}

/** A version's review summary (the models view, `simlens review stats`). */
export interface ReviewStatsDto {
  modelId: number;
  threshold: number | null;
  verdicts: {
    /** current verdicts (one per pair and reviewer) and superseded rows */
    current: number;
    superseded: number;
    complete: number;
    /** pairs with at least one current verdict */
    pairs: number;
  };
  reviewers: { reviewer: string; current: number; complete: number }[];
  /** current heatmap answers: all, per class of the judged image, per method shown */
  heatmaps: {
    overall: HeatmapShareDto;
    byClass: ({ classLabel: string | null } & HeatmapShareDto)[];
    byMethod: ({ method: ExplainMethod | null } & HeatmapShareDto)[];
  };
  /** current similarity answers against the model's own error on those pairs (pairs with a decision) */
  similarity: {
    correctModelRight: number;
    correctModelWrong: number;
    wrongModelRight: number;
    wrongModelWrong: number;
    /** answers on pairs without a decision (no score or threshold) */
    undecided: number;
  };
  /** tags on current verdicts (defaults listed even at 0) */
  tags: { tag: string; count: number }[];
  agreement: QuestionAgreementDto[];
}

export interface ReviewTagDto {
  tag: string;
  /** current verdicts carrying it (in the model given, else in the workspace) */
  count: number;
  builtin: boolean;
}

/** review.export: the verdicts as CSV or JSON rows. */
export interface ReviewExportDto {
  path: string;
  format: 'csv' | 'json';
  rows: number;
  /** superseded rows included */
  history: boolean;
}

/** review.exportBundle: the written bundle. */
export interface ReviewBundleExportDto {
  path: string;
  dataset: { id: number; name: string };
  models: { id: number; name: string; fingerprint: string }[];
  verdicts: number;
  /** mask rows carried (newest per image and author, or with history: ReviewBundleMasks) */
  masks: number;
  images: number;
  /** versions left out: their weights folder is missing, so they have no fingerprint */
  skipped: { modelId: number; reason: string }[];
}

export type BundleVerdictStatus = 'imported' | 'already_present' | 'unmatched';

export interface BundleVerdictReportDto {
  uid: string;
  reviewer: string;
  status: BundleVerdictStatus;
  /** why unmatched (or already present for a verdict undone here) */
  reason: string | null;
  /** the matched pair and model here (null when unmatched) */
  pairId: number | null;
  modelId: number | null;
}

/** review.importBundle: one entry per verdict of the bundle. */
export interface ReviewImportDto {
  path: string;
  /** the workspace dataset the bundle's images matched */
  datasetId: number;
  bundle: { dataset: string; createdAt: string; verdicts: number };
  imported: number;
  alreadyPresent: number;
  unmatched: number;
  /** true: nothing was written (dryRun) */
  dryRun: boolean;
  entries: BundleVerdictReportDto[];
  /** the bundle's masks, matched to this dataset's images by content hash */
  masks: BundleMasksReportDto;
}

// ---- masks (src/main/services/masks*.ts; the RLE codec: src/shared/mask-rle.ts) ----

/** How a mask was made: painted (brush, lasso, wand), seeded (from the image, then kept), imported (from a file). */
export type MaskSource = 'painted' | 'seeded' | 'imported';
export const MASK_SOURCES: readonly MaskSource[] = ['painted', 'seeded', 'imported'];

/**
 * One stored mask row. Masks belong to images (one mask serves every pair with the image), per
 * author, with history: every save adds a row, the newest row of an (image, author) is its mask.
 */
export interface MaskDto {
  id: number;
  /** random UUID; a review bundle import skips the uids a workspace already knows */
  uid: string;
  imageId: number;
  author: string;
  /** [height, width]: the stored image's size */
  size: [number, number];
  /**
   * COCO's compressed RLE string: runs column by column (column-major), beginning with a run of
   * background; decodeMaskString (src/shared/mask-rle.ts) gives the row-major 0/1 pixels
   */
  counts: string;
  source: MaskSource;
  /** written in this workspace, or brought in by a review bundle */
  origin: 'local' | 'imported';
  /** pixels inside */
  area: number;
  /** [x, y, width, height] of the inside pixels; [0, 0, 0, 0] when empty */
  bbox: [number, number, number, number];
  /** the newest row of its (image, author) */
  current: boolean;
  createdAt: string;
}

/** masks.save: the row written (or, when the pixels equal the author's newest mask, that one). */
export interface MaskSaveDto {
  mask: MaskDto;
  /** false: the same pixels as the author's newest mask of the image; no row was added */
  changed: boolean;
}

export type MaskExportFormat = 'png' | 'coco' | 'csv';
/** COCO categories of an export: one per class label of the images, or one "relevant". */
export type MaskCategoryMode = 'class' | 'relevant';

/** masks.export: what was written. */
export interface MaskExportDto {
  format: MaskExportFormat;
  datasetId: number;
  /** the folder of PNGs, or the COCO JSON / CSV file */
  path: string;
  /** mask rows written (PNG: files) */
  masks: number;
  /** images with a mask written */
  images: number;
  /** only this author's masks (null: every author; PNG: the newest of any author per image) */
  author: string | null;
  /** superseded rows included */
  history: boolean;
  /** COCO only (else null) */
  category: MaskCategoryMode | null;
  /** empty masks (no pixel inside) left out */
  skippedEmpty: number;
}

/** What became of one file (PNG) or annotation (COCO) of a mask import. */
export type MaskImportStatus = 'imported' | 'unchanged' | 'unmatched' | 'error';

export interface MaskImportEntryDto {
  /** the file name (PNG), or the annotation: "<file>: annotations[i] (id N)" (COCO) */
  name: string;
  /** unchanged: the same pixels as that author's newest mask of the image (nothing added) */
  status: MaskImportStatus;
  /** why unmatched or refused (null when imported or unchanged) */
  reason: string | null;
  imageId: number | null;
  /** the row written (or the newest one, when unchanged) */
  maskId: number | null;
}

/** masks.import: one entry per file or annotation; nothing stored is replaced (imports add history rows). */
export interface MaskImportDto {
  path: string;
  format: 'png' | 'coco';
  datasetId: number;
  imported: number;
  unchanged: number;
  unmatched: number;
  errors: number;
  entries: MaskImportEntryDto[];
}

/** Which masks a review bundle carries: each (image, author)'s newest, all rows, or none. */
export type ReviewBundleMasks = 'newest' | 'history' | 'none';

export type BundleMaskStatus = 'imported' | 'already_present' | 'unmatched';

export interface BundleMaskReportDto {
  uid: string;
  author: string;
  /** the image's content hash */
  image: string;
  status: BundleMaskStatus;
  reason: string | null;
  imageId: number | null;
}

export interface BundleMasksReportDto {
  imported: number;
  alreadyPresent: number;
  unmatched: number;
  entries: BundleMaskReportDto[];
}

/** explain.maps sends grids of at most this many cells a side (larger stored maps are averaged down). */
export const EXPLAIN_MAPS_MAX_SIDE = 64;

export interface ExplainMapImageDto {
  imageId: number;
  /** the stored image's [height, width]: the size of its masks */
  imageSize: [number, number];
  /** the factual map, row-major mapHeight x mapWidth, values >= 0 (normalised, as stored) */
  factual: number[];
  /** the counterfactual map; null when the method defines none */
  counterfactual: number[] | null;
  /** the ReLU'd map is all zero (nothing supports that direction) */
  noEvidence: { factual: boolean; counterfactual: boolean | null };
}

/**
 * explain.maps: the raw maps of both images of a pair, small enough for the renderer to measure
 * against the mask being painted (src/shared/mask-agreement.ts) on every stroke.
 */
export interface ExplainMapsDto {
  pairId: number;
  modelId: number;
  method: ExplainMethod;
  layer: string;
  /** the grid of the maps here */
  mapHeight: number;
  mapWidth: number;
  /** the stored grid when it was larger than EXPLAIN_MAPS_MAX_SIDE a side (averaged down to this one); else null */
  downsampledFrom: [number, number] | null;
  score: number;
  counterfactualDefined: boolean;
  /** read from the store (false: computed by this call) */
  cached: boolean;
  createdAt: string;
  a: ExplainMapImageDto;
  b: ExplainMapImageDto;
}

// ---- retraining with the experts' masks, comparing versions (services/models.ts startRetrain, services/compare.ts) ----

/**
 * How a retraining uses the masks: a mask loss on the Grad-CAM maps added to the contrastive loss
 * with weight lambda ('rrr': evidence outside the mask; 'energy': 1 - energy-based pointing game;
 * 'hint': MSE between the normalised map and the mask), or mask-guided augmentation ('augment':
 * outside the mask replaced by other images' backgrounds, noise or blur; crops around the mask).
 */
export type RetrainLossName = 'rrr' | 'energy' | 'hint' | 'augment';
export const RETRAIN_LOSS_NAMES: readonly RetrainLossName[] = ['rrr', 'energy', 'hint', 'augment'];

/**
 * A retraining's defaults, from the decoy benchmark on Fashion-MNIST (docs/notes/decoy-bench.md):
 * the energy loss at lambda 5 on both maps (the counterfactual map carries much of a shortcut: the
 * patch where it should not be argues against similarity), each masked image 4 times an anchor
 * per epoch, closed 81% of the clean-vs-decoy accuracy gap in 6 epochs, where the factual map
 * alone closed 3%. The lambdas differ by loss because their scales do (rrr and hint are means of
 * squares over the image).
 */
export const RETRAIN_DEFAULTS: {
  loss: RetrainLossName;
  maps: 'factual' | 'both';
  maskedRepeat: number;
  lambda: Record<RetrainLossName, number>;
} = { loss: 'energy', maps: 'both', maskedRepeat: 4, lambda: { rrr: 30, energy: 5, hint: 10, augment: 0 } };

/** The second derivative a mask loss needs, checked against central finite differences on the backend that trained. */
export interface SecondDerivativeCheckDto {
  backend: string;
  ok: boolean;
  /** the map layer, and the layer the score was differentiated at (the pooling right after it, when there is one) */
  layer: string;
  gradLayer: string;
  /** the layers differentiated twice (class names) */
  doubleDiffLayers: string[];
  parameters: number;
  analytic: number | null;
  numeric: number | null;
  eps: number | null;
  relativeError: number | null;
  /** why it failed (a kernel the backend lacks, a disagreement) */
  error?: string;
  ms: number;
}

/** A retrained version's record of how it was made (ModelVersionConfigDto.retrain). */
export interface RetrainSettingsDto {
  /** the version it was retrained from (also ModelVersionDto.parentId) */
  parentId: number;
  /** the loss asked for, and the one that ran ('augment' after a failed second-derivative check) */
  loss: RetrainLossName;
  lossUsed: RetrainLossName;
  /** the weight of the mask loss (not used by 'augment') */
  lambda: number;
  /** the maps the loss looked at: the factual Grad-CAM map, or factual and counterfactual */
  maps: 'factual' | 'both';
  /** the map layer and the layer the score was differentiated at (mask losses; null for 'augment') */
  layer: string | null;
  gradLayer: string | null;
  freezeBelow: boolean;
  /** why the asked-for loss was not used; null when it was */
  fallback: string | null;
  /** only this author's masks were used (null: the newest mask of each image, whoever painted it) */
  author: string | null;
  /** the masks used (the snapshot's summary; the ids: models.maskSnapshot) */
  masks: { count: number; trainImages: number; authors: { author: string; masks: number }[] };
  check: SecondDerivativeCheckDto | null;
}

/** The result of a 'retrain' job: the new version and its metrics in short, as a train job's, and how it was retrained. */
export type RetrainJobResult = TrainJobResult & { retrain: RetrainSettingsDto };

/** models.maskCoverage: which images of a version's pair set have masks, before retraining it. */
export interface MaskCoverageDto {
  modelId: number;
  pairSetId: number;
  /** the author filter (null: any author) */
  author: string | null;
  /** per split: images and images with a mask (retraining uses the train split's; val and test masks measure) */
  splits: { split: Split; images: number; masked: number }[];
  /** authors of masks on train images, with their masked image counts */
  trainAuthors: { author: string; images: number }[];
  /** a retraining can start: some train image has a mask */
  canRetrain: boolean;
  /** why not, when it cannot */
  reason: string | null;
}

/** models.maskSnapshot: a page of the masks a retrained version used (ids and authors at retraining time). */
export interface MaskSnapshotDto {
  modelId: number;
  total: number;
  offset: number;
  rows: { maskId: number; imageId: number; author: string }[];
}

/** One version's side of a comparison. */
export interface CompareVersionDto {
  modelId: number;
  name: string;
  parentId: number | null;
  /** the method and layer of the maps compared */
  method: ExplainMethod;
  layer: string;
  /** test accuracy and ROC AUC from the version's stored metrics (null: not evaluated on test) */
  test: { accuracy: number; auc: number; pairs: number } | null;
  /** on the compared split's pairs whose images have masks: the images with a mask */
  masked: {
    images: number;
    /** mean energy-based pointing game of their factual maps against their masks (images with evidence) */
    epg: number | null;
    /** mean deletion AUC of those maps under the blur baseline (lower is better), and of a random map */
    deletionAuc: number | null;
    deletionAucRandom: number | null;
    /** maps without evidence (not measured) */
    noEvidence: number;
  };
  /** the version's review tallies (review.stats) */
  review: {
    verdicts: number;
    pairs: number;
    heatmaps: HeatmapShareDto;
    similarity: { correct: number; wrong: number };
  };
}

/** How much one pair's maps moved between two versions. */
export interface ComparePairDto {
  pairId: number;
  label: 0 | 1;
  /** mean over the two images of their movement */
  movement: number;
  /** score of the pair under each version (from the maps' computation) */
  scoreA: number;
  scoreB: number;
  /**
   * per image: the share of the evidence that moved (half the L1 distance between the two
   * versions' factual maps, each scaled to sum 1; 1 when only one has evidence), and the EPG of
   * each version's map when the image has a mask
   */
  images: {
    imageId: number;
    movement: number;
    hasMask: boolean;
    epgA: number | null;
    epgB: number | null;
  }[];
}

/** The result of a 'compare' job (models.compare). */
export interface CompareDto {
  a: CompareVersionDto;
  b: CompareVersionDto;
  /** the split compared and the pairs whose maps both versions have now */
  split: Split;
  pairs: number;
  /** of those, pairs with at least one masked image (EPG, deletion) */
  maskedPairs: number;
  /** b minus a (null when either is missing) */
  delta: { testAccuracy: number | null; testAuc: number | null; epg: number | null; deletionAuc: number | null };
  /** the pairs whose maps moved most, first (more: models.comparePairs) */
  moved: ComparePairDto[];
  /** deletion: the baseline and steps */
  deletion: { baseline: FaithfulnessBaseline; steps: number };
  seconds: number;
}

/** models.comparePairs: a page of the pairs whose maps both versions have, ordered by how much they moved (most first). */
export interface ComparePairsPageDto {
  a: number;
  b: number;
  split: Split;
  method: ExplainMethod;
  total: number;
  offset: number;
  items: ComparePairDto[];
}

// ---- hardening: training resumed from its checkpoint, workspace backups ----

/** A backup written by app.backup / `simlens backup`: one file holding the database and the model folders. */
export interface BackupDto {
  path: string;
  bytes: number;
  /** model version folders packed with the database */
  models: number;
  /** files in the backup (the database, model files, the manifest) */
  files: number;
  schemaVersion: number;
}
