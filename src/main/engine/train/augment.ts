// Seeded, cheap image augmentation on plain Float32Arrays (one HWC image in [0, 1]),
// applied while a training batch is assembled: horizontal flip, small integer
// shifts (zero fill), brightness offset. Pure JS, so it is identical on every backend.
import type { Rng } from '../../pairs/rng';

export interface AugmentConfig {
  /** Probability of a horizontal flip (0 = never). */
  flip: number;
  /** Maximum shift in pixels along each axis (0 = none). */
  maxShift: number;
  /** Maximum absolute brightness offset added to every pixel (0 = none); result clamped to [0, 1]. */
  brightness: number;
}

export const NO_AUGMENT: AugmentConfig = { flip: 0, maxShift: 0, brightness: 0 };
export const DEFAULT_AUGMENT: AugmentConfig = { flip: 0.5, maxShift: 2, brightness: 0.1 };

export function isIdentity(cfg: AugmentConfig): boolean {
  return cfg.flip <= 0 && cfg.maxShift <= 0 && cfg.brightness <= 0;
}

/**
 * Writes an augmented copy of `src` (h*w*c, HWC) into `dst` at `dstOffset`.
 * Draws from `rng` in a fixed order so a seed gives the same augmentation.
 */
export function augmentInto(
  src: Float32Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  shape: readonly [number, number, number],
  cfg: AugmentConfig,
  rng: Rng,
): void {
  const [h, w, c] = shape;
  const flip = cfg.flip > 0 && rng.next() < cfg.flip;
  const dy = cfg.maxShift > 0 ? rng.int(2 * cfg.maxShift + 1) - cfg.maxShift : 0;
  const dx = cfg.maxShift > 0 ? rng.int(2 * cfg.maxShift + 1) - cfg.maxShift : 0;
  const delta = cfg.brightness > 0 ? (rng.next() * 2 - 1) * cfg.brightness : 0;
  for (let y = 0; y < h; y++) {
    const sy = y - dy;
    for (let x = 0; x < w; x++) {
      const o = dstOffset + (y * w + x) * c;
      let sx = x - dx;
      if (flip) sx = w - 1 - sx;
      if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
        for (let k = 0; k < c; k++) dst[o + k] = 0;
        continue;
      }
      const i = srcOffset + (sy * w + sx) * c;
      for (let k = 0; k < c; k++) {
        const v = src[i + k] + delta;
        dst[o + k] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    }
  }
}
