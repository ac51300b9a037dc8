// Storage and JSON forms of explanations: maps as little-endian float32 blobs with their
// shape (for an `explanations` table), and a compact summary for `--json` output / lists.
import type { CamMethod, ImageExplanation, PairExplanation } from './types';

/** Float32Array -> little-endian float32 bytes (a copy; platform-independent). */
export function encodeMap(map: Float32Array): Buffer {
  const buf = Buffer.allocUnsafe(map.length * 4);
  for (let i = 0; i < map.length; i++) buf.writeFloatLE(map[i], 4 * i);
  return buf;
}

/** Inverse of encodeMap; checks the length against h * w. */
export function decodeMap(bytes: Uint8Array, h: number, w: number): Float32Array {
  if (bytes.length !== h * w * 4) throw new Error(`map blob has ${bytes.length} bytes, expected ${h}x${w} float32 = ${h * w * 4}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(h * w);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

export interface MapSummary {
  noEvidence: boolean;
  /** max before normalisation */
  scale: number;
  /** argmax (row, col) in map cells, null without evidence */
  peak: [number, number] | null;
  /** share of cells >= 0.5 (after normalisation) */
  areaAbove50: number;
}

export interface ImageSummary {
  h: number;
  w: number;
  factual: MapSummary;
  counterfactual: MapSummary | null;
}

export interface ExplanationSummary {
  method: CamMethod;
  layer: string;
  score: number;
  counterfactualDefined: boolean;
  images: [ImageSummary, ImageSummary];
}

function summariseMap(map: Float32Array, w: number, noEvidence: boolean, scale: number): MapSummary {
  let best = -1;
  let at = -1;
  let above = 0;
  for (let i = 0; i < map.length; i++) {
    if (map[i] > best) {
      best = map[i];
      at = i;
    }
    if (map[i] >= 0.5) above++;
  }
  return {
    noEvidence,
    scale,
    peak: noEvidence || at < 0 ? null : [Math.floor(at / w), at % w],
    areaAbove50: map.length ? above / map.length : 0,
  };
}

function summariseImage(im: ImageExplanation): ImageSummary {
  return {
    h: im.h,
    w: im.w,
    factual: summariseMap(im.factual, im.w, im.noEvidence.factual, im.scale.factual),
    counterfactual: im.counterfactual
      ? summariseMap(im.counterfactual, im.w, im.noEvidence.counterfactual ?? true, im.scale.counterfactual ?? 0)
      : null,
  };
}

/** A JSON-safe summary of a pair explanation (no maps). */
export function summariseExplanation(e: PairExplanation): ExplanationSummary {
  return {
    method: e.method,
    layer: e.layer,
    score: e.score,
    counterfactualDefined: e.counterfactualDefined,
    images: [summariseImage(e.images[0]), summariseImage(e.images[1])],
  };
}
