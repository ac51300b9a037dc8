import { describe, expect, it } from 'vitest';
import {
  chooseThreshold,
  metricsAt,
  rocAuc,
  rocCurve,
  scoreHistogram,
  SingleClassError,
  trapezoidAuc,
} from '../../src/main/engine/evaluate/roc';

describe('rocAuc', () => {
  it('hand-computed: the classic 4-point case is 0.75', () => {
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.75, 12);
  });

  it('perfect and inverted rankings', () => {
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0])).toBe(1);
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
  });

  it('ties count one half: all equal -> 0.5; one tied pos/neg pair -> 3.5/4', () => {
    expect(rocAuc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.5);
    expect(rocAuc([1, 0.5, 0.5, 0], [1, 1, 0, 0])).toBeCloseTo(0.875, 12);
  });

  it('equals the trapezoid area under the ROC curve (with ties)', () => {
    const scores = [0.9, 0.7, 0.7, 0.6, 0.55, 0.55, 0.4, 0.3, 0.3, 0.1];
    const labels = [1, 1, 0, 1, 0, 1, 0, 1, 0, 0];
    // brute force over all positive/negative pairs
    let num = 0;
    let den = 0;
    scores.forEach((sp, i) =>
      scores.forEach((sn, j) => {
        if (labels[i] === 1 && labels[j] === 0) {
          den++;
          num += sp > sn ? 1 : sp === sn ? 0.5 : 0;
        }
      }),
    );
    expect(rocAuc(scores, labels)).toBeCloseTo(num / den, 12);
    expect(trapezoidAuc(rocCurve(scores, labels))).toBeCloseTo(num / den, 12);
  });

  it('one class only is an error, not a number', () => {
    expect(() => rocAuc([0.1, 0.2], [1, 1])).toThrow(SingleClassError);
    expect(() => rocAuc([0.1, 0.2], [0, 0])).toThrow(/only one class/);
    expect(() => rocAuc([0.1], [0, 1])).toThrow(/length/);
    expect(() => rocAuc([NaN, 0.1], [0, 1])).toThrow(/finite/);
  });
});

describe('rocCurve', () => {
  it('goes from (0,0) to (1,1), one point per distinct score, ties move diagonally', () => {
    const pts = rocCurve([0.9, 0.5, 0.5, 0.1], [1, 1, 0, 0]);
    expect(pts.map((p) => [p.fpr, p.tpr])).toEqual([
      [0, 0],
      [0, 0.5],
      [0.5, 1],
      [1, 1],
    ]);
    expect(pts[2].threshold).toBe(0.5);
  });

  it('thins to maxPoints keeping both ends', () => {
    const n = 1000;
    const scores = Array.from({ length: n }, (_, i) => i / n);
    const labels = scores.map((_, i) => i % 2);
    const pts = rocCurve(scores, labels, 11);
    expect(pts).toHaveLength(11);
    expect(pts[0]).toMatchObject({ fpr: 0, tpr: 0 });
    expect(pts[10]).toMatchObject({ fpr: 1, tpr: 1 });
  });
});

describe('threshold and metrics', () => {
  it('chooses the threshold maximising accuracy (midpoint between scores)', () => {
    const t = chooseThreshold([0.9, 0.8, 0.3, 0.2, 0.7], [1, 1, 0, 0, 0]);
    expect(t.threshold).toBeCloseTo(0.75, 12);
    expect(t.accuracy).toBe(1);
  });

  it('non-separable case: best accuracy 5/6, threshold between .6 and .5', () => {
    // sorted desc: .9(1) .8(0) .7(1) .6(1) .5(0) .4(0)... choose between .6 and .5 -> 5/6
    const t = chooseThreshold([0.9, 0.8, 0.7, 0.6, 0.5, 0.4], [1, 0, 1, 1, 0, 0]);
    expect(t.threshold).toBeCloseTo(0.55, 12);
    expect(t.accuracy).toBeCloseTo(5 / 6, 12);
  });

  it('all negatives: the threshold lies above every score', () => {
    const t = chooseThreshold([0.2, 0.3], [0, 0]);
    expect(t.threshold).toBeGreaterThan(0.3);
    expect(t.accuracy).toBe(1);
  });

  it('accuracy, precision, recall, F1 at a threshold (score >= t is "same")', () => {
    const m = metricsAt([0.9, 0.8, 0.7, 0.6, 0.5, 0.4], [1, 0, 1, 1, 0, 0], 0.7);
    expect(m).toMatchObject({ tp: 2, fp: 1, tn: 2, fn: 1 });
    expect(m.accuracy).toBeCloseTo(4 / 6, 12);
    expect(m.precision).toBeCloseTo(2 / 3, 12);
    expect(m.recall).toBeCloseTo(2 / 3, 12);
    expect(m.f1).toBeCloseTo(2 / 3, 12);
    expect(metricsAt([0.1], [1], 0.5)).toMatchObject({ precision: 0, recall: 0, f1: 0 });
  });

  it('histograms per class over [0,1]', () => {
    const h = scoreHistogram([0, 0.05, 0.5, 0.99, 1], [1, 0, 1, 0, 1], 10);
    expect(h.edges).toHaveLength(11);
    expect(h.same).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect(h.different).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  });
});
