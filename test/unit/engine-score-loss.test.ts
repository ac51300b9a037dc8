import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { contrastiveLoss, contrastiveLossPerPair } from '../../src/main/engine/train/loss';
import { defaultTau, distanceFromScore, pairScore, scoreFromDistance, squaredDistance } from '../../src/main/engine/models/score';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const t2 = (rows: number[][]) => tf.tensor2d(rows);

describe('score s = exp(-d²/τ)', () => {
  it('τ = (m/2)²: 1 for the default margin 2, 4 for margin 4', () => {
    expect(defaultTau()).toBe(1);
    expect(defaultTau(4)).toBe(4);
    expect(defaultTau(1)).toBe(0.25);
  });

  it('matches hand-computed values', () => {
    const e1 = t2([
      [0, 0],
      [0, 0],
      [1, 1],
      [0, 0],
    ]);
    const e2 = t2([
      [3, 4],
      [0.6, 0.8],
      [1, 1],
      [1, 0],
    ]);
    expect(Array.from(squaredDistance(e1, e2).dataSync())).toEqual([25, 1, 0, 1].map((v) => expect.closeTo(v, 6)));
    const s = Array.from(pairScore(e1, e2, 1).dataSync());
    expect(s[0]).toBeCloseTo(Math.exp(-25), 12);
    expect(s[1]).toBeCloseTo(0.36787944, 6);
    expect(s[2]).toBe(1);
    expect(Array.from(pairScore(e1, e2, 4).dataSync())[3]).toBeCloseTo(Math.exp(-0.25), 6);
    expect(scoreFromDistance(2, 1)).toBeCloseTo(Math.exp(-4), 12);
    expect(distanceFromScore(Math.exp(-4), 1)).toBeCloseTo(2, 9);
  });

  it('is differentiable at d = 0 (finite, zero gradient)', () => {
    const e = t2([[0.3, -0.2]]);
    const g = tf.grad((x: tf.Tensor) => tf.sum(pairScore(x as tf.Tensor2D, e, 1)))(t2([[0.3, -0.2]]));
    expect(Array.from(g.dataSync()).map(Math.abs)).toEqual([0, 0]);
  });

  it('rejects τ <= 0', () => {
    expect(() => pairScore(t2([[0]]), t2([[1]]), 0)).toThrow(/temperature/);
  });
});

describe('contrastive loss L = y·d² + (1−y)·max(0, m − d)²', () => {
  it('matches hand-computed values per pair and on average', () => {
    const d2 = tf.tensor1d([1, 1, 9, 0.25, 4]);
    const y = tf.tensor1d([1, 0, 0, 0, 1]);
    // y=1,d²=1 -> 1; y=0,d=1,m=2 -> 1; y=0,d=3 -> 0; y=0,d=0.5 -> 2.25; y=1,d²=4 -> 4
    const per = Array.from(contrastiveLossPerPair(d2, y, 2).dataSync());
    [1, 1, 0, 2.25, 4].forEach((v, i) => expect(per[i]).toBeCloseTo(v, 5));
    const e1 = t2([
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
    ]);
    const e2 = t2([
      [1, 0],
      [0, 1],
      [3, 0],
      [0, 0.5],
    ]);
    const mean = contrastiveLoss(e1, e2, tf.tensor1d([1, 0, 0, 0]), 2).dataSync()[0];
    expect(mean).toBeCloseTo((1 + 1 + 0 + 2.25) / 4, 5);
    // margin 4: y=0, d=3 -> 1
    expect(contrastiveLoss(t2([[0, 0]]), t2([[3, 0]]), tf.tensor1d([0]), 4).dataSync()[0]).toBeCloseTo(1, 5);
  });

  it('gradients are finite for identical embeddings of a negative pair', () => {
    const e2 = t2([[0.5, 0.5]]);
    const g = tf.grad((x: tf.Tensor) => contrastiveLoss(x as tf.Tensor2D, e2, tf.tensor1d([0]), 2))(t2([[0.5, 0.5]]));
    for (const v of g.dataSync()) expect(Number.isFinite(v)).toBe(true);
  });

  it('gradient of a positive pair pulls together: dL/de1 = 2(e1 − e2)', () => {
    const g = tf.grad((x: tf.Tensor) => contrastiveLoss(x as tf.Tensor2D, t2([[0, 0]]), tf.tensor1d([1]), 2))(t2([[1, -2]]));
    expect(Array.from(g.dataSync())).toEqual([2, -4].map((v) => expect.closeTo(v, 5)));
  });

  it('leaves no tensors behind', () => {
    const e1 = t2([[1, 2]]);
    const e2 = t2([[2, 2]]);
    const y = tf.tensor1d([0]);
    const before = tf.memory().numTensors;
    const l = contrastiveLoss(e1, e2, y);
    l.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
