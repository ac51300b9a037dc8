// How faithful each explanation method is for a model: every pair explained with every method,
// then each image's factual map scored by deletion and insertion under every baseline, beside a
// seeded random map and the centre prior (computed once per image and baseline: they do not
// depend on the method). The unit of work of the 'faithfulness' job (in this thread or as
// 'explain.faithfulness', tasks.ts), its aggregate per method and baseline, and the choice of a
// version's default method.
//
// Which method is most faithful: for each baseline that removes evidence wherever it is (all but
// black, which removes nothing on a black background), the map's insertion AUC minus its deletion
// AUC, minus the same for the random map; the mean over those baselines is the method's score (> 0:
// better than random on average). The method with the highest score is the default.
import * as tf from '@tensorflow/tfjs';
import type { AucTripleDto, FaithfulnessBaseline, FaithfulnessMethodDto } from '../../../shared/dto';
import { CAM_METHODS, METHOD_INFO, type CamMethod } from './cam';
import { checkAborted } from './cam/types';
import { pairTensors, type CamModel } from './cam-model';
import {
  aggregateAucs,
  centrePriorMap,
  perturbationCurve,
  pixelBaseline,
  randomMap,
  type AucTriple,
  type CurveMode,
  type Grid,
} from './metrics';
import { explainPairs, type PairBatch } from './pairs';

export interface FaithfulnessOptions {
  methods: readonly CamMethod[];
  baselines: readonly FaithfulnessBaseline[];
  /** the dataset's mean colour per channel (needed for the 'mean' baseline) */
  channelMeans?: readonly number[];
  /** deletion / insertion steps N (default 32) */
  steps?: number;
  /** seed of the random maps and tie-breaking (default 0; pair k uses seed + k) */
  seed?: number;
  /** index of the batch's first pair in the whole job (seeds depend on it, not on the chunking) */
  indexOffset?: number;
  /** Score-CAM channel cap */
  maxChannels?: number;
  signal?: AbortSignal;
  /** pairs done of the total */
  onProgress?: (done: number, total: number) => void;
}

/** One image's AUCs under one baseline: deletion and insertion. */
export interface ModeAucs {
  deletion: number;
  insertion: number;
}

export interface ImageFaithfulness {
  /** per baseline: the random map's and the centre prior's AUCs */
  reference: Partial<Record<FaithfulnessBaseline, { random: ModeAucs; centre: ModeAucs }>>;
  /** per method, per baseline: the map's AUCs; null when the method's factual map had no evidence */
  maps: Partial<Record<CamMethod, Partial<Record<FaithfulnessBaseline, ModeAucs>> | null>>;
}

export interface PairFaithfulness {
  images: [ImageFaithfulness, ImageFaithfulness];
}

/** Explains each pair with every method, then scores the factual maps (see the header). */
export async function faithfulnessForPairs(cam: CamModel, batch: PairBatch, opts: FaithfulnessOptions): Promise<PairFaithfulness[]> {
  const n = batch.a.length;
  const steps = Math.max(1, Math.floor(opts.steps ?? 32));
  const seed = opts.seed ?? 0;
  const explained = new Map<CamMethod, Awaited<ReturnType<typeof explainPairs>>>();
  for (const method of opts.methods) {
    explained.set(
      method,
      await explainPairs(cam, batch, method, {
        signal: opts.signal,
        ...(opts.maxChannels !== undefined ? { maxChannels: opts.maxChannels } : {}),
      }),
    );
  }
  const out: PairFaithfulness[] = [];
  for (let k = 0; k < n; k++) {
    checkAborted(opts.signal);
    const g = (opts.indexOffset ?? 0) + k;
    const [x1, x2] = pairTensors(batch, k, k + 1);
    try {
      const images: ImageFaithfulness[] = [];
      for (const which of [0, 1] as const) {
        const [, H, W] = (which === 0 ? x1 : x2).shape;
        const curveOpts = { steps, seed: seed + g, batchSize: steps + 1, signal: opts.signal };
        const aucs = async (map: Grid, baseline: FaithfulnessBaseline): Promise<ModeAucs> => {
          const pb = pixelBaseline(baseline, opts.channelMeans);
          const one = async (mode: CurveMode) =>
            (await perturbationCurve(cam, x1, x2, which, map, mode, { ...curveOpts, baseline: pb })).auc;
          return { deletion: await one('deletion'), insertion: await one('insertion') };
        };
        const random = randomMap(H, W, 100_003 * (seed + 1) + 2 * g + which);
        const centre = centrePriorMap(H, W);
        const image: ImageFaithfulness = { reference: {}, maps: {} };
        for (const baseline of opts.baselines)
          image.reference[baseline] = { random: await aucs(random, baseline), centre: await aucs(centre, baseline) };
        for (const method of opts.methods) {
          const e = explained.get(method)![k];
          if (e.noEvidence[which].factual) {
            image.maps[method] = null;
            continue;
          }
          const map: Grid = { data: e.maps[2 * which]!, h: e.h, w: e.w };
          const byBaseline: Partial<Record<FaithfulnessBaseline, ModeAucs>> = {};
          for (const baseline of opts.baselines) byBaseline[baseline] = await aucs(map, baseline);
          image.maps[method] = byBaseline;
        }
        images.push(image);
      }
      out.push({ images: images as [ImageFaithfulness, ImageFaithfulness] });
    } finally {
      tf.dispose([x1, x2]);
    }
    opts.onProgress?.(k + 1, n);
  }
  return out;
}

/** The baselines that count for the faithfulness score (all but black: see the header). */
export const SCORED_BASELINES: readonly FaithfulnessBaseline[] = ['blur', 'mean', 'road'];

/** Per method: per baseline the mean AUCs and shares, the images without evidence, and the score. */
export function summariseFaithfulness(
  results: readonly PairFaithfulness[],
  methods: readonly CamMethod[],
  baselines: readonly FaithfulnessBaseline[],
): FaithfulnessMethodDto[] {
  return methods.map((method) => {
    let noEvidence = 0;
    const byBaseline: FaithfulnessMethodDto['byBaseline'] = {};
    for (const baseline of baselines) {
      const triples = { deletion: [] as AucTriple[], insertion: [] as AucTriple[] };
      // a pair beats a reference when the sum of its measured images' AUCs does
      const pairs = { measured: 0, deletionRandom: 0, deletionCentre: 0, insertionRandom: 0, insertionCentre: 0 };
      for (const r of results) {
        const sum = { dm: 0, dr: 0, dc: 0, im: 0, ir: 0, ic: 0 };
        let measured = 0;
        for (const img of r.images) {
          const m = img.maps[method]?.[baseline];
          const ref = img.reference[baseline];
          if (!m || !ref) continue;
          measured++;
          triples.deletion.push({ map: m.deletion, random: ref.random.deletion, centre: ref.centre.deletion });
          triples.insertion.push({ map: m.insertion, random: ref.random.insertion, centre: ref.centre.insertion });
          sum.dm += m.deletion;
          sum.dr += ref.random.deletion;
          sum.dc += ref.centre.deletion;
          sum.im += m.insertion;
          sum.ir += ref.random.insertion;
          sum.ic += ref.centre.insertion;
        }
        if (measured === 0) continue;
        pairs.measured++;
        if (sum.dm < sum.dr) pairs.deletionRandom++;
        if (sum.dm < sum.dc) pairs.deletionCentre++;
        if (sum.im > sum.ir) pairs.insertionRandom++;
        if (sum.im > sum.ic) pairs.insertionCentre++;
      }
      const dto = (mode: CurveMode): AucTripleDto | null => {
        const s = aggregateAucs(triples[mode], mode);
        return (
          s && {
            map: s.map,
            random: s.random,
            centre: s.centre,
            shareBeatsRandom: s.shareBeatsRandom,
            shareBeatsCentre: s.shareBeatsCentre,
          }
        );
      };
      const share = (count: number) => (pairs.measured ? count / pairs.measured : null);
      byBaseline[baseline] = {
        deletion: dto('deletion'),
        insertion: dto('insertion'),
        pairs: pairs.measured,
        pairShareBeatsRandom: { deletion: share(pairs.deletionRandom), insertion: share(pairs.insertionRandom) },
        pairShareBeatsCentre: { deletion: share(pairs.deletionCentre), insertion: share(pairs.insertionCentre) },
      };
    }
    for (const r of results) for (const img of r.images) if (img.maps[method] === null) noEvidence++;
    return { method, label: METHOD_INFO[method].label, noEvidence, byBaseline, score: faithfulnessScore(byBaseline) };
  });
}

/** Mean over the scored baselines of (insertion - deletion) of the map minus that of the random map; null when none was measured. */
export function faithfulnessScore(byBaseline: FaithfulnessMethodDto['byBaseline']): number | null {
  const terms: number[] = [];
  for (const b of SCORED_BASELINES) {
    const r = byBaseline[b];
    if (!r?.deletion || !r.insertion) continue;
    terms.push(r.insertion.map - r.deletion.map - (r.insertion.random - r.deletion.random));
  }
  return terms.length ? terms.reduce((p, q) => p + q, 0) / terms.length : null;
}

/** The method with the highest score (ties: the earlier in CAM_METHODS order); 'gradcam' when none has one. */
export function mostFaithfulMethod(methods: readonly Pick<FaithfulnessMethodDto, 'method' | 'score'>[]): CamMethod {
  let best: { method: CamMethod; score: number } | null = null;
  for (const id of CAM_METHODS) {
    const m = methods.find((x) => x.method === id);
    if (m?.score === null || m?.score === undefined) continue;
    if (!best || m.score > best.score) best = { method: id, score: m.score };
  }
  return best?.method ?? 'gradcam';
}
