// Mask-guided augmentation: the data-side alternative to the mask losses, which needs no second
// derivative (CE / CAIPI-style counterexamples). For an image with a mask of its relevant region,
// what lies OUTSIDE the region is made uninformative, so a feature there (a decoy, a background)
// stops predicting the class:
//   background  the pixels outside the mask come from another training image (its background,
//               or whatever it has there: another image's decoy, at a random place for this class)
//   noise       uniform noise in [0, 1]
//   blur        a box blur (radius 2) of the image itself
//   crop        a random crop that contains the mask's bounding box, resized back (bilinear)
// The mask's inside is kept as is (except under 'crop', which moves it). Plain JS on HWC floats in
// [0, 1], seeded: identical on every backend and whatever runs the steps.
import type { Rng } from '../../../pairs/rng';

export type MaskAugmentMode = 'background' | 'noise' | 'blur' | 'crop';
export const MASK_AUGMENT_MODES: readonly MaskAugmentMode[] = ['background', 'noise', 'blur', 'crop'];

export interface MaskAugmentConfig {
  /** modes drawn from uniformly (each time a masked image is augmented) */
  modes: MaskAugmentMode[];
  /** probability that a masked image is augmented when it is drawn (else kept as is) */
  probability: number;
  /**
   * also pair each masked train image with an augmented copy of itself as a SAME pair, once per
   * epoch (x the plan's maskedRepeat): a counterexample that says the outside does not matter
   */
  selfPairs?: boolean;
}

export const DEFAULT_MASK_AUGMENT: MaskAugmentConfig = {
  modes: ['background', 'noise', 'blur', 'crop'],
  probability: 0.8,
  selfPairs: true,
};

const BLUR_RADIUS = 2;

/**
 * Writes the augmented image into dst at dstOffset: src image (HWC, at srcOffset) with mask
 * [H * W] (0..255, inside > 127.5 counts fully, values between blend); `donor` gives another image's
 * pixels (HWC) for 'background'. Draws from `rng` in a fixed order.
 */
export function maskAugmentInto(
  src: Float32Array,
  srcOffset: number,
  mask: Uint8Array,
  maskOffset: number,
  dst: Float32Array,
  dstOffset: number,
  shape: readonly [number, number, number],
  cfg: MaskAugmentConfig,
  rng: Rng,
  donor: () => { pixels: Float32Array; offset: number },
): MaskAugmentMode | null {
  const [h, w, c] = shape;
  const size = h * w * c;
  if (cfg.modes.length === 0 || rng.next() >= cfg.probability) {
    dst.set(src.subarray(srcOffset, srcOffset + size), dstOffset);
    return null;
  }
  const mode = cfg.modes[rng.int(cfg.modes.length)];
  if (mode === 'crop') {
    cropAround(src, srcOffset, mask, maskOffset, dst, dstOffset, shape, rng);
    return mode;
  }
  let fill: (p: number, k: number) => number;
  if (mode === 'background') {
    const d = donor();
    fill = (p, k) => d.pixels[d.offset + p * c + k];
  } else if (mode === 'noise') {
    const noise = new Float32Array(h * w * c);
    for (let i = 0; i < noise.length; i++) noise[i] = rng.next();
    fill = (p, k) => noise[p * c + k];
  } else {
    const blurred = boxBlur(src, srcOffset, shape, BLUR_RADIUS);
    fill = (p, k) => blurred[p * c + k];
  }
  for (let p = 0; p < h * w; p++) {
    const inside = mask[maskOffset + p] / 255;
    for (let k = 0; k < c; k++) {
      const v = src[srcOffset + p * c + k];
      dst[dstOffset + p * c + k] = inside >= 1 ? v : inside * v + (1 - inside) * fill(p, k);
    }
  }
  return mode;
}

/** A box blur of one HWC image (edges: the mean over the part of the window inside the image). */
export function boxBlur(src: Float32Array, offset: number, shape: readonly [number, number, number], r: number): Float32Array {
  const [h, w, c] = shape;
  const rows = new Float32Array(h * w * c);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let k = 0; k < c; k++) {
        let acc = 0;
        let n = 0;
        for (let dx = Math.max(0, x - r); dx <= Math.min(w - 1, x + r); dx++, n++) acc += src[offset + (y * w + dx) * c + k];
        rows[(y * w + x) * c + k] = acc / n;
      }
  const out = new Float32Array(h * w * c);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let k = 0; k < c; k++) {
        let acc = 0;
        let n = 0;
        for (let dy = Math.max(0, y - r); dy <= Math.min(h - 1, y + r); dy++, n++) acc += rows[(dy * w + x) * c + k];
        out[(y * w + x) * c + k] = acc / n;
      }
  return out;
}

/** The bounding box [y0, y1) x [x0, x1) of the mask's inside (> 127), or null when empty. */
export function maskBox(mask: Uint8Array, offset: number, h: number, w: number): [number, number, number, number] | null {
  let y0 = h;
  let y1 = -1;
  let x0 = w;
  let x1 = -1;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      if (mask[offset + y * w + x] > 127) {
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
      }
  return y1 < 0 ? null : [y0, y1 + 1, x0, x1 + 1];
}

/** A random crop containing the mask's box (same aspect as the image), resized back bilinearly. */
function cropAround(
  src: Float32Array,
  srcOffset: number,
  mask: Uint8Array,
  maskOffset: number,
  dst: Float32Array,
  dstOffset: number,
  shape: readonly [number, number, number],
  rng: Rng,
): void {
  const [h, w, c] = shape;
  const box = maskBox(mask, maskOffset, h, w) ?? [0, h, 0, w];
  // the crop's scale: at least the box (in both axes), at most the image
  const minScale = Math.max((box[1] - box[0]) / h, (box[3] - box[2]) / w, 0.5);
  const scale = minScale + rng.next() * (1 - minScale);
  const ch = Math.min(h, Math.max(1, Math.round(scale * h)));
  const cw = Math.min(w, Math.max(1, Math.round(scale * w)));
  // the crop's top-left: the box inside, the crop inside the image
  const yLo = Math.max(0, box[1] - ch);
  const yHi = Math.min(box[0], h - ch);
  const xLo = Math.max(0, box[3] - cw);
  const xHi = Math.min(box[2], w - cw);
  const y0 = yHi >= yLo ? yLo + rng.int(yHi - yLo + 1) : Math.max(0, Math.min(h - ch, box[0]));
  const x0 = xHi >= xLo ? xLo + rng.int(xHi - xLo + 1) : Math.max(0, Math.min(w - cw, box[2]));
  for (let y = 0; y < h; y++) {
    const sy = Math.min(ch - 1, Math.max(0, ((y + 0.5) * ch) / h - 0.5));
    const fy = Math.floor(sy);
    const ty = sy - fy;
    const fy1 = Math.min(ch - 1, fy + 1);
    for (let x = 0; x < w; x++) {
      const sx = Math.min(cw - 1, Math.max(0, ((x + 0.5) * cw) / w - 0.5));
      const fx = Math.floor(sx);
      const tx = sx - fx;
      const fx1 = Math.min(cw - 1, fx + 1);
      for (let k = 0; k < c; k++) {
        const at = (yy: number, xx: number) => src[srcOffset + ((y0 + yy) * w + (x0 + xx)) * c + k];
        const top = at(fy, fx) * (1 - tx) + at(fy, fx1) * tx;
        const bot = at(fy1, fx) * (1 - tx) + at(fy1, fx1) * tx;
        dst[dstOffset + (y * w + x) * c + k] = top * (1 - ty) + bot * ty;
      }
    }
  }
}
