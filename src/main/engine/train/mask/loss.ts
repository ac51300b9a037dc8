// Mask losses on Grad-CAM maps (SCIENCE.md section 4), differentiable, per image. A mask marks the
// RELEVANT region of an image (inside > 0.5, soft values allowed); maps are >= 0 (ReLU'd Grad-CAM)
// at the target layer's grid and are first upsampled bilinearly to the mask's size (half-pixel
// centres, as the metrics and the overlays do), with two constant matrices, so the energy term is
// exactly the energy-based pointing game the metrics report.
//
//   rrr     mean_uv ((1 - mask) * M_norm)^2            evidence outside the region (RRR-G,
//                                                       Schramowski et al. 2020)
//   energy  1 - sum(M * mask) / sum(M)  = 1 - EPG       (Rao et al. 2023)
//   hint    mean_uv (M_norm - mask)^2                   HINT-style: the normalised map should be
//                                                       the region
// with M_norm = M / max(M). A map with no evidence (all zero) has loss 0 for rrr and energy (there
// is nothing outside the region; its EPG is undefined) and mean(mask^2) for hint.
import * as tf from '@tensorflow/tfjs';

export type MaskLossKind = 'rrr' | 'energy' | 'hint';
export const MASK_LOSS_KINDS: readonly MaskLossKind[] = ['rrr', 'energy', 'hint'];

/** Guards the divisions by max(M) and sum(M) (maps are O(1e-6..1e2)). */
export const MAP_EPS = 1e-12;

/**
 * The [out, in] matrix of bilinear resampling along one axis (half-pixel centres, clamped to the
 * edge: overlay.ts upsampleBilinear), so that resampled = U @ x. Identity when out === in.
 */
export function interpolationMatrix(outSize: number, inSize: number): Float32Array {
  const u = new Float32Array(outSize * inSize);
  for (let o = 0; o < outSize; o++) {
    const src = Math.min(inSize - 1, Math.max(0, ((o + 0.5) * inSize) / outSize - 0.5));
    const f = Math.floor(src);
    const t = src - f;
    const f1 = Math.min(inSize - 1, f + 1);
    u[o * inSize + f] += 1 - t;
    u[o * inSize + f1] += t;
  }
  return u;
}

/** Maps [m, h, w] resampled bilinearly to [m, H, W] (two matrix products: dense ops only). */
export function resizeMaps(maps: tf.Tensor3D, H: number, W: number): tf.Tensor3D {
  const [m, h, w] = maps.shape;
  if (h === H && w === W) return maps;
  return tf.tidy(() => {
    const uwT = tf.tensor2d(interpolationMatrix(W, w), [W, w]).transpose(); // [w, W]
    const uhT = tf.tensor2d(interpolationMatrix(H, h), [H, h]).transpose(); // [h, H]
    const cols = tf.matMul(tf.reshape(maps, [m * h, w]), uwT); // [m*h, W]
    const t = tf.transpose(tf.reshape(cols, [m, h, W]), [0, 2, 1]); // [m, W, h]
    const rows = tf.matMul(tf.reshape(t, [m * W, h]), uhT); // [m*W, H]
    return tf.transpose(tf.reshape(rows, [m, W, H]), [0, 2, 1]) as tf.Tensor3D; // [m, H, W]
  });
}

/**
 * Per-image mask loss [m] of maps [m, h, w] (>= 0) against masks [m, H, W] in [0, 1]. Call inside
 * a tape (tf.variableGrads) to differentiate it; tidy.
 */
export function maskLossPerImage(kind: MaskLossKind, maps: tf.Tensor3D, masks: tf.Tensor3D): tf.Tensor1D {
  const [m, H, W] = masks.shape;
  if (maps.shape[0] !== m) throw new Error(`maskLoss: ${maps.shape[0]} maps for ${m} masks`);
  return tf.tidy(() => {
    const up = resizeMaps(maps, H, W); // [m, H, W]
    const total = tf.sum(up, [1, 2]); // [m]
    const hasEvidence = tf.step(tf.sub(total, MAP_EPS)); // [m] 1 where the map has evidence (zero gradient)
    const normalised = () => tf.div(up, tf.add(tf.max(up, [1, 2], true), MAP_EPS)); // [m, H, W] in [0, 1]
    switch (kind) {
      case 'rrr': {
        const outside = tf.mul(tf.sub(1, masks), normalised());
        return tf.mean(tf.square(outside), [1, 2]) as tf.Tensor1D;
      }
      case 'energy': {
        const epg = tf.div(tf.sum(tf.mul(up, masks), [1, 2]), tf.add(total, MAP_EPS));
        return tf.mul(tf.sub(1, epg), hasEvidence) as tf.Tensor1D;
      }
      case 'hint':
        return tf.mean(tf.square(tf.sub(normalised(), masks)), [1, 2]) as tf.Tensor1D;
      default: {
        const never: never = kind;
        throw new Error(`unknown mask loss "${String(never)}"`);
      }
    }
  });
}

/** The same losses on plain arrays (one map [h*w] and its mask [H*W]): for tests and reports. */
export function maskLossOf(
  kind: MaskLossKind,
  map: ArrayLike<number>,
  h: number,
  w: number,
  mask: ArrayLike<number>,
  H: number,
  W: number,
): number {
  const uh = interpolationMatrix(H, h);
  const uw = interpolationMatrix(W, w);
  const up = new Float64Array(H * W);
  for (let i = 0; i < H; i++)
    for (let j = 0; j < W; j++) {
      let acc = 0;
      for (let u = 0; u < h; u++) {
        const wu = uh[i * h + u];
        if (wu === 0) continue;
        for (let v = 0; v < w; v++) acc += wu * uw[j * w + v] * map[u * w + v];
      }
      up[i * W + j] = acc;
    }
  let total = 0;
  let max = 0;
  let inside = 0;
  for (let p = 0; p < H * W; p++) {
    total += up[p];
    max = Math.max(max, up[p]);
    inside += up[p] * mask[p];
  }
  let acc = 0;
  switch (kind) {
    case 'energy':
      return total > MAP_EPS ? 1 - inside / (total + MAP_EPS) : 0;
    case 'rrr':
      for (let p = 0; p < H * W; p++) acc += (((1 - mask[p]) * up[p]) / (max + MAP_EPS)) ** 2;
      return acc / (H * W);
    case 'hint':
      for (let p = 0; p < H * W; p++) acc += (up[p] / (max + MAP_EPS) - mask[p]) ** 2;
      return acc / (H * W);
  }
}
