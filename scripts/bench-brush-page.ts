// Runs in Chromium for `npm run bench -- masks` (bundled by scripts/bench-masks.ts): a 200-point
// brush stroke on a 1024 x 1024 mask with the renderer's own painting code (MaskEditor: one
// capsule per pointer move; MaskCanvas: the dirty rectangle written to the canvas), one point per
// animation frame as a pointer delivers them. Per frame: the painting work (segment + canvas
// write) and the interval between frames; then the stroke's end (undo step, the save's RLE
// encoding, the live agreement), as the masks store runs it. Also the magic wand on a 1024 x 1024
// RGB image at full size (the scanline fill, then the region written into the mask as one step).
import { maskAgreement, prepareMap } from '../src/shared/mask-agreement';
import { encodeMaskString } from '../src/shared/mask-rle';
import { MaskCanvas } from '../src/renderer/src/stores/masks/canvas';
import { MaskEditor } from '../src/renderer/src/stores/masks/editor';
import { floodRegion } from '../src/renderer/src/stores/masks/paint';

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
  // the layer is mounted when painting is switched on, before any stroke: its first frames (the
  // new 1024x1024 canvas's first raster) are timed apart from the stroke's
  let last = await nextFrame();
  const mountFrames: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t = await nextFrame();
    mountFrames.push(t - last);
    last = t;
  }
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
  return {
    work,
    frames,
    mountFrames,
    endStrokeMs: t1 - t0,
    encodeMs: t2 - t1,
    agreementMs: t3 - t2,
    area: ed.area(),
    countsChars: counts.length,
  };
}

/**
 * The same number of animation frames with no drawing at all: the frame intervals this browser
 * and machine give by themselves, the baseline the brush's frames are judged against.
 */
export async function runFrameBaseline(opts: { frames: number }) {
  const frames: number[] = [];
  let last = await nextFrame();
  for (let i = 0; i < opts.frames; i++) {
    const t = await nextFrame();
    frames.push(t - last);
    last = t;
  }
  return frames;
}

/**
 * The magic wand on a side x side RGB image with noise: a blob with a wavy edge (about 40% of the
 * image: the region a click on a garment takes) and the whole image (a uniform one: the worst
 * case). Per run: the fill and the write into the mask (one undo step), as the masks store does it.
 */
export function runWandBench(opts: { side: number; runs: number }) {
  const { side, runs } = opts;
  let s = 5;
  const noise = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24) % 12;
  const blob = new Uint8Array(side * side * 3);
  const c = side / 2;
  for (let i = 0; i < side; i++)
    for (let j = 0; j < side; j++) {
      const a = Math.atan2(i - c, j - c);
      const inside = Math.hypot(i - c, j - c) < side * (0.33 + 0.05 * Math.sin(7 * a));
      blob.set(inside ? [180 + noise(), 60 + noise(), 50] : [40, 90 + noise(), 120 + noise()], (i * side + j) * 3);
    }
  const uniform = new Uint8Array(side * side * 3).fill(128);
  const time = (data: Uint8Array) => {
    const fill: number[] = [];
    const ms: number[] = [];
    let area = 0;
    for (let r = 0; r < runs; r++) {
      const ed = new MaskEditor(side, side);
      const t0 = performance.now();
      const { region, rect } = floodRegion({ data, width: side, height: side, channels: 3 }, c, c, 32);
      const t1 = performance.now();
      ed.applyRegion(region, rect, 1);
      ms.push(performance.now() - t0);
      fill.push(t1 - t0);
      area = ed.area();
    }
    return { fill, ms, area };
  };
  return { blob: time(blob), uniform: time(uniform) };
}

(globalThis as unknown as { runBrushBench: typeof runBrushBench }).runBrushBench = runBrushBench;
(globalThis as unknown as { runWandBench: typeof runWandBench }).runWandBench = runWandBench;
(globalThis as unknown as { runFrameBaseline: typeof runFrameBaseline }).runFrameBaseline = runFrameBaseline;
