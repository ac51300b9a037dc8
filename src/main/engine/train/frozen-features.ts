// Training with frozen blocks (a 'pretrained' backbone with config.backbone.frozenBlocks, issue
// #12): the frozen part's forward on ONNX Runtime, only the part above it in tfjs.
//
// The boundary is the last layer of the last frozen block (models/pretrained.ts: backboneBlocks);
// it must be a cut point of the network (its output is the only tensor the layers above see) and
// every layer up to it must hold no trainable weight. The frozen part is then a PURE function of
// the image: its weights never change (no trainable weight, and the optimizer only gets
// net.trainableWeights), its BatchNorm layers run in inference mode with their moving statistics
// even in training (useKerasBatchNormSemantics, models/layers-util.ts), and a frozen part with a
// Dropout layer is refused (the only layer whose training forward is random that the exporter
// converts). So its output for an image is the same in every epoch, and on ONNX Runtime it is the
// same as tfjs' within float rounding: each is checked like a saved version's export
// (onnx/accelerator.ts: two seeded random images, max |ort - tfjs| <= 1e-4 of the magnitude).
//
// The part above the boundary is buildHead(net, boundary) (explain/split-model.ts): the same
// layers re-applied on a new input, sharing the weights, so the run trains and saves the whole
// network as before; Adam's variables are net.trainableWeights in the same order (checkpoints
// are those of the plain runner).
//
// Features are cached per image across epochs (train images when no augmentation touches the
// input, and the validation images, which are never augmented), computed once on ONNX Runtime
// the first time a batch (or the validation scoring) needs them. With augmentation the train
// features are computed per batch from the augmented images. Memory bound: the cache is used only
// when all the images it would hold fit in FROZEN_CACHE_MAX_MB (default 1024 MiB of float32;
// SIMLENS_FROZEN_CACHE_MB overrides it); above it every batch's features are computed on ONNX
// Runtime per batch (still no frozen forward nor backward in tfjs).
//
// Where it cannot apply (not a pretrained model, no frozen blocks, inference engine 'tfjs', a
// boundary that is not a single tensor, an export that fails or disagrees with tfjs) the reason is
// returned, and the run trains the whole network in tfjs as before.
import * as tf from '@tensorflow/tfjs';
import { imageSize, type ImageSet, type PairList } from '../data/dataset';
import { pairImages, pairScoresFrom } from '../evaluate/evaluate';
import { buildHead } from '../explain/split-model';
import { cutPointLayers, type ST } from '../models/layers-util';
import { backboneBlocks } from '../models/pretrained';
import type { ModelConfig } from '../models/config';
import { disposeWithNet, type SiameseModel } from '../models/siamese';
import { ONNX_CACHE_TOLERANCE, relativeDifference } from '../onnx/accelerator';
import { exportToOnnx } from '../onnx/export';
import { OnnxModelSession } from '../onnx/session';
import { inferenceInfo, initInference } from '../runtime/inference';
import { describeFrozenFeatures } from '../../../shared/inference';
import { isIdentity } from './augment';
import type { MapSplit } from './mask/split';
import type { StepBatch, StepForward, TrainConfig, TrainData } from './trainer';

/** Why the train images' features are computed per batch when the batches' rows are changed images. */
const CHANGED_ROWS_REASON = 'augmentation changes the train images: their features are computed per batch';

/** Default bound of the feature cache, in MiB of float32. */
export const FROZEN_CACHE_MAX_MB = 1024;
/** Images per ONNX Runtime run: at most this many floats of input (as onnx/accelerator.ts). */
const MAX_RUN_FLOATS = 8 * 1024 * 1024;
/** Images per head forward when scoring the validation pairs. */
const SCORE_BATCH = 256;
const CHECK_IMAGES = 2;

/** How a run used frozen features (kept with the training result in the version's siamese.json). */
export interface FrozenFeaturesInfo {
  /** Whether the frozen part ran on ONNX Runtime (else the whole network trained in tfjs, as before). */
  used: boolean;
  /** The last layer of the last frozen block. */
  boundary?: string;
  /** Floats per image at the boundary. */
  featureSize?: number;
  /** Whether features were cached across epochs. */
  cached?: boolean;
  /** Why the frozen part ran in tfjs (used: false), or why the train features were not cached (used: true). */
  reason?: string;
  /** ONNX Runtime's work: runs, and images through the frozen part. */
  ortRuns: number;
  ortImages: number;
}

/** What computes the frozen part's output: flat features [count, featureSize] of images [count, H, W, C]. */
export interface FeatureEngine {
  run(images: Float32Array, count: number): Promise<Float32Array>;
  release(): Promise<void>;
}

/** Whether a model of this config has frozen blocks (frozen-feature training may apply). */
export const hasFrozenBlocks = (config: ModelConfig): boolean => config.arch === 'pretrained' && (config.backbone?.frozenBlocks ?? 0) !== 0;

/** Why trainSiamese with a custom epoch planner runs the frozen blocks in tfjs (retrain.ts plans its own runner). */
export const PLANNER_FROZEN_REASON = 'a custom epoch planner trains the frozen part in tfjs';

/** The FrozenFeaturesInfo of a run whose frozen part ran in tfjs, and why. */
export const frozenInTfjs = (reason: string): FrozenFeaturesInfo => ({ used: false, reason, ortRuns: 0, ortImages: 0 });

/** The line the training log gets about a run with frozen blocks. */
export function frozenNote(info: FrozenFeaturesInfo): string {
  return `frozen blocks: ${describeFrozenFeatures(info)}`;
}

/** The boundary layer of the frozen part of `model`, or why there is none to use. */
export function frozenBoundary(model: SiameseModel): { layer: tf.layers.Layer } | { reason: string } {
  const backbone = model.config.backbone;
  if (model.config.arch !== 'pretrained' || !backbone) return { reason: 'not a pretrained backbone' };
  const frozen = backbone.frozenBlocks ?? 0;
  if (frozen === 0) return { reason: 'no frozen blocks' };
  const net = model.net;
  const end = net.layers.findIndex((l) => l.name === backbone.cutLayer);
  if (end < 0) return { reason: `the network has no cut layer "${backbone.cutLayer ?? ''}"` };
  const blocks = backboneBlocks(net, end);
  const n = frozen < 0 ? blocks.length : Math.min(frozen, blocks.length);
  if (n === 0) return { reason: 'no frozen blocks' };
  const layer = blocks[n - 1][blocks[n - 1].length - 1];
  if (!cutPointLayers(net).includes(layer))
    return { reason: `the frozen part's output is not a single tensor (other paths bypass "${layer.name}")` };
  const upTo = net.layers.indexOf(layer);
  for (const l of net.layers.slice(0, upTo + 1)) {
    if (l.trainableWeights.length > 0) return { reason: `layer "${l.name}", below the boundary "${layer.name}", is trainable` };
    const rate = (l as unknown as { rate?: number }).rate;
    if (l.getClassName() === 'Dropout' && (rate ?? 0) > 0)
      return { reason: `the frozen part has a Dropout layer "${l.name}" (random in training)` };
  }
  return { layer };
}

/**
 * The frozen part (input to `boundary`, flattened as tfjs orders it) on ONNX Runtime: exported,
 * then checked against tfjs' training-mode forward on seeded random images. Throws on a failed
 * export or a disagreement.
 */
export async function onnxFeatureEngine(model: SiameseModel, boundary: tf.layers.Layer): Promise<FeatureEngine> {
  const out = boundary.getOutputAt(0) as ST;
  // One output, the features: ONNX Runtime computes every node of a graph whatever is fetched, so
  // the exported graph stops at the boundary (a Flatten: no weights, nothing added to the net).
  const flat = out.shape.length > 2 ? (tf.layers.flatten({ name: `${boundary.name}_frozen_features` }).apply(out) as ST) : out;
  const features = tf.model({ inputs: model.net.inputs, outputs: flat, name: `${model.net.name}_frozen_to_${boundary.name}` });
  const { bytes } = await exportToOnnx(features);
  const session = await OnnxModelSession.create(bytes);
  try {
    const x = tf.randomUniform([CHECK_IMAGES, ...model.config.inputShape], 0, 1, 'float32', 4321);
    const want = features.apply(x, { training: true }) as tf.Tensor;
    try {
      const got = await session.embed((await x.data()) as Float32Array, CHECK_IMAGES);
      const d = relativeDifference(got.data, (await want.data()) as Float32Array);
      if (!(d <= ONNX_CACHE_TOLERANCE))
        throw new Error(
          `ONNX Runtime's frozen part differs from tfjs' by ${d.toExponential(2)} of its magnitude (tolerance ${ONNX_CACHE_TOLERANCE})`,
        );
    } finally {
      tf.dispose([x, want]);
    }
  } catch (error) {
    await session.release();
    throw error;
  }
  return {
    run: async (images, count) => (await session.embed(images, count)).data,
    release: () => session.release(),
  };
}

/** The cache bound in floats: SIMLENS_FROZEN_CACHE_MB, else FROZEN_CACHE_MAX_MB. */
export function frozenCacheMaxFloats(env: NodeJS.ProcessEnv = process.env): number {
  const mb = Number(env.SIMLENS_FROZEN_CACHE_MB);
  return ((Number.isFinite(mb) && mb >= 0 ? mb : FROZEN_CACHE_MAX_MB) * 1024 * 1024) / 4;
}

export interface FrozenTraining {
  /** The local runner's forward: features in, the part above the boundary in training mode. */
  forward: StepForward;
  /** Validation scores with the current weights (features, then the head in inference mode). */
  scoreVal(images: ImageSet, pairs: PairList, signal?: AbortSignal): Promise<Float32Array>;
  info: FrozenFeaturesInfo;
  release(): Promise<void>;
}

export interface FrozenOptions {
  /** The engine of the frozen part (tests); default: ONNX Runtime when this thread's inference engine is 'ort'. */
  engine?: (model: SiameseModel, boundary: tf.layers.Layer) => Promise<FeatureEngine>;
  /** Cache bound in floats (default frozenCacheMaxFloats()). */
  maxCacheFloats?: number;
}

/** Why this thread does not run frozen parts on ONNX Runtime (its inference engine is tfjs), or null. */
export async function onnxUnavailable(): Promise<string | null> {
  const inference = inferenceInfo() ?? (await initInference());
  return inference.name === 'ort'
    ? null
    : `the inference engine is tfjs${inference.notes.length > 0 ? ` (${inference.notes.join('; ')})` : ''}`;
}

/** The frozen part of `model` as a flat feature engine, its boundary and its output shape; or why not. */
export async function frozenPart(
  model: SiameseModel,
  makeEngine?: FrozenOptions['engine'],
): Promise<{ boundary: tf.layers.Layer; featureShape: number[]; engine: FeatureEngine } | { reason: string }> {
  const found = frozenBoundary(model);
  if ('reason' in found) return found;
  if (!makeEngine) {
    const reason = await onnxUnavailable();
    if (reason) return { reason };
  }
  try {
    const engine = await (makeEngine ?? onnxFeatureEngine)(model, found.layer);
    return { boundary: found.layer, featureShape: (found.layer.getOutputAt(0) as ST).shape.slice(1) as number[], engine };
  } catch (error) {
    return { reason: `the frozen part could not run on ONNX Runtime: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/**
 * The frozen features of a run's images: cached per image of TrainData.images (the validation
 * images, and the train images when no augmentation touches them) when they all fit in the bound,
 * else computed whenever asked; `compute` runs the frozen part (ONNX Runtime here or in the
 * replicas) and counts its runs in `info`.
 */
export class FeatureCache {
  readonly info: FrozenFeaturesInfo;
  private readonly imageFloats: number;
  private readonly rows: Map<number, number> | null = null;
  private readonly store: Float32Array | null = null;
  private readonly done: Uint8Array | null = null;

  constructor(
    private readonly data: TrainData,
    cfg: TrainConfig,
    boundary: string,
    readonly featureSize: number,
    private readonly compute: (images: Float32Array, count: number) => Promise<Float32Array>,
    maxFloats = frozenCacheMaxFloats(),
  ) {
    this.imageFloats = imageSize(data.images.shape);
    this.info = { used: true, boundary, featureSize, cached: false, ortRuns: 0, ortImages: 0 };
    const augmented = !isIdentity(cfg.augment);
    const cacheable = new Set<number>(pairImages([data.val]).used);
    if (!augmented) {
      if (data.train) data.train.indices.forEach((i) => cacheable.add(i));
      else for (const i of [...data.trainPairs!.a, ...data.trainPairs!.b]) cacheable.add(i);
    }
    const cacheFloats = cacheable.size * featureSize;
    if (cacheFloats <= maxFloats) {
      this.rows = new Map([...cacheable].map((img, r) => [img, r]));
      this.store = new Float32Array(cacheFloats);
      this.done = new Uint8Array(cacheable.size);
      this.info.cached = !augmented;
      if (augmented) this.info.reason = CHANGED_ROWS_REASON;
    } else {
      const mib = (f: number) => Math.round((f * 4) / (1024 * 1024));
      this.info.reason = `the features of ${cacheable.size} images would take ${mib(cacheFloats)} MiB (bound ${mib(maxFloats)} MiB): computed per batch`;
    }
  }

  /** Features [count, featureSize] of a training batch's images (from the cache when its rows are images unchanged). */
  ofBatch(batch: StepBatch): Promise<Float32Array> {
    // rows that are not the stored images (augmentation, also mask-guided): computed per batch
    if (!batch.imageIds && this.info.cached) {
      this.info.cached = false;
      this.info.reason = CHANGED_ROWS_REASON;
    }
    const size = this.imageFloats;
    return this.featuresOf(batch.count, (s) => batch.images.subarray(s * size, (s + 1) * size), batch.imageIds);
  }

  /** Features [ids.length, featureSize] of images `ids` of `images` (cached when those are the run's images). */
  ofImages(images: ImageSet, ids: number[]): Promise<Float32Array> {
    const size = imageSize(images.shape);
    return this.featuresOf(
      ids.length,
      (s) => images.pixels.subarray(ids[s] * size, (ids[s] + 1) * size),
      images === this.data.images ? ids : undefined,
    );
  }

  /**
   * Features of `count` images, image s read by pixels(s); `ids[s]`, when given, says image s is
   * image ids[s] of data.images unchanged, so its features may come from (and go into) the cache.
   */
  private async featuresOf(count: number, pixels: (s: number) => Float32Array, ids?: ArrayLike<number>): Promise<Float32Array> {
    const { featureSize: f, rows, store, done } = this;
    const out = new Float32Array(count * f);
    const runSlots: number[] = []; // images to run, each cacheable one once
    const runIndex = new Int32Array(count).fill(-1); // slot -> its row in the run (or -1: from the cache)
    const firstSlot = new Map<number, number>();
    for (let s = 0; s < count; s++) {
      const row = ids && rows ? rows.get(ids[s]) : undefined;
      if (row !== undefined && done![row]) continue;
      if (row !== undefined) {
        const first = firstSlot.get(ids![s]);
        if (first !== undefined) {
          runIndex[s] = runIndex[first];
          continue;
        }
        firstSlot.set(ids![s], s);
      }
      runIndex[s] = runSlots.length;
      runSlots.push(s);
    }
    if (runSlots.length > 0) {
      const buf = new Float32Array(runSlots.length * this.imageFloats);
      runSlots.forEach((s, j) => buf.set(pixels(s), j * this.imageFloats));
      const computed = await this.compute(buf, runSlots.length);
      if (computed.length !== runSlots.length * f)
        throw new Error(`The frozen part gave ${computed.length} values for ${runSlots.length} images of ${f}`);
      this.info.ortImages += runSlots.length;
      for (let s = 0; s < count; s++) if (runIndex[s] >= 0) out.set(computed.subarray(runIndex[s] * f, (runIndex[s] + 1) * f), s * f);
      if (ids && rows)
        for (const [id, s] of firstSlot) {
          const row = rows.get(id)!;
          store!.set(out.subarray(s * f, (s + 1) * f), row * f);
          done![row] = 1;
        }
    }
    if (ids && rows)
      for (let s = 0; s < count; s++) {
        if (runIndex[s] >= 0) continue;
        const row = rows.get(ids[s])!;
        out.set(store!.subarray(row * f, (row + 1) * f), s * f);
      }
    return out;
  }
}

/**
 * Scores of `pairs` from their images' frozen features: `embed` maps features [n, featureSize]
 * to embeddings [n, D] (the head with the current weights), SCORE_BATCH images at a time.
 */
export async function scoreFromFeatures(
  cache: FeatureCache,
  images: ImageSet,
  pairs: PairList,
  embed: (features: Float32Array, count: number) => Promise<Float32Array>,
  o: { dim: number; tau: number; signal?: AbortSignal },
): Promise<{ score: Float32Array; distance: Float32Array }> {
  const { used, slot } = pairImages([pairs]);
  const embeddings = new Float32Array(used.length * o.dim);
  for (let start = 0; start < used.length; start += SCORE_BATCH) {
    if (o.signal?.aborted) throw new Error('cancelled');
    const ids = used.slice(start, start + SCORE_BATCH);
    embeddings.set(await embed(await cache.ofImages(images, ids), ids.length), start * o.dim);
  }
  return pairScoresFrom(embeddings, o.dim, slot, pairs, o.tau);
}

/** Runs images [count, H, W, C] through `engine` in runs of at most MAX_RUN_FLOATS input floats. */
export async function runChunked(
  engine: FeatureEngine,
  images: Float32Array,
  count: number,
  featureSize: number,
  onRun?: () => void,
): Promise<Float32Array> {
  const imageFloats = images.length / Math.max(1, count);
  const step = Math.max(1, Math.floor(MAX_RUN_FLOATS / imageFloats));
  if (count <= step) {
    onRun?.();
    return engine.run(images, count);
  }
  const out = new Float32Array(count * featureSize);
  for (let start = 0; start < count; start += step) {
    const n = Math.min(step, count - start);
    out.set(await engine.run(images.subarray(start * imageFloats, (start + n) * imageFloats), n), start * featureSize);
    onRun?.();
  }
  return out;
}

/**
 * Frozen-feature training of `model` on `data` in this thread, or the reason it does not apply
 * (the caller then trains as before).
 */
export async function frozenTraining(
  model: SiameseModel,
  data: TrainData,
  cfg: TrainConfig,
  options: FrozenOptions = {},
): Promise<FrozenTraining | { reason: string }> {
  const part = await frozenPart(model, options.engine);
  if ('reason' in part) return part;
  const { boundary, featureShape, engine } = part;
  const featureSize = featureShape.reduce((a, b) => a * b, 1);
  const cache: FeatureCache = new FeatureCache(
    data,
    cfg,
    boundary.name,
    featureSize,
    (images, count) => runChunked(engine, images, count, featureSize, () => cache.info.ortRuns++),
    options.maxCacheFloats,
  );
  const head = buildHead(model.net, boundary);
  disposeWithNet(model.net, head); // its symbolic apply referenced the layers above the boundary once more
  const embedHead = async (features: Float32Array, count: number) => {
    const e = tf.tidy(() => head.apply(tf.tensor(features, [count, ...featureShape]), { training: false }) as tf.Tensor);
    const out = (await e.data()) as Float32Array;
    e.dispose();
    return out;
  };
  return {
    info: cache.info,
    forward: {
      input: async (batch) => ({ data: await cache.ofBatch(batch), shape: [batch.count, ...featureShape] }),
      embed: (x) => head.apply(x, { training: true }) as tf.Tensor2D,
    },
    scoreVal: async (images, pairs, signal) =>
      (await scoreFromFeatures(cache, images, pairs, embedHead, { dim: model.config.embeddingSize, tau: model.tau, signal })).score,
    release: () => engine.release(),
  };
}

/**
 * Mask-guided retraining on frozen features (frozenMaskTraining): frozenTraining's input, scores and
 * engine, and the map split whose features() take the frozen part's output [n, ...featureShape]
 * (the layers up to the map layer, in training mode).
 */
export type FrozenMaskTraining = FrozenTraining & { split: MapSplit };

/**
 * `split` (at the map layer L) with features() taking the frozen part's output [n, ...] at
 * `boundary` instead of images: the layers from the boundary to L re-applied on it (sharing the
 * weights; training mode as asked); or why not (L inside the frozen part).
 */
export function frozenMapSplit(model: SiameseModel, boundary: tf.layers.Layer, split: MapSplit): MapSplit | { reason: string } {
  const net = model.net;
  const mapLayer = net.getLayer(split.layer);
  if (net.layers.indexOf(mapLayer) <= net.layers.indexOf(boundary))
    return { reason: `the map layer "${split.layer}" is inside the frozen part (which ends at "${boundary.name}")` };
  const mid = buildHead(net, boundary, mapLayer.getOutputAt(0) as ST);
  disposeWithNet(net, mid); // its symbolic apply referenced the layers between once more
  return { ...split, features: (f, training) => mid.apply(f, { training }) as tf.Tensor4D };
}

/**
 * Mask-guided retraining of `model` with its frozen part on ONNX Runtime, or why not. The mask
 * step needs the activations A at the map layer L (mask/split.ts); when L is above the frozen
 * part's boundary B, A = mid(F) with F the frozen part's output (a pure function of the image,
 * see above) and mid the layers from B to L re-applied on F in training mode (they share the
 * weights, so the trained network is saved as before). The mask loss differentiates through
 * mid and the head only: nothing of it reaches below B.
 */
export async function frozenMaskTraining(
  model: SiameseModel,
  data: TrainData,
  cfg: TrainConfig,
  split: MapSplit,
  options: FrozenOptions = {},
): Promise<FrozenMaskTraining | { reason: string }> {
  const found = frozenBoundary(model);
  if ('reason' in found) return found;
  const onFeatures = frozenMapSplit(model, found.layer, split);
  if ('reason' in onFeatures) return onFeatures;
  const frozen = await frozenTraining(model, data, cfg, options);
  return 'reason' in frozen ? frozen : { ...frozen, split: onFeatures };
}
