// Zoom and pan of the review view's images (pure). One viewport is shared by every image
// stack on screen, in image fractions, so both images (and their maps) move together
// whatever their pixel sizes: `zoom` 1 fits the image in its box, (cx, cy) is the image
// point at the box's centre (0..1 across, 0..1 down).

export interface Viewport {
  zoom: number;
  cx: number;
  cy: number;
}

export interface Size {
  w: number;
  h: number;
}

export const FIT: Readonly<Viewport> = Object.freeze({ zoom: 1, cx: 0.5, cy: 0.5 });
export const ZOOM_MAX = 32;
/** One zoom key press. */
export const ZOOM_STEP = 1.25;

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

/** Keeps the zoom in [1, ZOOM_MAX] and the view on the image (at zoom 1 it is centred). */
export function clampView(v: Viewport): Viewport {
  const zoom = clamp(Number.isFinite(v.zoom) ? v.zoom : 1, 1, ZOOM_MAX);
  const half = 0.5 / zoom;
  return { zoom, cx: clamp(v.cx, half, 1 - half), cy: clamp(v.cy, half, 1 - half) };
}

/** Zooms by `factor` keeping the image point `at` (fractions; default the centre) where it is on screen. */
export function zoomBy(v: Viewport, factor: number, at: { x: number; y: number } = { x: v.cx, y: v.cy }): Viewport {
  const zoom = clamp(v.zoom * factor, 1, ZOOM_MAX);
  const k = v.zoom / zoom;
  return clampView({ zoom, cx: at.x - (at.x - v.cx) * k, cy: at.y - (at.y - v.cy) * k });
}

/** Pans by (dx, dy) shares of the visible part of the image. */
export function panBy(v: Viewport, dx: number, dy: number): Viewport {
  return clampView({ zoom: v.zoom, cx: v.cx + dx / v.zoom, cy: v.cy + dy / v.zoom });
}

/** Where an image of `img` pixels sits in a box of `box` pixels: its scale and the offset of its top-left corner. */
export function stageTransform(v: Viewport, box: Size, img: Size): { scale: number; x: number; y: number } {
  if (img.w <= 0 || img.h <= 0 || box.w <= 0 || box.h <= 0) return { scale: 1, x: 0, y: 0 };
  const scale = Math.min(box.w / img.w, box.h / img.h) * v.zoom;
  return { scale, x: box.w / 2 - v.cx * img.w * scale, y: box.h / 2 - v.cy * img.h * scale };
}

/** The image point (fractions) under the box pixel (px, py). */
export function pointAt(v: Viewport, box: Size, img: Size, px: number, py: number): { x: number; y: number } {
  const t = stageTransform(v, box, img);
  return { x: (px - t.x) / (img.w * t.scale), y: (py - t.y) / (img.h * t.scale) };
}

/** Nearest-neighbour pixels once an image pixel covers two screen pixels or more (small images, zoomed in). */
export const pixelatedAt = (scale: number): boolean => scale >= 2;

/** The zoom factor of a wheel turn (deltaY in pixels; up zooms in). */
export const wheelFactor = (deltaY: number): number => Math.exp(clamp(-deltaY, -300, 300) * 0.002);
