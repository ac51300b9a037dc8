// COCO JSON for masks (https://cocodataset.org/#format-data): what exports write and how imports
// read a file. Exports: images (id, file_name, width, height), categories (one per class label or
// one "relevant"), annotations with segmentation as RLE in COCO's compressed string form, area,
// bbox [x, y, w, h], iscrowd 1, and attributes (author, time, source, uid, current). Imports take
// compressed and uncompressed RLE and polygons; each annotation is checked on its own, so a bad
// one is reported by index and id with the reason while the others go on.
import type { MaskCategoryMode, MaskSource } from '../../shared/dto';
import {
  countsProblem,
  decodeCounts,
  decodeMaskString,
  polygonProblem,
  polygonsToMask,
  RleError,
  type MaskSize,
} from '../../shared/mask-rle';
import { reviewerNameProblem } from '../../shared/review';
import { invalid } from '../errors';

export interface CocoImage {
  id: number;
  file_name: string;
  width: number;
  height: number;
}

export interface CocoCategory {
  id: number;
  name: string;
  supercategory: string;
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  segmentation: { size: MaskSize; counts: string };
  area: number;
  bbox: [number, number, number, number];
  iscrowd: 1;
  attributes: { author: string; time: string; source: MaskSource; uid: string; current: boolean };
}

export interface CocoFile {
  info: { description: string; version: string; date_created: string; contributor: string };
  licenses: never[];
  images: CocoImage[];
  categories: CocoCategory[];
  annotations: CocoAnnotation[];
}

/** The category name of an image without a class label (category mode 'class'). */
export const UNLABELLED = '(unlabelled)';

/** The categories of an export: one per class label of the images (sorted), or one "relevant". */
export function cocoCategories(
  mode: MaskCategoryMode,
  classLabels: readonly (string | null)[],
): { list: CocoCategory[]; of: (label: string | null) => number } {
  if (mode === 'relevant') return { list: [{ id: 1, name: 'relevant', supercategory: 'mask' }], of: () => 1 };
  const names = [...new Set(classLabels.map((c) => c ?? UNLABELLED))].sort();
  const ids = new Map(names.map((n, i) => [n, i + 1]));
  return { list: names.map((name, i) => ({ id: i + 1, name, supercategory: 'class' })), of: (label) => ids.get(label ?? UNLABELLED)! };
}

// ---- reading ----

/** A COCO image entry of an imported file, checked. */
export interface ReadImage {
  fileName: string;
  h: number;
  w: number;
}

/** An annotation of an imported file: its place, image key and what it says about author and time. */
export interface ReadAnnotation {
  index: number;
  /** "annotations[i] (id N)" */
  label: string;
  /** the COCO image id as text (null: missing) */
  imageKey: string | null;
  author: string | null;
  time: string | null;
  /** why it cannot be used before looking at its image (null: fine so far) */
  problem: string | null;
  raw: Record<string, unknown>;
}

export interface ReadCoco {
  /** COCO image id (as text) -> the entry, or why it is unusable */
  images: Map<string, ReadImage | { problem: string }>;
  annotations: ReadAnnotation[];
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const keyOf = (id: unknown): string | null =>
  (typeof id === 'number' && Number.isFinite(id)) || (typeof id === 'string' && id !== '') ? String(id) : null;
const shown = (x: unknown) => JSON.stringify(x)?.slice(0, 60) ?? String(x);

/** Reads a COCO file's text; throws invalid_argument when it is not JSON or not COCO (nothing is imported then). */
export function readCoco(text: string, name: string): ReadCoco {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw invalid(`${name} is not JSON (${(error as Error).message}): a COCO file is a JSON object with "images" and "annotations"`);
  }
  if (!isObject(parsed) || !Array.isArray(parsed.images) || !Array.isArray(parsed.annotations)) {
    throw invalid(`${name} is not a COCO file: it has no "images" and "annotations" arrays`);
  }
  const images = new Map<string, ReadImage | { problem: string }>();
  parsed.images.forEach((img: unknown, i: number) => {
    if (!isObject(img)) return;
    const key = keyOf(img.id);
    if (key === null || images.has(key)) {
      if (key !== null) images.set(key, { problem: `images has two entries with id ${key}` });
      return;
    }
    const { file_name: fileName, width, height } = img;
    if (typeof fileName !== 'string' || fileName === '') images.set(key, { problem: `images[${i}] (id ${key}) has no file_name` });
    else if (!Number.isInteger(width) || !Number.isInteger(height) || (width as number) < 1 || (height as number) < 1)
      images.set(key, { problem: `images[${i}] (id ${key}, "${fileName}") has no valid width and height` });
    else images.set(key, { fileName, w: width as number, h: height as number });
  });
  const annotations = parsed.annotations.map((ann: unknown, index: number): ReadAnnotation => {
    const raw = isObject(ann) ? ann : {};
    const label = `annotations[${index}]${raw.id !== undefined ? ` (id ${shown(raw.id)})` : ''}`;
    const imageKey = keyOf(raw.image_id);
    let problem: string | null = null;
    let author: string | null = null;
    let time: string | null = null;
    if (!isObject(ann)) problem = 'not an object';
    else if (imageKey === null) problem = `image_id is ${shown(raw.image_id)}: expected the id of one of the file's images`;
    else if (!images.has(imageKey)) problem = `image_id ${imageKey} is none of the file's images`;
    else if (raw.segmentation === undefined) problem = 'it has no segmentation';
    if (problem === null && raw.attributes !== undefined) {
      if (!isObject(raw.attributes)) problem = 'attributes is not an object';
      else {
        const a = raw.attributes;
        if (a.author !== undefined) {
          const why = typeof a.author === 'string' ? reviewerNameProblem(a.author) : 'not a string';
          if (why) problem = `attributes.author: ${why}`;
          else author = (a.author as string).trim();
        }
        if (typeof a.time === 'string') time = a.time;
      }
    }
    return { index, label, imageKey, author, time, problem, raw };
  });
  return { images, annotations };
}

/** The annotation's segmentation as a row-major 0/1 mask of its image's size; throws RleError naming the problem. */
export function annotationMask(raw: Record<string, unknown>, h: number, w: number): Uint8Array {
  const seg = raw.segmentation;
  if (Array.isArray(seg)) {
    // polygons: [[x1, y1, x2, y2, ...], ...]
    if (seg.length === 0) throw new RleError('segmentation is an empty list of polygons');
    seg.forEach((poly, i) => {
      const why = polygonProblem(poly);
      if (why) throw new RleError(`segmentation[${i}]: ${why}`);
    });
    return polygonsToMask(seg as number[][], h, w);
  }
  if (!isObject(seg)) throw new RleError(`segmentation is ${shown(seg)}: expected polygons or RLE {size, counts}`);
  const size = seg.size;
  if (!Array.isArray(size) || size.length !== 2 || size[0] !== h || size[1] !== w) {
    throw new RleError(`segmentation.size is ${shown(size)}, its image is [${h}, ${w}] (height, width)`);
  }
  if (typeof seg.counts === 'string') {
    try {
      return decodeMaskString(seg.counts, h, w);
    } catch (error) {
      throw new RleError(`bad counts: ${(error as Error).message}`);
    }
  }
  if (Array.isArray(seg.counts)) {
    const why = countsProblem(seg.counts as number[], h, w);
    if (why) throw new RleError(`bad counts: ${why}`);
    return decodeCounts(seg.counts as number[], h, w);
  }
  throw new RleError(`segmentation.counts is ${shown(seg.counts)}: expected a compressed string or an array of run lengths`);
}
