// Draws a mask onto a canvas of the mask's size: one RGBA buffer for the whole mask, and each
// change written as the dirty rectangle only (its pixels recoloured, then putImageData with that
// rectangle), so a brush segment costs its capsule, not the image. Colour changes redraw all.
// The canvas is scaled by CSS (image-rendering: pixelated); opacity is the element's.
import { unionRect, type Rect } from './paint';

/** '#rrggbb' as [r, g, b]; falls back to magenta-ish for anything else. */
export function parseHex(colour: string): [number, number, number] {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(colour.trim());
  return m ? [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)] : [255, 0, 200];
}

export class MaskCanvas {
  private readonly ctx: CanvasRenderingContext2D;
  private readonly image: ImageData;
  /** 32-bit view of the RGBA buffer (one write per pixel) */
  private readonly px: Uint32Array;
  private on = 0;
  private pending: Rect | null = null;
  private frame = 0;

  constructor(
    canvas: HTMLCanvasElement,
    private readonly mask: Uint8Array,
    private readonly w: number,
    private readonly h: number,
    colour: string,
  ) {
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('no 2D canvas context');
    this.ctx = ctx;
    this.image = ctx.createImageData(w, h);
    this.px = new Uint32Array(this.image.data.buffer);
    this.setColour(colour);
  }

  /** Sets the colour and redraws everything. */
  setColour(colour: string): void {
    const [r, g, b] = parseHex(colour);
    // little-endian ABGR in a Uint32 is RGBA in bytes
    this.on = ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
    this.drawNow({ x: 0, y: 0, w: this.w, h: this.h });
  }

  /** Writes the rectangle's pixels now (what a frame of painting costs). */
  drawNow(r: Rect | null): void {
    if (!r) return;
    const { mask, px, w, on } = this;
    for (let i = r.y; i < r.y + r.h; i++) {
      const row = i * w;
      for (let j = r.x; j < r.x + r.w; j++) px[row + j] = mask[row + j] ? on : 0;
    }
    this.ctx.putImageData(this.image, 0, 0, r.x, r.y, r.w, r.h);
  }

  /** Marks a rectangle dirty; it is drawn on the next animation frame (several moves, one write). */
  invalidate(r: Rect | null): void {
    if (!r) return;
    this.pending = unionRect(this.pending, r);
    if (!this.frame)
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.flush();
      });
  }

  /** Draws what is pending now. */
  flush(): void {
    const r = this.pending;
    this.pending = null;
    this.drawNow(r);
  }

  dispose(): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
  }
}
