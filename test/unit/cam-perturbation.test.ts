// Score-CAM, occlusion and RISE on the quadrant model, where everything that matters for
// the score lies in the top-left quadrant of each image; cancellation; progress; leaks.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { quadrantModel, tinyCnnModel } from '../../src/main/engine/explain/cam/analytic-models';
import {
  CAM_METHODS,
  GRADIENT_CAM_METHODS,
  decodeMap,
  encodeMap,
  explainPair,
  gradientCams,
  summariseExplanation,
  type ExplainOptions,
} from '../../src/main/engine/explain/cam';
import { energyPointingGame } from '../../src/main/engine/explain/metrics';
import { createRng } from '../../src/main/pairs/rng';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const S = 16;
function image(seed: number): tf.Tensor4D {
  const rng = createRng(seed, 1);
  return tf.tensor4d(
    Float32Array.from({ length: S * S }, () => 0.2 + 0.8 * rng.next()),
    [1, S, S, 1],
  );
}
const q0Dilated = {
  data: Float32Array.from({ length: S * S }, (_, i) => (Math.floor(i / S) < S / 2 + 2 && i % S < S / 2 + 2 ? 1 : 0)),
  h: S,
  w: S,
};
const q0 = { data: Float32Array.from({ length: S * S }, (_, i) => (Math.floor(i / S) < S / 2 && i % S < S / 2 ? 1 : 0)), h: S, w: S };

describe('perturbation methods find the region the score depends on', () => {
  it('Score-CAM: all factual energy of both images in the top-left quadrant; a non-trivial map', async () => {
    const model = quadrantModel(S, S);
    const [x1, x2] = [image(1), image(2)];
    const res = await explainPair(model, x1, x2, 'scorecam', { keepRaw: true });
    for (const im of res.images) {
      expect(im.noEvidence.factual).toBe(false);
      expect(energyPointingGame({ data: im.factual, h: im.h, w: im.w }, q0)).toBeCloseTo(1, 6);
      // raw counterfactual is the exact negative ('delta' weighting)
      for (let i = 0; i < im.raw!.factual.length; i++) expect(im.raw!.counterfactual![i] + im.raw!.factual[i]).toBe(0);
    }
    tf.dispose([x1, x2]);
    model.dispose();
  });

  it('occlusion: the drop in s is confined to the quadrant and its one-patch halo', async () => {
    const model = quadrantModel(S, S);
    const [x1, x2] = [image(3), image(4)];
    const patch = 2;
    const res = await explainPair(model, x1, x2, 'occlusion', { patch, stride: 1 });
    for (const im of res.images) {
      expect([im.h, im.w]).toEqual([S, S]);
      expect(energyPointingGame({ data: im.factual, h: S, w: S }, q0)!).toBeGreaterThan(0.9);
      for (let u = 0; u < S; u++)
        for (let v = 0; v < S; v++) if (u >= S / 2 + patch - 1 || v >= S / 2 + patch - 1) expect(im.factual[u * S + v]).toBe(0);
      // occluding never raises a dot-product score of non-negative embeddings
      expect(im.noEvidence.counterfactual).toBe(true);
    }
    tf.dispose([x1, x2]);
    model.dispose();
  });

  it('occlusion: counterfactual where occluding raises s (a distance score, image 2 brighter)', async () => {
    const model = quadrantModel(S, S, { kind: 'exp', tau: 0.05 });
    const x1 = tf.fill([1, S, S, 1], 0.3) as tf.Tensor4D;
    const x2 = tf.fill([1, S, S, 1], 0.9) as tf.Tensor4D;
    const res = await explainPair(model, x1, x2, 'occlusion', { patch: 4, stride: 4 });
    // darkening image 2's quadrant moves e2 towards e1: counterfactual evidence, no factual
    expect(res.images[1].noEvidence).toEqual({ factual: true, counterfactual: false });
    expect(energyPointingGame({ data: res.images[1].counterfactual!, h: S, w: S }, q0)).toBeCloseTo(1, 6);
    // darkening image 1's quadrant moves e1 away: factual evidence
    expect(res.images[0].noEvidence.factual).toBe(false);
    tf.dispose([x1, x2]);
    model.dispose();
  });

  it('RISE (seeded): the quadrant stands out; deterministic; no counterfactual', async () => {
    const model = quadrantModel(S, S);
    const [x1, x2] = [image(5), image(6)];
    const opts: ExplainOptions = { masks: 1000, grid: 8, seed: 7, batchSize: 250 };
    const a = await explainPair(model, x1, x2, 'rise', opts);
    const b = await explainPair(model, x1, x2, 'rise', opts);
    expect(a.counterfactualDefined).toBe(false);
    for (const [i, im] of a.images.entries()) {
      expect(im.counterfactual).toBeNull();
      // RISE's masks are smooth at the scale of a grid cell (2 px here), so its map spills
      // about one cell beyond the quadrant; inside the quadrant dilated by one cell:
      expect(energyPointingGame({ data: im.factual, h: S, w: S }, q0Dilated)!).toBeGreaterThan(0.85); // measured 0.92
      // and well above chance (0.25) for the quadrant itself
      expect(energyPointingGame({ data: im.factual, h: S, w: S }, q0)!).toBeGreaterThan(0.7); // measured 0.81
      expect(Array.from(im.factual)).toEqual(Array.from(b.images[i].factual));
    }
    tf.dispose([x1, x2]);
    model.dispose();
  });
});

describe('cancellation, progress and tensor lifetime', () => {
  it('Score-CAM stops between chunks when the signal is aborted, without leaking', async () => {
    const model = tinyCnnModel({ k: 16, seed: 2 });
    const [x1, x2] = [image(1), image(2)];
    const before = tf.memory().numTensors;
    const ctrl = new AbortController();
    const seen: number[] = [];
    const run = explainPair(model, x1, x2, 'scorecam', {
      batchSize: 4,
      signal: ctrl.signal,
      onProgress: (f) => {
        seen.push(f);
        if (seen.length === 2) ctrl.abort();
      },
    });
    await expect(run).rejects.toThrow(/abort/i);
    expect(seen.length).toBe(2);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x1, x2]);
    model.dispose();
  });

  it('progress is monotone and ends at 1', async () => {
    const model = tinyCnnModel({ k: 8, seed: 4 });
    const [x1, x2] = [image(1), image(2)];
    const seen: number[] = [];
    await explainPair(model, x1, x2, 'occlusion', { patch: 4, stride: 4, batchSize: 5, onProgress: (f) => seen.push(f) });
    expect(seen.length).toBeGreaterThan(2);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]);
    expect(seen[seen.length - 1]).toBe(1);
    tf.dispose([x1, x2]);
    model.dispose();
  });

  it('no tensor leaks across every method', async () => {
    const model = tinyCnnModel({ k: 6, seed: 5 });
    const [x1, x2] = [image(8), image(9)];
    await explainPair(model, x1, x2, 'gradcam'); // warm-up (backend-internal allocations)
    const before = tf.memory().numTensors;
    for (const m of CAM_METHODS) {
      const res = await explainPair(model, x1, x2, m, { masks: 20, patch: 4, stride: 4, keepRaw: true });
      expect(res.method).toBe(m);
      expect(tf.memory().numTensors).toBe(before);
    }
    // a batch explain: 3 pairs, all gradient methods from one backward
    const b1 = tf.concat([x1, x2, x1]) as tf.Tensor4D;
    const b2 = tf.concat([x2, x1, x1]) as tf.Tensor4D;
    const inputs = tf.memory().numTensors;
    const batch = await gradientCams(model, b1, b2, GRADIENT_CAM_METHODS);
    expect(batch.layercam.length).toBe(3);
    expect(tf.memory().numTensors).toBe(inputs);
    tf.dispose([b1, b2]);
    tf.dispose([x1, x2]);
    model.dispose();
  });
});

describe('storage form', () => {
  it('maps round-trip through little-endian float32 blobs; the summary is JSON-safe', async () => {
    const model = quadrantModel(S, S);
    const [x1, x2] = [image(1), image(2)];
    const res = await explainPair(model, x1, x2, 'gradcam');
    const im = res.images[0];
    const blob = encodeMap(im.factual);
    expect(blob.length).toBe(S * S * 4);
    expect(Array.from(decodeMap(blob, im.h, im.w))).toEqual(Array.from(im.factual));
    expect(() => decodeMap(blob, S, S + 1)).toThrow(/expected/);
    const summary = summariseExplanation(res);
    expect(JSON.parse(JSON.stringify(summary))).toEqual(summary);
    const [pu, pv] = summary.images[0].factual.peak!;
    expect(pu < S / 2 && pv < S / 2).toBe(true); // the peak is in the quadrant the score reads
    expect(summary.images[0].counterfactual!.noEvidence).toBe(true);
    tf.dispose([x1, x2]);
    model.dispose();
  });
});
