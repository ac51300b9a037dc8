// Aggregates of faithfulness reports over many images (for `simlens metrics`, the
// metrics view and the decoy benchmark): mean AUCs and the share of images where the
// map beats each reference map.
import type { FaithfulnessReport } from './deletion';

export interface CurveAggregate {
  images: number;
  meanAuc: { map: number; random: number; centre: number };
  /** share of images where the map is better than the reference (deletion: lower AUC; insertion: higher) */
  shareBeatsRandom: number;
  shareBeatsCentre: number;
}

export interface FaithfulnessAggregate {
  deletion: CurveAggregate | null;
  insertion: CurveAggregate | null;
}

export function aggregateFaithfulness(reports: readonly FaithfulnessReport[]): FaithfulnessAggregate {
  const one = (mode: 'deletion' | 'insertion'): CurveAggregate | null => {
    const n = reports.length;
    if (n === 0) return null;
    const better = (a: number, b: number) => (mode === 'deletion' ? a < b : a > b);
    let map = 0;
    let random = 0;
    let centre = 0;
    let br = 0;
    let bc = 0;
    for (const r of reports) {
      const m = r.map[mode].auc;
      map += m;
      random += r.random[mode].auc;
      centre += r.centre[mode].auc;
      if (better(m, r.random[mode].auc)) br++;
      if (better(m, r.centre[mode].auc)) bc++;
    }
    return { images: n, meanAuc: { map: map / n, random: random / n, centre: centre / n }, shareBeatsRandom: br / n, shareBeatsCentre: bc / n };
  };
  return { deletion: one('deletion'), insertion: one('insertion') };
}
