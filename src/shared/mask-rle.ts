// Run-length encoding of binary masks, COCO's way (pure TypeScript, no dependencies: main and
// the renderer use the same codec).
//
// A mask is a row-major H x W array, non-zero = inside. COCO's RLE reads it column by column
// (column-major, "Fortran order") and stores the lengths of the alternating runs, beginning
// with a run of background (0 when the first pixel is inside): `counts`. Its compressed string
// form (pycocotools maskApi.c, rleToString / rleFrString) writes each count, from the fourth on
// as the difference to the count two before it, in a LEB128-like code of 5 data bits per
// character (bit 0x20: more characters follow; bit 0x10 of the last one: the sign), as the
// ASCII characters 48 ('0') to 111 ('o').
//
// Polygons (COCO's `segmentation: [[x1, y1, x2, y2, ...], ...]`) are rasterised the way
// maskApi.c's rleFrPoly does (a pixel is inside when its centre is; the boundary is traced at 5x
// resolution), so imported polygons give the pixels pycocotools would give.

/** A mask's size, COCO's order: [height, width]. */
export type MaskSize = [number, number];

/** Largest mask side accepted (stored images are at most 1024 px a side; COCO files may be larger). */
export const MASK_MAX_SIDE = 16384;
/** Largest mask area accepted (counts must fit the compressed form's 6 characters: < 2^29). */
export const MASK_MAX_PIXELS = 2 ** 28;

/**
 * Longest compressed string masks.save takes (1,000,000 characters: an HTTP call in browser mode
 * carries at most 1 MiB). A painted 1024 x 1024 mask takes a few kB; only noise comes near it.
 */
export const MASK_COUNTS_MAX_CHARS = 1_000_000;

/** A malformed RLE, size or polygon; the message names the problem. */
export class RleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RleError';
  }
}

/** What is wrong with a mask size, or null. */
export function maskSizeProblem(h: number, w: number): string | null {
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1)
    return `a mask size is two positive integers [h, w], got [${h}, ${w}]`;
  if (h > MASK_MAX_SIDE || w > MASK_MAX_SIDE) return `a mask side is at most ${MASK_MAX_SIDE} pixels, got [${h}, ${w}]`;
  if (h * w > MASK_MAX_PIXELS) return `a mask has at most ${MASK_MAX_PIXELS} pixels, got ${h} x ${w}`;
  return null;
}

function checkSize(h: number, w: number): void {
  const problem = maskSizeProblem(h, w);
  if (problem) throw new RleError(problem);
}

// ---- pixels <-> counts ----

/** The COCO counts of a row-major H x W mask (non-zero = inside): column-major runs, background first. */
export function encodeCounts(mask: ArrayLike<number>, h: number, w: number): number[] {
  checkSize(h, w);
  if (mask.length !== h * w) throw new RleError(`the mask has ${mask.length} pixels, expected ${h} x ${w} = ${h * w}`);
  const counts: number[] = [];
  let prev = 0;
  let run = 0;
  for (let x = 0; x < w; x++) {
    for (let i = x, end = x + h * w; i < end; i += w) {
      const v = mask[i] ? 1 : 0;
      if (v !== prev) {
        counts.push(run);
        run = 0;
        prev = v;
      }
      run++;
    }
  }
  counts.push(run);
  return counts;
}

/** What is wrong with counts for an H x W mask (integers >= 0 summing to H * W), or null. */
export function countsProblem(counts: readonly number[], h: number, w: number): string | null {
  const size = maskSizeProblem(h, w);
  if (size) return size;
  if (counts.length === 0) return 'the counts are empty';
  let sum = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0)
      return `counts[${i}] is ${JSON.stringify(c)}: a run length is an integer >= 0`;
    sum += c;
  }
  if (sum !== h * w) return `the runs cover ${sum} pixels, a ${h} x ${w} mask has ${h * w}`;
  return null;
}

/** A row-major H x W mask of 0/1 from COCO counts; throws RleError when they do not cover H x W exactly. */
export function decodeCounts(counts: readonly number[], h: number, w: number): Uint8Array {
  const problem = countsProblem(counts, h, w);
  if (problem) throw new RleError(problem);
  const out = new Uint8Array(h * w);
  let pos = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (i % 2 === 1) {
      // a run of ones from column-major position pos: column by column
      let x = Math.floor(pos / h);
      let y = pos - x * h;
      for (let k = 0; k < c; k++) {
        out[y * w + x] = 1;
        if (++y === h) {
          y = 0;
          x++;
        }
      }
    }
    pos += c;
  }
  return out;
}

/**
 * Counts in canonical form (what encodeCounts gives for the same pixels): empty runs inside
 * merged away, a trailing empty run dropped. Assumes valid counts.
 */
export function normaliseCounts(counts: readonly number[]): number[] {
  const out: number[] = [counts[0] ?? 0];
  for (let i = 1; i < counts.length; i++) {
    const c = counts[i];
    if (c === 0) {
      // an empty run: the next run continues the one before this
      if (i + 1 < counts.length) out[out.length - 1] += counts[++i];
      continue;
    }
    out.push(c);
  }
  return out;
}

// ---- the compressed string (maskApi.c rleToString / rleFrString) ----

/** COCO's compressed string of counts. */
export function countsToString(counts: readonly number[]): string {
  const codes: number[] = [];
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i];
    if (i > 2) x -= counts[i - 2];
    let more = true;
    while (more) {
      let c = x & 0x1f;
      x >>= 5;
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      codes.push(c + 48);
    }
  }
  let s = '';
  for (let i = 0; i < codes.length; i += 8192) s += String.fromCharCode(...codes.slice(i, i + 8192));
  return s;
}

/** Counts from COCO's compressed string; throws RleError on a character out of range or a cut-off count. */
export function stringToCounts(s: string): number[] {
  if (typeof s !== 'string') throw new RleError('compressed counts are a string');
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = true;
    const start = p;
    while (more) {
      if (p >= s.length) throw new RleError(`the counts string ends inside a count (at character ${start})`);
      const c = s.charCodeAt(p) - 48;
      if (c < 0 || c > 63)
        throw new RleError(`character ${p} of the counts string is ${JSON.stringify(s[p])}: COCO's compressed counts use '0' to 'o'`);
      if (k >= 6) throw new RleError(`the count at character ${start} is longer than 6 characters (at most 2^29)`);
      x |= (c & 0x1f) << (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10) x |= -1 << (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}

/** The compressed string of a row-major mask. */
export function encodeMaskString(mask: ArrayLike<number>, h: number, w: number): string {
  return countsToString(encodeCounts(mask, h, w));
}

/** A row-major 0/1 mask from a compressed string; throws RleError when it is malformed or not H x W. */
export function decodeMaskString(s: string, h: number, w: number): Uint8Array {
  return decodeCounts(stringToCounts(s), h, w);
}

/**
 * Checks a compressed string for an H x W mask; returns it in canonical form (the string
 * encodeMaskString gives for the same pixels) with its counts. Throws RleError naming the problem.
 */
export function canonicalMaskString(s: string, h: number, w: number): { counts: number[]; string: string } {
  const raw = stringToCounts(s);
  const problem = countsProblem(raw, h, w);
  if (problem) throw new RleError(problem);
  const counts = normaliseCounts(raw);
  return { counts, string: counts.length === raw.length ? s : countsToString(counts) };
}

// ---- measures ----

/** Pixels inside. */
export function countsArea(counts: readonly number[]): number {
  let a = 0;
  for (let i = 1; i < counts.length; i += 2) a += counts[i];
  return a;
}

/** The tight bounding box [x, y, width, height] of the inside pixels ([0, 0, 0, 0] when none), as maskApi.c rleToBbox. */
export function countsBbox(raw: readonly number[], h: number, w: number): [number, number, number, number] {
  // (empty runs inside would read as run ends: measure the canonical form)
  const counts = normaliseCounts(raw);
  const m = counts.length - (counts.length % 2);
  if (m === 0) return [0, 0, 0, 0];
  let xs = w;
  let ys = h;
  let xe = 0;
  let ye = 0;
  let cc = 0;
  let xp = 0;
  for (let j = 0; j < m; j++) {
    cc += counts[j];
    const t = cc - (j % 2);
    const y = t % h;
    const x = (t - y) / h;
    if (j % 2 === 0) xp = x;
    else if (xp < x) {
      // a run over a column boundary covers the last and the first row
      ys = 0;
      ye = h - 1;
    }
    xs = Math.min(xs, x);
    xe = Math.max(xe, x);
    ys = Math.min(ys, y);
    ye = Math.max(ye, y);
  }
  return [xs, ys, xe - xs + 1, ye - ys + 1];
}

// ---- polygons (maskApi.c rleFrPoly) ----

/** What is wrong with a COCO polygon ([x1, y1, x2, y2, ...], at least 3 points), or null. */
export function polygonProblem(xy: unknown): string | null {
  if (!Array.isArray(xy)) return 'a polygon is an array of coordinates [x1, y1, x2, y2, ...]';
  if (xy.length % 2 !== 0) return `a polygon has an even number of coordinates, got ${xy.length}`;
  if (xy.length < 6) return `a polygon has at least 3 points (6 coordinates), got ${xy.length}`;
  for (let i = 0; i < xy.length; i++) {
    const v = xy[i] as unknown;
    if (typeof v !== 'number' || !Number.isFinite(v))
      return `coordinate ${i} is ${JSON.stringify(v)}: a polygon's coordinates are finite numbers`;
    if (Math.abs(v) > 1e7) return `coordinate ${i} is ${v}: out of range`;
  }
  return null;
}

/** C's (int) cast of a double: truncation toward zero. */
const cInt = (v: number) => Math.trunc(v);
/** Boundary points traced at most (5x the polygon's perimeter in pixels). */
const MAX_BOUNDARY_POINTS = 20_000_000;

/** COCO counts of one polygon rasterised on an H x W grid, as pycocotools' rleFrPoly. */
export function polygonCounts(xy: readonly number[], h: number, w: number): number[] {
  checkSize(h, w);
  const problem = polygonProblem(xy);
  if (problem) throw new RleError(problem);
  const scale = 5;
  const k = xy.length / 2;
  // upsample and get discrete points densely along the entire boundary
  const x = new Array<number>(k + 1);
  const y = new Array<number>(k + 1);
  for (let j = 0; j < k; j++) x[j] = cInt(scale * xy[2 * j] + 0.5);
  x[k] = x[0];
  for (let j = 0; j < k; j++) y[j] = cInt(scale * xy[2 * j + 1] + 0.5);
  y[k] = y[0];
  let points = 0;
  for (let j = 0; j < k; j++) points += Math.max(Math.abs(x[j] - x[j + 1]), Math.abs(y[j] - y[j + 1])) + 1;
  if (points > MAX_BOUNDARY_POINTS)
    throw new RleError(`the polygon's outline is too long for a ${h} x ${w} mask (coordinates far outside it?)`);
  const u: number[] = [];
  const v: number[] = [];
  for (let j = 0; j < k; j++) {
    let xs = x[j];
    let xe = x[j + 1];
    let ys = y[j];
    let ye = y[j + 1];
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      [xs, xe] = [xe, xs];
      [ys, ye] = [ye, ys];
    }
    const s = dx >= dy ? (ye - ys) / dx : (xe - xs) / dy;
    if (dx >= dy) {
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d;
        u.push(t + xs);
        v.push(cInt(ys + s * t + 0.5));
      }
    } else {
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        v.push(t + ys);
        u.push(cInt(xs + s * t + 0.5));
      }
    }
  }
  // points along the y-boundary, downsampled
  const bx: number[] = [];
  const by: number[] = [];
  for (let j = 1; j < u.length; j++) {
    if (u[j] === u[j - 1]) continue;
    let xd = u[j] < u[j - 1] ? u[j] : u[j] - 1;
    xd = (xd + 0.5) / scale - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > w - 1) continue;
    let yd = v[j] < v[j - 1] ? v[j] : v[j - 1];
    yd = (yd + 0.5) / scale - 0.5;
    if (yd < 0) yd = 0;
    else if (yd > h) yd = h;
    yd = Math.ceil(yd);
    bx.push(xd);
    by.push(yd);
  }
  // the RLE from the y-boundary points: sorted column-major positions, differenced
  const a: number[] = bx.map((xx, j) => xx * h + by[j]);
  a.push(h * w);
  a.sort((p, q) => p - q);
  let prev = 0;
  for (let j = 0; j < a.length; j++) {
    const t = a[j];
    a[j] -= prev;
    prev = t;
  }
  const b: number[] = [a[0]];
  let j = 1;
  while (j < a.length) {
    if (a[j] > 0) b.push(a[j++]);
    else {
      j++;
      if (j < a.length) b[b.length - 1] += a[j++];
    }
  }
  return b;
}

/** A row-major 0/1 mask of the union of COCO polygons (one object's parts), as pycocotools frPyObjects + merge. */
export function polygonsToMask(polygons: readonly (readonly number[])[], h: number, w: number): Uint8Array {
  checkSize(h, w);
  if (polygons.length === 0) throw new RleError('a polygon segmentation has at least one polygon');
  const out = new Uint8Array(h * w);
  for (const xy of polygons) {
    const part = decodeCounts(polygonCounts(xy, h, w), h, w);
    for (let i = 0; i < part.length; i++) out[i] |= part[i];
  }
  return out;
}
