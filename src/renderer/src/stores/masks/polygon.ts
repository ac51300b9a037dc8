// The polygon tool's rules (pure): a polygon is placed one vertex per click, in image pixels,
// and filled by paint.ts's fillPolygon once closed. Distances the hand controls (how near the
// first vertex a click closes, how near the last one a click is a repeat) are given in screen
// pixels and turned into image pixels with the zoom, so they feel the same at every zoom.
import type { Point } from './paint';

/** A click within this many screen pixels of the first vertex closes the polygon. */
export const CLOSE_RADIUS_PX = 8;
/** A click within this many screen pixels of the last vertex adds none (a double-click's second click). */
export const REPEAT_RADIUS_PX = 3;
/** Fewest vertices of a polygon that encloses anything. */
export const MIN_VERTICES = 3;

const dist2 = (a: Point, b: Point) => (a.x - b.x) ** 2 + (a.y - b.y) ** 2;

export type PolygonClick = { kind: 'close' } | { kind: 'add'; points: Point[] } | { kind: 'repeat' };

/**
 * What a click at `p` does to the vertices placed so far, at `scale` screen pixels per image
 * pixel: closes the polygon (on the first vertex, once it has MIN_VERTICES), is ignored (on
 * the last vertex), or adds a vertex (a new array).
 */
export function polygonClick(points: readonly Point[], p: Point, scale: number): PolygonClick {
  const closeR = CLOSE_RADIUS_PX / scale;
  const repeatR = REPEAT_RADIUS_PX / scale;
  if (points.length >= MIN_VERTICES && dist2(points[0], p) <= closeR * closeR) return { kind: 'close' };
  const last = points.at(-1);
  if (last && dist2(last, p) <= repeatR * repeatR) return { kind: 'repeat' };
  return { kind: 'add', points: [...points, p] };
}

/** The polygon can be closed and filled. */
export const canClose = (points: readonly Point[]): boolean => points.length >= MIN_VERTICES;
