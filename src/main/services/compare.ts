// Comparing two model versions (typically a version and its retrained child): the 'compare' job
// and the page of pairs ordered by how much their maps moved. For a split of a's pair set:
//   - both versions' factual maps (method default Grad-CAM, each version's default layer) of its
//     pairs, read from the store or computed and stored (so explain.overlay shows them side by side);
//   - test accuracy and ROC AUC from each version's stored metrics;
//   - on the pairs whose images have masks (the newest mask of each image): mean energy-based
//     pointing game of the masked images' maps, and their mean deletion AUC under the blur
//     baseline (against a random map), both per version;
//   - each version's review tallies (review.stats);
//   - per pair, how much the maps moved: per image half the L1 distance between the two maps
//     scaled to sum 1 (the share of the evidence that moved), averaged over the pair's images.
// The tensor work goes to the explanation engine; nothing here branches on where it runs.
import type { ArgsOf } from '../../shared/contract';
import type {
  CompareDto,
  ComparePairDto,
  ComparePairsPageDto,
  CompareVersionDto,
  ExplainMethod,
  JobDto,
  JobProgressData,
  Split,
} from '../../shared/dto';
import type { Shape3 } from '../engine/data';
import { decodeMap, energyPointingGame, type CamMethod, type Grid } from '../engine/explain';
import { AppError, invalid, notFound } from '../errors';
import { decodeMask } from '../images/mask';
import { createRng } from '../pairs/rng';
import type { Db } from '../store/db';
import { ExplanationsRepo, type ExplanationRow } from '../store/explanations-repo';
import { ModelsRepo, type PairRow } from '../store/models-repo';
import type { ExplainService } from './explain';
import { toRecord } from './explain-records';
import { decodePairBatch } from './pair-batch';
import type { JobContext, JobRunner } from './jobs';
import type { ModelService } from './models';
import type { ReviewService } from './review';

const DELETION_BASELINE = 'blur' as const;
/** pairs listed in the job's result (the rest: models.comparePairs) */
const MOVED_IN_RESULT = 20;

const pairsData = (done: number, total: number): JobProgressData => ({ kind: 'pairs', done, total });
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A version as the comparison addresses it. */
interface Side {
  modelId: number;
  modelDir: string;
  modelKey: string;
  layer: string;
  shape: Shape3;
}

/** The share of evidence that moved between two maps (each scaled to sum 1): half their L1 distance, in [0, 1]. */
export function mapMovement(a: Grid | null, b: Grid | null): number {
  if (!a && !b) return 0;
  if (!a || !b) return 1;
  if (a.h !== b.h || a.w !== b.w) throw new Error(`maps of different sizes ${a.h}x${a.w} and ${b.h}x${b.w}`);
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < a.data.length; i++) {
    sa += a.data[i];
    sb += b.data[i];
  }
  if (sa <= 0 && sb <= 0) return 0;
  if (sa <= 0 || sb <= 0) return 1;
  let l1 = 0;
  for (let i = 0; i < a.data.length; i++) l1 += Math.abs(a.data[i] / sa - b.data[i] / sb);
  return l1 / 2;
}

/** The factual map of one image of a stored explanation, or null without evidence. */
function factualOf(row: ExplanationRow, side: 'a' | 'b'): Grid | null {
  const blob = row[`${side}_factual`];
  if (!blob || row.meta.noEvidence?.[side]?.factual) return null;
  return { data: decodeMap(blob, row.map_height, row.map_width), h: row.map_height, w: row.map_width };
}

export class CompareService {
  private readonly versions: ModelsRepo;
  private readonly maps: ExplanationsRepo;

  constructor(
    db: Db,
    private readonly jobs: JobRunner,
    private readonly models: ModelService,
    private readonly explain: ExplainService,
    private readonly review: ReviewService,
  ) {
    this.versions = new ModelsRepo(db);
    this.maps = new ExplanationsRepo(db);
  }

  private async side(modelId: number): Promise<Side> {
    const row = this.versions.get(modelId);
    if (!row) throw notFound('Model version', modelId);
    const { modelDir, modelKey } = this.models.versionRef(modelId);
    const layers = await this.explain.layers(modelId);
    return { modelId, modelDir, modelKey, layer: layers.default, shape: layers.inputShape };
  }

  /** The pairs of a split of a's pair set (b's when a has none). */
  private splitPairs(a: number, b: number, split: Split): PairRow[] {
    const ra = this.versions.get(a);
    const rb = this.versions.get(b);
    if (!ra) throw notFound('Model version', a);
    if (!rb) throw notFound('Model version', b);
    const pairSet = ra.pair_set_id ?? rb.pair_set_id;
    if (pairSet === null) throw new AppError('conflict', `Model versions ${a} and ${b} have no pair set (it was deleted)`);
    return this.versions.pairs(pairSet, split);
  }

  /** The newest mask of each image that has one, decoded. */
  private async masksOf(imageIds: number[]): Promise<Map<number, Grid>> {
    const out = new Map<number, Grid>();
    for (const [id, row] of this.maps.newestMasks(imageIds)) out.set(id, await decodeMask(row));
    return out;
  }

  /** Computes and stores the maps of the pairs that have none yet for this version, method and layer. */
  private async ensureMaps(side: Side, method: CamMethod, pairs: PairRow[], ctx: JobContext, report: (k: number) => void): Promise<void> {
    const have = this.maps.existing(
      side.modelId,
      method,
      side.layer,
      pairs.map((p) => p.id),
    );
    const todo = pairs.filter((p) => !have.has(p.id));
    const group = this.explain.engine.workers > 0 ? 32 * this.explain.engine.workers : 64;
    report(pairs.length - todo.length);
    for (let g = 0; g < todo.length; g += group) {
      await yieldToEventLoop();
      ctx.throwIfCancelled();
      const chunk = todo.slice(g, g + group);
      const { batch } = await decodePairBatch(this.versions, chunk, side.shape);
      const { result, backend } = await this.explain.engine.explain(
        { modelDir: side.modelDir, modelKey: side.modelKey, layer: side.layer, method },
        batch,
        { signal: ctx.signal },
      );
      ctx.throwIfCancelled();
      this.maps.upsertMany(
        result.map((e, i) =>
          toRecord({ pairId: chunk[i].id, modelId: side.modelId, method, layer: side.layer, inputShape: side.shape }, e, backend, {
            batched: chunk.length,
          }),
        ),
      );
      report(pairs.length - todo.length + g + chunk.length);
    }
  }

  /** Mean deletion AUC (blur baseline) of the masked images' maps, and of a random map, for one version. */
  private async deletionOnMasked(
    side: Side,
    method: CamMethod,
    pairs: PairRow[],
    masked: Map<number, Grid>,
    o: { steps: number; seed: number },
    ctx: JobContext,
  ): Promise<{ map: number | null; random: number | null }> {
    let sum = 0;
    let sumRandom = 0;
    let n = 0;
    const group = 16;
    for (let g = 0; g < pairs.length; g += group) {
      await yieldToEventLoop();
      ctx.throwIfCancelled();
      const chunk = pairs.slice(g, g + group);
      const { batch } = await decodePairBatch(this.versions, chunk, side.shape);
      const { result } = await this.explain.engine.faithfulness(
        { modelDir: side.modelDir, modelKey: side.modelKey, layer: side.layer },
        batch,
        { methods: [method], baselines: [DELETION_BASELINE], steps: o.steps, seed: o.seed, indexOffset: g, signal: ctx.signal },
      );
      result.forEach((pf, k) => {
        for (const [which, imageId] of [
          [0, chunk[k].image_a],
          [1, chunk[k].image_b],
        ] as const) {
          if (!masked.has(imageId)) continue;
          const img = pf.images[which];
          const auc = img.maps[method]?.[DELETION_BASELINE];
          const ref = img.reference[DELETION_BASELINE];
          if (!auc || !ref) continue;
          sum += auc.deletion;
          sumRandom += ref.random.deletion;
          n++;
        }
      });
    }
    return { map: n > 0 ? sum / n : null, random: n > 0 ? sumRandom / n : null };
  }

  /** The compared pairs with both versions' stored maps: movement, scores, EPG where masked. */
  private movedPairs(a: Side, b: Side, method: CamMethod, pairs: PairRow[], masks: Map<number, Grid>): ComparePairDto[] {
    const out: ComparePairDto[] = [];
    for (const p of pairs) {
      const ra = this.maps.get(p.id, a.modelId, method, a.layer);
      const rb = this.maps.get(p.id, b.modelId, method, b.layer);
      if (!ra || !rb) continue;
      const images = (['a', 'b'] as const).map((side) => {
        const imageId = side === 'a' ? p.image_a : p.image_b;
        const ma = factualOf(ra, side);
        const mb = factualOf(rb, side);
        const mask = masks.get(imageId);
        const sameGrid = !ma || !mb || (ma.h === mb.h && ma.w === mb.w);
        return {
          imageId,
          movement: sameGrid ? mapMovement(ma, mb) : mapMovement(onGrid(ma!, mb!), mb),
          hasMask: mask !== undefined,
          epgA: mask && ma ? energyPointingGame(ma, mask) : null,
          epgB: mask && mb ? energyPointingGame(mb, mask) : null,
        };
      });
      out.push({
        pairId: p.id,
        label: p.label,
        movement: (images[0].movement + images[1].movement) / 2,
        scoreA: ra.score ?? NaN,
        scoreB: rb.score ?? NaN,
        images,
      });
    }
    return out.sort((x, y) => y.movement - x.movement || x.pairId - y.pairId);
  }

  private versionDto(side: Side, method: ExplainMethod, masked: CompareVersionDto['masked']): CompareVersionDto {
    const row = this.versions.get(side.modelId)!;
    const test = row.metrics?.splits.test;
    const stats = this.review.stats(side.modelId);
    const s = stats.similarity;
    return {
      modelId: side.modelId,
      name: row.name,
      parentId: row.parent_id,
      method,
      layer: side.layer,
      test: test ? { accuracy: test.accuracy, auc: test.auc, pairs: test.pairs } : null,
      masked,
      review: {
        verdicts: stats.verdicts.current,
        pairs: stats.verdicts.pairs,
        heatmaps: stats.heatmaps.overall,
        similarity: {
          correct: s.correctModelRight + s.correctModelWrong,
          wrong: s.wrongModelRight + s.wrongModelWrong,
        },
      },
    };
  }

  async startCompare(args: ArgsOf<'models.compare'>): Promise<JobDto> {
    if (args.a === args.b) throw invalid('args.b: compare two different versions');
    const split = args.split ?? 'test';
    const method = (args.method ?? 'gradcam') as CamMethod;
    const all = this.splitPairs(args.a, args.b, split);
    if (all.length === 0) throw invalid(`The ${split} split has no pairs to compare`);
    const [a, b] = [await this.side(args.a), await this.side(args.b)];
    const seed = args.seed ?? 0;
    const pairs = sample(all, args.limit ?? 1000, seed);
    const steps = args.steps ?? 16;
    const params = { a: args.a, b: args.b, split, method, pairs: pairs.length, steps, seed };
    return this.jobs.start('compare', params, async (ctx) => {
      const t0 = Date.now();
      const masks = await this.masksOf(pairs.flatMap((p) => [p.image_a, p.image_b]));
      const maskedPairs = pairs.filter((p) => masks.has(p.image_a) || masks.has(p.image_b));
      const measured = sample(maskedPairs, args.maskedLimit ?? 200, seed);
      // progress: maps of both versions, then deletion of both on the masked pairs
      const total = 2 * pairs.length + 2 * measured.length;
      let base = 0;
      const report = (k: number) =>
        ctx.progress((base + k) / Math.max(1, total), `compared ${base + k}/${total}`, pairsData(base + k, total));
      for (const side of [a, b]) {
        await this.ensureMaps(side, method, pairs, ctx, report);
        base += pairs.length;
      }
      const moved = this.movedPairs(a, b, method, pairs, masks);
      const deletion: Record<number, { map: number | null; random: number | null }> = {};
      for (const side of [a, b]) {
        deletion[side.modelId] = await this.deletionOnMasked(side, method, measured, masks, { steps, seed }, ctx);
        base += measured.length;
        report(0);
      }
      const maskedOf = (side: Side, pick: 'epgA' | 'epgB'): CompareVersionDto['masked'] => {
        const epgs: number[] = [];
        let images = 0;
        let noEvidence = 0;
        for (const p of moved)
          for (const img of p.images) {
            if (!img.hasMask) continue;
            images++;
            const e = img[pick];
            if (e === null) noEvidence++;
            else epgs.push(e);
          }
        return {
          images,
          epg: epgs.length > 0 ? epgs.reduce((x, y) => x + y, 0) / epgs.length : null,
          deletionAuc: deletion[side.modelId].map,
          deletionAucRandom: deletion[side.modelId].random,
          noEvidence,
        };
      };
      const va = this.versionDto(a, method, maskedOf(a, 'epgA'));
      const vb = this.versionDto(b, method, maskedOf(b, 'epgB'));
      const diff = (x: number | null | undefined, y: number | null | undefined) => (x == null || y == null ? null : y - x);
      return {
        a: va,
        b: vb,
        split,
        pairs: moved.length,
        maskedPairs: maskedPairs.length,
        delta: {
          testAccuracy: diff(va.test?.accuracy, vb.test?.accuracy),
          testAuc: diff(va.test?.auc, vb.test?.auc),
          epg: diff(va.masked.epg, vb.masked.epg),
          deletionAuc: diff(va.masked.deletionAuc, vb.masked.deletionAuc),
        },
        moved: moved.slice(0, MOVED_IN_RESULT),
        deletion: { baseline: DELETION_BASELINE, steps },
        seconds: (Date.now() - t0) / 1000,
      } satisfies CompareDto;
    });
  }

  /** A page of the split's pairs whose maps both versions have stored, most moved first. */
  async comparePairs(args: ArgsOf<'models.comparePairs'>): Promise<ComparePairsPageDto> {
    const split = args.split ?? 'test';
    const method = (args.method ?? 'gradcam') as CamMethod;
    const pairs = this.splitPairs(args.a, args.b, split);
    const [a, b] = [await this.side(args.a), await this.side(args.b)];
    const masks = await this.masksOf(pairs.flatMap((p) => [p.image_a, p.image_b]));
    let moved = this.movedPairs(a, b, method, pairs, masks);
    if (args.maskedOnly) moved = moved.filter((p) => p.images.some((i) => i.hasMask));
    const offset = args.offset ?? 0;
    return { a: args.a, b: args.b, split, method, total: moved.length, offset, items: moved.slice(offset, offset + (args.limit ?? 50)) };
  }
}

/** `map` (of another grid than `like`) resampled onto `like`'s grid by nearest cell (maps of versions with different layers). */
function onGrid(map: Grid, like: Grid): Grid {
  const data = new Float32Array(like.h * like.w);
  for (let i = 0; i < like.h; i++)
    for (let j = 0; j < like.w; j++)
      data[i * like.w + j] =
        map.data[
          Math.min(map.h - 1, Math.floor(((i + 0.5) * map.h) / like.h)) * map.w +
            Math.min(map.w - 1, Math.floor(((j + 0.5) * map.w) / like.w))
        ];
  return { data, h: like.h, w: like.w };
}

/** A seeded sample of at most `limit` items, in their order. */
function sample<T extends { id: number }>(items: T[], limit: number, seed: number): T[] {
  if (items.length <= limit) return items;
  const rng = createRng(seed, 0xc0de);
  const idx = items.map((_, i) => i);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx
    .slice(0, limit)
    .sort((x, y) => x - y)
    .map((i) => items[i]);
}
