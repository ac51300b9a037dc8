// Explanations in the app: explain a pair (stored, or computed and stored), overlays
// rendered on demand from the stored maps (LRU-cached), batch explanation and
// faithfulness / localisation metrics as jobs, and the model-randomisation sanity check.
// The tensor work of all of them (one pair, a batch, metrics, the sanity check) runs on
// the engine worker pool when there is one whose workers have the explain tasks, else in
// this thread; the results, stored rows and DTOs are the same either way. So does loading
// a model version to learn its target layers and input shape (task 'explain.describe',
// cached here per version): with a pool, this thread never loads a tfjs model.
//
// Maps are stored per (pair, model version, method, layer) before upsampling
// (store/explanations-repo.ts); the target layer of input-space methods (occlusion,
// RISE) is stored as 'input'. The math is in engine/cam and engine/metrics; the unit of
// batch work is engine/explain-task.ts.
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import type { ArgsOf } from '../../shared/contract';
import {
  EXPLAIN_METHODS,
  type AucTripleDto,
  type ColormapName,
  type ExplainLayersDto,
  type ExplainMethod,
  type ExplainMetricsDto,
  type ExplanationDto,
  type JobDto,
  type JobProgressData,
  type OverlayDto,
  type SanityDto,
  type ScoreCamChannelsDto,
  type Split,
} from '../../shared/dto';
import { METHOD_INFO, summariseExplanation, encodeMap, decodeMap, type CamMethod, type ImageExplanation, type MapSummary, type PairExplanation } from '../engine/explain/cam';
import type { CamModel } from '../engine/explain/cam-model';
import { buildImageSet, decodeImage as decodeForModel, type ImageSet, type Shape3 } from '../engine/data/dataset';
import {
  describeModel,
  explainPairs,
  metricsForPairs,
  sanityForPair,
  type DescribeTaskPayload,
  type ExplainedPair,
  type ExplainTaskPayload,
  type MetricsTaskPayload,
  type PairBatch,
  type ModelDescription,
  type PairMetrics,
  type SanityResult,
  type SanityTaskPayload,
} from '../engine/explain/pairs';
import type { Grid } from '../engine/explain/metrics';
import { toCamModel } from '../engine/explain/split-model';
import { parallelMap, type WorkerPool } from '../engine/runtime/pool';
import { backendInfo } from '../engine/runtime/backend';
import { decodeImage as decodeForOverlay, overlayPng, type RawImage } from '../images/overlay';
import { AppError, invalid, notFound } from '../errors';
import type { Db } from '../store/db';
import { ExplanationsRepo, type ExplanationMeta, type ExplanationRow, type ImageWithPixels, type MaskRow, type NewExplanation } from '../store/explanations-repo';
import type { JobContext, JobRunner } from './jobs';
import type { ModelService } from './models';

// The shared method ids and the engine's must stay the same set.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const methodsAgree: Same<ExplainMethod, CamMethod> = true;
void methodsAgree;

export const INPUT_LAYER = 'input';

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
const INPUT_SPACE: ReadonlySet<CamMethod> = new Set(['occlusion', 'rise']);

export interface ExplainServiceOptions {
  /**
   * Engine worker pool, or a function that gives it (called on first use, so a pool can be
   * created lazily); used for each kind of work whose task its workers have: 'explain.describe'
   * (a version's target layers and input shape), 'explain.pairs' (one pair, batch jobs),
   * 'explain.metrics', 'explain.sanity'.
   */
  pool?: WorkerPool | (() => WorkerPool);
  /** Overlay cache bounds (default 256 entries, 32 MiB). */
  overlayCacheEntries?: number;
  overlayCacheBytes?: number;
  /** Pairs decoded and committed together in batch jobs (default 64 in this thread, 32 per worker). */
  groupSize?: number;
}

export interface OverlayArgs {
  pairId: number;
  modelId: number;
  method?: ExplainMethod;
  layer?: string;
  image: 'a' | 'b';
  kind?: 'factual' | 'counterfactual';
  colormap?: ColormapName;
  opacity?: number;
}

/** A small LRU of rendered overlays, bounded by entries and bytes. */
class OverlayCache {
  private readonly map = new Map<string, OverlayDto & { bytes: number }>();
  private bytes = 0;
  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}
  get(key: string): OverlayDto | undefined {
    const hit = this.map.get(key);
    if (!hit) return undefined;
    this.map.delete(key);
    this.map.set(key, hit);
    const { bytes: _bytes, ...dto } = hit;
    void _bytes;
    return dto;
  }
  set(key: string, value: OverlayDto): void {
    const bytes = value.dataUrl.length;
    if (bytes > this.maxBytes) return;
    const old = this.map.get(key);
    if (old) {
      this.bytes -= old.bytes;
      this.map.delete(key);
    }
    this.map.set(key, { ...value, bytes });
    this.bytes += bytes;
    for (const [k, v] of this.map) {
      if (this.map.size <= this.maxEntries && this.bytes <= this.maxBytes) break;
      this.map.delete(k);
      this.bytes -= v.bytes;
    }
  }
  get size(): number {
    return this.map.size;
  }
  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }
}

/** Decodes a stored mask to a grid (inside > 0.5) at its own size. 'png': non-zero pixels; 'rle': COCO uncompressed RLE (column-major counts, starting with background). */
export async function decodeMask(m: Pick<MaskRow, 'encoding' | 'width' | 'height' | 'data'>): Promise<Grid> {
  const { width: W, height: H } = m;
  const out = new Float32Array(W * H);
  if (m.encoding === 'png') {
    const { data, info } = await sharp(m.data).greyscale().resize(W, H, { fit: 'fill', kernel: 'nearest' }).raw().toBuffer({ resolveWithObject: true });
    for (let p = 0; p < W * H; p++) out[p] = data[p * info.channels] > 127 ? 1 : 0;
    return { data: out, h: H, w: W };
  }
  const parsed = JSON.parse(m.data.toString('utf8')) as number[] | { counts: number[] };
  const counts = Array.isArray(parsed) ? parsed : parsed.counts;
  if (!Array.isArray(counts)) throw new Error('RLE mask: expected a JSON array of counts or { counts }');
  let pos = 0;
  counts.forEach((c, i) => {
    for (let k = 0; k < c && pos < W * H; k++, pos++) {
      if (i % 2 === 1) {
        const col = Math.floor(pos / H);
        const row = pos % H;
        out[row * W + col] = 1;
      }
    }
  });
  return { data: out, h: H, w: W };
}

/** The stored image as bytes for overlays (raw rows are used as they are). */
async function rawImageOf(img: ImageWithPixels): Promise<RawImage> {
  if (img.pixel_encoding === 'raw') return { data: new Uint8Array(img.pixels.buffer, img.pixels.byteOffset, img.pixels.byteLength), width: img.width, height: img.height, channels: img.channels };
  return decodeForOverlay(img.pixels);
}

function mapSummaryDto(s: MapSummary) {
  return { noEvidence: s.noEvidence, scale: s.scale, peak: s.peak, areaAbove50: s.areaAbove50 };
}

/** Rows of a pair batch: the images used by pairs [start, end) only, with indices remapped. */
function subBatch(batch: PairBatch, start: number, end: number, masks?: Record<number, Grid>): { batch: PairBatch; masks?: Record<number, Grid> } {
  const [H, W, C] = batch.shape;
  const size = H * W * C;
  const remap = new Map<number, number>();
  const take = (i: number) => {
    let j = remap.get(i);
    if (j === undefined) {
      j = remap.size;
      remap.set(i, j);
    }
    return j;
  };
  const a = Int32Array.from(batch.a.subarray(start, end), take);
  const b = Int32Array.from(batch.b.subarray(start, end), take);
  const pixels = new Float32Array(remap.size * size);
  const subMasks: Record<number, Grid> = {};
  for (const [from, to] of remap) {
    pixels.set(batch.pixels.subarray(from * size, (from + 1) * size), to * size);
    if (masks?.[from]) subMasks[to] = masks[from];
  }
  return { batch: { shape: batch.shape, pixels, a, b }, ...(masks ? { masks: subMasks } : {}) };
}

/** A validated request's model version, method and layer; no loaded model (see localCam). */
interface Target {
  modelId: number;
  method: CamMethod;
  /** the stored layer key ('input' for input-space methods) */
  layer: string;
  /** the target layer the maps are computed at (input-space methods: the default one; unused) */
  camLayer: string;
  shape: Shape3;
  modelKey: string;
  modelDir: string;
  model: ModelDescription;
}

/** Descriptions of model versions kept (small: layer names); versions are immutable. */
const MAX_DESCRIPTIONS = 128;

interface PairRef {
  id: number;
  image_a: number;
  image_b: number;
}

/** The stored meta of an explanation: the repo's, plus Score-CAM's channel counts. */
type StoredMeta = ExplanationMeta & { channels?: ScoreCamChannelsDto };

type PoolTask = 'explain.describe' | 'explain.pairs' | 'explain.metrics' | 'explain.sanity';

/** Pairs done of the total, as job data. */
const pairsData = (done: number, total: number): JobProgressData => ({ kind: 'pairs', done, total });

export class ExplainService {
  readonly repo: ExplanationsRepo;
  private readonly overlays: OverlayCache;
  private poolTasks: Promise<Set<string>> | null = null;
  /** model key -> its description (from the pool, or from the model loaded here) */
  private readonly descriptions = new Map<string, Promise<ModelDescription>>();

  constructor(
    db: Db,
    private readonly jobs: JobRunner,
    private readonly models: ModelService,
    private readonly options: ExplainServiceOptions = {},
  ) {
    this.repo = new ExplanationsRepo(db);
    this.overlays = new OverlayCache(options.overlayCacheEntries ?? 256, options.overlayCacheBytes ?? 32 * 1024 * 1024);
  }

  /** Entries in the overlay cache (tests, diagnostics). */
  get overlayCacheSize(): number {
    return this.overlays.size;
  }

  // ---- model / layer / method ----

  /**
   * What the service needs of a model version (engine/explain-task describeModel): from a
   * worker (task 'explain.describe', which keeps the model loaded there for the explain
   * tasks) when the pool has it, else from the model loaded in this thread. Cached per
   * version; a failed look-up is not.
   */
  private describe(modelId: number, modelDir: string, modelKey: string): Promise<ModelDescription> {
    let p = this.descriptions.get(modelKey);
    if (p) {
      this.descriptions.delete(modelKey); // most recently used last
      this.descriptions.set(modelKey, p);
      return p;
    }
    p = (async () => {
      const pool = await this.usePool('explain.describe');
      if (pool) return pool.run<ModelDescription>('explain.describe', { modelDir, modelKey } satisfies DescribeTaskPayload, { priority: 'interactive' });
      return describeModel(await this.models.load(modelId));
    })();
    this.descriptions.set(modelKey, p);
    p.catch(() => {
      if (this.descriptions.get(modelKey) === p) this.descriptions.delete(modelKey);
    });
    for (const key of this.descriptions.keys()) {
      if (this.descriptions.size <= MAX_DESCRIPTIONS) break;
      this.descriptions.delete(key);
    }
    return p;
  }

  private async target(modelId: number, method: CamMethod = 'gradcam', layer?: string): Promise<Target> {
    const row = this.models.repo.get(modelId);
    if (!row) throw notFound('Model version', modelId);
    const modelDir = this.models.weightsDir(modelId);
    const modelKey = `${modelDir}@${row.created_at}`;
    const model = await this.describe(modelId, modelDir, modelKey);
    const layers = model.camLayers;
    if (layer !== undefined && layer !== INPUT_LAYER && !layers.includes(layer)) {
      throw invalid(`args.layer: "${layer}" is not a target layer of model version ${modelId}; choose one of: ${layers.join(', ')}`);
    }
    const camLayer = layer === undefined || layer === INPUT_LAYER ? defaultCamLayer(model) : layer;
    if (layer === INPUT_LAYER && !INPUT_SPACE.has(method)) throw invalid(`args.layer: "input" is only for input-space methods (occlusion, rise)`);
    return {
      modelId,
      method,
      layer: INPUT_SPACE.has(method) ? INPUT_LAYER : camLayer,
      camLayer,
      shape: [...model.inputShape] as Shape3,
      modelKey,
      modelDir,
      model,
    };
  }

  /** The target's CamModel in THIS thread (loads the model here): only for work done without a pool. */
  private async localCam(t: Target): Promise<CamModel> {
    return toCamModel(await this.models.load(t.modelId), t.camLayer);
  }

  async layers(modelId: number): Promise<ExplainLayersDto> {
    const { model } = await this.target(modelId);
    return {
      modelId,
      layers: [...model.camLayers],
      default: defaultCamLayer(model),
      methods: EXPLAIN_METHODS.map((id) => ({
        id,
        label: METHOD_INFO[id].label,
        kind: METHOD_INFO[id].kind,
        counterfactualDefined: METHOD_INFO[id].counterfactual.defined,
        counterfactualHow: METHOD_INFO[id].counterfactual.how,
        usesLayer: !INPUT_SPACE.has(id),
      })),
    };
  }

  // ---- one pair ----

  /** `backend`: where the maps were computed (a worker's backend; default: this thread's). */
  private toRecord(pairId: number, modelId: number, t: Target, e: ExplainedPair, extra: Partial<ExplanationMeta['timings']> = {}, backend?: string | null): NewExplanation {
    const meta: StoredMeta = {
      counterfactualDefined: e.counterfactualDefined,
      noEvidence: { a: e.noEvidence[0], b: e.noEvidence[1] },
      scale: { a: e.scale[0], b: e.scale[1] },
      timings: { explainMs: e.ms, backend: backend ?? backendInfo()?.name ?? tf.getBackend() ?? null, ...extra },
      inputShape: t.shape,
      ...(e.channels ? { channels: e.channels } : {}),
    };
    return {
      pairId,
      modelId,
      method: t.method,
      layer: t.layer,
      mapHeight: e.h,
      mapWidth: e.w,
      aFactual: encodeMap(e.maps[0]),
      aCounterfactual: e.maps[1] ? encodeMap(e.maps[1]) : null,
      bFactual: encodeMap(e.maps[2]),
      bCounterfactual: e.maps[3] ? encodeMap(e.maps[3]) : null,
      score: e.score,
      meta,
    };
  }

  /** The stored row as the engine's PairExplanation (maps decoded). */
  static explanationOf(row: ExplanationRow): PairExplanation {
    const meta = JSON.parse(row.meta ?? '{}') as ExplanationMeta;
    const h = row.map_height;
    const w = row.map_width;
    const image = (side: 'a' | 'b'): ImageExplanation => {
      const f = row[`${side}_factual`];
      const c = row[`${side}_counterfactual`];
      return {
        factual: f ? decodeMap(f, h, w) : new Float32Array(h * w),
        counterfactual: c ? decodeMap(c, h, w) : null,
        h,
        w,
        noEvidence: meta.noEvidence?.[side] ?? { factual: false, counterfactual: c ? false : null },
        scale: meta.scale?.[side] ?? { factual: 0, counterfactual: c ? 0 : null },
      };
    };
    return { method: row.method as CamMethod, layer: row.layer, score: row.score ?? NaN, counterfactualDefined: meta.counterfactualDefined ?? row.a_counterfactual !== null, images: [image('a'), image('b')] };
  }

  private dto(row: ExplanationRow, imageIds: [number, number], cached: boolean): ExplanationDto {
    const s = summariseExplanation(ExplainService.explanationOf(row));
    const meta = JSON.parse(row.meta ?? '{}') as Partial<StoredMeta>;
    const img = (i: 0 | 1) => ({ imageId: imageIds[i], factual: mapSummaryDto(s.images[i].factual), counterfactual: s.images[i].counterfactual ? mapSummaryDto(s.images[i].counterfactual) : null });
    return {
      pairId: row.pair_id,
      modelId: row.model_id,
      method: row.method as ExplainMethod,
      layer: row.layer,
      mapHeight: row.map_height,
      mapWidth: row.map_width,
      score: s.score,
      counterfactualDefined: s.counterfactualDefined,
      a: img(0),
      b: img(1),
      ...(meta.channels ? { channels: meta.channels } : {}),
      cached,
      explainMs: meta.timings?.explainMs ?? 0,
      createdAt: row.created_at,
    };
  }

  /**
   * The stored explanation row of a pair, computing it first when missing, when refresh, or
   * (Score-CAM) when stored under another channel cap than an explicit `maxChannels`.
   * Computed on the pool (task 'explain.pairs', a batch of one) when there is one.
   */
  private async ensure(
    args: { pairId: number; modelId: number; method?: ExplainMethod; layer?: string; refresh?: boolean; maxChannels?: number },
    opts: { signal?: AbortSignal } = {},
  ): Promise<{ row: ExplanationRow; cached: boolean; imageIds: [number, number]; pair: NonNullable<ReturnType<ExplanationsRepo['pairWithImages']>> }> {
    const pair = this.repo.pairWithImages(args.pairId);
    if (!pair) throw notFound('Pair', args.pairId);
    const t = await this.target(args.modelId, args.method ?? 'gradcam', args.layer);
    const maxChannels = checkMaxChannels(t.method, args.maxChannels);
    const imageIds: [number, number] = [pair.a.id, pair.b.id];
    if (!args.refresh) {
      const row = this.repo.get(args.pairId, args.modelId, t.method, t.layer);
      if (row && (maxChannels === undefined || storedCap(row) === maxChannels)) return { row, cached: true, imageIds, pair };
    }
    const batch = await this.pairBatch(pair, t.shape);
    const pool = await this.usePool('explain.pairs');
    let e: ExplainedPair;
    let backend: string | null | undefined;
    if (pool) {
      const res = await pool.run<{ backend: string | null; pairs: ExplainedPair[] }>('explain.pairs', this.explainPayload(t, batch, maxChannels), {
        signal: opts.signal,
        transfer: [batch.pixels.buffer as ArrayBuffer],
        priority: 'interactive', // a user waits for this one pair: ahead of queued batch/training tasks
      });
      [e] = res.pairs;
      backend = res.backend;
    } else {
      [e] = await explainPairs(await this.localCam(t), batch, t.method, { signal: opts.signal, maxChannels });
    }
    this.repo.upsert(this.toRecord(args.pairId, args.modelId, t, e, {}, backend));
    const row = this.repo.get(args.pairId, args.modelId, t.method, t.layer)!;
    return { row, cached: false, imageIds, pair };
  }

  /** The pair's two images at the model's input shape as a batch of one pair. */
  private async pairBatch(pair: NonNullable<ReturnType<ExplanationsRepo['pairWithImages']>>, shape: Shape3): Promise<PairBatch> {
    const size = shape[0] * shape[1] * shape[2];
    const pixels = new Float32Array(2 * size);
    pixels.set(await decodeForModel(pair.a, shape), 0);
    pixels.set(await decodeForModel(pair.b, shape), size);
    return { shape, pixels, a: Int32Array.of(0), b: Int32Array.of(1) };
  }

  private explainPayload(t: Target, b: PairBatch, maxChannels: number | undefined): ExplainTaskPayload {
    return { ...b, modelDir: t.modelDir, modelKey: t.modelKey, layer: t.camLayer, method: t.method, ...(maxChannels !== undefined ? { maxChannels } : {}) };
  }

  async explainPair(args: ArgsOf<'explain.pair'>, opts: { signal?: AbortSignal } = {}): Promise<ExplanationDto> {
    const { row, cached, imageIds } = await this.ensure(args, opts);
    return this.dto(row, imageIds, cached);
  }

  /** The overlay as PNG bytes (CLI) and as the contract's DTO. */
  async overlayPng(args: OverlayArgs): Promise<{ png: Buffer; width: number; height: number; noEvidence: boolean }> {
    const { row, pair } = await this.ensure(args);
    const kind = args.kind ?? 'factual';
    const blob = row[`${args.image}_${kind}`];
    const method = row.method as CamMethod;
    if (!blob) throw new AppError('conflict', `${METHOD_INFO[method].label} defines no ${kind} map (${METHOD_INFO[method].counterfactual.how})`);
    const map = decodeMap(blob, row.map_height, row.map_width);
    const meta = JSON.parse(row.meta ?? '{}') as Partial<ExplanationMeta>;
    const noEvidence = Boolean(meta.noEvidence?.[args.image]?.[kind]);
    const image = await rawImageOf(args.image === 'a' ? pair.a : pair.b);
    const png = await overlayPng(image, map, row.map_height, row.map_width, { colormap: args.colormap ?? 'jet', opacity: args.opacity ?? 0.5 });
    return { png, width: image.width, height: image.height, noEvidence };
  }

  async overlay(args: ArgsOf<'explain.overlay'>): Promise<OverlayDto> {
    // the row identity (id + time of its last write) stands for pair, model, method and layer
    const t = await this.target(args.modelId, args.method ?? 'gradcam', args.layer);
    const row = this.repo.get(args.pairId, args.modelId, t.method, t.layer);
    const key = (r: ExplanationRow) => [r.id, r.created_at, args.image, args.kind ?? 'factual', args.colormap ?? 'jet', args.opacity ?? 0.5].join('|');
    if (row) {
      const hit = this.overlays.get(key(row));
      if (hit) return hit;
    }
    const { png, width, height, noEvidence } = await this.overlayPng(args);
    const dto: OverlayDto = { dataUrl: `data:image/png;base64,${png.toString('base64')}`, width, height, noEvidence };
    const stored = row ?? this.repo.get(args.pairId, args.modelId, t.method, t.layer);
    if (stored) this.overlays.set(key(stored), dto);
    return dto;
  }

  // ---- batch work ----

  private pairsFor(modelId: number, args: { split?: Split; pairIds?: number[]; label?: 0 | 1; limit?: number }): { pairs: PairRef[]; split: Split | null } {
    const row = this.models.repo.get(modelId);
    if (!row) throw notFound('Model version', modelId);
    if ((args.split === undefined) === (args.pairIds === undefined)) throw invalid('args.split / args.pairIds: give exactly one of them');
    let pairs: (PairRef & { label: 0 | 1 })[];
    if (args.split !== undefined) {
      if (row.pair_set_id === null) throw new AppError('conflict', `Model version ${modelId} has no pair set (it was deleted): pass args.pairIds`);
      pairs = this.models.repo.pairs(row.pair_set_id, args.split);
    } else {
      const ids = [...new Set(args.pairIds)];
      pairs = this.repo.pairsByIds(ids);
      if (pairs.length !== ids.length) {
        const found = new Set(pairs.map((p) => p.id));
        throw notFound('Pair', ids.find((id) => !found.has(id))!);
      }
    }
    if (args.label !== undefined) pairs = pairs.filter((p) => p.label === args.label);
    if (args.limit !== undefined) pairs = pairs.slice(0, args.limit);
    return { pairs, split: args.split ?? null };
  }

  /** The pool, if there is one whose workers have `task` (their task list is asked once). */
  private async usePool(task: PoolTask): Promise<WorkerPool | null> {
    const option = this.options.pool;
    if (!option) return null;
    let pool: WorkerPool;
    try {
      pool = typeof option === 'function' ? option() : option;
    } catch {
      return null; // no pool can start here (e.g. no worker script): this thread does the work
    }
    this.poolTasks ??= pool
      .run<{ tasks: string[] }>('engine.info', undefined, { priority: 'interactive' })
      .then((info) => new Set(info.tasks))
      .catch(() => new Set<string>());
    return (await this.poolTasks).has(task) ? pool : null;
  }

  /** Decodes the images of `pairs` at the model's input shape into one pair batch. */
  private async batchOf(pairs: PairRef[], shape: Shape3): Promise<{ batch: PairBatch; imageIds: number[] }> {
    const ids = [...new Set(pairs.flatMap((p) => [p.image_a, p.image_b]))];
    const rows = this.models.repo.imagesById(ids);
    if (rows.length !== ids.length) throw new AppError('failed', 'an image of these pairs was deleted meanwhile');
    const set: ImageSet = await buildImageSet(rows, shape);
    const index = new Map(rows.map((r, i) => [r.id, i]));
    return {
      batch: { shape, pixels: set.pixels, a: Int32Array.from(pairs, (p) => index.get(p.image_a)!), b: Int32Array.from(pairs, (p) => index.get(p.image_b)!) },
      imageIds: rows.map((r) => r.id),
    };
  }

  /**
   * Runs `local` in this thread or `task` on the pool over the pairs of one group (split
   * into one chunk per worker and a half), results in pair order.
   */
  private async runGroup<R>(
    pool: WorkerPool | null,
    task: string,
    batch: PairBatch,
    payload: (b: PairBatch, start: number, masks?: Record<number, Grid>) => ExplainTaskPayload | MetricsTaskPayload,
    local: (onProgress: (done: number) => void) => Promise<R[]>,
    ctx: JobContext,
    onProgress: (done: number) => void,
    masks?: Record<number, Grid>,
    onBackend?: (backend: string | null) => void,
  ): Promise<R[]> {
    if (!pool) return local(onProgress);
    const n = batch.a.length;
    const parts = await parallelMap<ExplainTaskPayload | MetricsTaskPayload, { pairs: R[]; backend?: string | null }>(
      pool,
      task,
      n,
      (start, end) => {
        const sub = subBatch(batch, start, end, masks);
        return { payload: payload(sub.batch, start, sub.masks), transfer: [sub.batch.pixels.buffer as ArrayBuffer] };
      },
      { signal: ctx.signal, chunkSize: Math.max(1, Math.ceil(n / (2 * pool.size))), onProgress: (done) => onProgress(done) },
    );
    if (parts.length > 0 && parts[0].result.backend !== undefined) onBackend?.(parts[0].result.backend);
    return parts.flatMap((p) => p.result.pairs);
  }

  async startBatch(args: ArgsOf<'explain.batch'>): Promise<JobDto> {
    const { pairs: all, split } = this.pairsFor(args.modelId, args);
    const t = await this.target(args.modelId, args.method ?? 'gradcam', args.layer);
    const maxChannels = checkMaxChannels(t.method, args.maxChannels);
    const params = {
      modelId: args.modelId,
      method: t.method,
      layer: t.layer,
      split,
      label: args.label ?? null,
      pairs: all.length,
      ...(args.pairIds ? { pairIds: args.pairIds.length } : {}),
      ...(maxChannels !== undefined ? { maxChannels } : {}),
    };
    return this.jobs.start('explain', params, async (ctx) => {
      const t0 = Date.now();
      const have = args.skipExisting === false ? new Set<number>() : this.repo.existing(args.modelId, t.method, t.layer, all.map((p) => p.id));
      const todo = all.filter((p) => !have.has(p.id));
      const pool = await this.usePool('explain.pairs');
      const cam = pool ? null : await this.localCam(t);
      const group = this.options.groupSize ?? (pool ? 32 * pool.size : 64);
      let done = 0;
      let explainMs = 0;
      let backend: string | null | undefined;
      ctx.progress(0, `explaining ${todo.length} pairs (${have.size} already explained)`, pairsData(0, todo.length));
      for (let g = 0; g < todo.length; g += group) {
        await yieldToEventLoop(); // tensor work resolves in microtasks: let calls and cancels in
        ctx.throwIfCancelled();
        const pairs = todo.slice(g, g + group);
        const { batch } = await this.batchOf(pairs, t.shape);
        const started = Date.now();
        const report = (k: number) => ctx.progress((done + k) / Math.max(1, todo.length), `explained ${done + k}/${todo.length} pairs`, pairsData(done + k, todo.length));
        const res = await this.runGroup<ExplainedPair>(
          pool,
          'explain.pairs',
          batch,
          (b) => this.explainPayload(t, b, maxChannels),
          (onProgress) => explainPairs(cam!, batch, t.method, { signal: ctx.signal, onProgress, maxChannels }),
          ctx,
          report,
          undefined,
          (b) => (backend = b),
        );
        ctx.throwIfCancelled();
        explainMs += Date.now() - started;
        // one transaction per group: a cancelled job leaves whole rows only
        this.repo.upsertMany(res.map((e, i) => this.toRecord(pairs[i].id, args.modelId, t, e, { batched: pairs.length }, backend)));
        done += pairs.length;
        report(0);
      }
      return {
        modelId: args.modelId,
        method: t.method,
        layer: t.layer,
        split,
        pairs: all.length,
        explained: done,
        skipped: have.size,
        workers: pool ? pool.size : 1,
        msPerPair: done > 0 ? explainMs / done : null,
        seconds: (Date.now() - t0) / 1000,
      };
    });
  }

  async startMetrics(args: ArgsOf<'explain.metrics'>): Promise<JobDto> {
    const { pairs, split } = this.pairsFor(args.modelId, args);
    if (pairs.length === 0) throw invalid('No pairs to measure');
    const t = await this.target(args.modelId, args.method ?? 'gradcam', args.layer);
    const steps = args.steps ?? 32;
    const seed = args.seed ?? 0;
    const maxChannels = checkMaxChannels(t.method, args.maxChannels);
    const params = { modelId: args.modelId, method: t.method, layer: t.layer, split, label: args.label ?? null, pairs: pairs.length, steps, seed, ...(maxChannels !== undefined ? { maxChannels } : {}) };
    return this.jobs.start('metrics', params, async (ctx) => {
      const t0 = Date.now();
      const pool = await this.usePool('explain.metrics');
      const cam = pool ? null : await this.localCam(t);
      const group = this.options.groupSize ?? (pool ? 16 * pool.size : 32);
      let backend: string | null | undefined;
      const results: PairMetrics[] = [];
      for (let g = 0; g < pairs.length; g += group) {
        await yieldToEventLoop();
        ctx.throwIfCancelled();
        const chunk = pairs.slice(g, g + group);
        const { batch, imageIds } = await this.batchOf(chunk, t.shape);
        const maskRows = this.repo.newestMasks(imageIds);
        const masks: Record<number, Grid> = {};
        for (const [i, id] of imageIds.entries()) {
          const m = maskRows.get(id);
          if (m) masks[i] = await decodeMask(m);
        }
        const common = { steps, seed, iouThreshold: args.iouThreshold, masks, ...(maxChannels !== undefined ? { maxChannels } : {}) };
        const report = (k: number) => ctx.progress((g + k) / pairs.length, `measured ${g + k}/${pairs.length} pairs`, pairsData(g + k, pairs.length));
        const res = await this.runGroup<PairMetrics>(
          pool,
          'explain.metrics',
          batch,
          (b, start, m) => ({ ...b, modelDir: t.modelDir, modelKey: t.modelKey, layer: t.camLayer, method: t.method, ...common, masks: m, indexOffset: g + start }),
          (onProgress) => metricsForPairs(cam!, batch, t.method, { ...common, indexOffset: g, signal: ctx.signal, onProgress }),
          ctx,
          report,
          masks,
          (b) => (backend = b),
        );
        ctx.throwIfCancelled();
        this.repo.upsertMany(res.map((r, i) => this.toRecord(chunk[i].id, args.modelId, t, r.explained, { batched: chunk.length }, backend)));
        results.push(...res);
        report(chunk.length);
      }
      return { ...aggregateMetrics(results, { modelId: args.modelId, method: t.method, layer: t.layer, split, label: args.label ?? null, steps }), seconds: (Date.now() - t0) / 1000 } satisfies ExplainMetricsDto;
    });
  }

  // ---- sanity check ----

  /**
   * Cascading randomisation of a copy of the model from the top (engine/explain-task
   * sanityForPair), on the pool (task 'explain.sanity') when there is one, else here.
   */
  async sanity(args: ArgsOf<'explain.sanity'>, opts: { signal?: AbortSignal } = {}): Promise<SanityDto> {
    const pair = this.repo.pairWithImages(args.pairId);
    if (!pair) throw notFound('Pair', args.pairId);
    const t = await this.target(args.modelId, args.method ?? 'gradcam', args.layer);
    // the layers come from the model's graph (its description): a copy has the same ones
    if (t.model.sanityLayers.length === 0) throw invalid(`Model version ${args.modelId} has no layer with weights to randomise`);
    const batch = await this.pairBatch(pair, t.shape);
    const input = { pixels: batch.pixels, shape: t.shape, method: t.method, ...(args.maxLayers !== undefined ? { maxLayers: args.maxLayers } : {}), ...(args.seed !== undefined ? { seed: args.seed } : {}) };
    const pool = await this.usePool('explain.sanity');
    let res: SanityResult;
    if (pool) {
      const payload: SanityTaskPayload = { ...input, modelDir: t.modelDir, modelKey: t.modelKey, layer: t.camLayer };
      res = await pool.run<SanityResult>('explain.sanity', payload, { signal: opts.signal, transfer: [batch.pixels.buffer as ArrayBuffer], priority: 'interactive' });
    } else {
      res = await sanityForPair(await this.localCam(t), () => this.models.engine.load(t.modelDir), t.camLayer, input, { signal: opts.signal });
    }
    return { pairId: args.pairId, modelId: args.modelId, method: t.method, layer: t.layer, order: res.order, steps: res.steps };
  }
}

/** A described model's default target layer; throws SiameseModel.defaultCamLayer()'s error when it has none. */
function defaultCamLayer(model: ModelDescription): string {
  if (model.defaultCamLayer === null) throw new Error(model.noDefaultCamLayer ?? 'This model has no convolutional layer to explain');
  return model.defaultCamLayer;
}

/** The Score-CAM channel cap of a request (undefined: the engine's default); only for Score-CAM. */
function checkMaxChannels(method: CamMethod, maxChannels: number | undefined): number | undefined {
  if (maxChannels === undefined) return undefined;
  if (method !== 'scorecam') throw invalid(`args.maxChannels: only for method "scorecam" (not "${method}")`);
  return maxChannels;
}

/** The channel cap a stored Score-CAM row was computed with (null: none or not recorded). */
function storedCap(row: ExplanationRow): number | null {
  const meta = JSON.parse(row.meta ?? '{}') as Partial<StoredMeta>;
  return meta.channels?.maxChannels ?? null;
}

/** Means and shares over the measured images (and pairs), mean curves, mask agreement. */
export function aggregateMetrics(results: PairMetrics[], head: Pick<ExplainMetricsDto, 'modelId' | 'method' | 'layer' | 'split' | 'label' | 'steps'>): Omit<ExplainMetricsDto, 'seconds'> {
  const acc = () => ({ n: 0, map: 0, random: 0, centre: 0, beatsRandom: 0, beatsCentre: 0 });
  const del = acc();
  const ins = acc();
  let noEvidence = 0;
  const curveLen = head.steps + 1;
  const sums = { deletion: { map: new Float64Array(curveLen), random: new Float64Array(curveLen), centre: new Float64Array(curveLen) }, insertion: { map: new Float64Array(curveLen), random: new Float64Array(curveLen), centre: new Float64Array(curveLen) } };
  let pairDel = 0;
  let pairIns = 0;
  let pairsMeasured = 0;
  const mask = { images: 0, epg: [] as number[], pointing: [] as boolean[], iou: [] as number[] };
  for (const r of results) {
    let dm = 0;
    let dr = 0;
    let im = 0;
    let ir = 0;
    let measured = 0;
    for (const img of r.images) {
      if (img.mask) {
        mask.images++;
        if (img.mask.epg !== null) mask.epg.push(img.mask.epg);
        if (img.mask.pointing !== null) mask.pointing.push(img.mask.pointing);
        if (img.mask.iou !== null) mask.iou.push(img.mask.iou);
      }
      if (img.noEvidence || !img.deletion || !img.insertion || !img.curves) {
        noEvidence++;
        continue;
      }
      measured++;
      for (const [a, m, better] of [
        [del, img.deletion, (x: number, y: number) => x < y],
        [ins, img.insertion, (x: number, y: number) => x > y],
      ] as const) {
        a.n++;
        a.map += m.map;
        a.random += m.random;
        a.centre += m.centre;
        if (better(m.map, m.random)) a.beatsRandom++;
        if (better(m.map, m.centre)) a.beatsCentre++;
      }
      for (const mode of ['deletion', 'insertion'] as const)
        for (const k of ['map', 'random', 'centre'] as const) {
          const c = img.curves[mode][k];
          for (let i = 0; i < curveLen && i < c.length; i++) sums[mode][k][i] += c[i];
        }
      dm += img.deletion.map;
      dr += img.deletion.random;
      im += img.insertion.map;
      ir += img.insertion.random;
    }
    if (measured > 0) {
      pairsMeasured++;
      if (dm < dr) pairDel++;
      if (im > ir) pairIns++;
    }
  }
  const triple = (a: ReturnType<typeof acc>): AucTripleDto | null =>
    a.n === 0 ? null : { map: a.map / a.n, random: a.random / a.n, centre: a.centre / a.n, shareBeatsRandom: a.beatsRandom / a.n, shareBeatsCentre: a.beatsCentre / a.n };
  const mean = (xs: number[]) => (xs.length ? xs.reduce((p, q) => p + q, 0) / xs.length : null);
  const n = del.n;
  const curve = (xs: Float64Array) => Array.from(xs, (v) => v / n);
  return {
    ...head,
    pairs: results.length,
    images: del.n,
    noEvidence,
    deletion: triple(del),
    insertion: triple(ins),
    pairShareDeletionBeatsRandom: pairsMeasured ? pairDel / pairsMeasured : null,
    pairShareInsertionBeatsRandom: pairsMeasured ? pairIns / pairsMeasured : null,
    curves:
      n === 0
        ? null
        : {
            fractions: Array.from({ length: curveLen }, (_, k) => k / head.steps),
            deletion: { map: curve(sums.deletion.map), random: curve(sums.deletion.random), centre: curve(sums.deletion.centre) },
            insertion: { map: curve(sums.insertion.map), random: curve(sums.insertion.random), centre: curve(sums.insertion.centre) },
          },
    masks: mask.images === 0 ? null : { images: mask.images, epg: mean(mask.epg), pointingGame: mask.pointing.length ? mask.pointing.filter(Boolean).length / mask.pointing.length : null, iou: mean(mask.iou) },
  };
}
