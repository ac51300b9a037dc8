// explain.maps: a stored explanation row's raw maps as plain numbers for the renderer, which
// measures them against the mask being painted on every stroke (src/shared/mask-agreement.ts).
// Grids larger than EXPLAIN_MAPS_MAX_SIDE a side (input-space methods on large inputs) are
// averaged down (area-weighted: each cell's share of the map's energy is kept) so that a call
// stays small; the maps of the models we ship are at most 64 x 64 cells and go as stored.
import { EXPLAIN_MAPS_MAX_SIDE, type ExplainMapImageDto, type ExplainMapsDto, type ExplainMethod } from '../../shared/dto';
import { decodeMap } from '../engine/explain';
import type { ExplanationRow, PairWithImages } from '../store/explanations-repo';

/** The grid a map of h x w is sent at: as is, or scaled down to at most `max` a side (aspect kept). */
export function sentGrid(h: number, w: number, max = EXPLAIN_MAPS_MAX_SIDE): [number, number] {
  if (h <= max && w <= max) return [h, w];
  const scale = Math.max(h, w) / max;
  return [Math.max(1, Math.min(max, Math.round(h / scale))), Math.max(1, Math.min(max, Math.round(w / scale)))];
}

/** The mean of a row-major h x w map over each cell of an H x W grid (cells weighted by the area they cover). */
export function downsampleArea(map: ArrayLike<number>, h: number, w: number, H: number, W: number): Float64Array {
  const out = new Float64Array(H * W);
  const fy = h / H;
  const fx = w / W;
  for (let I = 0; I < H; I++) {
    const y0 = I * fy;
    const y1 = (I + 1) * fy;
    for (let J = 0; J < W; J++) {
      const x0 = J * fx;
      const x1 = (J + 1) * fx;
      let sum = 0;
      for (let y = Math.floor(y0); y < Math.min(h, Math.ceil(y1)); y++) {
        const wy = Math.min(y + 1, y1) - Math.max(y, y0);
        for (let x = Math.floor(x0); x < Math.min(w, Math.ceil(x1)); x++) {
          const wx = Math.min(x + 1, x1) - Math.max(x, x0);
          sum += map[y * w + x] * wy * wx;
        }
      }
      out[I * W + J] = sum / (fy * fx);
    }
  }
  return out;
}

/** The stored row's maps (decoded, averaged down when large) with the images' sizes. */
export function explainMapsDto(row: ExplanationRow, pair: PairWithImages, cached: boolean): ExplainMapsDto {
  const h = row.map_height;
  const w = row.map_width;
  const [H, W] = sentGrid(h, w);
  const send = (blob: Buffer | null): number[] | null => {
    if (!blob) return null;
    const map = decodeMap(blob, h, w);
    return Array.from(H === h && W === w ? map : downsampleArea(map, h, w, H, W));
  };
  const image = (side: 'a' | 'b'): ExplainMapImageDto => {
    const img = pair[side];
    const counterfactual = send(row[`${side}_counterfactual`]);
    return {
      imageId: img.id,
      imageSize: [img.height, img.width],
      factual: send(row[`${side}_factual`]) ?? new Array<number>(H * W).fill(0),
      counterfactual,
      noEvidence: row.meta.noEvidence?.[side] ?? { factual: false, counterfactual: counterfactual ? false : null },
    };
  };
  return {
    pairId: row.pair_id,
    modelId: row.model_id,
    method: row.method as ExplainMethod,
    layer: row.layer,
    mapHeight: H,
    mapWidth: W,
    downsampledFrom: H === h && W === w ? null : [h, w],
    score: row.score ?? NaN,
    counterfactualDefined: row.meta.counterfactualDefined ?? row.a_counterfactual !== null,
    cached,
    createdAt: row.created_at,
    a: image('a'),
    b: image('b'),
  };
}
