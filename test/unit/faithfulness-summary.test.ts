// The pieces of the faithfulness summary that need no trained model: the reliability hint on the
// quadrant model (whose right map is known: only the top-left quadrant matters), the score of a
// method from its AUCs, and the choice of the default method.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FaithfulnessMethodDto } from '../../src/shared/dto';
import { quadrantModel } from '../../src/main/engine/explain/cam/analytic-models';
import {
  faithfulnessScore,
  mostFaithfulMethod,
  summariseFaithfulness,
  type PairFaithfulness,
} from '../../src/main/engine/explain/faithfulness';
import type { Grid } from '../../src/main/engine/explain/metrics';
import { reliabilityOfPair } from '../../src/main/engine/explain/reliability';
import { initBackend } from '../../src/main/engine/runtime/backend';

beforeAll(async () => {
  await initBackend({ force: 'cpu' });
});

describe('reliability hint on the quadrant model', () => {
  const H = 8;
  // image a: bright quadrant (the part the model reads) on a mid-grey rest; image b all ones
  const a = Float32Array.from({ length: H * H }, (_, p) => (Math.floor(p / H) < H / 2 && p % H < H / 2 ? 1 : 0.4));
  const pixels = new Float32Array(2 * H * H);
  pixels.set(a, 0);
  pixels.fill(1, H * H);
  const batch = { shape: [H, H, 1] as [number, number, number], pixels, a: Int32Array.of(0), b: Int32Array.of(1) };
  const onQuadrant: Grid = { data: Float32Array.from(a, (v) => (v === 1 ? 1 : 0)), h: H, w: H };
  const offQuadrant: Grid = { data: Float32Array.from(a, (v) => (v === 1 ? 0 : 1)), h: H, w: H };

  it('a map on the quadrant beats the random map at deletion; a map on the rest is flagged worse than random', async () => {
    const model = quadrantModel(H, H);
    try {
      const [good, none] = await reliabilityOfPair(model, batch, [onQuadrant, null], { baseline: 'mean', channelMeans: [0.2], steps: 8 });
      const [bad] = await reliabilityOfPair(model, batch, [offQuadrant, null], { baseline: 'mean', channelMeans: [0.2], steps: 8 });
      expect(none).toBeNull();
      // the quadrant is 1/4 of the pixels: the good map removes it within the first 2 of 8 steps, so
      // s = sigmoid(4 e - 1) with e the quadrant mean (1, then 0.2 once removed; e2 = 1):
      const sig = (e: number) => 1 / (1 + Math.exp(-(4 * e - 1)));
      const fractions = [0, 1 / 8, 2 / 8, 3 / 8, 4 / 8, 5 / 8, 6 / 8, 7 / 8, 1];
      const goodScores = [sig(1), sig((8 + 8 * 0.2) / 16), ...Array(7).fill(sig(0.2))];
      let auc = 0;
      for (let k = 1; k < 9; k++) auc += ((fractions[k] - fractions[k - 1]) * (goodScores[k] + goodScores[k - 1])) / 2;
      expect(good!.map).toBeCloseTo(auc, 5);
      // the bad map removes the quadrant last (steps 7 and 8): its curve stays at sigmoid(3) until then
      expect(bad!.map).toBeGreaterThan(good!.map);
      expect(good!.worseThanRandom).toBe(false);
      expect(good!.random).toBeGreaterThan(good!.map);
      expect(bad!.worseThanRandom).toBe(true);
      expect(bad!.map).toBeGreaterThan(bad!.random);
      expect(good!.random).toBeCloseTo(bad!.random, 6); // the same seeded random map
    } finally {
      model.dispose();
    }
  });

  it('leaves no tensor behind', async () => {
    const model = quadrantModel(H, H);
    const before = tf.memory().numTensors;
    await reliabilityOfPair(model, batch, [onQuadrant, onQuadrant], { baseline: 'road', steps: 4 });
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});

describe('faithfulness score and default method', () => {
  const triple = (map: number, random: number) => ({ map, random, centre: 0.5, shareBeatsRandom: 1, shareBeatsCentre: 1 });
  const byBaseline = (del: number, ins: number): FaithfulnessMethodDto['byBaseline'] => {
    const entry = {
      deletion: triple(del, 0.5),
      insertion: triple(ins, 0.5),
      pairs: 3,
      pairShareBeatsRandom: { deletion: 1, insertion: 1 },
      pairShareBeatsCentre: { deletion: 1, insertion: 1 },
    };
    return { black: { ...entry, deletion: triple(0, 0.5) }, blur: entry, mean: entry, road: entry };
  };

  it('is the mean over blur, mean and ROAD of (ins - del) minus the random map’s, black left out', () => {
    // (0.8 - 0.2) - (0.5 - 0.5) = 0.6 on every scored baseline; black's perfect deletion does not count
    expect(faithfulnessScore(byBaseline(0.2, 0.8))).toBeCloseTo(0.6, 12);
    expect(faithfulnessScore({ black: byBaseline(0.2, 0.8).black })).toBeNull();
  });

  it('picks the highest score; ties go to the earlier method; Grad-CAM without any score', () => {
    expect(
      mostFaithfulMethod([
        { method: 'gradcam', score: 0.1 },
        { method: 'layercam', score: 0.3 },
        { method: 'occlusion', score: 0.2 },
      ]),
    ).toBe('layercam');
    expect(
      mostFaithfulMethod([
        { method: 'rise', score: 0.3 },
        { method: 'hirescam', score: 0.3 },
      ]),
    ).toBe('hirescam');
    expect(mostFaithfulMethod([{ method: 'rise', score: null }])).toBe('gradcam');
    expect(mostFaithfulMethod([])).toBe('gradcam');
  });

  it('summarises per image and per pair, skipping maps without evidence', () => {
    const aucs = (d: number, i: number) => ({ deletion: d, insertion: i });
    const ref = { road: { random: aucs(0.5, 0.5), centre: aucs(0.4, 0.6) } };
    const results: PairFaithfulness[] = [
      {
        images: [
          { reference: ref, maps: { gradcam: { road: aucs(0.3, 0.7) } } },
          { reference: ref, maps: { gradcam: null } },
        ],
      },
      {
        images: [
          { reference: ref, maps: { gradcam: { road: aucs(0.6, 0.4) } } },
          { reference: ref, maps: { gradcam: { road: aucs(0.45, 0.65) } } },
        ],
      },
    ];
    const [m] = summariseFaithfulness(results, ['gradcam'], ['road']);
    expect(m.noEvidence).toBe(1);
    const r = m.byBaseline.road!;
    expect(r.deletion!.map).toBeCloseTo((0.3 + 0.6 + 0.45) / 3, 12);
    expect(r.deletion!.shareBeatsRandom).toBeCloseTo(2 / 3, 12); // 0.3 and 0.45 < 0.5
    expect(r.pairs).toBe(2);
    // pair 1: 0.3 < 0.5; pair 2: 0.6 + 0.45 = 1.05 < 1.0? no
    expect(r.pairShareBeatsRandom.deletion).toBe(0.5);
    // centre 0.4 per image: pair 1 0.3 < 0.4; pair 2 1.05 < 0.8? no
    expect(r.pairShareBeatsCentre.deletion).toBe(0.5);
    expect(m.score).toBeCloseTo(r.insertion!.map - r.deletion!.map - 0, 12); // random's ins - del = 0
  });
});
