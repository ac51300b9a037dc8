// ReLU + normalisation by the max, with the guard for all-zero maps.
import type { ImageExplanation } from './types';

export interface NormalisedMap {
  map: Float32Array;
  /** max of ReLU(raw) before normalisation (0 when noEvidence). */
  max: number;
  noEvidence: boolean;
}

/**
 * ReLU(raw) / max(ReLU(raw)). An all-zero (or all-negative) map stays all-zero and is
 * flagged noEvidence: dividing by a zero max would give NaN, and dividing by a tiny
 * epsilon would blow float round-off up into a full-scale map of noise. Non-finite
 * entries are treated as 0 (and are a bug upstream).
 */
export function reluNormalise(raw: Float32Array | ArrayLike<number>): NormalisedMap {
  const n = raw.length;
  const out = new Float32Array(n);
  let max = 0;
  for (let i = 0; i < n; i++) {
    const v = raw[i];
    const r = v > 0 && Number.isFinite(v) ? v : 0;
    out[i] = r;
    if (r > max) max = r;
  }
  if (!(max > 0)) return { map: out, max: 0, noEvidence: true };
  const inv = 1 / max;
  for (let i = 0; i < n; i++) out[i] *= inv;
  return { map: out, max, noEvidence: false };
}

/** Build one image's explanation from its raw factual and (optional) raw counterfactual maps. */
export function imageExplanation(rawF: Float32Array, rawC: Float32Array | null, h: number, w: number, keepRaw: boolean): ImageExplanation {
  const f = reluNormalise(rawF);
  const c = rawC ? reluNormalise(rawC) : null;
  const out: ImageExplanation = {
    factual: f.map,
    counterfactual: c ? c.map : null,
    h,
    w,
    noEvidence: { factual: f.noEvidence, counterfactual: c ? c.noEvidence : null },
    scale: { factual: f.max, counterfactual: c ? c.max : null },
  };
  if (keepRaw) out.raw = { factual: rawF, counterfactual: rawC };
  return out;
}
