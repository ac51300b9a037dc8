// Bilinear upsampling of an h x w map to H x W: one implementation for the main side (overlays,
// deletion and localisation metrics) and the renderer (live mask agreement while painting).
//
// Convention (default, alignCorners = false): half-pixel centres, the same as
// PyTorch interpolate(align_corners=False), OpenCV INTER_LINEAR, PIL and
// tf.image.resizeBilinear(..., halfPixelCenters = true). Output pixel (i, j) samples the
// source at ((i + 0.5) * h / H - 0.5, (j + 0.5) * w / W - 0.5), clamped to the edge: each
// map cell covers its own H/h x W/w block of the image and the map is not shifted.
// alignCorners = true samples at (i * (h - 1) / (H - 1), ...): the corner pixels of map
// and image coincide (PyTorch align_corners=True); it shifts cells by up to half a block.

export interface UpsampleOptions {
  alignCorners?: boolean;
}

function sourceCoords(outSize: number, inSize: number, alignCorners: boolean): { i0: Int32Array; i1: Int32Array; t: Float32Array } {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const t = new Float32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    let src: number;
    if (alignCorners) src = outSize > 1 ? (o * (inSize - 1)) / (outSize - 1) : 0;
    else src = ((o + 0.5) * inSize) / outSize - 0.5;
    src = Math.min(inSize - 1, Math.max(0, src));
    const f = Math.floor(src);
    i0[o] = f;
    i1[o] = Math.min(inSize - 1, f + 1);
    t[o] = src - f;
  }
  return { i0, i1, t };
}

/** Bilinear upsampling (or downsampling without antialiasing) of a row-major h x w map to H x W. */
export function upsampleBilinear(
  map: ArrayLike<number>,
  h: number,
  w: number,
  H: number,
  W: number,
  opts: UpsampleOptions = {},
): Float32Array {
  if (map.length !== h * w) throw new Error(`map has ${map.length} values, expected ${h}x${w}`);
  const ac = opts.alignCorners ?? false;
  const ys = sourceCoords(H, h, ac);
  const xs = sourceCoords(W, w, ac);
  const out = new Float32Array(H * W);
  for (let i = 0; i < H; i++) {
    const r0 = ys.i0[i] * w;
    const r1 = ys.i1[i] * w;
    const ty = ys.t[i];
    for (let j = 0; j < W; j++) {
      const c0 = xs.i0[j];
      const c1 = xs.i1[j];
      const tx = xs.t[j];
      const top = map[r0 + c0] * (1 - tx) + map[r0 + c1] * tx;
      const bot = map[r1 + c0] * (1 - tx) + map[r1 + c1] * tx;
      out[i * W + j] = top * (1 - ty) + bot * ty;
    }
  }
  return out;
}
