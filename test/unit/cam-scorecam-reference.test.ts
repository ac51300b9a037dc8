// Score-CAM against a reference written with plain loops (no tf in the expected values), as the
// gradient CAMs are in cam-gradient.test.ts. Two analytic models:
//   - the pointwise-region model (activations at the input size, so a mask is the min-max
//     normalised channel itself), with a dot-product and a distance score;
//   - a pooled variant (a 1x1 conv + ReLU, then 2x2 average pooling: activations at half the
//     input size), so every mask goes through the bilinear upsampling (half-pixel centres).
// Both weightings ('delta', the default, and 'softmax'), another baseline value, the channel cap,
// and a dead (constant) channel, which carries no mask and gets no weight.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyticScore, pointwiseRegionModel, type PointwiseRegionParams } from '../../src/main/engine/explain/cam/analytic-models';
import { explainPair, type ExplainOptions, type PairExplanation } from '../../src/main/engine/explain/cam';
import type { CamModel } from '../../src/main/engine/explain/cam-model';
import { createRng } from '../../src/main/pairs/rng';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const C = 2;
// K = 4: channel 3 has a bias that no input in [0, 1] overcomes: ReLU'd to 0 everywhere (dead).
const BASE: Omit<PointwiseRegionParams, 'score' | 'region'> = {
  filters: [
    [1.0, -0.5, 0.3, 0.2],
    [0.2, 0.8, -1.0, 0.1],
  ],
  bias: [0.1, -0.2, 0.4, -5],
  dense: [
    [0.5, -1.0],
    [1.2, 0.3],
    [-0.7, 0.9],
    [2.0, 2.0],
  ],
};
const K = BASE.bias.length;

function randomImage(seed: number, H: number, W: number): Float32Array {
  const rng = createRng(seed, 9);
  return Float32Array.from({ length: H * W * C }, () => rng.next());
}

// ---- plain-loop reference ---------------------------------------------------------------
interface RefModel {
  H: number;
  W: number;
  /** activation grid size */
  h: number;
  w: number;
  /** A [h * w * K] of an image x [H * W * C] */
  act(x: Float32Array): number[];
  /** e [D] of activations */
  embed(a: number[]): number[];
  score(e1: number[], e2: number[]): number;
}

function refPointwise(p: PointwiseRegionParams, x: Float32Array, H: number, W: number): number[] {
  const a = new Array<number>(H * W * K).fill(0);
  for (let q = 0; q < H * W; q++)
    for (let k = 0; k < K; k++) {
      let z = p.bias[k];
      for (let c = 0; c < C; c++) z += x[q * C + c] * p.filters[c][k];
      a[q * K + k] = Math.max(0, z);
    }
  return a;
}

function refEmbed(p: PointwiseRegionParams, a: number[], w: number): number[] {
  const { top, left, height, width } = p.region;
  const D = p.dense[0].length;
  const e = new Array<number>(D).fill(0);
  for (let u = top; u < top + height; u++)
    for (let v = left; v < left + width; v++)
      for (let k = 0; k < K; k++) for (let d = 0; d < D; d++) e[d] += (a[(u * w + v) * K + k] * p.dense[k][d]) / (height * width);
  return e;
}

function refScore(p: PointwiseRegionParams, e1: number[], e2: number[]): number {
  if (p.score.kind === 'dot') {
    let dot = 0;
    for (let d = 0; d < e1.length; d++) dot += e1[d] * e2[d];
    return 1 / (1 + Math.exp(-(p.score.beta * dot + p.score.gamma)));
  }
  let d2 = 0;
  for (let d = 0; d < e1.length; d++) d2 += (e1[d] - e2[d]) ** 2;
  return Math.exp(-d2 / p.score.tau);
}

/** The pointwise-region model, optionally followed by 2x2 average pooling. */
function reference(p: PointwiseRegionParams, H: number, W: number, pool: boolean): RefModel {
  const h = pool ? H / 2 : H;
  const w = pool ? W / 2 : W;
  return {
    H,
    W,
    h,
    w,
    act(x) {
      const a = refPointwise(p, x, H, W);
      if (!pool) return a;
      const out = new Array<number>(h * w * K).fill(0);
      for (let u = 0; u < h; u++)
        for (let v = 0; v < w; v++)
          for (let k = 0; k < K; k++)
            for (const [du, dv] of [
              [0, 0],
              [0, 1],
              [1, 0],
              [1, 1],
            ])
              out[(u * w + v) * K + k] += a[((2 * u + du) * W + 2 * v + dv) * K + k] / 4;
      return out;
    },
    embed: (a) => refEmbed(p, a, w),
    score: (e1, e2) => refScore(p, e1, e2),
  };
}

/** Bilinear resize of a h x w grid to H x W, half-pixel centres, clamped at the edges. */
function refUpsample(g: number[], h: number, w: number, H: number, W: number): number[] {
  const coord = (o: number, n: number, N: number) => {
    const s = Math.min(n - 1, Math.max(0, ((o + 0.5) * n) / N - 0.5));
    const i0 = Math.floor(s);
    return [i0, Math.min(n - 1, i0 + 1), s - i0] as const;
  };
  const out = new Array<number>(H * W);
  for (let i = 0; i < H; i++) {
    const [r0, r1, ty] = coord(i, h, H);
    for (let j = 0; j < W; j++) {
      const [c0, c1, tx] = coord(j, w, W);
      const top = g[r0 * w + c0] * (1 - tx) + g[r0 * w + c1] * tx;
      const bot = g[r1 * w + c0] * (1 - tx) + g[r1 * w + c1] * tx;
      out[i * W + j] = top * (1 - ty) + bot * ty;
    }
  }
  return out;
}

interface RefOptions {
  weighting: 'delta' | 'softmax';
  baselineValue: number;
  maxChannels: number;
}

/**
 * Score-CAM of both images by the paper's definition, one masked image at a time:
 *   H_k = minmax(upsample(A_i[:, :, k])),  s_k = s(x_i H_k + b (1 - H_k), x_other),  s_b = s(b, x_other)
 *   'delta':   w_k = s_k - s_b (factual),  -(s_k - s_b) (counterfactual)
 *   'softmax': softmax_k(s_k) (factual),  softmax_k(-s_k) (counterfactual), over the channels masked
 *   raw = sum_k w_k A_i[:, :, k]
 * Masked channels: those that vary spatially; of them the maxChannels with the largest mean |A|.
 */
function refScoreCam(m: RefModel, x1: Float32Array, x2: Float32Array, o: RefOptions) {
  const xs = [x1, x2];
  const as = xs.map((x) => m.act(x));
  const es = as.map((a) => m.embed(a));
  const pairScore = m.score(es[0], es[1]);
  const images = [0, 1].map((i) => {
    const a = as[i];
    const other = es[1 - i];
    const s = (x: Float32Array) => {
      const e = m.embed(m.act(x));
      return i === 0 ? m.score(e, other) : m.score(other, e);
    };
    const sb = s(new Float32Array(m.H * m.W * C).fill(o.baselineValue));
    const channel = (k: number) => Array.from({ length: m.h * m.w }, (_, q) => a[q * K + k]);
    const active = [...Array(K).keys()].filter((k) => Math.max(...channel(k)) > Math.min(...channel(k)));
    const mass = (k: number) => channel(k).reduce((t, v) => t + Math.abs(v), 0) / (m.h * m.w);
    const masked = [...active]
      .sort((p, q) => mass(q) - mass(p) || p - q)
      .slice(0, o.maxChannels)
      .sort((p, q) => p - q);
    const sk = masked.map((k) => {
      const up = refUpsample(channel(k), m.h, m.w, m.H, m.W);
      const lo = Math.min(...up);
      const hi = Math.max(...up);
      const mask = up.map((v) => (v - lo) / (hi - lo));
      const xm = Float32Array.from(xs[i], (v, j) => v * mask[Math.floor(j / C)] + o.baselineValue * (1 - mask[Math.floor(j / C)]));
      return s(xm);
    });
    const softmax = (v: number[]) => {
      const mx = Math.max(...v);
      const ex = v.map((t) => Math.exp(t - mx));
      const z = ex.reduce((p, q) => p + q, 0);
      return ex.map((t) => t / z);
    };
    const wf = new Array<number>(K).fill(0);
    const wc = new Array<number>(K).fill(0);
    const pf = softmax(sk);
    const pc = softmax(sk.map((v) => -v));
    masked.forEach((k, j) => {
      wf[k] = o.weighting === 'delta' ? sk[j] - sb : pf[j];
      wc[k] = o.weighting === 'delta' ? -(sk[j] - sb) : pc[j];
    });
    const raw = (wt: number[]) => Array.from({ length: m.h * m.w }, (_, q) => wt.reduce((t, wk, k) => t + wk * a[q * K + k], 0));
    return { factual: raw(wf), counterfactual: raw(wc), masked, active };
  });
  return { score: pairScore, images };
}

function refNormalise(r: number[]): number[] {
  const relu = r.map((v) => Math.max(0, v));
  const mx = Math.max(...relu);
  return mx > 0 ? relu.map((v) => v / mx) : relu;
}

/** max |actual - expected| <= tol * max(|expected|) (float32 against float64). */
function expectClose(actual: ArrayLike<number>, expected: number[], tol: number, what: string) {
  expect(actual.length, what).toBe(expected.length);
  const scale = Math.max(...expected.map(Math.abs));
  expect(scale, `${what}: the reference is not trivially zero`).toBeGreaterThan(1e-6);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  expect(worst / scale, `${what}: worst relative error`).toBeLessThanOrEqual(tol);
}

// ---- the tf models under test ------------------------------------------------------------
/** The pooled variant as a CamModel: features = avgPool2x2(ReLU(x F + bias)). */
function pooledModel(p: PointwiseRegionParams): CamModel & { dispose(): void } {
  const inner = pointwiseRegionModel(p);
  const f = tf.tensor4d(p.filters.flat(), [1, 1, C, K]);
  const bias = tf.tensor1d(p.bias);
  return {
    layer: 'pooled',
    features: (x) => tf.tidy(() => tf.avgPool(tf.relu(tf.add(tf.conv2d(x, f, 1, 'valid'), bias)) as tf.Tensor4D, 2, 2, 'valid')),
    head: (a) => inner.head(a),
    score: (e1, e2) => analyticScore(e1, e2, p.score),
    dispose: () => {
      tf.dispose([f, bias]);
      inner.dispose();
    },
  };
}

interface Case {
  name: string;
  H: number;
  pool: boolean;
  params: PointwiseRegionParams;
}
const CASES: Case[] = [
  {
    name: 'pointwise-region model, dot-product score (6x6, masks at the input size)',
    H: 6,
    pool: false,
    params: { ...BASE, region: { top: 1, left: 2, height: 3, width: 3 }, score: { kind: 'dot', beta: 0.8, gamma: -0.3 } },
  },
  {
    name: 'pointwise-region model, distance score (6x6)',
    H: 6,
    pool: false,
    params: { ...BASE, region: { top: 0, left: 0, height: 4, width: 5 }, score: { kind: 'exp', tau: 0.5 } },
  },
  {
    name: 'pooled model (8x8 input, 4x4 activations: every mask upsampled bilinearly), distance score',
    H: 8,
    pool: true,
    params: { ...BASE, region: { top: 1, left: 0, height: 2, width: 3 }, score: { kind: 'exp', tau: 0.5 } },
  },
];

async function run(c: Case, opts: ExplainOptions & { seeds?: [number, number] }) {
  const [s1, s2] = opts.seeds ?? [1, 2];
  const x1 = randomImage(s1, c.H, c.H);
  const x2 = randomImage(s2, c.H, c.H);
  const model = c.pool ? pooledModel(c.params) : pointwiseRegionModel(c.params);
  const t1 = tf.tensor4d(x1, [1, c.H, c.H, C]);
  const t2 = tf.tensor4d(x2, [1, c.H, c.H, C]);
  try {
    const res: PairExplanation = await explainPair(model, t1, t2, 'scorecam', { keepRaw: true, ...opts });
    const ref = refScoreCam(reference(c.params, c.H, c.H, c.pool), x1, x2, {
      weighting: opts.scoreCamWeighting ?? 'delta',
      baselineValue: opts.baselineValue ?? 0,
      maxChannels: opts.maxChannels ?? Infinity,
    });
    return { res, ref };
  } finally {
    tf.dispose([t1, t2]);
    model.dispose();
  }
}

function expectMatches({ res, ref }: Awaited<ReturnType<typeof run>>, tol: number) {
  expect(res.score).toBeCloseTo(ref.score, 6);
  for (const i of [0, 1] as const) {
    const im = res.images[i];
    const r = ref.images[i];
    expect(res.channels!.active[i]).toBe(r.active.length);
    expect(res.channels!.used[i]).toBe(r.masked.length);
    expectClose(im.raw!.factual, r.factual, tol, `image ${i + 1} raw factual`);
    expectClose(im.raw!.counterfactual!, r.counterfactual, tol, `image ${i + 1} raw counterfactual`);
    for (const kind of ['factual', 'counterfactual'] as const) {
      // a direction without positive evidence is all zero and flagged, never divided by 0
      if (Math.max(...r[kind]) > 0) expectClose(im[kind]!, refNormalise(r[kind]), tol, `image ${i + 1} ${kind}`);
      else expect([im.noEvidence[kind], Math.max(...im[kind]!)]).toEqual([true, 0]);
    }
  }
}

describe('Score-CAM against a plain-loop reference', () => {
  for (const c of CASES) {
    it(`'delta' weighting (the default): ${c.name}`, async () => {
      const out = await run(c, { maxChannels: Infinity });
      // the dead channel (3) is constant: not masked, no weight
      for (const r of out.ref.images) expect(r.active).toEqual([0, 1, 2]);
      expectMatches(out, 2e-4);
    });

    it(`'softmax' weighting: ${c.name}`, async () => {
      const out = await run(c, { maxChannels: Infinity, scoreCamWeighting: 'softmax' });
      expectMatches(out, 2e-4);
      // softmax weights are positive: the factual map is a positive mix of the active channels
      for (const im of out.res.images) expect(im.noEvidence.factual).toBe(false);
    });
  }

  it('a grey baseline (baselineValue 0.5): masked pixels blend towards it, s_b scores the grey image', async () => {
    expectMatches(await run(CASES[1], { maxChannels: Infinity, baselineValue: 0.5 }), 2e-4);
    expectMatches(await run(CASES[2], { maxChannels: Infinity, baselineValue: 0.5, seeds: [5, 6] }), 2e-4);
  });

  it('a channel cap masks only the channels with the most activation (the others weigh 0)', async () => {
    for (const c of CASES) {
      const out = await run(c, { maxChannels: 2, seeds: [3, 4] });
      for (const r of out.ref.images) expect(r.masked).toHaveLength(2);
      expectMatches(out, 2e-4);
    }
  });
});
