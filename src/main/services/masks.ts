// Masks in the app: the region of an image that should matter, painted by an expert (brush,
// lasso, wand in the renderer), seeded from the image, or imported from files. Masks belong to
// images (one garment mask serves every pair with the image), per author, with history: every
// save adds a row, nothing is overwritten; the newest row of an (image, author) is that author's
// mask and an image's newest row of anyone is the image's mask (metrics jobs, the review queue).
//
// The renderer saves after every completed stroke (masks.save, a few ms here), so a crash or a
// reload loses at most the stroke in progress; undo and redo are the renderer's (it saves the
// mask it returns to as a new row). Masks are stored at the stored image's own size as COCO RLE
// (src/shared/mask-rle.ts; images/mask.ts reads rows of every form). Files in and out:
// masks-exchange.ts; review bundles: review-bundles.ts.
import { randomUUID } from 'node:crypto';
import type { ArgsOf } from '../../shared/contract';
import type { MaskDto, MaskSaveDto, MaskSource } from '../../shared/dto';
import { canonicalMaskString, countsArea, countsBbox, countsToString, normaliseCounts, RleError } from '../../shared/mask-rle';
import { AppError, invalid, notFound } from '../errors';
import { rleMaskData, storedMaskCounts, storedRleCounts } from '../images/mask';
import type { Db } from '../store/db';
import { MasksRepo, type MaskImage, type MaskRow } from '../store/masks-repo';

/** A mask to add: canonical counts at its image's size. */
export interface MaskToAdd {
  imageId: number;
  author: string;
  /** canonical COCO counts (normaliseCounts) */
  counts: number[];
  h: number;
  w: number;
  source: MaskSource;
  origin?: 'local' | 'imported';
  /** a given uid and time (bundle imports); else a fresh uid, and now */
  uid?: string;
  createdAt?: string;
}

/** An ISO time 1 ms after `iso`. */
const justAfter = (iso: string) => new Date(Date.parse(iso) + 1).toISOString();

export class MaskService {
  readonly repo: MasksRepo;

  constructor(db: Db) {
    this.repo = new MasksRepo(db);
  }

  private image(imageId: number): MaskImage {
    const image = this.repo.image(imageId);
    if (!image) throw notFound('Image', imageId);
    return image;
  }

  /** The canonical counts of a stored row; a damaged row is reported by id. */
  async countsOf(row: MaskRow): Promise<number[]> {
    try {
      return await storedMaskCounts(row);
    } catch (error) {
      throw new AppError('failed', `Mask ${row.id} of image ${row.image_id} cannot be read: ${(error as Error).message}`);
    }
  }

  /** A stored row as the contract's DTO. */
  async dto(row: MaskRow, current: boolean, counts?: number[]): Promise<MaskDto> {
    const c = counts ?? (await this.countsOf(row));
    return {
      id: row.id,
      uid: row.uid,
      imageId: row.image_id,
      author: row.author,
      size: [row.height, row.width],
      counts: countsToString(c),
      source: row.source,
      origin: row.origin,
      area: countsArea(c),
      bbox: countsBbox(c, row.height, row.width),
      current,
      createdAt: row.created_at,
    };
  }

  async get(args: ArgsOf<'masks.get'>): Promise<MaskDto | null> {
    this.image(args.imageId);
    const row = this.repo.newest(args.imageId, args.author);
    return row ? this.dto(row, true) : null;
  }

  async history(args: ArgsOf<'masks.history'>): Promise<MaskDto[]> {
    this.image(args.imageId);
    const rows = this.repo.history(args.imageId, args.author, args.limit);
    const seen = new Set<string>();
    const out: MaskDto[] = [];
    for (const row of rows) {
      out.push(await this.dto(row, !seen.has(row.author)));
      seen.add(row.author);
    }
    return out;
  }

  async save(args: ArgsOf<'masks.save'>): Promise<MaskSaveDto> {
    const image = this.image(args.imageId);
    const [h, w] = args.size;
    if (h !== image.height || w !== image.width) {
      throw invalid(
        `args.size: image ${image.id} is ${image.height} x ${image.width} (height x width); a mask is stored at its image's size, got [${h}, ${w}]`,
      );
    }
    let canonical: { counts: number[]; string: string };
    try {
      canonical = canonicalMaskString(args.counts, h, w);
    } catch (error) {
      if (error instanceof RleError) throw invalid(`args.counts: ${error.message}`);
      throw error;
    }
    // Read, compare and insert without yielding (RLE rows decode synchronously), so saves of one
    // image are stored in the order they arrive, however fast the strokes come.
    const newest = this.repo.newest(args.imageId, args.author);
    if (newest) {
      const before = newest.encoding === 'rle' ? this.rleCountsOf(newest) : await this.countsOf(newest);
      if (countsToString(before) === canonical.string) return { mask: await this.dto(newest, true, before), changed: false };
    }
    const [id] = this.add([{ imageId: image.id, author: args.author, counts: canonical.counts, h, w, source: args.source }]);
    return { mask: await this.dto(this.repo.get(id)!, true, canonical.counts), changed: true };
  }

  /** The canonical counts of a stored 'rle' row, synchronously; a damaged row is reported by id. */
  private rleCountsOf(row: MaskRow): number[] {
    try {
      return normaliseCounts(storedRleCounts(row));
    } catch (error) {
      throw new AppError('failed', `Mask ${row.id} of image ${row.image_id} cannot be read: ${(error as Error).message}`);
    }
  }

  /**
   * Adds rows in one transaction. A row without a given time is stamped now, or just after its
   * image's newest row when that one is stamped later (another machine's clock, a bundle), so
   * what was added last is the image's newest mask.
   */
  add(masks: readonly MaskToAdd[]): number[] {
    const latest = new Map<number, string>();
    const now = new Date().toISOString();
    const rows = masks.map((m) => {
      let createdAt = m.createdAt;
      if (createdAt === undefined) {
        const newest = latest.get(m.imageId) ?? this.repo.newest(m.imageId)?.created_at;
        createdAt = newest !== undefined && newest >= now ? justAfter(newest) : now;
      }
      if (createdAt > (latest.get(m.imageId) ?? '')) latest.set(m.imageId, createdAt);
      return {
        uid: m.uid ?? randomUUID(),
        imageId: m.imageId,
        author: m.author,
        width: m.w,
        height: m.h,
        data: rleMaskData(m.counts, m.h, m.w),
        source: m.source,
        origin: m.origin ?? 'local',
        createdAt,
      };
    });
    return this.repo.insert(rows);
  }
}
