// Measuring explanations of pairs: each pair explained, then both images' factual maps scored by
// deletion / insertion (against a random map and the centre prior) and, where the image has a
// mask, by mask agreement (energy-based pointing game, pointing game, IoU); the unit of work of
// the 'metrics' job (in this thread or as 'explain.metrics', tasks.ts), and the aggregate the job
// reports.
import * as tf from '@tensorflow/tfjs';
import type { AucTripleDto, ExplainMetricsDto } from '../../../shared/dto';
import type { CamMethod } from './cam';
import { checkAborted } from './cam/types';
import { pairTensors, type CamModel } from './cam-model';
import {
  aggregateAucs,
  energyPointingGame,
  faithfulness,
  pointingGame,
  thresholdIoU,
  type AucSummary,
  type AucTriple,
  type Grid,
} from './metrics';
import { explainPairs, type BatchOptions, type ExplainedPair, type PairBatch } from './pairs';

export interface ImageMetrics {
  /** the factual map had no evidence: nothing to rank pixels by, no curves */
  noEvidence: boolean;
  deletion: AucTriple | null;
  insertion: AucTriple | null;
  /** s at each step (N + 1) for the map, the random map and the centre prior */
  curves: {
    deletion: { map: Float32Array; random: Float32Array; centre: Float32Array };
    insertion: { map: Float32Array; random: Float32Array; centre: Float32Array };
  } | null;
  /** against the image's mask, when it has one */
  mask: { epg: number | null; pointing: boolean | null; iou: number | null } | null;
}

export interface PairMetrics {
  explained: ExplainedPair;
  images: [ImageMetrics, ImageMetrics];
}

export interface MetricsOptions extends BatchOptions {
  /** deletion / insertion steps N (default 32) */
  steps?: number;
  /** seed of the random reference maps and of the tie-breaking (default 0; pair k uses seed + k) */
  seed?: number;
  /** masks by IMAGE index of the batch (row-major grids, inside > 0.5) */
  masks?: Record<number, Grid>;
  /** IoU threshold on the map (fraction of its max; default 0.5) */
  iouThreshold?: number;
  /** index of the batch's first pair in the whole job (seeds depend on it, not on the chunking) */
  indexOffset?: number;
}

/** Explains each pair, then measures both images' factual maps (deletion / insertion against random and centre prior; mask agreement). */
export async function metricsForPairs(
  cam: CamModel,
  batch: PairBatch,
  method: CamMethod,
  opts: MetricsOptions = {},
): Promise<PairMetrics[]> {
  const n = batch.a.length;
  const explained = await explainPairs(cam, batch, method, {
    batchSize: opts.batchSize,
    signal: opts.signal,
    maxChannels: opts.maxChannels,
  });
  const steps = Math.max(1, Math.floor(opts.steps ?? 32));
  const seed = opts.seed ?? 0;
  const out: PairMetrics[] = [];
  for (let k = 0; k < n; k++) {
    checkAborted(opts.signal);
    const e = explained[k];
    const g = (opts.indexOffset ?? 0) + k;
    const [x1, x2] = pairTensors(batch, k, k + 1);
    try {
      const images: ImageMetrics[] = [];
      for (const which of [0, 1] as const) {
        const map: Grid = { data: e.maps[2 * which]!, h: e.h, w: e.w };
        const noEvidence = e.noEvidence[which].factual;
        let deletion: AucTriple | null = null;
        let insertion: AucTriple | null = null;
        let curves: ImageMetrics['curves'] = null;
        if (!noEvidence) {
          const rep = await faithfulness(cam, x1, x2, which, map, {
            steps,
            seed: seed + g,
            randomSeed: 100_003 * (seed + 1) + 2 * g + which,
            batchSize: steps + 1,
            signal: opts.signal,
          });
          deletion = { map: rep.map.deletion.auc, random: rep.random.deletion.auc, centre: rep.centre.deletion.auc };
          insertion = { map: rep.map.insertion.auc, random: rep.random.insertion.auc, centre: rep.centre.insertion.auc };
          curves = {
            deletion: { map: rep.map.deletion.scores, random: rep.random.deletion.scores, centre: rep.centre.deletion.scores },
            insertion: { map: rep.map.insertion.scores, random: rep.random.insertion.scores, centre: rep.centre.insertion.scores },
          };
        }
        const maskGrid = opts.masks?.[which === 0 ? batch.a[k] : batch.b[k]];
        const mask = maskGrid
          ? {
              epg: energyPointingGame(map, maskGrid),
              pointing: pointingGame(map, maskGrid),
              iou: thresholdIoU(map, maskGrid, { threshold: opts.iouThreshold ?? 0.5 }),
            }
          : null;
        images.push({ noEvidence, deletion, insertion, curves, mask });
      }
      out.push({ explained: e, images: images as [ImageMetrics, ImageMetrics] });
    } finally {
      tf.dispose([x1, x2]);
    }
    opts.onProgress?.(k + 1, n);
  }
  return out;
}

/** The head of a metrics job's report: what was measured. */
export type MetricsHead = Pick<ExplainMetricsDto, 'modelId' | 'method' | 'layer' | 'split' | 'label' | 'steps'>;

/** Means and shares over the measured images (and pairs), mean curves, mask agreement. */
export function aggregateMetrics(results: PairMetrics[], head: MetricsHead): Omit<ExplainMetricsDto, 'seconds'> {
  const triples = { deletion: [] as AucTriple[], insertion: [] as AucTriple[] };
  let noEvidence = 0;
  const curveLen = head.steps + 1;
  const zeros = () => ({ map: new Float64Array(curveLen), random: new Float64Array(curveLen), centre: new Float64Array(curveLen) });
  const sums = { deletion: zeros(), insertion: zeros() };
  let pairDel = 0;
  let pairIns = 0;
  let pairsMeasured = 0;
  const mask = { images: 0, epg: [] as number[], pointing: [] as boolean[], iou: [] as number[] };
  for (const r of results) {
    // the pair beats random when the sums of its measured images' AUCs do
    const pair = { deletion: { map: 0, random: 0 }, insertion: { map: 0, random: 0 } };
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
      for (const mode of ['deletion', 'insertion'] as const) {
        const auc = img[mode]!;
        triples[mode].push(auc);
        pair[mode].map += auc.map;
        pair[mode].random += auc.random;
        for (const k of ['map', 'random', 'centre'] as const) {
          const c = img.curves[mode][k];
          for (let i = 0; i < curveLen && i < c.length; i++) sums[mode][k][i] += c[i];
        }
      }
    }
    if (measured > 0) {
      pairsMeasured++;
      if (pair.deletion.map < pair.deletion.random) pairDel++;
      if (pair.insertion.map > pair.insertion.random) pairIns++;
    }
  }
  const dto = (s: AucSummary | null): AucTripleDto | null =>
    s && { map: s.map, random: s.random, centre: s.centre, shareBeatsRandom: s.shareBeatsRandom, shareBeatsCentre: s.shareBeatsCentre };
  const mean = (xs: number[]) => (xs.length ? xs.reduce((p, q) => p + q, 0) / xs.length : null);
  const n = triples.deletion.length;
  const curve = (xs: Float64Array) => Array.from(xs, (v) => v / n);
  const curves = (m: keyof typeof sums) => ({ map: curve(sums[m].map), random: curve(sums[m].random), centre: curve(sums[m].centre) });
  return {
    ...head,
    pairs: results.length,
    images: n,
    noEvidence,
    deletion: dto(aggregateAucs(triples.deletion, 'deletion')),
    insertion: dto(aggregateAucs(triples.insertion, 'insertion')),
    pairShareDeletionBeatsRandom: pairsMeasured ? pairDel / pairsMeasured : null,
    pairShareInsertionBeatsRandom: pairsMeasured ? pairIns / pairsMeasured : null,
    curves:
      n === 0
        ? null
        : {
            fractions: Array.from({ length: curveLen }, (_, k) => k / head.steps),
            deletion: curves('deletion'),
            insertion: curves('insertion'),
          },
    masks:
      mask.images === 0
        ? null
        : {
            images: mask.images,
            epg: mean(mask.epg),
            pointingGame: mask.pointing.length ? mask.pointing.filter(Boolean).length / mask.pointing.length : null,
            iou: mean(mask.iou),
          },
  };
}
