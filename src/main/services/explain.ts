// Explanations in the app: explain a pair (stored, or computed and stored), overlays rendered on
// demand from the stored maps (LRU-cached), batch explanation and faithfulness / localisation
// metrics as jobs, and the model-randomisation sanity check.
//
// This service orchestrates: it validates requests against the model version (its description,
// cached here per version), reads pairs, images and masks from the store, decodes images at the
// model's input shape, stores the results and runs jobs. Every computation goes to one
// ExplainEngine (engine/explain/engine.ts: in this thread, or on the worker pool), down once and
// back once; the service never branches on where the work runs.
//
// Maps are stored per (pair, model version, method, layer) before upsampling
// (store/explanations-repo.ts); the target layer of input-space methods (occlusion, RISE) is
// stored as 'input'.
import type { ArgsOf } from '../../shared/contract';
import {
  EXPLAIN_METHODS,
  FAITHFULNESS_BASELINES,
  type ColormapName,
  type ExplainLayersDto,
  type ExplainMapsDto,
  type ExplainMethod,
  type ExplainMetricsDto,
  type ExplanationDto,
  type FaithfulnessSummaryDto,
  type JobDto,
  type JobProgressData,
  type OverlayDto,
  type ReliabilityDto,
  type SanityDto,
  type Split,
} from '../../shared/dto';
import { buildImageSet, decodeImage as decodeForModel, type Shape3 } from '../engine/data';
import {
  aggregateMetrics,
  decodeMap,
  METHOD_INFO,
  mostFaithfulMethod,
  summariseFaithfulness,
  type CamMethod,
  type CamTarget,
  type ExplainEngine,
  type Grid,
  type LayerTarget,
  type ModelDescription,
  type PairBatch,
  type PairFaithfulness,
  type PairMetrics,
} from '../engine/explain';
import { AppError, invalid, notFound } from '../errors';
import { decodeMask } from '../images/mask';
import { overlayPng, rawImageOf } from '../images/overlay';
import type { Db } from '../store/db';
import { ExplanationsRepo, type ExplanationRow, type PairWithImages } from '../store/explanations-repo';
import { FaithfulnessRepo } from '../store/faithfulness-repo';
import { ModelsRepo } from '../store/models-repo';
import { createRng } from '../pairs/rng';
import { explainMapsDto } from './explain-maps';
import { explanationDto, storedCap, toRecord } from './explain-records';
import type { JobRunner } from './jobs';
import type { ModelService } from './models';
import { OverlayCache } from './overlay-cache';
import { decodePairBatch, pairImageIds } from './pair-batch';

// The shared method ids and the engine's must stay the same set.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const methodsAgree: Same<ExplainMethod, CamMethod> = true;
void methodsAgree;

export const INPUT_LAYER = 'input';

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
export const INPUT_SPACE: ReadonlySet<CamMethod> = new Set(['occlusion', 'rise']);
/** Pairs per engine call of the explain job (its default group): 32 per worker, 64 in this thread. */
export const explainJobGroup = (workers: number) => (workers > 0 ? 32 * workers : 64);

export interface ExplainServiceOptions {
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

/** A validated request's model version, method and layer. */
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

/** Pairs done of the total, as job data. */
const pairsData = (done: number, total: number): JobProgressData => ({ kind: 'pairs', done, total });

/** What the engine computes with for a target (and a Score-CAM cap). */
const camTarget = (t: Target, maxChannels?: number): CamTarget => ({
  modelDir: t.modelDir,
  modelKey: t.modelKey,
  layer: t.camLayer,
  method: t.method,
  ...(maxChannels !== undefined ? { maxChannels } : {}),
});

/** A target's version at its layer (the faithfulness job and the reliability hint run every method there). */
const layerTarget = (t: Target): LayerTarget => ({ modelDir: t.modelDir, modelKey: t.modelKey, layer: t.camLayer });

const recordKey = (pairId: number, t: Target) => ({ pairId, modelId: t.modelId, method: t.method, layer: t.layer, inputShape: t.shape });

export class ExplainService {
  readonly repo: ExplanationsRepo;
  private readonly versions: ModelsRepo;
  private readonly summaries: FaithfulnessRepo;
  private readonly overlays: OverlayCache;
  /** model key -> its description (from the engine) */
  private readonly descriptions = new Map<string, Promise<ModelDescription>>();

  constructor(
    db: Db,
    private readonly jobs: JobRunner,
    private readonly models: ModelService,
    readonly engine: ExplainEngine,
    private readonly options: ExplainServiceOptions = {},
  ) {
    this.repo = new ExplanationsRepo(db);
    this.versions = new ModelsRepo(db);
    this.summaries = new FaithfulnessRepo(db);
    this.overlays = new OverlayCache(options.overlayCacheEntries ?? 256, options.overlayCacheBytes ?? 32 * 1024 * 1024);
  }

  /** Entries in the overlay cache (tests, diagnostics). */
  get overlayCacheSize(): number {
    return this.overlays.size;
  }

  // ---- model / layer / method ----

  /** What the service needs of a model version (engine describe), cached per version; a failed look-up is not. */
  private describe(modelDir: string, modelKey: string): Promise<ModelDescription> {
    let p = this.descriptions.get(modelKey);
    if (p) {
      this.descriptions.delete(modelKey); // most recently used last
      this.descriptions.set(modelKey, p);
      return p;
    }
    p = this.engine.describe({ modelDir, modelKey });
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
    const { modelDir, modelKey } = this.models.versionRef(modelId);
    const model = await this.describe(modelDir, modelKey);
    const layers = model.camLayers;
    if (layer !== undefined && layer !== INPUT_LAYER && !layers.includes(layer)) {
      throw invalid(`args.layer: "${layer}" is not a target layer of model version ${modelId}; choose one of: ${layers.join(', ')}`);
    }
    const camLayer = layer === undefined || layer === INPUT_LAYER ? defaultCamLayer(model) : layer;
    if (layer === INPUT_LAYER && !INPUT_SPACE.has(method))
      throw invalid(`args.layer: "input" is only for input-space methods (occlusion, rise)`);
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

  async layers(modelId: number): Promise<ExplainLayersDto> {
    const { model } = await this.target(modelId);
    const summary = this.summaries.get(modelId);
    return {
      inputShape: [...model.inputShape] as [number, number, number],
      defaultMethod: summary?.defaultMethod ?? 'gradcam',
      defaultMethodFrom: summary ? 'faithfulness' : 'none',
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

  /** Frees what the engine holds for a version (before it is deleted). */
  async releaseModel(modelId: number): Promise<void> {
    const row = this.versions.get(modelId);
    if (!row?.weights_path) return;
    await this.engine.release(this.models.versionRef(modelId));
  }

  // ---- one pair ----

  /**
   * The stored explanation row of a pair, computing it first when missing, when refresh, or
   * (Score-CAM) when stored under another channel cap than an explicit `maxChannels`.
   */
  private async ensure(
    args: { pairId: number; modelId: number; method?: ExplainMethod; layer?: string; refresh?: boolean; maxChannels?: number },
    opts: { signal?: AbortSignal } = {},
  ): Promise<{ row: ExplanationRow; cached: boolean; imageIds: [number, number]; pair: PairWithImages }> {
    const pair = this.repo.pairWithImages(args.pairId);
    if (!pair) throw notFound('Pair', args.pairId);
    const t = await this.target(args.modelId, args.method ?? 'gradcam', args.layer);
    const maxChannels = checkMaxChannels(t.method, args.maxChannels);
    const imageIds: [number, number] = [pair.a.id, pair.b.id];
    if (!args.refresh) {
      const row = this.repo.get(args.pairId, args.modelId, t.method, t.layer);
      if (row && (maxChannels === undefined || storedCap(row) === maxChannels)) return { row, cached: true, imageIds, pair };
    }
    const batch = await pairBatch(pair, t.shape);
    // a user waits for this one pair: ahead of queued batch / training work
    const { result, backend } = await this.engine.explain(camTarget(t, maxChannels), batch, { signal: opts.signal, interactive: true });
    this.repo.upsert(toRecord(recordKey(args.pairId, t), result[0], backend));
    const row = this.repo.get(args.pairId, args.modelId, t.method, t.layer)!;
    return { row, cached: false, imageIds, pair };
  }

  async explainPair(args: ArgsOf<'explain.pair'>, opts: { signal?: AbortSignal } = {}): Promise<ExplanationDto> {
    const { row, cached, imageIds } = await this.ensure(args, opts);
    return explanationDto(row, imageIds, cached);
  }

  /** The raw maps of both images (stored, or computed and stored), small enough to measure against a mask per stroke (explain-maps.ts). */
  async maps(args: ArgsOf<'explain.maps'>, opts: { signal?: AbortSignal } = {}): Promise<ExplainMapsDto> {
    const { row, cached, pair } = await this.ensure(args, opts);
    return explainMapsDto(row, pair, cached);
  }

  /** The overlay as PNG bytes (CLI) and as the contract's DTO. */
  async overlayPng(args: OverlayArgs): Promise<{ png: Buffer; width: number; height: number; noEvidence: boolean }> {
    const { row, pair } = await this.ensure(args);
    const kind = args.kind ?? 'factual';
    const blob = row[`${args.image}_${kind}`];
    const method = row.method as CamMethod;
    if (!blob)
      throw new AppError('conflict', `${METHOD_INFO[method].label} defines no ${kind} map (${METHOD_INFO[method].counterfactual.how})`);
    const map = decodeMap(blob, row.map_height, row.map_width);
    const noEvidence = Boolean(row.meta.noEvidence?.[args.image]?.[kind]);
    const image = await rawImageOf(args.image === 'a' ? pair.a : pair.b);
    const png = await overlayPng(image, map, row.map_height, row.map_width, {
      colormap: args.colormap ?? 'jet',
      opacity: args.opacity ?? 0.5,
    });
    return { png, width: image.width, height: image.height, noEvidence };
  }

  async overlay(args: ArgsOf<'explain.overlay'>): Promise<OverlayDto> {
    // the row identity (id + time of its last write) stands for pair, model, method and layer
    const t = await this.target(args.modelId, args.method ?? 'gradcam', args.layer);
    const row = this.repo.get(args.pairId, args.modelId, t.method, t.layer);
    const key = (r: ExplanationRow) =>
      [r.id, r.created_at, args.image, args.kind ?? 'factual', args.colormap ?? 'jet', args.opacity ?? 0.5].join('|');
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

  private pairsFor(
    modelId: number,
    args: { split?: Split; pairIds?: number[]; label?: 0 | 1; limit?: number },
  ): { pairs: PairRef[]; split: Split | null } {
    const row = this.versions.get(modelId);
    if (!row) throw notFound('Model version', modelId);
    if ((args.split === undefined) === (args.pairIds === undefined)) throw invalid('args.split / args.pairIds: give exactly one of them');
    let pairs: (PairRef & { label: 0 | 1 })[];
    if (args.split !== undefined) {
      if (row.pair_set_id === null)
        throw new AppError('conflict', `Model version ${modelId} has no pair set (it was deleted): pass args.pairIds`);
      pairs = this.versions.pairs(row.pair_set_id, args.split);
    } else {
      const ids = [...new Set(args.pairIds)];
      pairs = this.repo.pairsByIds(ids);
      if (pairs.length !== ids.length) {
        const found = new Set(pairs.map((p) => p.id));
        throw notFound(
          'Pair',
          ids.find((id) => !found.has(id))!,
        );
      }
    }
    if (args.label !== undefined) pairs = pairs.filter((p) => p.label === args.label);
    if (args.limit !== undefined) pairs = pairs.slice(0, args.limit);
    return { pairs, split: args.split ?? null };
  }

  /** The newest mask of each image of a batch that has one, by image index. */
  private async masksOf(imageIds: number[]): Promise<Record<number, Grid>> {
    const rows = this.repo.newestMasks(imageIds);
    const masks: Record<number, Grid> = {};
    for (const [i, id] of imageIds.entries()) {
      const m = rows.get(id);
      if (m) masks[i] = await decodeMask(m);
    }
    return masks;
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
      const have =
        args.skipExisting === false
          ? new Set<number>()
          : this.repo.existing(
              args.modelId,
              t.method,
              t.layer,
              all.map((p) => p.id),
            );
      const todo = all.filter((p) => !have.has(p.id));
      const workers = this.engine.workers;
      const group = this.options.groupSize ?? explainJobGroup(workers);
      let done = 0;
      let explainMs = 0;
      ctx.progress(0, `explaining ${todo.length} pairs (${have.size} already explained)`, pairsData(0, todo.length));
      for (let g = 0; g < todo.length; g += group) {
        await yieldToEventLoop(); // tensor work resolves in microtasks: let calls and cancels in
        ctx.throwIfCancelled();
        const pairs = todo.slice(g, g + group);
        const { batch } = await decodePairBatch(this.versions, pairs, t.shape);
        const started = Date.now();
        const report = (k: number) =>
          ctx.progress(
            (done + k) / Math.max(1, todo.length),
            `explained ${done + k}/${todo.length} pairs`,
            pairsData(done + k, todo.length),
          );
        const { result, backend } = await this.engine.explain(camTarget(t, maxChannels), batch, { signal: ctx.signal, onProgress: report });
        ctx.throwIfCancelled();
        explainMs += Date.now() - started;
        // one transaction per group: a cancelled job leaves whole rows only
        this.repo.upsertMany(result.map((e, i) => toRecord(recordKey(pairs[i].id, t), e, backend, { batched: pairs.length })));
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
        workers: Math.max(1, workers),
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
    const params = {
      modelId: args.modelId,
      method: t.method,
      layer: t.layer,
      split,
      label: args.label ?? null,
      pairs: pairs.length,
      steps,
      seed,
      ...(maxChannels !== undefined ? { maxChannels } : {}),
    };
    return this.jobs.start('metrics', params, async (ctx) => {
      const t0 = Date.now();
      const workers = this.engine.workers;
      const group = this.options.groupSize ?? (workers > 0 ? 16 * workers : 32);
      const results: PairMetrics[] = [];
      for (let g = 0; g < pairs.length; g += group) {
        await yieldToEventLoop();
        ctx.throwIfCancelled();
        const chunk = pairs.slice(g, g + group);
        const { batch, imageIds } = await decodePairBatch(this.versions, chunk, t.shape);
        const masks = await this.masksOf(imageIds);
        const report = (k: number) =>
          ctx.progress((g + k) / pairs.length, `measured ${g + k}/${pairs.length} pairs`, pairsData(g + k, pairs.length));
        const { result, backend } = await this.engine.measure(camTarget(t, maxChannels), batch, {
          steps,
          seed,
          iouThreshold: args.iouThreshold,
          masks,
          indexOffset: g,
          signal: ctx.signal,
          onProgress: report,
        });
        ctx.throwIfCancelled();
        this.repo.upsertMany(result.map((r, i) => toRecord(recordKey(chunk[i].id, t), r.explained, backend, { batched: chunk.length })));
        results.push(...result);
        report(chunk.length);
      }
      const head = { modelId: args.modelId, method: t.method, layer: t.layer, split, label: args.label ?? null, steps };
      return { ...aggregateMetrics(results, head), seconds: (Date.now() - t0) / 1000 } satisfies ExplainMetricsDto;
    });
  }

  // ---- faithfulness per method ----

  /** The version's stored faithfulness summary, or null when none was measured. */
  faithfulnessOf(modelId: number): FaithfulnessSummaryDto | null {
    if (!this.versions.get(modelId)) throw notFound('Model version', modelId);
    return this.summaries.get(modelId);
  }

  async startFaithfulness(args: ArgsOf<'explain.faithfulness'>): Promise<JobDto> {
    const split = args.split ?? 'val';
    const label = args.label ?? 1;
    const seed = args.seed ?? 0;
    const steps = args.steps ?? 32;
    const { pairs: candidates } = this.pairsFor(args.modelId, { split, label });
    if (candidates.length === 0)
      throw invalid(
        `Model version ${args.modelId} has no ${label === 1 ? 'same' : 'different'}-class pairs in split "${split}" to measure`,
      );
    const pairs = samplePairs(candidates, args.limit ?? 64, seed);
    const t = await this.target(args.modelId, 'gradcam');
    const methods = EXPLAIN_METHODS.filter((m) => !args.methods || args.methods.includes(m));
    const baselines = FAITHFULNESS_BASELINES.filter((b) => !args.baselines || args.baselines.includes(b));
    if (args.maxChannels !== undefined && !methods.includes('scorecam'))
      throw invalid('args.maxChannels: only when "scorecam" is among the methods');
    const params = {
      modelId: args.modelId,
      split,
      label,
      pairs: pairs.length,
      methods,
      baselines,
      steps,
      seed,
      layer: t.camLayer,
      ...(args.maxChannels !== undefined ? { maxChannels: args.maxChannels } : {}),
    };
    return this.jobs.start('faithfulness', params, async (ctx) => {
      const t0 = Date.now();
      ctx.progress(0, `measuring the mean colour of ${pairs.length} pairs' images`);
      const channelMeans = await this.channelMeans(pairs, t.shape, ctx.signal);
      const workers = this.engine.workers;
      const group = workers > 0 ? 8 * workers : 16;
      const results: PairFaithfulness[] = [];
      for (let g = 0; g < pairs.length; g += group) {
        await yieldToEventLoop();
        ctx.throwIfCancelled();
        const chunk = pairs.slice(g, g + group);
        const { batch } = await decodePairBatch(this.versions, chunk, t.shape);
        const report = (k: number) =>
          ctx.progress(
            (g + k) / pairs.length,
            `measured ${g + k}/${pairs.length} pairs (${methods.length} methods, ${baselines.length} baselines)`,
            pairsData(g + k, pairs.length),
          );
        const { result } = await this.engine.faithfulness(layerTarget(t), batch, {
          methods,
          baselines,
          channelMeans,
          steps,
          seed,
          indexOffset: g,
          ...(args.maxChannels !== undefined ? { maxChannels: args.maxChannels } : {}),
          signal: ctx.signal,
          onProgress: report,
        });
        ctx.throwIfCancelled();
        results.push(...result);
        report(chunk.length);
      }
      const summarised = summariseFaithfulness(results, methods, baselines);
      const summary: FaithfulnessSummaryDto = {
        modelId: args.modelId,
        split,
        label,
        pairs: pairs.length,
        layer: t.camLayer,
        steps,
        seed,
        baselines,
        channelMeans,
        methods: summarised,
        defaultMethod: mostFaithfulMethod(summarised),
        seconds: (Date.now() - t0) / 1000,
        createdAt: new Date().toISOString(),
      };
      this.summaries.put(args.modelId, ctx.jobId, summary);
      return summary;
    });
  }

  /** The mean colour per channel of the images of `pairs` at the model's input shape (decoded in groups, each image once). */
  private async channelMeans(pairs: PairRef[], shape: Shape3, signal?: AbortSignal): Promise<number[]> {
    const ids = pairImageIds(pairs);
    const C = shape[2];
    const sums = new Float64Array(C);
    let count = 0;
    for (let g = 0; g < ids.length; g += 256) {
      if (signal?.aborted) break;
      const rows = this.versions.imagesById(ids.slice(g, g + 256));
      const set = await buildImageSet(rows, shape);
      for (let i = 0; i < set.pixels.length; i++) sums[i % C] += set.pixels[i];
      count += set.pixels.length / C;
    }
    return Array.from(sums, (v) => (count > 0 ? v / count : 0));
  }

  /**
   * Whether the pair's maps (computed first if not stored) beat a random map at deletion on
   * that pair, under `baseline` (default ROAD). Nothing is stored.
   */
  async reliability(args: ArgsOf<'explain.reliability'>, opts: { signal?: AbortSignal } = {}): Promise<ReliabilityDto> {
    const { row, pair } = await this.ensure(args, opts);
    const t = await this.target(args.modelId, args.method ?? 'gradcam', args.layer);
    const baseline = args.baseline ?? 'road';
    const steps = args.steps ?? 16;
    const meta = row.meta;
    const mapOf = (side: 'a' | 'b'): Grid | null => {
      const blob = row[`${side}_factual`];
      return blob && !meta.noEvidence?.[side]?.factual
        ? { data: decodeMap(blob, row.map_height, row.map_width), h: row.map_height, w: row.map_width }
        : null;
    };
    const batch = await pairBatch(pair, t.shape);
    // the 'mean' baseline: the measured dataset mean when a summary has it, else the pair's own
    const channelMeans = baseline === 'mean' ? (this.summaries.get(args.modelId)?.channelMeans ?? meanColour(batch)) : undefined;
    const { result } = await this.engine.reliability(layerTarget(t), batch, [mapOf('a'), mapOf('b')], {
      baseline,
      steps,
      seed: args.seed ?? 0,
      ...(channelMeans ? { channelMeans } : {}),
      signal: opts.signal,
      interactive: true,
    });
    return { pairId: args.pairId, modelId: args.modelId, method: t.method, layer: t.layer, baseline, steps, a: result[0], b: result[1] };
  }

  // ---- sanity check ----

  /** Cascading randomisation of a copy of the model from the top (engine/explain sanity-pair.ts). */
  async sanity(args: ArgsOf<'explain.sanity'>, opts: { signal?: AbortSignal } = {}): Promise<SanityDto> {
    const pair = this.repo.pairWithImages(args.pairId);
    if (!pair) throw notFound('Pair', args.pairId);
    const t = await this.target(args.modelId, args.method ?? 'gradcam', args.layer);
    // the layers come from the model's graph (its description): a copy has the same ones
    if (t.model.sanityLayers.length === 0) throw invalid(`Model version ${args.modelId} has no layer with weights to randomise`);
    const batch = await pairBatch(pair, t.shape);
    const input = {
      pixels: batch.pixels,
      shape: t.shape,
      ...(args.maxLayers !== undefined ? { maxLayers: args.maxLayers } : {}),
      ...(args.seed !== undefined ? { seed: args.seed } : {}),
    };
    const { result } = await this.engine.sanity(camTarget(t), input, { signal: opts.signal, interactive: true });
    return { pairId: args.pairId, modelId: args.modelId, method: t.method, layer: t.layer, order: result.order, steps: result.steps };
  }
}

/** The pair's two images at the model's input shape as a batch of one pair. */
async function pairBatch(pair: PairWithImages, shape: Shape3): Promise<PairBatch> {
  const size = shape[0] * shape[1] * shape[2];
  const pixels = new Float32Array(2 * size);
  pixels.set(await decodeForModel(pair.a, shape), 0);
  pixels.set(await decodeForModel(pair.b, shape), size);
  return { shape, pixels, a: Int32Array.of(0), b: Int32Array.of(1) };
}

/** A seeded sample of at most `limit` pairs, in id order (so the job's order does not depend on the sampling). */
function samplePairs<P extends PairRef>(pairs: P[], limit: number, seed: number): P[] {
  if (pairs.length <= limit) return pairs;
  const rng = createRng(seed, 0xfa17);
  const pool = [...pairs];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, limit).sort((x, y) => x.id - y.id);
}

/** The mean colour per channel of a batch's images. */
function meanColour(batch: PairBatch): number[] {
  const C = batch.shape[2];
  const sums = new Float64Array(C);
  for (let i = 0; i < batch.pixels.length; i++) sums[i % C] += batch.pixels[i];
  return Array.from(sums, (v) => v / (batch.pixels.length / C));
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
