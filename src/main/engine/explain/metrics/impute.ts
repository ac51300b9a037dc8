// Noisy linear imputation, the "remove" of ROAD (Rong et al. 2022, "A Consistent and Efficient
// Evaluation Strategy for Attribution Methods"): each removed pixel takes the weighted mean of its
// 8 neighbours (weight 1/6 for the 4 direct ones, 1/12 for the diagonals; neighbours outside the
// image do not count), whether those are kept or removed themselves, which is one sparse linear
// system per channel over the removed pixels; then a little Gaussian noise is added to them.
// Unlike a constant fill, the removed region blends into what is kept, so the model cannot tell
// WHERE pixels were removed from the fill itself (the leak that makes black/mean baselines
// unreliable), and a removed region of uniform background stays the same background.
//
// The system  S_p x_p - sum_{q removed} w_pq x_q = sum_{q kept} w_pq x_q  (S_p: the weights of p's
// neighbours inside the image) is symmetric and positive definite whenever some pixel is kept, so
// it is solved by conjugate gradients with a diagonal preconditioner, from a start value (a
// previous step's fill, so consecutive steps of a curve converge in a few iterations).
import { createRng } from '../../../pairs/rng';

/** [dy, dx, weight] of the 8 neighbours. */
const NEIGHBOURS: ReadonlyArray<readonly [number, number, number]> = [
  [-1, -1, 1 / 12],
  [-1, 0, 1 / 6],
  [-1, 1, 1 / 12],
  [0, -1, 1 / 6],
  [0, 1, 1 / 6],
  [1, -1, 1 / 12],
  [1, 0, 1 / 6],
  [1, 1, 1 / 12],
];

export interface ImputeOptions {
  /** std of the Gaussian noise added to the imputed pixels (default 0.01, in the [0, 1] pixel range) */
  noise?: number;
  /** seed of the noise (default 0) */
  seed?: number;
  /** relative residual at which the solver stops (default 1e-5) */
  tolerance?: number;
  /** iteration cap of the solver (default 500) */
  maxIterations?: number;
  /**
   * Start values of the removed pixels ([H * W * C], HWC; e.g. the previous step's fill), else
   * the mean of the kept pixels.
   */
  start?: Float32Array;
}

/**
 * The image `x` ([H, W, C] row-major, HWC) with the pixels where `keep` is 0 imputed. With no kept
 * pixel at all the system has no anchor: every pixel takes the image's channel mean (then noise).
 * Returns a new array; `x` is not changed.
 */
export function noisyLinearImpute(
  x: Float32Array,
  H: number,
  W: number,
  C: number,
  keep: Uint8Array,
  opts: ImputeOptions = {},
): Float32Array {
  const P = H * W;
  if (x.length !== P * C || keep.length !== P)
    throw new Error(`noisyLinearImpute: ${x.length} values and ${keep.length} mask entries for [${H}, ${W}, ${C}]`);
  const out = Float32Array.from(x);
  // removed pixels and their index among the unknowns
  const unknown: number[] = [];
  const slot = new Int32Array(P).fill(-1);
  for (let p = 0; p < P; p++) {
    if (!keep[p]) {
      slot[p] = unknown.length;
      unknown.push(p);
    }
  }
  const n = unknown.length;
  if (n === 0) return out;
  const rng = createRng(opts.seed ?? 0, 0x20ad);
  const noise = opts.noise ?? 0.01;
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());

  if (n === P) {
    for (let c = 0; c < C; c++) {
      let sum = 0;
      for (let p = 0; p < P; p++) sum += x[p * C + c];
      const mean = sum / P;
      for (let p = 0; p < P; p++) out[p * C + c] = mean + noise * gaussian();
    }
    return out;
  }

  // The sparse matrix, once for all channels: per unknown, its diagonal S_p and its removed
  // neighbours (index among the unknowns, weight); the kept ones go to the right-hand side.
  const diag = new Float64Array(n);
  const nbrStart = new Int32Array(n + 1);
  const nbrIdx: number[] = [];
  const nbrW: number[] = [];
  const keptStart = new Int32Array(n + 1);
  const keptPix: number[] = [];
  const keptW: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = unknown[i];
    const u = Math.floor(p / W);
    const v = p - u * W;
    nbrStart[i] = nbrIdx.length;
    keptStart[i] = keptPix.length;
    for (const [dy, dx, w] of NEIGHBOURS) {
      const uu = u + dy;
      const vv = v + dx;
      if (uu < 0 || vv < 0 || uu >= H || vv >= W) continue;
      diag[i] += w;
      const q = uu * W + vv;
      if (slot[q] >= 0) {
        nbrIdx.push(slot[q]);
        nbrW.push(w);
      } else {
        keptPix.push(q);
        keptW.push(w);
      }
    }
  }
  nbrStart[n] = nbrIdx.length;
  keptStart[n] = keptPix.length;
  const multiply = (v: Float64Array, into: Float64Array) => {
    for (let i = 0; i < n; i++) {
      let acc = diag[i] * v[i];
      for (let j = nbrStart[i]; j < nbrStart[i + 1]; j++) acc -= nbrW[j] * v[nbrIdx[j]];
      into[i] = acc;
    }
  };

  const tolerance = opts.tolerance ?? 1e-5;
  const maxIterations = opts.maxIterations ?? 500;
  const b = new Float64Array(n);
  const sol = new Float64Array(n);
  const r = new Float64Array(n);
  const z = new Float64Array(n);
  const d = new Float64Array(n);
  const q = new Float64Array(n);
  for (let c = 0; c < C; c++) {
    let keptSum = 0;
    for (let p = 0; p < P; p++) if (keep[p]) keptSum += x[p * C + c];
    const keptMean = keptSum / (P - n);
    for (let i = 0; i < n; i++) {
      let acc = 0;
      for (let j = keptStart[i]; j < keptStart[i + 1]; j++) acc += keptW[j] * x[keptPix[j] * C + c];
      b[i] = acc;
      sol[i] = opts.start ? opts.start[unknown[i] * C + c] : keptMean;
    }
    // preconditioned conjugate gradients (Jacobi)
    multiply(sol, q);
    let bNorm = 0;
    for (let i = 0; i < n; i++) {
      r[i] = b[i] - q[i];
      z[i] = r[i] / diag[i];
      d[i] = z[i];
      bNorm += b[i] * b[i];
    }
    let rz = 0;
    for (let i = 0; i < n; i++) rz += r[i] * z[i];
    const stop = tolerance * tolerance * Math.max(bNorm, 1e-30);
    for (let it = 0; it < maxIterations; it++) {
      let rr = 0;
      for (let i = 0; i < n; i++) rr += r[i] * r[i];
      if (rr <= stop) break;
      multiply(d, q);
      let dq = 0;
      for (let i = 0; i < n; i++) dq += d[i] * q[i];
      const alpha = rz / dq;
      for (let i = 0; i < n; i++) {
        sol[i] += alpha * d[i];
        r[i] -= alpha * q[i];
        z[i] = r[i] / diag[i];
      }
      let rzNext = 0;
      for (let i = 0; i < n; i++) rzNext += r[i] * z[i];
      const beta = rzNext / rz;
      rz = rzNext;
      for (let i = 0; i < n; i++) d[i] = z[i] + beta * d[i];
    }
    for (let i = 0; i < n; i++) out[unknown[i] * C + c] = sol[i] + noise * gaussian();
  }
  return out;
}
