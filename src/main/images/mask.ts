// Stored masks (the `masks` table) decoded to a grid at their own size, as the mask-agreement
// metrics read them (inside > 0.5).
import sharp from 'sharp';
import { countsProblem, countsToString, normaliseCounts, RleError, stringToCounts } from '../../shared/mask-rle';

/**
 * A mask as stored: 'png' (pixels > 127 are inside) or 'rle' (COCO RLE as JSON: since migration
 * 0007 {"size": [h, w], "counts": "<compressed string>"}; before, the uncompressed counts as an
 * array or {"counts": [...]}).
 */
export interface StoredMask {
  encoding: 'rle' | 'png';
  width: number;
  height: number;
  /** a Buffer (a row written as text reads as a string) */
  data: Buffer | string;
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
    const { data, info } = await sharp(typeof m.data === 'string' ? Buffer.from(m.data, 'binary') : m.data)
      .greyscale()
      .resize(W, H, { fit: 'fill', kernel: 'nearest' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    for (let p = 0; p < W * H; p++) out[p] = data[p * info.channels] > 127 ? 1 : 0;
    return { data: out, h: H, w: W };
  }
  const counts = storedRleCounts(m);
  let pos = 0;
  counts.forEach((c, i) => {
    if (i % 2 === 1) {
      for (let k = 0; k < c; k++, pos++) out[(pos % H) * W + Math.floor(pos / H)] = 1;
    } else pos += c;
  });
  return { data: out, h: H, w: W };
}

// ---- the RLE form (masks.save, imports, exports: src/main/services/masks*.ts) ----

/**
 * The COCO counts of a stored 'rle' mask (either JSON form), checked against its size; throws
 * RleError naming the problem.
 */
export function storedRleCounts(m: StoredMask): number[] {
  const text = typeof m.data === 'string' ? m.data : m.data.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new RleError('the stored RLE is not JSON');
  }
  const raw = Array.isArray(parsed) ? parsed : (parsed as { counts?: unknown } | null)?.counts;
  let counts: number[];
  if (typeof raw === 'string') counts = stringToCounts(raw);
  else if (Array.isArray(raw)) counts = raw as number[];
  else throw new RleError('the stored RLE has no counts (expected {"size": [h, w], "counts": "..."} or an array of counts)');
  const problem = countsProblem(counts, m.height, m.width);
  if (problem) throw new RleError(problem);
  return counts;
}

/** The canonical COCO counts of a stored mask of either encoding (PNG rows are decoded first). */
export async function storedMaskCounts(m: StoredMask): Promise<number[]> {
  if (m.encoding === 'rle') return normaliseCounts(storedRleCounts(m));
  const grid = await decodeMask(m);
  const counts: number[] = [];
  let prev = 0;
  let run = 0;
  for (let x = 0; x < grid.w; x++)
    for (let y = 0; y < grid.h; y++) {
      const v = grid.data[y * grid.w + x] > 0.5 ? 1 : 0;
      if (v !== prev) {
        counts.push(run);
        run = 0;
        prev = v;
      }
      run++;
    }
  counts.push(run);
  return counts;
}

/** The stored form of a mask written since migration 0007: {"size": [h, w], "counts": "<compressed string>"}. */
export function rleMaskData(counts: string | readonly number[], h: number, w: number): Buffer {
  const s = typeof counts === 'string' ? counts : countsToString(counts);
  return Buffer.from(JSON.stringify({ size: [h, w], counts: s }), 'utf8');
}
