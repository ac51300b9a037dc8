// A cheap reliability hint for the maps of one pair: each image's deletion curve under its map
// against a seeded random map's, on that same pair. A map whose deletion AUC is not below the
// random map's does not point at what the model uses (for this pair); the view marks it.
// Two curves per image (the map's and the random map's), on the maps already computed.
import * as tf from '@tensorflow/tfjs';
import type { FaithfulnessBaseline } from '../../../shared/dto';
import { pairTensors, type CamModel } from './cam-model';
import { perturbationCurve, pixelBaseline, randomMap, type Grid } from './metrics';
import type { PairBatch } from './pairs';

export interface ReliabilityOptions {
  baseline: FaithfulnessBaseline;
  /** per channel, for the 'mean' baseline */
  channelMeans?: readonly number[];
  /** deletion steps (default 16) */
  steps?: number;
  /** seed of the random maps and tie-breaking (default 0) */
  seed?: number;
  signal?: AbortSignal;
}

export interface ImageReliability {
  map: number;
  random: number;
  worseThanRandom: boolean;
}

/**
 * For the single pair of `batch`: per image, the deletion AUC of `maps[i]` (null: no evidence,
 * not measured) and of a random map. A tie counts as worse than random.
 */
export async function reliabilityOfPair(
  cam: CamModel,
  batch: PairBatch,
  maps: [Grid | null, Grid | null],
  opts: ReliabilityOptions,
): Promise<[ImageReliability | null, ImageReliability | null]> {
  if (batch.a.length !== 1) throw new Error(`reliability: one pair expected, got ${batch.a.length}`);
  const steps = Math.max(1, Math.floor(opts.steps ?? 16));
  const seed = opts.seed ?? 0;
  const baseline = pixelBaseline(opts.baseline, opts.channelMeans);
  const [x1, x2] = pairTensors(batch, 0, 1);
  try {
    const out: Array<ImageReliability | null> = [];
    for (const which of [0, 1] as const) {
      const map = maps[which];
      if (!map) {
        out.push(null);
        continue;
      }
      const [, H, W] = (which === 0 ? x1 : x2).shape;
      const curve = async (m: Grid) =>
        (await perturbationCurve(cam, x1, x2, which, m, 'deletion', { steps, seed, baseline, batchSize: steps + 1, signal: opts.signal }))
          .auc;
      const mapAuc = await curve(map);
      const randomAuc = await curve(randomMap(H, W, 7919 * (seed + 1) + which));
      out.push({ map: mapAuc, random: randomAuc, worseThanRandom: !(mapAuc < randomAuc) });
    }
    return out as [ImageReliability | null, ImageReliability | null];
  } finally {
    tf.dispose([x1, x2]);
  }
}
