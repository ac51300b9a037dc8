// The review bundle: one JSON file that carries a dataset's verdicts (with their history) and, from
// version 2, its masks (with history, or each image and author's newest) from one workspace to
// another. Nothing in it is a workspace id: images are named by their content hash
// (images.sha256), model versions by a fingerprint of their weights, verdicts and mask rows by a
// random uid.
// A checksum over the content refuses a truncated or edited file before anything is read from it.
import { createHash } from 'node:crypto';
import {
  EXPLAIN_METHODS,
  HEATMAP_ANSWERS,
  SIMILARITY_ANSWERS,
  type ExplainMethod,
  type HeatmapAnswer,
  type SimilarityAnswer,
  type Split,
} from '../../shared/dto';
import { MASK_SOURCES, type MaskSource } from '../../shared/dto';
import { countsProblem, MASK_MAX_SIDE, stringToCounts } from '../../shared/mask-rle';
import { normaliseNote, normaliseTags, reviewerName } from '../../shared/review';
import { v, ValidationError, type Check } from '../../shared/validate';
import { invalid } from '../errors';

const broken = (message: string) => new ValidationError(message);

export const BUNDLE_FORMAT = 'simlens-review-bundle';
/** 2: masks (a bundle of version 1 has none; both are read). */
export const BUNDLE_VERSION = 2;

export interface BundleModel {
  /** the bundle's own name for the version ("m1", ...), what verdicts refer to */
  key: string;
  name: string;
  arch: string;
  /** sha256 over the version's weights folder (review/fingerprint.ts) */
  fingerprint: string;
}

export interface BundleImage {
  sha256: string;
  classLabel: string | null;
  sourcePath: string;
}

export interface BundleVerdict {
  uid: string;
  /** a BundleModel key */
  model: string;
  /** the pair's images, by content hash (image A first, as the heatmap answers are) */
  imageA: string;
  imageB: string;
  split: Split;
  label: 0 | 1;
  reviewer: string;
  similarity: SimilarityAnswer | null;
  heatmapA: HeatmapAnswer | null;
  heatmapB: HeatmapAnswer | null;
  method: ExplainMethod | null;
  layer: string | null;
  note: string | null;
  tags: string[];
  createdAt: string;
}

/** A mask row (services/masks.ts): of an image (by content hash), per author, with its uid and time. */
export interface BundleMask {
  uid: string;
  /** the image's content hash */
  image: string;
  author: string;
  source: MaskSource;
  /** [height, width]: the image's size */
  size: [number, number];
  /** COCO's compressed RLE string */
  counts: string;
  createdAt: string;
}

/** Everything the checksum covers. */
export interface BundleBody {
  format: typeof BUNDLE_FORMAT;
  version: number;
  createdAt: string;
  /** the SimLens version that wrote it */
  app: string;
  dataset: { name: string; images: number; fingerprint: string };
  models: BundleModel[];
  /** the images the verdicts refer to */
  images: BundleImage[];
  verdicts: BundleVerdict[];
  /** mask rows of the images (version 2; absent in version 1: none) */
  masks?: BundleMask[];
}

export interface Bundle extends BundleBody {
  /** 'sha256:' + hex of the canonical JSON of the body */
  checksum: string;
}

/** JSON with object keys sorted at every level and no whitespace: the same text for the same content. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function bundleChecksum(body: BundleBody): string {
  return `sha256:${createHash('sha256').update(canonicalJson(body)).digest('hex')}`;
}

/** The bundle's file text: the body and its checksum. */
export function writeBundleText(body: BundleBody): string {
  const bundle: Bundle = { ...body, checksum: bundleChecksum(body) };
  return `${JSON.stringify(bundle, null, 1)}\n`;
}

// ---- reading ----

const HEX64 = /^[0-9a-f]{64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// the one timestamp form SimLens writes, so that comparing the strings compares the times
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function pattern(re: RegExp, what: string, max = 200): Check<string> {
  const str = v.string({ min: 1, max });
  return (value, path) => {
    const s = str(value, path);
    if (!re.test(s)) throw new ValidationError(`${path}: expected ${what}, got ${JSON.stringify(s.slice(0, 80))}`);
    return s;
  };
}

/** null, or the check's value (bundles write every field, null where empty). */
function nullable<T>(check: Check<T>): Check<T | null> {
  return (value, path) => {
    if (value === undefined) throw new ValidationError(`${path}: missing (expected a value or null)`);
    return value === null ? null : check(value, path);
  };
}

/** Re-throws a normalising function's error as the field's validation error. */
function normalised<T, U>(check: Check<T>, normalise: (x: T) => U): Check<U> {
  return (value, path) => {
    const x = check(value, path);
    try {
      return normalise(x);
    } catch (error) {
      throw new ValidationError(`${path}: ${(error as Error).message}`);
    }
  };
}

const sha256 = pattern(HEX64, '64 lower-case hex digits (a sha256)');
const timestamp = pattern(ISO_MS, 'a time like 2025-01-31T12:00:00.000Z');

const bodyCheck = v.object({
  format: v.literal(BUNDLE_FORMAT),
  version: v.int({ min: 1, max: BUNDLE_VERSION }),
  createdAt: timestamp,
  app: v.string({ min: 1, max: 50 }),
  dataset: v.object({ name: v.string({ min: 1, max: 200 }), images: v.int({ min: 0 }), fingerprint: sha256 }),
  models: v.array(
    v.object({
      key: v.string({ min: 1, max: 20 }),
      name: v.string({ min: 1, max: 200 }),
      arch: v.string({ min: 1, max: 50 }),
      fingerprint: sha256,
    }),
    { max: 10_000 },
  ),
  images: v.array(v.object({ sha256, classLabel: nullable(v.string({ max: 200 })), sourcePath: v.string({ max: 4096 }) }), {
    max: 2_000_000,
  }),
  verdicts: v.array(
    v.object({
      uid: pattern(UUID, 'a UUID'),
      model: v.string({ min: 1, max: 20 }),
      imageA: sha256,
      imageB: sha256,
      split: v.literal<Split>('train', 'val', 'test'),
      label: v.literal(0, 1),
      reviewer: reviewerName,
      similarity: nullable(v.literal<SimilarityAnswer>(...SIMILARITY_ANSWERS)),
      heatmapA: nullable(v.literal<HeatmapAnswer>(...HEATMAP_ANSWERS)),
      heatmapB: nullable(v.literal<HeatmapAnswer>(...HEATMAP_ANSWERS)),
      method: nullable(v.literal<ExplainMethod>(...EXPLAIN_METHODS)),
      layer: nullable(v.string({ min: 1, max: 200 })),
      note: normalised(nullable(v.string({ max: 10_000 })), normaliseNote),
      tags: normalised(v.array(v.string({ max: 200 }), { max: 1000 }), normaliseTags),
      createdAt: timestamp,
    }),
    { max: 2_000_000 },
  ),
  masks: v.optional(
    v.array(
      v.object({
        uid: pattern(UUID, 'a UUID'),
        image: sha256,
        author: reviewerName,
        source: v.literal<MaskSource>(...MASK_SOURCES),
        size: v.array(v.int({ min: 1, max: MASK_MAX_SIDE }), { min: 2, max: 2 }),
        counts: v.string({ min: 1, max: 50_000_000 }),
        createdAt: timestamp,
      }),
      { max: 2_000_000 },
    ),
  ),
});

/** The references inside a valid body: verdicts name known models and images, uids and keys are unique. */
function checkReferences(body: BundleBody): void {
  const models = new Set<string>();
  body.models.forEach((m, i) => {
    if (models.has(m.key)) throw broken(`bundle.models[${i}].key: "${m.key}" appears twice`);
    models.add(m.key);
  });
  const images = new Set(body.images.map((img) => img.sha256));
  const uids = new Set<string>();
  body.verdicts.forEach((x, i) => {
    const at = `bundle.verdicts[${i}]`;
    if (!models.has(x.model)) throw broken(`${at}.model: "${x.model}" is none of the bundle's models`);
    if (!images.has(x.imageA)) throw broken(`${at}.imageA: ${x.imageA} is none of the bundle's images`);
    if (!images.has(x.imageB)) throw broken(`${at}.imageB: ${x.imageB} is none of the bundle's images`);
    if (uids.has(x.uid)) throw broken(`${at}.uid: ${x.uid} appears twice`);
    uids.add(x.uid);
    if (x.similarity === null && x.heatmapA === null && x.heatmapB === null && x.note === null && x.tags.length === 0) {
      throw broken(`${at}: a verdict with no answer, note or tag`);
    }
  });
  const maskUids = new Set<string>();
  (body.masks ?? []).forEach((m, i) => {
    const at = `bundle.masks[${i}]`;
    if (!images.has(m.image)) throw broken(`${at}.image: ${m.image} is none of the bundle's images`);
    if (maskUids.has(m.uid)) throw broken(`${at}.uid: ${m.uid} appears twice`);
    maskUids.add(m.uid);
    const problem = (() => {
      try {
        return countsProblem(stringToCounts(m.counts), m.size[0], m.size[1]);
      } catch (error) {
        return (error as Error).message;
      }
    })();
    if (problem) throw broken(`${at}.counts: ${problem}`);
  });
}

/**
 * Reads a bundle's text: refuses anything that is not a complete, unedited SimLens review bundle
 * of a version this build reads, with a message naming the problem; returns the checked body.
 */
export function readBundleText(text: string, name: string): BundleBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw invalid(`${name} is not a complete review bundle: its JSON is cut off or damaged (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || (parsed as { format?: unknown }).format !== BUNDLE_FORMAT) {
    throw invalid(
      `${name} is not a SimLens review bundle (no "format": "${BUNDLE_FORMAT}"); bundles come from review.exportBundle or 'simlens review export --format bundle'`,
    );
  }
  const { checksum, ...rest } = parsed as Record<string, unknown>;
  const version = rest.version;
  if (typeof version === 'number' && version > BUNDLE_VERSION) {
    throw invalid(
      `${name} is a review bundle of format version ${version}, written by a newer SimLens (this one reads up to ${BUNDLE_VERSION})`,
    );
  }
  if (typeof checksum !== 'string') throw invalid(`${name} has no checksum: it is not a complete review bundle`);
  if (checksum !== bundleChecksum(rest as unknown as BundleBody)) {
    throw invalid(`${name}: the checksum does not match the content: the bundle was cut short or edited after it was exported`);
  }
  let body: BundleBody;
  try {
    body = bodyCheck(rest, 'bundle') as BundleBody;
    body.masks ??= [];
    checkReferences(body);
  } catch (error) {
    if (error instanceof ValidationError) throw invalid(`${name}: ${error.message}`);
    throw error;
  }
  return body;
}
