// Threshold-free and thresholded metrics of a pair scorer, from continuous scores
// over a WHOLE split (never per batch, never from 0/1 predictions).
// Convention: label 1 = same; a higher score means "more similar"; a pair is
// predicted "same" when score >= threshold.
import type { BinaryMetricsDto, ScoreHistogramDto } from '../../../shared/dto';

export interface RocPoint {
  /** false positive rate */
  fpr: number;
  /** true positive rate */
  tpr: number;
  /** predict "same" when score >= threshold */
  threshold: number;
}

export type BinaryMetrics = BinaryMetricsDto;
export type ScoreHistogram = ScoreHistogramDto;

export class SingleClassError extends Error {
  constructor(what: string) {
    super(`${what} needs both same (1) and different (0) pairs; this set has only one class`);
    this.name = 'SingleClassError';
  }
}

function check(scores: ArrayLike<number>, labels: ArrayLike<number>): void {
  if (scores.length !== labels.length) throw new Error(`scores (${scores.length}) and labels (${labels.length}) differ in length`);
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i])) throw new Error(`score ${i} is not finite (${scores[i]})`);
    if (labels[i] !== 0 && labels[i] !== 1) throw new Error(`label ${i} must be 0 or 1, got ${labels[i]}`);
  }
}

/** Indices sorted by score, descending. */
function orderDesc(scores: ArrayLike<number>): number[] {
  const idx = Array.from({ length: scores.length }, (_, i) => i);
  return idx.sort((a, b) => scores[b] - scores[a]);
}

/**
 * ROC AUC = P(score of a random positive > score of a random negative) + ½ P(tie):
 * the Mann-Whitney U statistic with mid-ranks for ties, which equals the trapezoid
 * area under the full ROC curve. O(n log n). Throws SingleClassError when one class is absent.
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  check(scores, labels);
  const n = scores.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let nPos = 0;
  for (let i = 0; i < n; i++) nPos += labels[i];
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) throw new SingleClassError('ROC AUC');
  let rankSumPos = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[idx[j + 1]] === scores[idx[i]]) j++;
    const midRank = (i + j) / 2 + 1; // ranks are 1-based
    for (let k = i; k <= j; k++) if (labels[idx[k]] === 1) rankSumPos += midRank;
    i = j + 1;
  }
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/**
 * ROC curve: one point per distinct score (ties move diagonally), from (0,0) to
 * (1,1). `maxPoints` thins a long curve for storage (keeping both ends).
 */
export function rocCurve(scores: ArrayLike<number>, labels: ArrayLike<number>, maxPoints = Infinity): RocPoint[] {
  check(scores, labels);
  const order = orderDesc(scores);
  let nPos = 0;
  for (let i = 0; i < labels.length; i++) nPos += labels[i];
  const nNeg = labels.length - nPos;
  if (nPos === 0 || nNeg === 0) throw new SingleClassError('A ROC curve');
  const points: RocPoint[] = [{ fpr: 0, tpr: 0, threshold: Infinity }];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < order.length;) {
    const s = scores[order[i]];
    while (i < order.length && scores[order[i]] === s) {
      if (labels[order[i]] === 1) tp++;
      else fp++;
      i++;
    }
    points.push({ fpr: fp / nNeg, tpr: tp / nPos, threshold: s });
  }
  if (points.length <= maxPoints) return points;
  const out: RocPoint[] = [];
  const step = (points.length - 1) / (maxPoints - 1);
  for (let k = 0; k < maxPoints; k++) out.push(points[Math.round(k * step)]);
  return out;
}

/** Trapezoid area under a ROC curve (equals rocAuc for the full curve). */
export function trapezoidAuc(points: RocPoint[]): number {
  let area = 0;
  for (let i = 1; i < points.length; i++) area += ((points[i].fpr - points[i - 1].fpr) * (points[i].tpr + points[i - 1].tpr)) / 2;
  return area;
}

/** Confusion counts and rates when predicting "same" for score >= threshold. */
export function metricsAt(scores: ArrayLike<number>, labels: ArrayLike<number>, threshold: number): BinaryMetrics {
  check(scores, labels);
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const predSame = scores[i] >= threshold;
    if (labels[i] === 1) {
      if (predSame) tp++;
      else fn++;
    } else if (predSame) fp++;
    else tn++;
  }
  const n = scores.length;
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { threshold, tp, fp, tn, fn, accuracy: n === 0 ? 0 : (tp + tn) / n, precision, recall, f1 };
}

/**
 * The threshold that maximises accuracy on these (validation) scores. Candidates are
 * the midpoints between consecutive distinct scores, plus one above the maximum
 * (all "different") and the minimum itself (all "same"); on equal accuracy the first
 * in descending order wins (the stricter threshold). O(n log n).
 */
export function chooseThreshold(scores: ArrayLike<number>, labels: ArrayLike<number>): { threshold: number; accuracy: number } {
  check(scores, labels);
  const n = scores.length;
  if (n === 0) throw new Error('chooseThreshold needs at least one pair');
  const order = orderDesc(scores);
  let nNeg = 0;
  for (let i = 0; i < n; i++) nNeg += labels[i] === 0 ? 1 : 0;
  // Threshold above every score: all predicted "different" -> correct = nNeg.
  let correct = nNeg;
  let best = { threshold: scores[order[0]] + 1e-6 + Math.abs(scores[order[0]]) * 1e-6, correct };
  for (let i = 0; i < n;) {
    const s = scores[order[i]];
    while (i < n && scores[order[i]] === s) {
      correct += labels[order[i]] === 1 ? 1 : -1;
      i++;
    }
    // Now every score >= s is predicted "same".
    if (correct > best.correct) {
      const threshold = i < n ? (s + scores[order[i]]) / 2 : s;
      best = { threshold, correct };
    }
  }
  return { threshold: best.threshold, accuracy: best.correct / n };
}

/** Score histograms over [0, 1] for same and different pairs. */
export function scoreHistogram(scores: ArrayLike<number>, labels: ArrayLike<number>, bins = 20): ScoreHistogram {
  check(scores, labels);
  const edges = Array.from({ length: bins + 1 }, (_, i) => i / bins);
  const same = new Array<number>(bins).fill(0);
  const different = new Array<number>(bins).fill(0);
  for (let i = 0; i < scores.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(scores[i] * bins)));
    (labels[i] === 1 ? same : different)[b]++;
  }
  return { edges, same, different };
}
