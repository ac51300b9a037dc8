// The painting operations on a mask: a row-major h x w Uint8Array of 0/1 (the stored image's
// size). Plain functions, no DOM: each writes into the mask and returns the rectangle it may have
// changed (null: nothing), so the canvas redraws and the history records only that rectangle.
// Coordinates are in image pixels as floats: pixel (row i, column j) covers [j, j + 1) x [i, i + 1)
// and is inside a shape when its centre (j + 0.5, i + 0.5) is.

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Point {
  x: number;
  y: number;
}

/** The smallest rectangle holding both (either may be null). */
export function unionRect(a: Rect | null, b: Rect | null): Rect | null {
  if (!a) return b;
  if (!b) return a;
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, w: Math.max(a.x + a.w, b.x + b.w) - x, h: Math.max(a.y + a.h, b.y + b.h) - y };
}

/** The pixel rectangle of [x0, x1) x [y0, y1) clipped to the mask; null when empty. */
function clipRect(x0: number, y0: number, x1: number, y1: number, w: number, h: number): Rect | null {
  const a = Math.max(0, Math.floor(x0));
  const b = Math.max(0, Math.floor(y0));
  const c = Math.min(w, Math.ceil(x1));
  const d = Math.min(h, Math.ceil(y1));
  return c > a && d > b ? { x: a, y: b, w: c - a, h: d - b } : null;
}

export const fullRect = (w: number, h: number): Rect => ({ x: 0, y: 0, w, h });

/**
 * A round brush dragged from p0 to p1 (a capsule of radius r): sets every pixel whose centre is
 * within r of the segment to `value`. A click is a segment of length 0 (a disc). Exact, so fast
 * strokes leave no gaps; the work is the capsule's bounding box.
 */
export function stampSegment(mask: Uint8Array, w: number, h: number, p0: Point, p1: Point, r: number, value: 0 | 1): Rect | null {
  const rect = clipRect(Math.min(p0.x, p1.x) - r, Math.min(p0.y, p1.y) - r, Math.max(p0.x, p1.x) + r, Math.max(p0.y, p1.y) + r, w, h);
  if (!rect) return null;
  const dx = p1.x - p0.x;
  const dy = p1.y - p0.y;
  const len2 = dx * dx + dy * dy;
  const r2 = r * r;
  for (let i = rect.y; i < rect.y + rect.h; i++) {
    const cy = i + 0.5;
    const row = i * w;
    for (let j = rect.x; j < rect.x + rect.w; j++) {
      const cx = j + 0.5;
      let t = len2 > 0 ? ((cx - p0.x) * dx + (cy - p0.y) * dy) / len2 : 0;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const ex = p0.x + t * dx - cx;
      const ey = p0.y + t * dy - cy;
      if (ex * ex + ey * ey <= r2) mask[row + j] = value;
    }
  }
  return rect;
}

/** Fills a closed polygon (even-odd rule; the last point joins the first) with `value`. */
export function fillPolygon(mask: Uint8Array, w: number, h: number, pts: readonly Point[], value: 0 | 1): Rect | null {
  if (pts.length < 3) return null;
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const p of pts) {
    minX = Math.min(minX, p.x);
    minY = Math.min(minY, p.y);
    maxX = Math.max(maxX, p.x);
    maxY = Math.max(maxY, p.y);
  }
  const rect = clipRect(minX, minY, maxX, maxY, w, h);
  if (!rect) return null;
  const xs: number[] = [];
  let changed: Rect | null = null;
  for (let i = rect.y; i < rect.y + rect.h; i++) {
    const cy = i + 0.5;
    xs.length = 0;
    for (let k = 0; k < pts.length; k++) {
      const a = pts[k];
      const b = pts[(k + 1) % pts.length];
      // half-open in y so a vertex on the scanline counts once
      if (a.y <= cy !== b.y <= cy) xs.push(a.x + ((cy - a.y) * (b.x - a.x)) / (b.y - a.y));
    }
    xs.sort((p, q) => p - q);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      // pixels whose centre lies in [xs[k], xs[k + 1])
      const j0 = Math.max(rect.x, Math.ceil(xs[k] - 0.5));
      const j1 = Math.min(rect.x + rect.w, Math.ceil(xs[k + 1] - 0.5));
      if (j1 <= j0) continue;
      mask.fill(value, i * w + j0, i * w + j1);
      changed = unionRect(changed, { x: j0, y: i, w: j1 - j0, h: 1 });
    }
  }
  return changed;
}

/**
 * The magic wand: the 4-connected region around (x, y) of pixels whose colour is within
 * `tolerance` of the seed pixel's (Euclidean RGB distance / sqrt(3), so 0-255), from RGBA pixels
 * of the mask's size. Returns the region as a 0/1 mask and its bounding rectangle.
 */
export function floodRegion(
  rgba: Uint8ClampedArray | Uint8Array,
  w: number,
  h: number,
  x: number,
  y: number,
  tolerance: number,
): { region: Uint8Array; rect: Rect | null } {
  const region = new Uint8Array(w * h);
  const sx = Math.floor(x);
  const sy = Math.floor(y);
  if (sx < 0 || sy < 0 || sx >= w || sy >= h) return { region, rect: null };
  const s = (sy * w + sx) * 4;
  const r0 = rgba[s];
  const g0 = rgba[s + 1];
  const b0 = rgba[s + 2];
  const limit = tolerance * tolerance * 3;
  const near = (p: number): boolean => {
    const dr = rgba[p * 4] - r0;
    const dg = rgba[p * 4 + 1] - g0;
    const db = rgba[p * 4 + 2] - b0;
    return dr * dr + dg * dg + db * db <= limit;
  };
  let minX = sx;
  let maxX = sx;
  let minY = sy;
  let maxY = sy;
  const stack = new Int32Array(w * h + 1);
  let top = 0;
  stack[top++] = sy * w + sx;
  region[sy * w + sx] = 1;
  while (top > 0) {
    const p = stack[--top];
    const px = p % w;
    const py = (p - px) / w;
    if (px < minX) minX = px;
    if (px > maxX) maxX = px;
    if (py < minY) minY = py;
    if (py > maxY) maxY = py;
    const visit = (q: number): void => {
      if (!region[q] && near(q)) {
        region[q] = 1;
        stack[top++] = q;
      }
    };
    if (px > 0) visit(p - 1);
    if (px < w - 1) visit(p + 1);
    if (py > 0) visit(p - w);
    if (py < h - 1) visit(p + w);
  }
  return { region, rect: { x: minX, y: minY, w: maxX - minX + 1, h: maxY - minY + 1 } };
}

/** Sets the pixels of `region` (0/1, same size) inside `rect` to `value`. */
export function applyRegion(mask: Uint8Array, w: number, region: Uint8Array, rect: Rect, value: 0 | 1): Rect {
  for (let i = rect.y; i < rect.y + rect.h; i++)
    for (let j = rect.x; j < rect.x + rect.w; j++) if (region[i * w + j]) mask[i * w + j] = value;
  return rect;
}

/** A seed mask from a map at the mask's size: 1 where value >= threshold * max (empty for a zero map). */
export function thresholdMap(values: ArrayLike<number>, threshold: number): Uint8Array {
  let max = 0;
  for (let i = 0; i < values.length; i++) if (values[i] > max) max = values[i];
  const out = new Uint8Array(values.length);
  if (max > 0) for (let i = 0; i < values.length; i++) out[i] = values[i] >= threshold * max ? 1 : 0;
  return out;
}

/** Pixels inside. */
export function maskArea(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  return n;
}
