// The gradient CAM family for pairs against references written with plain loops from the
// closed-form gradient of an analytic model (no tf in the expected values).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { pointwiseRegionModel, tinyCnnModel, type PointwiseRegionParams } from '../../src/main/engine/explain/cam/analytic-models';
import { gradCamPair, gradientCams, pairGradients } from '../../src/main/engine/explain/cam/gradcam';
import { GRADIENT_CAM_METHODS, type GradientCamMethod } from '../../src/main/engine/explain/cam/types';
import { createRng } from '../../src/main/pairs/rng';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const H = 6;
const W = 6;
const C = 2;

const PARAMS: PointwiseRegionParams = {
  filters: [
    [1.0, -0.5, 0.3],
    [0.2, 0.8, -1.0],
  ],
  bias: [0.1, -0.2, 0.4],
  region: { top: 1, left: 2, height: 3, width: 3 },
  dense: [
    [0.5, -1.0],
    [1.2, 0.3],
    [-0.7, 0.9],
  ],
  score: { kind: 'dot', beta: 0.8, gamma: -0.3 },
};
const K = PARAMS.bias.length;

function randomImage(seed: number): Float32Array {
  const rng = createRng(seed, 3);
  const x = new Float32Array(H * W * C);
  for (let i = 0; i < x.length; i++) x[i] = rng.next();
  return x;
}

// ---- plain-loop reference of the analytic model ---------------------------------------
function refActivations(p: PointwiseRegionParams, x: Float32Array): number[] {
  const k = p.bias.length;
  const a = new Array<number>(H * W * k).fill(0);
  for (let u = 0; u < H; u++)
    for (let v = 0; v < W; v++)
      for (let kk = 0; kk < k; kk++) {
        let z = p.bias[kk];
        for (let c = 0; c < C; c++) z += x[(u * W + v) * C + c] * p.filters[c][kk];
        a[(u * W + v) * k + kk] = Math.max(0, z);
      }
  return a;
}
const inRegion = (p: PointwiseRegionParams, u: number, v: number) =>
  u >= p.region.top && u < p.region.top + p.region.height && v >= p.region.left && v < p.region.left + p.region.width;
function refEmbedding(p: PointwiseRegionParams, a: number[]): number[] {
  const k = p.bias.length;
  const d = p.dense[0].length;
  const n = p.region.height * p.region.width;
  const e = new Array<number>(d).fill(0);
  for (let u = 0; u < H; u++)
    for (let v = 0; v < W; v++) {
      if (!inRegion(p, u, v)) continue;
      for (let kk = 0; kk < k; kk++) for (let dd = 0; dd < d; dd++) e[dd] += (a[(u * W + v) * k + kk] * p.dense[kk][dd]) / n;
    }
  return e;
}
/** s and the closed-form ds/dA of both images. */
function refPair(p: PointwiseRegionParams, x1: Float32Array, x2: Float32Array) {
  const a1 = refActivations(p, x1);
  const a2 = refActivations(p, x2);
  const e1 = refEmbedding(p, a1);
  const e2 = refEmbedding(p, a2);
  const d = e1.length;
  let s: number;
  const dse1 = new Array<number>(d);
  const dse2 = new Array<number>(d);
  if (p.score.kind === 'dot') {
    let dot = 0;
    for (let i = 0; i < d; i++) dot += e1[i] * e2[i];
    s = 1 / (1 + Math.exp(-(p.score.beta * dot + p.score.gamma)));
    for (let i = 0; i < d; i++) {
      dse1[i] = s * (1 - s) * p.score.beta * e2[i];
      dse2[i] = s * (1 - s) * p.score.beta * e1[i];
    }
  } else {
    let d2 = 0;
    for (let i = 0; i < d; i++) d2 += (e1[i] - e2[i]) ** 2;
    s = Math.exp(-d2 / p.score.tau);
    for (let i = 0; i < d; i++) {
      dse1[i] = (-2 * (e1[i] - e2[i]) * s) / p.score.tau;
      dse2[i] = (2 * (e1[i] - e2[i]) * s) / p.score.tau;
    }
  }
  const k = p.bias.length;
  const n = p.region.height * p.region.width;
  const grad = (dse: number[]) => {
    const g = new Array<number>(H * W * k).fill(0);
    for (let u = 0; u < H; u++)
      for (let v = 0; v < W; v++) {
        if (!inRegion(p, u, v)) continue;
        for (let kk = 0; kk < k; kk++) {
          let t = 0;
          for (let dd = 0; dd < d; dd++) t += p.dense[kk][dd] * dse[dd];
          g[(u * W + v) * k + kk] = t / n;
        }
      }
    return g;
  };
  return { s, a1, a2, g1: grad(dse1), g2: grad(dse2) };
}

// ---- plain-loop reference of each method's raw maps (factual, counterfactual) ---------
function refRaw(method: GradientCamMethod, a: number[], g: number[], k: number): [number[], number[]] {
  const hw = H * W;
  const weighted = (alpha: number[]) => {
    const r = new Array<number>(hw).fill(0);
    for (let i = 0; i < hw; i++) for (let kk = 0; kk < k; kk++) r[i] += alpha[kk] * a[i * k + kk];
    return r;
  };
  const sumA = new Array<number>(k).fill(0);
  for (let i = 0; i < hw; i++) for (let kk = 0; kk < k; kk++) sumA[kk] += a[i * k + kk];
  switch (method) {
    case 'gradcam': {
      const alpha = new Array<number>(k).fill(0);
      for (let i = 0; i < hw; i++) for (let kk = 0; kk < k; kk++) alpha[kk] += g[i * k + kk] / hw;
      const r = weighted(alpha);
      return [r, r.map((v) => -v)];
    }
    case 'xgradcam': {
      const alpha = new Array<number>(k).fill(0);
      for (let i = 0; i < hw; i++) for (let kk = 0; kk < k; kk++) alpha[kk] += (a[i * k + kk] * g[i * k + kk]) / (sumA[kk] + 1e-7);
      const r = weighted(alpha);
      return [r, r.map((v) => -v)];
    }
    case 'hirescam': {
      const r = new Array<number>(hw).fill(0);
      for (let i = 0; i < hw; i++) for (let kk = 0; kk < k; kk++) r[i] += g[i * k + kk] * a[i * k + kk];
      return [r, r.map((v) => -v)];
    }
    case 'gradcampp': {
      const weightsFor = (sign: number) => {
        const alpha = new Array<number>(k).fill(0);
        for (let i = 0; i < hw; i++)
          for (let kk = 0; kk < k; kk++) {
            const gg = sign * g[i * k + kk];
            if (gg === 0) continue;
            const aij = (gg * gg) / (2 * gg * gg + sumA[kk] * gg * gg * gg + 1e-7);
            alpha[kk] += aij * Math.max(0, gg);
          }
        return alpha;
      };
      return [weighted(weightsFor(1)), weighted(weightsFor(-1))];
    }
    case 'layercam': {
      const f = new Array<number>(hw).fill(0);
      const c = new Array<number>(hw).fill(0);
      for (let i = 0; i < hw; i++)
        for (let kk = 0; kk < k; kk++) {
          f[i] += Math.max(0, g[i * k + kk]) * a[i * k + kk];
          c[i] += Math.max(0, -g[i * k + kk]) * a[i * k + kk];
        }
      return [f, c];
    }
  }
}
function refNormalise(r: number[]): number[] {
  const relu = r.map((v) => Math.max(0, v));
  const m = Math.max(...relu);
  return m > 0 ? relu.map((v) => v / m) : relu;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number) {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  expect(worst).toBeLessThanOrEqual(tol);
}
const maxAbs = (xs: ArrayLike<number>) => Array.from(xs).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

const img = (x: Float32Array) => tf.tensor4d(x, [1, H, W, C]);

describe('pair Grad-CAM on an analytic model', () => {
  const x1 = randomImage(1);
  const x2 = randomImage(2);

  it('the maps of BOTH images match the closed-form answer, each from its own gradient', async () => {
    const model = pointwiseRegionModel(PARAMS);
    const t1 = img(x1);
    const t2 = img(x2);
    const res = await gradCamPair(model, t1, t2, { keepRaw: true });
    const ref = refPair(PARAMS, x1, x2);
    expect(res.score).toBeCloseTo(ref.s, 6);
    for (const [i, a, g] of [
      [0, ref.a1, ref.g1],
      [1, ref.a2, ref.g2],
    ] as const) {
      const [rf, rc] = refRaw('gradcam', a, g, K);
      const im = res.images[i];
      expect([im.h, im.w]).toEqual([H, W]);
      // float32 vs float64: raw maps are O(1e-2); 1e-6 absolute is ~1e-4 relative.
      expectClose(im.raw!.factual, rf, 1e-6);
      expectClose(im.factual, refNormalise(rf), 1e-5);
      expectClose(im.counterfactual!, refNormalise(rc), 1e-5);
      expect(maxAbs(rf)).toBeGreaterThan(1e-3); // the reference is not trivially zero
    }
    tf.dispose([t1, t2]);
    model.dispose();
  });

  it('raw factual and counterfactual maps are exact negatives (Grad-CAM, XGrad-CAM, HiResCAM)', async () => {
    const model = pointwiseRegionModel(PARAMS);
    const t1 = img(x1);
    const t2 = img(x2);
    const res = await gradientCams(model, t1, t2, ['gradcam', 'xgradcam', 'hirescam'], { keepRaw: true });
    for (const m of ['gradcam', 'xgradcam', 'hirescam'] as const) {
      for (const im of res[m][0].images) {
        const f = im.raw!.factual;
        const c = im.raw!.counterfactual!;
        for (let i = 0; i < f.length; i++) expect(c[i] + f[i]).toBe(0);
        // and the two ReLU'd maps never overlap
        for (let i = 0; i < f.length; i++) expect(im.factual[i] * im.counterfactual![i]).toBe(0);
      }
    }
    tf.dispose([t1, t2]);
    model.dispose();
  });

  it('explaining (b, a) gives the maps of (a, b) swapped', async () => {
    const model = pointwiseRegionModel(PARAMS);
    const t1 = img(x1);
    const t2 = img(x2);
    const ab = await gradientCams(model, t1, t2, GRADIENT_CAM_METHODS, { keepRaw: true });
    const ba = await gradientCams(model, t2, t1, GRADIENT_CAM_METHODS, { keepRaw: true });
    for (const m of GRADIENT_CAM_METHODS) {
      const [p, q] = [ab[m][0], ba[m][0]];
      expect(q.score).toBeCloseTo(p.score, 6);
      for (const [i, j] of [
        [0, 1],
        [1, 0],
      ] as const) {
        expectClose(q.images[j].raw!.factual, p.images[i].raw!.factual, 1e-7);
        expectClose(q.images[j].counterfactual!, p.images[i].counterfactual!, 1e-6);
      }
      // and the two images' maps differ (so the swap test is not vacuous)
      expect(maxAbs(p.images[0].raw!.factual.map((v, k) => v - p.images[1].raw!.factual[k]))).toBeGreaterThan(1e-4);
    }
    tf.dispose([t1, t2]);
    model.dispose();
  });

  it('only image 2 carries the signal: image 2 gets a non-trivial map, image 1 its own', async () => {
    // Distance score; the head reads only the region. Image 1 is blank inside the region
    // (e1 = 0) but has content elsewhere; image 2 has content in the region.
    const p: PointwiseRegionParams = { ...PARAMS, bias: [0, 0, 0], score: { kind: 'exp', tau: 1 } };
    const y1 = randomImage(5);
    const y2 = randomImage(6);
    for (let u = 0; u < H; u++) for (let v = 0; v < W; v++) if (inRegion(p, u, v)) for (let c = 0; c < C; c++) y1[(u * W + v) * C + c] = 0;
    const model = pointwiseRegionModel(p);
    const t1 = img(y1);
    const t2 = img(y2);
    const res = await gradCamPair(model, t1, t2, { keepRaw: true });
    const ref = refPair(p, y1, y2);
    const [r1f] = refRaw('gradcam', ref.a1, ref.g1, K);
    const [r2f, r2c] = refRaw('gradcam', ref.a2, ref.g2, K);
    // image 2: its region content pulls the pair apart -> a non-trivial counterfactual
    const im2 = res.images[1];
    expect(im2.noEvidence.counterfactual).toBe(false);
    expectClose(im2.raw!.factual, r2f, 1e-6);
    expectClose(im2.counterfactual!, refNormalise(r2c), 1e-5);
    // image 1: its own gradient times its own activations
    const im1 = res.images[0];
    expectClose(im1.raw!.factual, r1f, 1e-6);
    // the paper's bug (image 2's channel weights on image 1's activations) differs:
    const alpha2 = new Array<number>(K).fill(0);
    for (let i = 0; i < H * W; i++) for (let k = 0; k < K; k++) alpha2[k] += ref.g2[i * K + k] / (H * W);
    const buggy = Array.from({ length: H * W }, (_, i) => alpha2.reduce((acc, al, k) => acc + al * ref.a1[i * K + k], 0));
    expect(maxAbs(buggy.map((v, i) => v - im1.raw!.factual[i]))).toBeGreaterThan(1e-3);
    tf.dispose([t1, t2]);
    model.dispose();
  });

  it('Grad-CAM++, XGrad-CAM, HiResCAM and LayerCAM reduce to their defining formulas', async () => {
    const model = pointwiseRegionModel(PARAMS);
    const t1 = img(x1);
    const t2 = img(x2);
    const res = await gradientCams(model, t1, t2, ['gradcampp', 'xgradcam', 'hirescam', 'layercam'], { keepRaw: true });
    const ref = refPair(PARAMS, x1, x2);
    for (const m of ['gradcampp', 'xgradcam', 'hirescam', 'layercam'] as const) {
      for (const [i, a, g] of [
        [0, ref.a1, ref.g1],
        [1, ref.a2, ref.g2],
      ] as const) {
        const [rf, rc] = refRaw(m, a, g, K);
        const im = res[m][0].images[i];
        const tol = 1e-6 * Math.max(1, maxAbs(rf), maxAbs(rc));
        expectClose(im.raw!.factual, rf, tol);
        expectClose(im.raw!.counterfactual!, rc, tol);
        expect(maxAbs(rf) + maxAbs(rc)).toBeGreaterThan(1e-4);
      }
    }
    // HiResCAM lives only where the head looks (the gradient is zero elsewhere).
    for (const im of res.hirescam[0].images)
      for (let u = 0; u < H; u++) for (let v = 0; v < W; v++) if (!inRegion(PARAMS, u, v)) expect(im.raw!.factual[u * W + v]).toBe(0);
    tf.dispose([t1, t2]);
    model.dispose();
  });

  it('a batch of pairs gives the same maps as the pairs one by one', async () => {
    const model = pointwiseRegionModel(PARAMS);
    const xa = randomImage(11);
    const xb = randomImage(12);
    const b1 = tf.tensor4d([...x1, ...xa], [2, H, W, C]);
    const b2 = tf.tensor4d([...x2, ...xb], [2, H, W, C]);
    const batch = await gradientCams(model, b1, b2, ['gradcam'], { keepRaw: true });
    const ta = img(xa);
    const tb = img(xb);
    const single = await gradCamPair(model, ta, tb, { keepRaw: true });
    expect(batch.gradcam[1].score).toBeCloseTo(single.score, 6);
    expectClose(batch.gradcam[1].images[1].raw!.factual, single.images[1].raw!.factual, 1e-7);
    tf.dispose([b1, b2, ta, tb]);
    model.dispose();
  });

  it('an all-zero map stays zero and is flagged noEvidence', async () => {
    // identical images under a distance score: ds/dA = 0 exactly
    const p: PointwiseRegionParams = { ...PARAMS, score: { kind: 'exp', tau: 1 } };
    const model = pointwiseRegionModel(p);
    const t1 = img(x1);
    const res = await gradCamPair(model, t1, t1);
    for (const im of res.images) {
      expect(im.noEvidence).toEqual({ factual: true, counterfactual: true });
      expect(Array.from(im.factual).every((v) => v === 0)).toBe(true);
      expect(Array.from(im.counterfactual!).every((v) => v === 0)).toBe(true);
    }
    tf.dispose(t1);
    model.dispose();
  });
});

describe('ds/dA against central finite differences (float32)', () => {
  it('agrees on a small CNN with a non-linear head, for both images', async () => {
    const model = tinyCnnModel({ seed: 3, k: 5, embedding: 4, tau: 4 });
    const S = 8;
    const rng = createRng(9, 1);
    const r1 = Float32Array.from({ length: S * S }, () => rng.next());
    const r2 = Float32Array.from({ length: S * S }, () => rng.next());
    const t1 = tf.tensor4d(r1, [1, S, S, 1]);
    const t2 = tf.tensor4d(r2, [1, S, S, 1]);
    const grads = await pairGradients(model, t1, t2);
    const shape = grads.shape;
    const n = shape.reduce((a, b) => a * b, 1);
    const scoreAt = (a1: Float32Array, a2: Float32Array) =>
      tf.tidy(() => model.score(model.head(tf.tensor4d(a1, shape)), model.head(tf.tensor4d(a2, shape))).dataSync()[0]);
    const h = 1e-2;
    let checked = 0;
    for (const which of [0, 1] as const) {
      const g = which === 0 ? grads.g1 : grads.g2;
      // (a) directional derivatives along 3 random directions: <g, v> vs (s(A+hv) - s(A-hv)) / 2h
      for (let rep = 0; rep < 3; rep++) {
        const dir = Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
        const plus = (which === 0 ? grads.a1 : grads.a2).map((v, i) => v + h * dir[i]);
        const minus = (which === 0 ? grads.a1 : grads.a2).map((v, i) => v - h * dir[i]);
        const fd =
          which === 0
            ? (scoreAt(plus, grads.a2) - scoreAt(minus, grads.a2)) / (2 * h)
            : (scoreAt(grads.a1, plus) - scoreAt(grads.a1, minus)) / (2 * h);
        const analytic = g.reduce((acc, gi, i) => acc + gi * dir[i], 0);
        // float32 round-off in s (~1e-7) / h plus O(h^2) truncation: 1e-4 absolute + 1% relative
        expect(Math.abs(fd - analytic)).toBeLessThanOrEqual(1e-4 + 1e-2 * Math.abs(analytic));
        checked++;
      }
      // (b) the 5 largest single entries
      const idx = Array.from(g.keys())
        .sort((i, j) => Math.abs(g[j]) - Math.abs(g[i]))
        .slice(0, 5);
      for (const i of idx) {
        const base = which === 0 ? grads.a1 : grads.a2;
        const plus = base.slice();
        const minus = base.slice();
        plus[i] += h;
        minus[i] -= h;
        const fd =
          which === 0
            ? (scoreAt(plus, grads.a2) - scoreAt(minus, grads.a2)) / (2 * h)
            : (scoreAt(grads.a1, plus) - scoreAt(grads.a1, minus)) / (2 * h);
        expect(Math.abs(fd - g[i])).toBeLessThanOrEqual(2e-5 + 2e-2 * Math.abs(g[i]));
        checked++;
      }
    }
    expect(checked).toBe(16);
    expect(maxAbs(grads.g1)).toBeGreaterThan(1e-4);
    tf.dispose([t1, t2]);
    model.dispose();
  });
});
