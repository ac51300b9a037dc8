// Runs in Chromium for `npm run bench -- masks` (bundled by scripts/bench-masks.ts): a 200-point
// brush stroke on a 1024 x 1024 mask with the renderer's own painting code (MaskEditor: one
// capsule per pointer move; MaskCanvas: the dirty rectangle written to the canvas), one point per
// animation frame as a pointer delivers them. Per frame: the painting work (segment + canvas
// write) and the interval between frames; then the stroke's end (undo step, the save's RLE
// encoding, the live agreement), as the masks store runs it.
import { maskAgreement, prepareMap } from '../src/shared/mask-agreement';
import { encodeMaskString } from '../src/shared/mask-rle';
import { MaskCanvas } from '../src/renderer/src/stores/masks/canvas';
import { MaskEditor } from '../src/renderer/src/stores/masks/editor';

const nextFrame = () => new Promise<number>((r) => requestAnimationFrame(r));

export async function runBrushBench(opts: { side: number; points: number; brush: number }) {
  const { side, points, brush } = opts;
  const canvas = document.createElement('canvas');
  canvas.style.width = '800px';
  canvas.style.height = '800px';
  canvas.style.imageRendering = 'pixelated';
  document.body.appendChild(canvas);
  const ed = new MaskEditor(side, side);
  const mc = new MaskCanvas(canvas, ed.mask, side, side, '#ff2bd6');
  const map = prepareMap({ data: Float32Array.from({ length: 49 }, (_, i) => (i * 37) % 11), h: 7, w: 7 }, side, side);
  // a wave across the image: segments of ~4 to ~30 px, as a fast hand makes
  const pts = Array.from({ length: points }, (_, i) => {
    const t = i / (points - 1);
    return { x: side * (0.1 + 0.8 * t), y: side * (0.5 + 0.35 * Math.sin(t * 6 * Math.PI)) };
  });
  const work: number[] = [];
  const frames: number[] = [];
  let last = await nextFrame();
  for (let i = 0; i < points; i++) {
    const t0 = performance.now();
    mc.drawNow(i === 0 ? ed.beginStroke('brush', brush, pts[0]) : ed.strokeTo(pts[i]));
    work.push(performance.now() - t0);
    const t = await nextFrame();
    frames.push(t - last);
    last = t;
  }
  const t0 = performance.now();
  ed.endStroke();
  const t1 = performance.now();
  const counts = encodeMaskString(ed.mask, side, side);
  const t2 = performance.now();
  maskAgreement(map, ed.mask);
  const t3 = performance.now();
  return { work, frames, endStrokeMs: t1 - t0, encodeMs: t2 - t1, agreementMs: t3 - t2, area: ed.area(), countsChars: counts.length };
}

(globalThis as unknown as { runBrushBench: typeof runBrushBench }).runBrushBench = runBrushBench;
