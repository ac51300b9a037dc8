// Faithfulness and localisation metrics on hand examples and on the quadrant model.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { quadrantModel, tinyCnnModel, type DisposableCamModel } from '../../src/main/engine/explain/cam/analytic-models';
import { explainPair } from '../../src/main/engine/explain/cam';
import {
  averageRanks,
  centrePriorMap,
  energyPointingGame,
  faithfulness,
  gaussianBlur,
  importanceOrder,
  pearson,
  perturbationCurve,
  pointingGame,
  randomMap,
  sanityCheck,
  spearman,
  thresholdIoU,
  trapezoid,
} from '../../src/main/engine/explain/metrics';
import { createRng } from '../../src/main/pairs/rng';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const grid = (data: number[], h: number, w: number) => ({ data, h, w });

describe('localisation against a mask (hand examples)', () => {
  it('energy-based pointing game', () => {
    expect(energyPointingGame(grid([1, 2, 3, 4], 2, 2), grid([1, 0, 0, 1], 2, 2))).toBeCloseTo(0.5, 12); // (1+4)/10
    expect(energyPointingGame(grid([0, 0, 5, 0], 2, 2), grid([0, 0, 1, 0], 2, 2))).toBe(1);
    expect(energyPointingGame(grid([0, 0, 0, 0], 2, 2), grid([1, 0, 0, 1], 2, 2))).toBeNull(); // 0/0
    expect(() => energyPointingGame(grid([1, -1, 0, 0], 2, 2), grid([1, 0, 0, 1], 2, 2))).toThrow(/non-negative/);
    // a 1x2 map on a 2x4 mask is upsampled first: values 0, .25, .75, 1 per row; mask = right half
    expect(energyPointingGame(grid([0, 1], 1, 2), grid([0, 0, 1, 1, 0, 0, 1, 1], 2, 4))).toBeCloseTo(1.75 / 2, 6);
  });

  it('pointing game, with and without tolerance', () => {
    expect(pointingGame(grid([0.1, 0.9, 0.2, 0.3], 2, 2), grid([0, 1, 0, 0], 2, 2))).toBe(true);
    expect(pointingGame(grid([0.1, 0.9, 0.2, 0.3], 2, 2), grid([1, 0, 0, 0], 2, 2))).toBe(false);
    expect(pointingGame(grid([0, 0, 0, 0], 2, 2), grid([1, 0, 0, 0], 2, 2))).toBeNull();
    const centre = grid([0, 0, 0, 0, 1, 0, 0, 0, 0], 3, 3);
    const corner = grid([1, 0, 0, 0, 0, 0, 0, 0, 0], 3, 3);
    expect(pointingGame(centre, corner, { tolerance: 1 })).toBe(false); // distance sqrt(2)
    expect(pointingGame(centre, corner, { tolerance: 1.5 })).toBe(true);
  });

  it('IoU of the thresholded map', () => {
    const map = grid([1, 0.6, 0.4, 0], 2, 2);
    const mask = grid([0, 1, 1, 0], 2, 2);
    expect(thresholdIoU(map, mask)).toBeCloseTo(1 / 3, 12); // {0,1} vs {1,2}
    expect(thresholdIoU(map, mask, { threshold: 0.3 })).toBeCloseTo(2 / 3, 12); // {0,1,2} vs {1,2}
    expect(thresholdIoU(grid([0, 0, 0, 0], 2, 2), grid([0, 0, 0, 0], 2, 2))).toBeNull();
    expect(thresholdIoU(grid([0, 0, 0, 0], 2, 2), mask)).toBe(0);
  });
});

describe('Spearman rank correlation with ties', () => {
  it('average ranks', () => {
    expect(Array.from(averageRanks([3, 1, 3, 3, 2]))).toEqual([4, 1, 4, 4, 2]);
    expect(Array.from(averageRanks([5, 5]))).toEqual([1.5, 1.5]);
  });
  it('matches hand-computed values (= scipy.stats.spearmanr)', () => {
    // ranks a = [1, 2.5, 2.5, 4], b = [1, 3, 2, 4]: rho = 4.5 / sqrt(4.5 * 5)
    expect(spearman([1, 2, 2, 3], [1, 3, 2, 4])).toBeCloseTo(4.5 / Math.sqrt(22.5), 12);
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 1000])).toBeCloseTo(1, 12); // monotone, not linear
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    // ties on both sides: a ranks [1.5,1.5,3,4], b ranks [1,2.5,2.5,4]
    const ra = [1.5, 1.5, 3, 4];
    const rb = [1, 2.5, 2.5, 4];
    expect(spearman([0, 0, 1, 2], [7, 8, 8, 9])).toBeCloseTo(pearson(ra, rb)!, 12);
    expect(pearson(ra, rb)).toBeCloseTo(3.75 / 4.5, 12); // deviations [-1,-1,.5,1.5] and [-1.5,0,0,1.5]
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNull(); // constant: undefined
  });
});

describe('deletion / insertion', () => {
  it('trapezoid and importance order', () => {
    expect(trapezoid([0, 0.5, 1], [1, 0.5, 0])).toBeCloseTo(0.5, 12);
    expect(trapezoid([0, 0.25, 1], [1, 1, 0])).toBeCloseTo(0.25 + 0.375, 12);
    const order = Array.from(importanceOrder([0.1, 0.9, 0.5, 0.9]));
    expect(order.slice(2)).toEqual([2, 0]);
    expect(order.slice(0, 2).sort()).toEqual([1, 3]);
  });

  it('a blur of a constant image is the same constant (reflect padding)', () => {
    const x = tf.fill([1, 9, 9, 2], 0.7) as tf.Tensor4D;
    const b = gaussianBlur(x, 2);
    expect(b.shape).toEqual([1, 9, 9, 2]);
    for (const v of b.dataSync()) expect(v).toBeCloseTo(0.7, 5);
    tf.dispose([x, b]);
  });

  it('Grad-CAM beats the random map on the quadrant model (deletion lower, insertion higher)', async () => {
    const S = 16;
    const model = quadrantModel(S, S);
    const rng = createRng(21, 1);
    const mk = () =>
      tf.tensor4d(
        Float32Array.from({ length: S * S }, () => 0.2 + 0.8 * rng.next()),
        [1, S, S, 1],
      );
    const [x1, x2] = [mk(), mk()];
    const before = tf.memory().numTensors;
    const ex = await explainPair(model, x1, x2, 'gradcam');
    for (const which of [0, 1] as const) {
      const im = ex.images[which];
      const rep = await faithfulness(model, x1, x2, which, { data: im.factual, h: im.h, w: im.w }, { steps: 16, baseline: 'zeros' });
      expect(rep.map.deletion.auc).toBeLessThan(rep.random.deletion.auc);
      expect(rep.map.insertion.auc).toBeGreaterThan(rep.random.insertion.auc);
      // the curve runs from the pair's score to the score with the image blanked
      const d = rep.map.deletion;
      expect(d.fractions[0]).toBe(0);
      expect(d.fractions[16]).toBe(1);
      expect(d.scores[0]).toBeCloseTo(ex.score, 5);
      expect(d.scores[16]).toBeCloseTo(1 / (1 + Math.exp(1)), 5); // sigmoid(4*0*e2 - 1)
      // after a quarter of the pixels (the whole quadrant) is gone, s is already at its floor
      expect(d.scores[4]).toBeCloseTo(d.scores[16], 5);
      expect(rep.map.insertion.scores[4]).toBeCloseTo(ex.score, 5);
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x1, x2]);
    model.dispose();
  });

  it('a blur baseline for insertion and the reference maps have the right shape', async () => {
    const S = 8;
    const model = quadrantModel(S, S);
    const x = tf.fill([1, S, S, 1], 0.5) as tf.Tensor4D;
    const c = await perturbationCurve(model, x, x, 1, centrePriorMap(S, S), 'insertion', { steps: 4, baseline: 'blur' });
    // blur of a constant image = the image: insertion changes nothing
    for (const v of c.scores) expect(v).toBeCloseTo(c.scores[0], 5);
    expect(randomMap(S, S, 3).data).toEqual(randomMap(S, S, 3).data);
    const cp = centrePriorMap(S, S).data;
    expect(cp[3 * S + 3]).toBeGreaterThan(cp[0]);
    tf.dispose(x);
    model.dispose();
  });
});

describe('sanity check (model randomisation)', () => {
  it('identical model -> rho 1; randomised head -> the maps decorrelate; no leaks', async () => {
    const S = 12;
    const model = tinyCnnModel({ k: 8, seed: 1 });
    const rng = createRng(5, 1);
    const mk = () =>
      tf.tensor4d(
        Float32Array.from({ length: S * S }, () => rng.next()),
        [1, S, S, 1],
      );
    const [x1, x2] = [mk(), mk()];
    const randomHeads: DisposableCamModel[] = [];
    const before = tf.memory().numTensors;
    const report = await sanityCheck(
      model,
      (n) => {
        if (n === 0) return { model, label: 'none' };
        // cascading from the top: n = 1 re-initialises the head, n = 2 the target layer too
        const other = tinyCnnModel({ k: 8, seed: 100 + n });
        randomHeads.push(other);
        const features = n >= 2 ? other.features : model.features;
        return {
          model: { layer: model.layer, features, head: other.head, score: other.score },
          dispose: () => other.dispose(),
          label: n >= 2 ? 'conv1' : 'head',
        };
      },
      [0, 1, 2],
      x1,
      x2,
      'gradcam',
    );
    expect(report.steps[0].factual).toEqual([1, 1]);
    expect(report.steps[0].absRaw).toEqual([1, 1]);
    // measured: head only -> absRaw rho 0.93 / 0.88 (Grad-CAM at a low layer is dominated by
    // A, which is unchanged); target layer too -> -0.15 / -0.07
    expect(report.steps.map((s) => s.label)).toEqual(['none', 'head', 'conv1']);
    for (const rho of report.steps[1].absRaw) expect(rho!).toBeLessThan(0.97);
    for (const rho of report.steps[2].absRaw) expect(Math.abs(rho!)).toBeLessThan(0.5);
    for (const rho of report.steps[2].factual) expect(Math.abs(rho!)).toBeLessThan(0.5);
    expect(tf.memory().numTensors).toBe(before);
    expect(randomHeads.length).toBe(2);
    tf.dispose([x1, x2]);
    model.dispose();
  });
});
