// The one contract between the UI and the main-process side. Main binds it over
// Electron IPC (src/main/ipc.ts) and over HTTP (src/main/web/); the preload exposes
// one function per entry; the renderer and the CLI's --json output use its types.
// Each entry declares its argument schema (checked in main before any service runs)
// and its result type. Add entries here, by domain, and nowhere else.
import type {
  BackupDto,
  AppInfoDto,
  DecoyDemoDto,
  DatasetDetailDto,
  DatasetDto,
  ImagePixelsDto,
  ImportReportDto,
  ImportFileStatus,
  InputPreprocess,
  JobDto,
  ModelArch,
  ModelExportDto,
  ModelExportFormat,
  ModelVersionDto,
  PairPageDto,
} from './dto';
import {
  EXPLAIN_METHODS,
  FAITHFULNESS_BASELINES,
  MODEL_EXPORT_FORMATS,
  type ColormapName,
  type ExplainLayersDto,
  type ExplainMethod,
  type ExplanationDto,
  type FaithfulnessBaseline,
  type FaithfulnessSummaryDto,
  type OverlayDto,
  type ReliabilityDto,
  type SanityDto,
  type Split,
} from './dto';
import { SEED_MAX } from './limits';
import {
  HEATMAP_ANSWERS,
  REVIEW_ORDERS,
  SIMILARITY_ANSWERS,
  type HeatmapAnswer,
  type ReviewBundleExportDto,
  type ReviewerDto,
  type ReviewExportDto,
  type ReviewImportDto,
  type ReviewOrder,
  type ReviewQueueDto,
  type ReviewSessionDto,
  type ReviewStatsDto,
  type ReviewTagDto,
  type SimilarityAnswer,
  type VerdictDto,
  type VerdictResultDto,
  type VerdictUndoDto,
} from './dto';
import { reviewerName, reviewNote, reviewTag, reviewTags } from './review';
import {
  MASK_SOURCES,
  type ExplainMapsDto,
  type MaskCategoryMode,
  type MaskDto,
  type MaskExportDto,
  type MaskExportFormat,
  type MaskImportDto,
  type MaskSaveDto,
  type MaskSource,
  type ReviewBundleMasks,
} from './dto';
import { MASK_COUNTS_MAX_CHARS, maskSizeProblem } from './mask-rle';
import { RETRAIN_LOSS_NAMES, type ComparePairsPageDto, type MaskCoverageDto, type MaskSnapshotDto, type RetrainLossName } from './dto';
import { v, ValidationError, type Check } from './validate';

interface MethodSpec<A, R> {
  args: Check<A>;
  /** Type-level only: the result type of the method. */
  result: R;
}

function method<R>() {
  return <A>(args: Check<A>): MethodSpec<A, R> => ({ args, result: undefined as unknown as R });
}

const id = v.int({ min: 1 });
const limit = (max: number) => v.optional(v.int({ min: 1, max }));
const explainMethod = v.literal<ExplainMethod>(...EXPLAIN_METHODS);
const faithfulnessBaseline = v.literal<FaithfulnessBaseline>(...FAITHFULNESS_BASELINES);
/** Score-CAM's channel cap bounds: 1 .. 8192 (more than any supported layer has: ResNet50's last block has 2048). */
export const SCORECAM_CAP_RANGE = { min: 1, max: 8192 } as const;
const maxChannels = v.optional(v.int(SCORECAM_CAP_RANGE));

/** A page has one cursor at most: `afterId` walks forward, `beforeId` walks back. */
function oneCursor<A extends { afterId?: number; beforeId?: number }>(check: Check<A>): Check<A> {
  return (value, path) => {
    const args = check(value, path);
    if (args.afterId !== undefined && args.beforeId !== undefined)
      throw new ValidationError(`${path}.beforeId: give afterId or beforeId, not both`);
    return args;
  };
}

// review (src/main/services/review.ts): the checks its entries share
const reviewSplit = v.literal<Split>('train', 'val', 'test');
const reviewFilters = v.object({
  unreviewed: v.optional(v.literal('me', 'anyone')),
  falsePositive: v.optional(v.boolean()),
  falseNegative: v.optional(v.boolean()),
  nearThreshold: v.optional(v.boolean()),
  nearBand: v.optional(v.number({ min: 1e-6, max: 1 })),
  heatmapNotSensible: v.optional(v.boolean()),
  reviewersDisagree: v.optional(v.boolean()),
  classLabel: v.optional(v.string({ min: 1, max: 200 })),
  tag: v.optional(reviewTag),
  maskOutside: v.optional(v.boolean()),
});
const reviewOrder = v.literal<ReviewOrder>(...REVIEW_ORDERS);
/** Absent: the workspace's current reviewer (review.setReviewer). */
const asReviewer = v.optional(reviewerName);
const reviewPath = v.string({ min: 1, max: 4096 });

// masks (src/main/services/masks.ts): the checks its entries share
/** A mask's [height, width]. */
const maskSize: Check<[number, number]> = (value, path) => {
  if (!Array.isArray(value) || value.length !== 2)
    throw new ValidationError(`${path}: expected [height, width], got ${JSON.stringify(value)?.slice(0, 60)}`);
  const problem = maskSizeProblem(value[0], value[1]);
  if (problem) throw new ValidationError(`${path}: ${problem}`);
  return [value[0], value[1]];
};
const maskPath = v.string({ min: 1, max: 4096 });

/** A queue page has one cursor at most: `afterPairId` (keyset, stable while the set changes) or `offset` (a position). */
function oneQueueCursor<A extends { afterPairId?: number; offset?: number }>(check: Check<A>): Check<A> {
  return (value, path) => {
    const args = check(value, path);
    if (args.afterPairId !== undefined && args.offset !== undefined)
      throw new ValidationError(`${path}.offset: give afterPairId or offset, not both`);
    return args;
  };
}

export const contract = {
  // app
  'app.info': method<AppInfoDto>()(v.object({})),

  // datasets
  'datasets.list': method<DatasetDto[]>()(v.object({})),
  'datasets.get': method<DatasetDetailDto>()(v.object({ id })),
  /** Starts an import job; progress comes as `job.updated` events. */
  'datasets.import': method<{ jobId: number }>()(
    v.object({
      path: v.string({ min: 1, max: 4096 }),
      kind: v.optional(v.literal('auto', 'folder', 'csv', 'idx')),
      name: v.optional(v.string({ min: 1, max: 200 })),
      /** Import into an existing dataset (content-identical files are not duplicated). */
      datasetId: v.optional(id),
      /** Folder imports: follow symbolic links that point outside the folder (default: report them as skipped). */
      followLinks: v.optional(v.boolean()),
    }),
  ),
  'datasets.delete': method<{ deleted: boolean }>()(v.object({ id })),
  /** Adds the second demo, "Fashion-MNIST with decoys" with its decoy-trained model (idempotent). */
  'demo.addDecoy': method<DecoyDemoDto>()(v.object({})),

  // jobs
  'jobs.list': method<JobDto[]>()(v.object({ limit: limit(500) })),
  'jobs.get': method<JobDto>()(v.object({ id })),
  'jobs.cancel': method<JobDto>()(v.object({ id })),
  'jobs.importReport': method<ImportReportDto>()(
    v.object({
      jobId: id,
      status: v.optional(v.literal<ImportFileStatus>('imported', 'duplicate', 'skipped', 'error')),
      offset: v.optional(v.int({ min: 0 })),
      limit: limit(1000),
    }),
  ),

  // pairs
  /** Splits IMAGES first (stratified, seeded), then draws balanced pairs inside each split. */
  'pairs.generate': method<{ jobId: number }>()(
    v.object({
      datasetId: id,
      seed: v.optional(v.int({ min: 0, max: SEED_MAX })),
      ratios: v.optional(v.tuple3(v.number({ min: 0, max: 100 }))),
      pairsPerAnchor: v.optional(v.int({ min: 1, max: 20 })),
    }),
  ),
  /**
   * One page of pairs in id order (keyset paging, indexed): the first `limit` pairs with an id
   * above `afterId` (default 0), or with `beforeId` the last `limit` pairs with an id below it.
   */
  'pairs.page': method<PairPageDto>()(
    oneCursor(
      v.object({
        datasetId: id,
        pairSetId: v.optional(id),
        split: v.optional(v.literal('train', 'val', 'test')),
        label: v.optional(v.literal(0, 1)),
        afterId: v.optional(v.int({ min: 0 })),
        beforeId: v.optional(id),
        limit: limit(500),
      }),
    ),
  ),

  // models
  'models.list': method<ModelVersionDto[]>()(v.object({ datasetId: v.optional(id) })),
  'models.get': method<ModelVersionDto>()(v.object({ id })),
  /** The version's stored faithfulness summary (explain.faithfulness), or null when none was measured. */
  'models.faithfulness': method<FaithfulnessSummaryDto | null>()(v.object({ id })),
  /**
   * Starts a 'train' job on a pair set (default: the dataset's newest); progress messages carry
   * epoch, loss and val AUC, as text and as `job.data` (JobProgressData 'train.step' / 'train.epoch');
   * the job result holds the new version id and its metrics.
   */
  'models.train': method<{ jobId: number }>()(
    v.object({
      datasetId: id,
      pairSetId: v.optional(id),
      name: v.optional(v.string({ min: 1, max: 200 })),
      arch: v.optional(v.literal<ModelArch>('small', 'resnet18', 'resnet50', 'mobilenetv2', 'pretrained')),
      /** fine-tune this version (same architecture) instead of starting from fresh weights */
      parentId: v.optional(id),
      epochs: v.optional(v.int({ min: 1, max: 1000 })),
      batchSize: v.optional(v.int({ min: 2, max: 4096 })),
      learningRate: v.optional(v.number({ min: 1e-9, max: 1 })),
      margin: v.optional(v.number({ min: 0.01, max: 100 })),
      embeddingSize: v.optional(v.int({ min: 2, max: 4096 })),
      seed: v.optional(v.int({ min: 0, max: SEED_MAX })),
      /** square input side in pixels (default: the images' own size up to 64 for the small CNN, 224 otherwise) */
      inputSize: v.optional(v.int({ min: 8, max: 1024 })),
      /** width multiplier of the architecture (default 1) */
      width: v.optional(v.number({ min: 0.01, max: 4 })),
      /** small CNN only: 'flatten' (default) or 'gap' (global average pooling of the last conv block; Grad-CAM is exact there) */
      head: v.optional(v.literal('flatten', 'gap')),
      /** small CNN only: biases in its convolutions (default false: without them nothing stays active on a black background) */
      convBias: v.optional(v.boolean()),
      augment: v.optional(v.boolean()),
      earlyStoppingPatience: v.optional(v.int({ min: 0, max: 1000 })),
      lrPatience: v.optional(v.int({ min: 0, max: 1000 })),
      /** arch 'pretrained': a tfjs LayersModel folder, the layer to cut at, the blocks kept frozen (-1 = all) */
      backbone: v.optional(
        v.object({
          dir: v.string({ min: 1, max: 4096 }),
          cutLayer: v.optional(v.string({ min: 1, max: 200 })),
          frozenBlocks: v.optional(v.int({ min: -1, max: 1000 })),
        }),
      ),
      /** input preprocessing inside the network (default 'none'): 'tf' [-1, 1], 'caffe' BGR 0-255 minus ImageNet means, 'torch' ImageNet mean/std */
      preprocess: v.optional(v.literal<InputPreprocess>('none', 'tf', 'caffe', 'torch')),
    }),
  ),
  /** Starts an 'evaluate' job: re-scores the version's pair set (val + test by default) and stores metrics and scores. */
  'models.evaluate': method<{ jobId: number }>()(
    v.object({ id, splits: v.optional(v.array(v.literal('train', 'val', 'test'), { max: 3 })) }),
  ),
  'models.delete': method<{ deleted: boolean }>()(v.object({ id })),
  /**
   * Writes the version into folder `path` (created; must be empty if it exists): format 'tfjs' (default)
   * copies its tfjs model folder, 'onnx' writes model.onnx + simlens-onnx.json (ModelExportFormat).
   */
  'models.export': method<ModelExportDto>()(
    v.object({ id, path: v.string({ min: 1, max: 4096 }), format: v.optional(v.literal<ModelExportFormat>(...MODEL_EXPORT_FORMATS)) }),
  ),

  // explanations (src/main/services/explain.ts)
  /** The model's selectable target layers (with the default: the last conv block) and the methods. */
  'explain.layers': method<ExplainLayersDto>()(v.object({ modelId: id })),
  /** Explains one pair (or returns the stored explanation): per-image map summaries and the score. */
  'explain.pair': method<ExplanationDto>()(
    v.object({
      pairId: id,
      modelId: id,
      method: v.optional(explainMethod),
      layer: v.optional(v.string({ min: 1, max: 200 })),
      /** recompute even when stored */
      refresh: v.optional(v.boolean()),
      /** Score-CAM only: mask at most this many channels per image, those with the most activation (default 256) */
      maxChannels,
    }),
  ),
  /** A stored map upsampled onto its image as a PNG data URL (computed first if not stored); cached. */
  'explain.overlay': method<OverlayDto>()(
    v.object({
      pairId: id,
      modelId: id,
      method: v.optional(explainMethod),
      layer: v.optional(v.string({ min: 1, max: 200 })),
      image: v.literal('a', 'b'),
      kind: v.optional(v.literal('factual', 'counterfactual')),
      colormap: v.optional(v.literal<ColormapName>('jet', 'viridis')),
      opacity: v.optional(v.number({ min: 0, max: 1 })),
    }),
  ),
  /** Starts an 'explain' job over a split of the model's pair set or a list of pairs; stores the maps. */
  'explain.batch': method<{ jobId: number }>()(
    v.object({
      modelId: id,
      split: v.optional(v.literal<Split>('train', 'val', 'test')),
      pairIds: v.optional(v.array(id, { max: 100_000 })),
      /** only same (1) or different (0) pairs */
      label: v.optional(v.literal(0, 1)),
      method: v.optional(explainMethod),
      layer: v.optional(v.string({ min: 1, max: 200 })),
      limit: v.optional(v.int({ min: 1, max: 1_000_000 })),
      /** skip pairs already explained with this method and layer (default true) */
      skipExisting: v.optional(v.boolean()),
      /** Score-CAM only: mask at most this many channels per image, those with the most activation (default 256) */
      maxChannels,
    }),
  ),
  /** Starts a 'metrics' job: deletion / insertion AUC vs random and centre-prior maps; EPG, pointing game, IoU where masks exist. */
  'explain.metrics': method<{ jobId: number }>()(
    v.object({
      modelId: id,
      split: v.optional(v.literal<Split>('train', 'val', 'test')),
      pairIds: v.optional(v.array(id, { max: 100_000 })),
      /** only same (1) or different (0) pairs */
      label: v.optional(v.literal(0, 1)),
      method: v.optional(explainMethod),
      layer: v.optional(v.string({ min: 1, max: 200 })),
      limit: v.optional(v.int({ min: 1, max: 100_000 })),
      steps: v.optional(v.int({ min: 2, max: 1000 })),
      seed: v.optional(v.int({ min: 0, max: SEED_MAX })),
      iouThreshold: v.optional(v.number({ min: 0, max: 1 })),
      /** Score-CAM only: the channel cap of the measured maps (as in explain.pair) */
      maxChannels,
    }),
  ),
  /**
   * Starts a 'faithfulness' job: on a seeded sample of the version's pairs (default: 64
   * same-class validation pairs), every method's factual maps scored by deletion and insertion
   * under every baseline, against a random map and the centre prior. The summary is stored with
   * the version (models.faithfulness) and sets its default method (explain.layers).
   */
  'explain.faithfulness': method<{ jobId: number }>()(
    v.object({
      modelId: id,
      split: v.optional(v.literal<Split>('train', 'val', 'test')),
      /** same (1, default) or different (0) pairs */
      label: v.optional(v.literal(0, 1)),
      limit: v.optional(v.int({ min: 1, max: 5000 })),
      methods: v.optional(v.array(explainMethod, { min: 1, max: EXPLAIN_METHODS.length })),
      baselines: v.optional(v.array(faithfulnessBaseline, { min: 1, max: FAITHFULNESS_BASELINES.length })),
      steps: v.optional(v.int({ min: 2, max: 1000 })),
      seed: v.optional(v.int({ min: 0, max: SEED_MAX })),
      maxChannels,
    }),
  ),
  /**
   * A reliability hint for the maps of one pair: each image's deletion AUC against a seeded
   * random map's on the same pair (default baseline ROAD, 16 steps); a map no better than random
   * is flagged. Computed on demand, not stored.
   */
  'explain.reliability': method<ReliabilityDto>()(
    v.object({
      pairId: id,
      modelId: id,
      method: v.optional(explainMethod),
      layer: v.optional(v.string({ min: 1, max: 200 })),
      baseline: v.optional(faithfulnessBaseline),
      steps: v.optional(v.int({ min: 2, max: 256 })),
      seed: v.optional(v.int({ min: 0, max: SEED_MAX })),
      maxChannels,
    }),
  ),
  /** Adebayo et al.'s sanity check: cascading randomisation of the weights from the top; rank correlations per step. */
  'explain.sanity': method<SanityDto>()(
    v.object({
      pairId: id,
      modelId: id,
      method: v.optional(explainMethod),
      layer: v.optional(v.string({ min: 1, max: 200 })),
      /** randomise at most this many layers (default: all with weights) */
      maxLayers: v.optional(v.int({ min: 1, max: 500 })),
      seed: v.optional(v.int({ min: 0, max: SEED_MAX })),
    }),
  ),

  // images
  /** PNG thumbnails as data: URLs, keyed by image id (unknown ids are absent). */
  'images.thumbnails': method<Record<number, string>>()(v.object({ ids: v.array(id, { max: 1000 }) })),
  /** One image's stored pixels, full size (the magic wand reads their colours; a thumbnail is at most 128 px). */
  'images.pixels': method<ImagePixelsDto>()(v.object({ id })),

  // review (src/main/services/review.ts, review-export.ts, review-bundles.ts): verdicts per pair, model version and reviewer
  /** The workspace's current reviewer (null until set) and every reviewer with verdicts here. */
  'review.reviewer': method<ReviewerDto>()(v.object({})),
  /** Sets the current reviewer of this workspace (trimmed; 1-100 characters, no control characters). */
  'review.setReviewer': method<ReviewerDto>()(v.object({ name: reviewerName })),
  /**
   * A page of the review queue: the model version's pairs of a split, filtered (AND), ordered, with
   * this reviewer's current verdicts, and the count of every filter on the split's pairs.
   */
  'review.queue': method<ReviewQueueDto>()(
    oneQueueCursor(
      v.object({
        modelId: id,
        split: reviewSplit,
        filters: v.optional(reviewFilters),
        /** default 'uncertainty' */
        order: v.optional(reviewOrder),
        /** the 'random' order's seed (default 0) */
        seed: v.optional(v.int({ min: 0, max: SEED_MAX })),
        /** the page after this pair in the queue's order (the pair itself need not pass the filters) */
        afterPairId: v.optional(id),
        /** the page from this position */
        offset: v.optional(v.int({ min: 0 })),
        limit: limit(500),
        reviewer: asReviewer,
      }),
    ),
  ),
  /** The reviewer's stored session on a version (default: their latest), with where it resumes; null when none. */
  'review.session': method<ReviewSessionDto | null>()(v.object({ modelId: v.optional(id), reviewer: asReviewer })),
  /** Stores the reviewer's session on a version (one per reviewer and version): split, filters, order, seed, the pair they are on. */
  'review.saveSession': method<ReviewSessionDto>()(
    v.object({
      modelId: id,
      split: reviewSplit,
      filters: v.optional(reviewFilters),
      order: v.optional(reviewOrder),
      seed: v.optional(v.int({ min: 0, max: SEED_MAX })),
      pairId: v.optional(id),
      position: v.optional(v.int({ min: 0 })),
      reviewer: asReviewer,
    }),
  ),
  /**
   * Records a verdict on a pair for a model version: the full new state (absent answers are null;
   * at least one answer, a note or a tag). A heatmap answer needs the method and layer shown.
   * A change adds a row (the earlier one stays as history); the same answers again add nothing.
   */
  'review.verdict': method<VerdictResultDto>()(
    v.object({
      pairId: id,
      modelId: id,
      similarity: v.optional(v.literal<SimilarityAnswer>(...SIMILARITY_ANSWERS)),
      heatmapA: v.optional(v.literal<HeatmapAnswer>(...HEATMAP_ANSWERS)),
      heatmapB: v.optional(v.literal<HeatmapAnswer>(...HEATMAP_ANSWERS)),
      method: v.optional(explainMethod),
      layer: v.optional(v.string({ min: 1, max: 200 })),
      note: v.optional(reviewNote),
      tags: v.optional(reviewTags),
      reviewer: asReviewer,
    }),
  ),
  /** Removes the reviewer's newest verdict on the pair (default: on their most recently judged pair of the version); the earlier one is current again. */
  'review.undo': method<VerdictUndoDto>()(v.object({ modelId: id, pairId: v.optional(id), reviewer: asReviewer })),
  /** Every verdict row of a pair and version (all reviewers, or one), newest first. */
  'review.history': method<VerdictDto[]>()(v.object({ pairId: id, modelId: id, reviewer: v.optional(reviewerName) })),
  /** The tags to offer: the defaults and every tag in use, with their counts on current verdicts (of a version, or all). */
  'review.tags': method<ReviewTagDto[]>()(v.object({ modelId: v.optional(id) })),
  /** A version's review summary: tallies, heatmaps judged sensible per class and method, verdicts vs the model's error, tags, kappas. */
  'review.stats': method<ReviewStatsDto>()(v.object({ modelId: id })),
  /** Writes verdicts (current ones; with `history` also superseded rows) as CSV or JSON, one row per verdict. */
  'review.export': method<ReviewExportDto>()(
    v.object({
      path: reviewPath,
      format: v.literal('csv', 'json'),
      modelId: v.optional(id),
      datasetId: v.optional(id),
      reviewer: v.optional(reviewerName),
      history: v.optional(v.boolean()),
    }),
  ),
  /**
   * Writes a review bundle (JSON, checksummed): the verdicts with history of one dataset's versions
   * (or one version), keyed by image content hashes and model fingerprints, for review.importBundle.
   */
  'review.exportBundle': method<ReviewBundleExportDto>()(
    v.object({
      path: reviewPath,
      modelId: v.optional(id),
      datasetId: v.optional(id),
      reviewer: v.optional(reviewerName),
      /** the dataset's masks it carries (of `reviewer` only, when given): with history (default), each (image, author)'s newest, or none */
      masks: v.optional(v.literal<ReviewBundleMasks>('history', 'newest', 'none')),
    }),
  ),
  /**
   * Imports a review bundle, all or nothing: images matched by content hash, versions by fingerprint,
   * verdicts already known (by uid) skipped, nothing overwritten. `dryRun` reports without writing.
   */
  'review.importBundle': method<ReviewImportDto>()(v.object({ path: reviewPath, dryRun: v.optional(v.boolean()) })),

  // masks (src/main/services/masks.ts, masks-exchange.ts): per image and author, with history; the RLE codec is src/shared/mask-rle.ts
  /** The newest mask of an image: the author's, or (no author) the newest of anyone; null when none. */
  'masks.get': method<MaskDto | null>()(v.object({ imageId: id, author: v.optional(reviewerName) })),
  /** Every mask row of an image (one author's, or all), newest first; `limit` keeps the newest ones. */
  'masks.history': method<MaskDto[]>()(v.object({ imageId: id, author: v.optional(reviewerName), limit: limit(1_000_000) })),
  /**
   * Stores a mask as a new row (the earlier ones stay as history): `size` must be the stored
   * image's [height, width], `counts` a COCO compressed string covering exactly that many pixels.
   * The same pixels as the author's newest mask add nothing (changed: false). Saves are stored in
   * the order they arrive (the renderer may send one per stroke without waiting).
   */
  'masks.save': method<MaskSaveDto>()(
    v.object({
      imageId: id,
      author: reviewerName,
      size: maskSize,
      counts: v.string({ min: 1, max: MASK_COUNTS_MAX_CHARS }),
      source: v.literal<MaskSource>(...MASK_SOURCES),
    }),
  ),
  /**
   * Writes a dataset's masks: 'png' (a folder of <imageId>_<file stem>.png, 0/255 at the image's
   * size: per image the newest mask, of `author` or of anyone; `history` adds superseded rows in
   * history/), 'coco' (one JSON, RLE annotations) or 'csv' (one row per mask). COCO and CSV carry
   * each (image, author)'s newest row, or every row with `history`. `out`: a folder, or the file
   * for coco (.json) and csv (.csv).
   */
  'masks.export': method<MaskExportDto>()(
    v.object({
      datasetId: v.optional(id),
      format: v.literal<MaskExportFormat>('png', 'coco', 'csv'),
      out: maskPath,
      author: v.optional(reviewerName),
      history: v.optional(v.boolean()),
      /** COCO categories: one per class label (default) or a single "relevant" */
      category: v.optional(v.literal<MaskCategoryMode>('class', 'relevant')),
    }),
  ),
  /**
   * Imports masks: a folder of PNGs (matched by a leading "<imageId>_" or by the image file's
   * stem; any non-zero pixel is inside) or a COCO JSON file (matched by file_name; compressed or
   * uncompressed RLE, polygons). Every file or annotation is reported; bad ones are refused with
   * the reason and the rest imported, as new rows (nothing is replaced). Default author: the
   * COCO annotation's attributes.author, else "import".
   */
  'masks.import': method<MaskImportDto>()(v.object({ datasetId: v.optional(id), path: maskPath, author: v.optional(reviewerName) })),
  /**
   * The raw factual and counterfactual maps of a pair's two images (stored, or computed and
   * stored), at most EXPLAIN_MAPS_MAX_SIDE cells a side, with the images' sizes: the renderer
   * measures them against the mask being painted (src/shared/mask-agreement.ts).
   */
  'explain.maps': method<ExplainMapsDto>()(
    v.object({
      pairId: id,
      modelId: id,
      method: v.optional(explainMethod),
      layer: v.optional(v.string({ min: 1, max: 200 })),
      maxChannels,
    }),
  ),

  // retraining with the experts' masks, comparing versions (src/main/services/models.ts, compare.ts)
  /**
   * Starts a 'retrain' job: version `id` trained further with the masks of its pair set's TRAIN
   * images (the newest per image, of `author` when given; masks on val/test images only measure):
   * the contrastive loss plus a mask loss on the Grad-CAM maps with weight `lambda`, or mask-guided
   * augmentation. Progress as a 'train' job's (job.data 'train.step' / 'train.epoch'); the result
   * holds the new version (parentId = id) and how it was retrained; the masks used are stored with it.
   */
  'models.retrain': method<{ jobId: number }>()(
    v.object({
      id,
      /** default RETRAIN_DEFAULTS.loss ('energy') */
      loss: v.optional(v.literal<RetrainLossName>(...RETRAIN_LOSS_NAMES)),
      /** weight of the mask loss (default RETRAIN_DEFAULTS.lambda: 30 for rrr, 5 for energy, 10 for hint) */
      lambda: v.optional(v.number({ min: 0, max: 1e6 })),
      epochs: v.optional(v.int({ min: 1, max: 1000 })),
      /** only this author's masks */
      author: v.optional(v.string({ min: 1, max: 100 })),
      name: v.optional(v.string({ min: 1, max: 200 })),
      batchSize: v.optional(v.int({ min: 2, max: 4096 })),
      learningRate: v.optional(v.number({ min: 1e-9, max: 1 })),
      seed: v.optional(v.int({ min: 0, max: SEED_MAX })),
      /** the maps the loss looks at: 'factual' (the map of the similarity) or 'both' (default: also the counterfactual) */
      maps: v.optional(v.literal('factual', 'both')),
      /** train only the layers above the map layer (cheaper) */
      freezeBelow: v.optional(v.boolean()),
      /** each masked train image is an anchor this many times per epoch (default 4) */
      maskedRepeat: v.optional(v.int({ min: 1, max: 100 })),
    }),
  ),
  /** Which images of the version's pair set have masks (per split; train-image authors), and whether a retraining can start. */
  'models.maskCoverage': method<MaskCoverageDto>()(v.object({ id, author: v.optional(v.string({ min: 1, max: 100 })) })),
  /** A page of the masks a retrained version used (ids and authors when it was trained), by mask id. */
  'models.maskSnapshot': method<MaskSnapshotDto>()(v.object({ id, offset: v.optional(v.int({ min: 0 })), limit: limit(10_000) })),
  /**
   * Starts a 'compare' job for two versions on a split of a's pair set (default 'test'): both
   * versions' maps of its pairs (computed where not stored, then stored: explain.overlay shows them
   * side by side), test accuracy and ROC AUC, mean EPG and deletion AUC on the pairs whose images
   * have masks, review tallies, and the pairs whose maps moved most.
   */
  'models.compare': method<{ jobId: number }>()(
    v.object({
      a: id,
      b: id,
      split: v.optional(v.literal<Split>('train', 'val', 'test')),
      /** default 'gradcam' (the map mask-guided retraining moves) */
      method: v.optional(explainMethod),
      /** pairs compared (a seeded sample when the split has more; default 1000) */
      limit: v.optional(v.int({ min: 1, max: 100_000 })),
      /** masked pairs measured by deletion (default 200) and the deletion steps (default 16) */
      maskedLimit: v.optional(v.int({ min: 1, max: 10_000 })),
      steps: v.optional(v.int({ min: 2, max: 256 })),
      seed: v.optional(v.int({ min: 0, max: SEED_MAX })),
    }),
  ),
  /** A page of the pairs of a split whose maps both versions have stored, ordered by how much the maps moved (most first). */
  'models.comparePairs': method<ComparePairsPageDto>()(
    v.object({
      a: id,
      b: id,
      split: v.optional(v.literal<Split>('train', 'val', 'test')),
      method: v.optional(explainMethod),
      /** only pairs with a masked image */
      maskedOnly: v.optional(v.boolean()),
      offset: v.optional(v.int({ min: 0 })),
      limit: limit(500),
    }),
  ),

  // hardening: resuming an interrupted training, workspace backups
  /** Continues an interrupted training job (killed, or the app closed while it ran) from its last epoch checkpoint as a new job. */
  'models.resumeTrain': method<{ jobId: number }>()(v.object({ jobId: id })),
  /**
   * A consistent copy of the workspace while it is in use (SQLite's online backup) with the model
   * folders, as one file; default: <workspace>/backups/simlens-<time>.simlens-backup.
   */
  'app.backup': method<BackupDto>()(v.object({ path: v.optional(v.string({ min: 1, max: 4096 })) })),
} as const;

export type Contract = typeof contract;
export type MethodName = keyof Contract;
export type ArgsOf<M extends MethodName> = ReturnType<Contract[M]['args']>;
export type ResultOf<M extends MethodName> = Contract[M]['result'];
export const METHOD_NAMES = Object.keys(contract) as MethodName[];

/** What the UI calls: one async function per contract entry. */
export type Api = { [M in MethodName]: (args: ArgsOf<M>) => Promise<ResultOf<M>> };

/** Events pushed from main to the UI. */
export interface Events {
  /** A job changed; `data` (JobDto) carries the structured progress of the latest update while it runs. */
  'job.updated': JobDto;
}
export type EventName = keyof Events;
export const EVENT_NAMES: EventName[] = ['job.updated'];

/** Errors cross the boundary as { code, message }; codes let the UI react without parsing text. */
export type ErrorCode = 'invalid_argument' | 'not_found' | 'conflict' | 'failed' | 'unknown_method' | 'unauthorized';
export interface ContractError {
  code: ErrorCode;
  message: string;
}

export function isMethodName(name: string): name is MethodName {
  return Object.prototype.hasOwnProperty.call(contract, name);
}

/** Validates untrusted arguments for a method; throws ValidationError naming the field. */
export function checkArgs<M extends MethodName>(name: M, args: unknown): ArgsOf<M> {
  return contract[name].args(args ?? {}, 'args') as ArgsOf<M>;
}
