// The zoom and pan of an image shown in a box: image pixel (x, y) is drawn at CSS pixel
// (t.x + x * t.scale, t.y + y * t.scale) of the box. Painting layers take this as a prop, so
// whoever shows the image (the explanation view, the review view's image stack) owns it.

export interface ViewTransform {
  /** CSS pixels per image pixel */
  scale: number;
  /** where the image's top-left corner is drawn in the box (CSS pixels) */
  x: number;
  y: number;
}

export const ZOOM_MIN = 0.05;
export const ZOOM_MAX = 64;

/** The image fitted in the box and centred. */
export function fitTransform(boxW: number, boxH: number, imgW: number, imgH: number): ViewTransform {
  const scale = Math.max(ZOOM_MIN, Math.min(boxW / imgW, boxH / imgH));
  return { scale, x: (boxW - imgW * scale) / 2, y: (boxH - imgH * scale) / 2 };
}

/** Zooms by `factor` keeping the box point (cx, cy) over the same image point. */
export function zoomAt(t: ViewTransform, factor: number, cx: number, cy: number): ViewTransform {
  const scale = Math.min(ZOOM_MAX, Math.max(ZOOM_MIN, t.scale * factor));
  const k = scale / t.scale;
  return { scale, x: cx - (cx - t.x) * k, y: cy - (cy - t.y) * k };
}

export const panBy = (t: ViewTransform, dx: number, dy: number): ViewTransform => ({ scale: t.scale, x: t.x + dx, y: t.y + dy });

/** The image point under box point (cx, cy). */
export const toImage = (t: ViewTransform, cx: number, cy: number): { x: number; y: number } => ({
  x: (cx - t.x) / t.scale,
  y: (cy - t.y) / t.scale,
});
