// Agreement of an explanation map with a mask, for the renderer while an expert paints (the maps
// come from explain.maps, the mask is at the stored image's size) and for the review queue's
// "energy mostly outside the mask" filter. The same measures, on the same grid, as the metrics
// job (src/main/engine/explain/metrics/localization.ts; test/unit/mask-agreement.test.ts checks
// that they agree to the bit):
// - the map is upsampled bilinearly to the mask's size with half-pixel centres (as
//   the overlays: src/shared/upsample.ts);
// - energy-based pointing game: the share of the map's sum inside the mask (null for a zero map);
// - pointing game: is the map's maximum (the first, row-major) inside the mask (null for a zero map);
// - IoU of {map >= threshold * max} with the mask (threshold 0.5; null when both are empty).
// prepareMap does the work that depends on the map only (once per map); maskAgreement is one pass
// over the mask's pixels (a few ms for 1024 x 1024), so it can run after every stroke.
// No runtime dependencies beyond src/shared.
import { upsampleBilinear } from './upsample';

export interface MapGrid {
  /** row-major h x w, values >= 0 */
  data: ArrayLike<number>;
  h: number;
  w: number;
}

/** A map made ready to be measured against masks of one size. */
export interface PreparedMap {
  /** the masks' size */
  h: number;
  w: number;
  /** the map upsampled to h x w */
  values: Float32Array;
  /** the sum of `values` (0: no evidence) */
  total: number;
  /** the index of the first maximum; -1 when the map has no evidence */
  peak: number;
  /** 1 where values >= threshold * max (all 0 without evidence) */
  selected: Uint8Array;
  selectedCount: number;
}

export interface MaskAgreement {
  /** energy-based pointing game: share of the map's energy inside the mask */
  epg: number | null;
  pointingGame: boolean | null;
  iou: number | null;
}

/** Prepares a map for masks of H x W; throws RangeError for a negative or NaN value (as the metrics job). */
export function prepareMap(map: MapGrid, H: number, W: number, opts: { iouThreshold?: number } = {}): PreparedMap {
  const values = map.h === H && map.w === W ? Float32Array.from(map.data) : upsampleBilinear(map.data, map.h, map.w, H, W);
  let total = 0;
  let best = -Infinity;
  let peak = -1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < 0 || Number.isNaN(v)) throw new RangeError('mask agreement needs a non-negative map');
    total += v;
    if (v > best) {
      best = v;
      peak = i;
    }
  }
  if (!(best > 0)) peak = -1;
  const max = peak < 0 ? 0 : best;
  const thr = opts.iouThreshold ?? 0.5;
  const selected = new Uint8Array(values.length);
  let selectedCount = 0;
  if (max > 0)
    for (let i = 0; i < values.length; i++)
      if (values[i] >= thr * max) {
        selected[i] = 1;
        selectedCount++;
      }
  return { h: H, w: W, values, total, peak, selected, selectedCount };
}

/** EPG, pointing game and IoU of a prepared map against a row-major H x W mask (inside: > 0.5). */
export function maskAgreement(p: PreparedMap, mask: ArrayLike<number>): MaskAgreement {
  if (mask.length !== p.h * p.w) throw new RangeError(`the mask has ${mask.length} pixels, the map was prepared for ${p.h} x ${p.w}`);
  const { values, selected } = p;
  let inside = 0;
  let inter = 0;
  let area = 0;
  for (let i = 0; i < values.length; i++) {
    if (mask[i] > 0.5) {
      inside += values[i];
      area++;
      inter += selected[i];
    }
  }
  const union = p.selectedCount + area - inter;
  return {
    epg: p.total > 0 ? inside / p.total : null,
    pointingGame: p.peak < 0 ? null : mask[p.peak] > 0.5,
    iou: union > 0 ? inter / union : null,
  };
}

/** The share of a map's energy inside a mask (EPG), or null for a zero map. */
export function energyInside(map: MapGrid, mask: ArrayLike<number>, H: number, W: number): number | null {
  return maskAgreement(prepareMap(map, H, W), mask).epg;
}
