// Faithfulness over many images: the mean deletion or insertion AUC of the maps and of the two
// reference maps (random, centre prior), and the share of images where the map beats each. One
// aggregation, used by the metrics job (explain/measure.ts aggregateMetrics) and by
// aggregateFaithfulness below (the faithfulness benchmark scripts).
import type { CurveMode, FaithfulnessReport } from './deletion';

/** One image's AUCs under one mode: the map's and the reference maps'. */
export interface AucTriple {
  map: number;
  random: number;
  centre: number;
}

export interface AucSummary extends AucTriple {
  images: number;
  /** share of images where the map is better than the reference (deletion: lower AUC; insertion: higher) */
  shareBeatsRandom: number;
  shareBeatsCentre: number;
}

/** Whether AUC `a` is better than `b` under `mode` (deletion: lower; insertion: higher). */
export const betterAuc = (mode: CurveMode, a: number, b: number): boolean => (mode === 'deletion' ? a < b : a > b);

/** Means and shares over the images' AUC triples; null when there are none. */
export function aggregateAucs(triples: readonly AucTriple[], mode: CurveMode): AucSummary | null {
  const n = triples.length;
  if (n === 0) return null;
  let map = 0;
  let random = 0;
  let centre = 0;
  let beatsRandom = 0;
  let beatsCentre = 0;
  for (const t of triples) {
    map += t.map;
    random += t.random;
    centre += t.centre;
    if (betterAuc(mode, t.map, t.random)) beatsRandom++;
    if (betterAuc(mode, t.map, t.centre)) beatsCentre++;
  }
  return {
    images: n,
    map: map / n,
    random: random / n,
    centre: centre / n,
    shareBeatsRandom: beatsRandom / n,
    shareBeatsCentre: beatsCentre / n,
  };
}

export interface CurveAggregate {
  images: number;
  meanAuc: AucTriple;
  /** share of images where the map is better than the reference (deletion: lower AUC; insertion: higher) */
  shareBeatsRandom: number;
  shareBeatsCentre: number;
}

export interface FaithfulnessAggregate {
  deletion: CurveAggregate | null;
  insertion: CurveAggregate | null;
}

/** aggregateAucs over faithfulness reports (engine/explain/metrics faithfulness), both modes. */
export function aggregateFaithfulness(reports: readonly FaithfulnessReport[]): FaithfulnessAggregate {
  const one = (mode: CurveMode): CurveAggregate | null => {
    const s = aggregateAucs(
      reports.map((r) => ({ map: r.map[mode].auc, random: r.random[mode].auc, centre: r.centre[mode].auc })),
      mode,
    );
    return (
      s && {
        images: s.images,
        meanAuc: { map: s.map, random: s.random, centre: s.centre },
        shareBeatsRandom: s.shareBeatsRandom,
        shareBeatsCentre: s.shareBeatsCentre,
      }
    );
  };
  return { deletion: one('deletion'), insertion: one('insertion') };
}
