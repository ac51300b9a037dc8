// Expert masks at the model's input size: a stored mask (decoded to a 0/1 grid at its image's
// size by images/mask.ts) resampled with the images' geometry (a plain resize to [H, W], as
// decodeImage's 'fill'), by area averaging, into 0..255 (255 = fully inside the relevant region).

/** The [out, in] area-averaging matrix of one axis (rows sum to 1). */
function areaWeights(outSize: number, inSize: number): Float32Array {
  const wts = new Float32Array(outSize * inSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const lo = o * scale;
    const hi = (o + 1) * scale;
    for (let i = Math.floor(lo); i < Math.min(inSize, Math.ceil(hi)); i++) {
      const overlap = Math.min(hi, i + 1) - Math.max(lo, i);
      if (overlap > 0) wts[o * inSize + i] = overlap / scale;
    }
  }
  return wts;
}

/** A row-major mask grid [h * w] (inside > 0.5, or soft in [0, 1]) at [H, W] as 0..255. */
export function maskAtInput(grid: { data: ArrayLike<number>; h: number; w: number }, H: number, W: number): Uint8Array {
  const { data, h, w } = grid;
  if (data.length !== h * w) throw new Error(`mask has ${data.length} values, expected ${h}x${w}`);
  const out = new Uint8Array(H * W);
  if (h === H && w === W) {
    for (let p = 0; p < H * W; p++) out[p] = Math.round(255 * Math.min(1, Math.max(0, data[p])));
    return out;
  }
  const wy = areaWeights(H, h);
  const wx = areaWeights(W, w);
  const rows = new Float32Array(H * w); // [H, w]: rows resampled
  for (let o = 0; o < H; o++)
    for (let i = 0; i < h; i++) {
      const a = wy[o * h + i];
      if (a === 0) continue;
      for (let j = 0; j < w; j++) rows[o * w + j] += a * Math.min(1, Math.max(0, data[i * w + j]));
    }
  for (let o = 0; o < H; o++)
    for (let q = 0; q < W; q++) {
      let acc = 0;
      for (let j = 0; j < w; j++) acc += wx[q * w + j] * rows[o * w + j];
      out[o * W + q] = Math.round(255 * Math.min(1, acc));
    }
  return out;
}
