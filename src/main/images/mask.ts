// Stored masks (the `masks` table) decoded to a grid at their own size, as the mask-agreement
// metrics read them (inside > 0.5).
import sharp from 'sharp';

/** A mask as stored: 'png' (non-zero pixels are inside) or 'rle' (COCO uncompressed RLE as JSON). */
export interface StoredMask {
  encoding: 'rle' | 'png';
  width: number;
  height: number;
  data: Buffer;
}

/** A row-major grid [h, w] of 0/1. */
export interface MaskGrid {
  data: Float32Array;
  h: number;
  w: number;
}

/** Decodes a stored mask. 'rle': column-major counts, starting with background (COCO's order). */
export async function decodeMask(m: StoredMask): Promise<MaskGrid> {
  const { width: W, height: H } = m;
  const out = new Float32Array(W * H);
  if (m.encoding === 'png') {
    const { data, info } = await sharp(m.data)
      .greyscale()
      .resize(W, H, { fit: 'fill', kernel: 'nearest' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    for (let p = 0; p < W * H; p++) out[p] = data[p * info.channels] > 127 ? 1 : 0;
    return { data: out, h: H, w: W };
  }
  const parsed = JSON.parse(m.data.toString('utf8')) as number[] | { counts: number[] };
  const counts = Array.isArray(parsed) ? parsed : parsed.counts;
  if (!Array.isArray(counts)) throw new Error('RLE mask: expected a JSON array of counts or { counts }');
  let pos = 0;
  counts.forEach((c, i) => {
    for (let k = 0; k < c && pos < W * H; k++, pos++) {
      if (i % 2 === 1) {
        const col = Math.floor(pos / H);
        const row = pos % H;
        out[row * W + col] = 1;
      }
    }
  });
  return { data: out, h: H, w: W };
}
