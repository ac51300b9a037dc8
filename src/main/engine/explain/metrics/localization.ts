// Agreement of a map with an expert mask (the relevant region of the image).
// Maps are row-major h x w, values >= 0 (normalised factual maps); masks are row-major
// H x W, a pixel is inside when mask > 0.5. A map of another size than its mask is first
// upsampled bilinearly (half-pixel centres) to the mask's size.
import { upsampleBilinear } from '../../../images/overlay';

export interface Grid {
  data: ArrayLike<number>;
  h: number;
  w: number;
}

function onMaskGrid(map: Grid, mask: Grid): ArrayLike<number> {
  if (map.data.length !== map.h * map.w) throw new Error('map data does not match its shape');
  if (mask.data.length !== mask.h * mask.w) throw new Error('mask data does not match its shape');
  return map.h === mask.h && map.w === mask.w ? map.data : upsampleBilinear(map.data, map.h, map.w, mask.h, mask.w);
}

/**
 * Energy-based pointing game (Wang et al. 2020; Rao et al. 2023):
 * EPG = sum(M * mask) / sum(M). Requires M >= 0 (throws otherwise). A zero map (0/0) -> null.
 */
export function energyPointingGame(map: Grid, mask: Grid): number | null {
  const m = onMaskGrid(map, mask);
  let inside = 0;
  let total = 0;
  for (let i = 0; i < m.length; i++) {
    const v = m[i];
    if (v < 0 || Number.isNaN(v)) throw new Error('energyPointingGame needs a non-negative map');
    total += v;
    if (mask.data[i] > 0.5) inside += v;
  }
  return total > 0 ? inside / total : null;
}

/**
 * Pointing game (Zhang et al. 2016): is the map's maximum inside the mask? The maximum is
 * the first in row-major order; with `tolerance` > 0 (pixels) a hit is any mask pixel
 * within that Euclidean distance of it (Zhang et al. use 15 px at ~224 px). A map that is
 * all zero (no evidence) has no maximum -> null.
 */
export function pointingGame(map: Grid, mask: Grid, opts: { tolerance?: number } = {}): boolean | null {
  const m = onMaskGrid(map, mask);
  let best = -Infinity;
  let at = -1;
  for (let i = 0; i < m.length; i++)
    if (m[i] > best) {
      best = m[i];
      at = i;
    }
  if (at < 0 || !(best > 0)) return null;
  const W = mask.w;
  const tol = opts.tolerance ?? 0;
  const u0 = Math.floor(at / W);
  const v0 = at % W;
  if (tol <= 0) return mask.data[at] > 0.5;
  const r = Math.floor(tol);
  for (let u = Math.max(0, u0 - r); u <= Math.min(mask.h - 1, u0 + r); u++)
    for (let v = Math.max(0, v0 - r); v <= Math.min(W - 1, v0 + r); v++)
      if ((u - u0) ** 2 + (v - v0) ** 2 <= tol * tol && mask.data[u * W + v] > 0.5) return true;
  return false;
}

/**
 * IoU of {map >= threshold * max(map)} with {mask > 0.5}; threshold default 0.5.
 * A zero map selects nothing; an empty union (0/0) -> null.
 */
export function thresholdIoU(map: Grid, mask: Grid, opts: { threshold?: number } = {}): number | null {
  const m = onMaskGrid(map, mask);
  const thr = opts.threshold ?? 0.5;
  let max = 0;
  for (let i = 0; i < m.length; i++) if (m[i] > max) max = m[i];
  let inter = 0;
  let union = 0;
  for (let i = 0; i < m.length; i++) {
    const a = max > 0 && m[i] >= thr * max;
    const b = mask.data[i] > 0.5;
    if (a && b) inter++;
    if (a || b) union++;
  }
  return union > 0 ? inter / union : null;
}
