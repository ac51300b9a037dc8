// Batch explain: same maps as one pair at a time, cancellation, no leaks.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { tinyCnnModel } from '../../src/main/engine/explain/cam/analytic-models';
import { explainMany, explainPair, type PairExplanation, type PairSource } from '../../src/main/engine/explain/cam';
import { aggregateFaithfulness, type FaithfulnessReport } from '../../src/main/engine/explain/metrics';
import { createRng } from '../../src/main/pairs/rng';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const S = 10;
const N = 7;
const rng = createRng(3, 3);
const pixels = Array.from({ length: 2 * N }, () => Float32Array.from({ length: S * S }, () => rng.next()));
const source: PairSource = {
  count: N,
  load: (start, end) => ({
    x1: tf.tensor4d(
      pixels.slice(start, end).flatMap((p) => Array.from(p)),
      [end - start, S, S, 1],
    ),
    x2: tf.tensor4d(
      pixels.slice(N + start, N + end).flatMap((p) => Array.from(p)),
      [end - start, S, S, 1],
    ),
  }),
};

describe('explainMany', () => {
  it('gradient methods in batches give the maps of one pair at a time, in order, without leaks', async () => {
    const model = tinyCnnModel({ k: 5, seed: 8 });
    const warm = source.load(0, 1) as { x1: tf.Tensor4D; x2: tf.Tensor4D };
    await explainPair(model, warm.x1, warm.x2, 'hirescam'); // backend warm-up
    tf.dispose([warm.x1, warm.x2]);
    const before = tf.memory().numTensors;
    const got: [number, PairExplanation][] = [];
    const progress: number[] = [];
    const res = await explainMany(model, source, 'hirescam', {
      pairsPerBatch: 3,
      onResult: (i, e) => void got.push([i, e]),
      onProgress: (f) => progress.push(f),
    });
    expect(res.explained).toBe(N);
    expect(got.map(([i]) => i)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(progress).toEqual([3 / 7, 6 / 7, 1]);
    expect(tf.memory().numTensors).toBe(before);
    const { x1, x2 } = source.load(5, 6) as { x1: tf.Tensor4D; x2: tf.Tensor4D };
    const single = await explainPair(model, x1, x2, 'hirescam');
    tf.dispose([x1, x2]);
    expect(got[5][1].score).toBeCloseTo(single.score, 6);
    for (const k of [0, 1]) {
      const a = got[5][1].images[k].factual;
      const b = single.images[k].factual;
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-5);
    }
    model.dispose();
  });

  it('perturbation methods one pair at a time; cancellation stops between pairs without leaks', async () => {
    const model = tinyCnnModel({ k: 4, seed: 9 });
    const before = tf.memory().numTensors;
    const ctrl = new AbortController();
    const seen: number[] = [];
    const run = explainMany(model, source, 'occlusion', {
      patch: 5,
      stride: 5,
      signal: ctrl.signal,
      onResult: (i) => {
        seen.push(i);
        if (i === 1) ctrl.abort();
      },
    });
    await expect(run).rejects.toThrow(/abort/i);
    expect(seen).toEqual([0, 1]);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});

describe('aggregateFaithfulness', () => {
  const curve = (auc: number) => ({ mode: 'deletion' as const, fractions: new Float32Array(), scores: new Float32Array(), auc });
  const rep = (m: number, r: number, c: number): FaithfulnessReport => ({
    which: 0,
    map: { deletion: curve(m), insertion: { ...curve(1 - m), mode: 'insertion' } },
    random: { deletion: curve(r), insertion: { ...curve(1 - r), mode: 'insertion' } },
    centre: { deletion: curve(c), insertion: { ...curve(1 - c), mode: 'insertion' } },
  });
  it('means and shares by hand', () => {
    const agg = aggregateFaithfulness([rep(0.2, 0.4, 0.1), rep(0.5, 0.4, 0.6)]);
    expect(agg.deletion!.meanAuc.map).toBeCloseTo(0.35, 12);
    expect(agg.deletion!.meanAuc.random).toBeCloseTo(0.4, 12);
    expect(agg.deletion!.shareBeatsRandom).toBe(0.5); // 0.2 < 0.4 only
    expect(agg.deletion!.shareBeatsCentre).toBe(0.5); // 0.5 < 0.6 only
    expect(agg.insertion!.shareBeatsRandom).toBe(0.5); // 0.8 > 0.6 only
    expect(aggregateFaithfulness([]).deletion).toBeNull();
  });
});
