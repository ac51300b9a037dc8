// Masks in and out of a workspace as files (masks.export, masks.import, `simlens masks`).
//
// Export, per dataset (and author), each (image, author)'s newest mask or every row (history):
// - png: a folder with one 8-bit grey PNG per image, 0 outside and 255 inside, at the stored
//   image's size, named <imageId>_<stem of the original file>.png; per image the newest mask of
//   the author (or of anyone: the image's mask); with history, superseded rows go to history/
//   as <imageId>_<stem>.mask<maskId>.png;
// - coco: one JSON file (masks/coco.ts), RLE annotations with author, time and source;
// - csv: one row per mask (image, file, class, author, source, area, bbox, time).
// Empty masks (nothing inside) are left out and counted.
//
// Import: a folder of PNGs (or one PNG), each matched by a leading <imageId>_ or the original
// file's stem (masks/names.ts), any non-zero pixel inside; or a COCO JSON file, matched by
// file_name, compressed or uncompressed RLE or polygons, the annotations of one image (and author,
// and time) united. Every file or annotation gets an entry: imported, unchanged (the same pixels
// as that author's newest mask), unmatched or error, with the reason. Nothing stored is replaced:
// an import adds rows (history), all in one transaction at the end.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { ArgsOf } from '../../shared/contract';
import type { DatasetDto, MaskExportDto, MaskImportDto, MaskImportEntryDto } from '../../shared/dto';
import { countsArea, countsBbox, countsToString, decodeCounts, encodeCounts, RleError } from '../../shared/mask-rle';
import { AppError, invalid, notFound } from '../errors';
import { MaskFileError, readMaskPng, writeMaskPng } from '../images/mask-png';
import { annotationMask, cocoCategories, readCoco, type CocoAnnotation, type CocoFile, type CocoImage } from '../masks/coco';
import { cocoFileName, fileStem, ImageIndex, maskPngName } from '../masks/names';
import { toCsv, type CsvValue } from '../review/csv';
import type { Db } from '../store/db';
import { DatasetsRepo } from '../store/datasets-repo';
import type { MaskExportRow, MaskImage, MasksRepo } from '../store/masks-repo';
import type { MaskService, MaskToAdd } from './masks';

/** The author of imported masks when neither the call nor the file names one. */
export const DEFAULT_IMPORT_AUTHOR = 'import';
/** Largest mask PNG read. */
const MAX_PNG_BYTES = 64 * 1024 * 1024;
/** Largest COCO file read. */
const MAX_COCO_BYTES = 1024 ** 3;
/** Files decoded or encoded at a time (sharp works on libuv threads). */
const CONCURRENCY = 8;

/** The CSV columns, in order. */
export const MASK_CSV_COLUMNS = [
  'mask_id',
  'uid',
  'image_id',
  'file',
  'class',
  'author',
  'source',
  'origin',
  'width',
  'height',
  'area',
  'bbox_x',
  'bbox_y',
  'bbox_w',
  'bbox_h',
  'created_at',
  'current',
] as const;

/** Writes a file whole or not at all (a sibling temp file renamed over it). */
function writeWhole(path: string, data: string | Buffer): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw new AppError('failed', `Could not write ${path}: ${(error as Error).message}`);
  }
}

/** Runs `f` over `items`, `CONCURRENCY` at a time, in order. */
async function inGroups<T, R>(items: readonly T[], f: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += CONCURRENCY)
    out.push(...(await Promise.all(items.slice(i, i + CONCURRENCY).map((x, k) => f(x, i + k)))));
  return out;
}

/** The file an export writes: `out` itself when it names a file of the format, else `out/<name>`. */
function exportFile(out: string, ext: string, name: string): string {
  if (extname(out).toLowerCase() === ext) return out;
  if (existsSync(out) && !statSync(out).isDirectory()) throw invalid(`${out} is a file: give a folder, or a ${ext} file to write`);
  return join(out, name);
}

export class MaskExchangeService {
  private readonly repo: MasksRepo;
  private readonly datasets: DatasetsRepo;

  constructor(
    db: Db,
    private readonly masks: MaskService,
    private readonly appVersion: string,
  ) {
    this.repo = masks.repo;
    this.datasets = new DatasetsRepo(db);
  }

  /** The dataset a call acts on: the one it names, else the only one (with masks, for exports). */
  private dataset(datasetId: number | undefined, forExport: boolean): DatasetDto {
    if (datasetId !== undefined) {
      const ds = this.datasets.get(datasetId);
      if (!ds) throw notFound('Dataset', datasetId);
      return ds;
    }
    const all = this.datasets.list();
    if (forExport) {
      const withMasks = this.repo.datasetsWithMasks();
      if (withMasks.length === 1) return this.datasets.get(withMasks[0])!;
      if (withMasks.length === 0) throw invalid('There are no masks in this workspace to export');
      throw invalid(`Datasets ${withMasks.join(', ')} have masks: give the dataset (datasetId, --dataset ID)`);
    }
    if (all.length === 1) return all[0];
    if (all.length === 0) throw invalid('This workspace has no dataset: import the images first, then their masks');
    throw invalid(
      `This workspace has ${all.length} datasets (ids ${all.map((d) => d.id).join(', ')}): give the dataset (datasetId, --dataset ID)`,
    );
  }

  // ---- export ----

  async export(args: ArgsOf<'masks.export'>): Promise<MaskExportDto> {
    const ds = this.dataset(args.datasetId, true);
    const history = args.history ?? false;
    const author = args.author ?? null;
    const out = resolve(args.out);
    const rows = this.repo.exportRows(ds.id, { author: args.author, history, perImage: args.format === 'png' });
    // counts of every row (a damaged one fails the export, naming it), the empty ones left out
    const counted: { row: MaskExportRow; counts: number[] }[] = [];
    let skippedEmpty = 0;
    for (const row of rows) {
      const counts = await this.masks.countsOf(row);
      if (countsArea(counts) === 0) skippedEmpty++;
      else counted.push({ row, counts });
    }
    const images = new Set(counted.map((c) => c.row.image_id)).size;
    const base = { format: args.format, datasetId: ds.id, author, history, skippedEmpty, images, masks: counted.length };
    if (args.format === 'png') {
      mkdirSync(out, { recursive: true });
      if (counted.some((c) => !c.row.current)) mkdirSync(join(out, 'history'), { recursive: true });
      await inGroups(counted, async ({ row, counts }) => {
        const png = await writeMaskPng(decodeCounts(counts, row.height, row.width), row.height, row.width);
        const image = { id: row.image_id, source_path: row.source_path };
        const name = row.current ? maskPngName(image) : join('history', `${row.image_id}_${fileStem(row.source_path)}.mask${row.id}.png`);
        writeWhole(join(out, name), png);
      });
      return { ...base, path: out, category: null };
    }
    if (args.format === 'coco') {
      const path = exportFile(out, '.json', 'masks.coco.json');
      mkdirSync(dirname(path), { recursive: true });
      const category = args.category ?? 'class';
      writeWhole(path, `${JSON.stringify(this.coco(ds, counted, category))}\n`);
      return { ...base, path, category };
    }
    const path = exportFile(out, '.csv', 'masks.csv');
    mkdirSync(dirname(path), { recursive: true });
    const lines: CsvValue[][] = counted.map(({ row, counts }) => {
      const [x, y, w, h] = countsBbox(counts, row.height, row.width);
      return [
        row.id,
        row.uid,
        row.image_id,
        cocoFileName(row.source_path, ds),
        row.class_label,
        row.author,
        row.source,
        row.origin,
        row.width,
        row.height,
        countsArea(counts),
        x,
        y,
        w,
        h,
        row.created_at,
        row.current ? 1 : 0,
      ];
    });
    writeWhole(path, toCsv([[...MASK_CSV_COLUMNS], ...lines]));
    return { ...base, path, category: null };
  }

  private coco(ds: DatasetDto, counted: { row: MaskExportRow; counts: number[] }[], mode: 'class' | 'relevant'): CocoFile {
    const images = new Map<number, CocoImage & { class_label: string | null }>();
    for (const { row } of counted) {
      if (!images.has(row.image_id))
        images.set(row.image_id, {
          id: row.image_id,
          file_name: cocoFileName(row.source_path, ds),
          width: row.image_width,
          height: row.image_height,
          class_label: row.class_label,
        });
    }
    const categories = cocoCategories(
      mode,
      [...images.values()].map((i) => i.class_label),
    );
    const annotations: CocoAnnotation[] = counted.map(({ row, counts }) => ({
      id: row.id,
      image_id: row.image_id,
      category_id: categories.of(row.class_label),
      segmentation: { size: [row.height, row.width], counts: countsToString(counts) },
      area: countsArea(counts),
      bbox: countsBbox(counts, row.height, row.width),
      iscrowd: 1,
      attributes: { author: row.author, time: row.created_at, source: row.source, uid: row.uid, current: row.current === 1 },
    }));
    return {
      info: {
        description: `Masks of dataset "${ds.name}"`,
        version: '1.0',
        date_created: new Date().toISOString(),
        contributor: `SimLens ${this.appVersion}`,
      },
      licenses: [],
      images: [...images.values()].map(({ class_label: _, ...img }) => img),
      categories: categories.list,
      annotations,
    };
  }

  // ---- import ----

  async import(args: ArgsOf<'masks.import'>): Promise<MaskImportDto> {
    const path = resolve(args.path);
    if (!existsSync(path)) throw new AppError('not_found', `No file or folder at ${path}`);
    const ds = this.dataset(args.datasetId, false);
    const index = new ImageIndex(this.repo.datasetImages(ds.id), ds);
    if (index.size === 0) throw invalid(`Dataset ${ds.id} has no images to import masks for`);
    const isDir = statSync(path).isDirectory();
    const png = isDir || extname(path).toLowerCase() === '.png';
    const state = new ImportState(this.masks);
    if (png) await this.importPngs(path, isDir, index, args.author ?? DEFAULT_IMPORT_AUTHOR, state);
    else await this.importCoco(path, index, args.author, state);
    const entries = state.finish();
    const count = (s: MaskImportEntryDto['status']) => entries.filter((e) => e.status === s).length;
    return {
      path,
      format: png ? 'png' : 'coco',
      datasetId: ds.id,
      imported: count('imported'),
      unchanged: count('unchanged'),
      unmatched: count('unmatched'),
      errors: count('error'),
      entries,
    };
  }

  private async importPngs(path: string, isDir: boolean, index: ImageIndex, author: string, state: ImportState): Promise<void> {
    const files = isDir
      ? readdirSync(path, { withFileTypes: true })
          .filter((e) => !e.name.startsWith('.') && !e.isDirectory())
          .map((e) => e.name)
          .sort()
      : [basename(path)];
    const dir = isDir ? path : resolve(path, '..');
    // decoded a few at a time; the entries keep the files' order
    const made = files.map((name) => state.entry(name));
    type Decoded =
      | { entry: MaskImportEntryDto; reason: string; unmatched?: true }
      | { entry: MaskImportEntryDto; image: MaskImage; pixels: Awaited<ReturnType<typeof readMaskPng>> };
    const decoded = await inGroups(files, async (name, i): Promise<Decoded> => {
      const entry = made[i];
      if (extname(name).toLowerCase() !== '.png')
        return { entry, reason: `not a .png file: mask folders hold PNGs (${extname(name) || 'no extension'})` };
      const match = index.matchPng(name);
      if ('reason' in match) return { entry, reason: match.reason, unmatched: true as const };
      entry.imageId = match.image.id;
      try {
        const file = join(dir, name);
        const size = statSync(file).size;
        if (size > MAX_PNG_BYTES) return { entry, reason: `${size} bytes is larger than a mask PNG may be (${MAX_PNG_BYTES})` };
        const pixels = await readMaskPng(readFileSync(file));
        return { entry, image: match.image, pixels };
      } catch (error) {
        if (error instanceof MaskFileError) return { entry, reason: error.message };
        return { entry, reason: `cannot be read (${(error as Error).message})` };
      }
    });
    for (const d of decoded) {
      if ('reason' in d) {
        state.report([d.entry], d.unmatched ? 'unmatched' : 'error', d.reason);
        continue;
      }
      const { image, pixels } = d;
      const problem = sizeProblem(pixels.h, pixels.w, image);
      if (problem) state.report([d.entry], 'error', problem);
      else if (pixels.area === 0) state.report([d.entry], 'error', 'an empty mask (no non-zero pixel): nothing to import');
      else await state.consider([d.entry], image, author, encodeCounts(pixels.mask, pixels.h, pixels.w));
    }
  }

  private async importCoco(path: string, index: ImageIndex, givenAuthor: string | undefined, state: ImportState): Promise<void> {
    const name = basename(path);
    const size = statSync(path).size;
    if (size > MAX_COCO_BYTES) throw invalid(`${name} is larger than ${MAX_COCO_BYTES} bytes: not a COCO file this version reads`);
    if (size === 0) throw invalid(`${name} is empty (0 bytes): not a COCO file`);
    const coco = readCoco(readFileSync(path, 'utf8'), name);
    // each COCO image matched once
    const matched = new Map<string, { image: MaskImage; h: number; w: number } | { reason: string; status: 'unmatched' | 'error' }>();
    for (const [key, entry] of coco.images) {
      if ('problem' in entry) {
        matched.set(key, { reason: entry.problem, status: 'error' });
        continue;
      }
      const m = index.matchFileName(entry.fileName);
      if ('reason' in m) matched.set(key, { reason: m.reason, status: 'unmatched' });
      else {
        const problem = sizeProblem(entry.h, entry.w, m.image, `"${entry.fileName}" is`);
        matched.set(key, problem ? { reason: problem, status: 'error' } : { image: m.image, h: entry.h, w: entry.w });
      }
    }
    // annotations checked one by one, then grouped per (image, author, time) and united
    const groups = new Map<
      string,
      { image: MaskImage; author: string; entries: MaskImportEntryDto[]; masks: Uint8Array[]; bad: string | null }
    >();
    for (const ann of coco.annotations) {
      const entry = state.entry(`${name}: ${ann.label}`);
      if (ann.problem !== null) {
        state.report([entry], 'error', ann.problem);
        continue;
      }
      const target = matched.get(ann.imageKey!)!;
      if ('reason' in target) {
        state.report([entry], target.status, target.reason);
        continue;
      }
      entry.imageId = target.image.id;
      const author = givenAuthor ?? ann.author ?? DEFAULT_IMPORT_AUTHOR;
      const key = `${target.image.id}\u0000${author}\u0000${ann.time ?? ''}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { image: target.image, author, entries: [], masks: [], bad: null }));
      group.entries.push(entry);
      try {
        group.masks.push(annotationMask(ann.raw, target.h, target.w));
      } catch (error) {
        if (!(error instanceof RleError)) throw error;
        entry.reason = error.message;
        group.bad ??= `${ann.label}: ${error.message}`;
      }
    }
    for (const group of groups.values()) {
      const { image } = group;
      if (group.bad !== null) {
        for (const e of group.entries)
          state.report(
            [e],
            'error',
            e.reason ?? `another annotation of this image and author is bad (${group.bad}): the image's mask is not imported`,
          );
        continue;
      }
      const union = new Uint8Array(image.height * image.width);
      for (const m of group.masks) for (let i = 0; i < m.length; i++) union[i] |= m[i];
      const counts = encodeCounts(union, image.height, image.width);
      if (countsArea(counts) === 0) state.report(group.entries, 'error', 'an empty mask (no pixel inside): nothing to import');
      else await state.consider(group.entries, image, group.author, counts);
    }
  }
}

/** Why a mask of h x w cannot be the mask of `image` (stored at its own size), or null. */
function sizeProblem(h: number, w: number, image: MaskImage, what = 'the mask is'): string | null {
  if (h === image.height && w === image.width) return null;
  return `wrong size: ${what} ${w} x ${h} (width x height), image ${image.id} is ${image.width} x ${image.height}`;
}

/** An import's entries (in the order of the files / annotations) and the rows it will add. */
class ImportState {
  private readonly order = new Map<MaskImportEntryDto, number>();
  private readonly done: { at: number; entry: MaskImportEntryDto }[] = [];
  private readonly pending: MaskToAdd[] = [];
  /** (image, author) -> their newest mask's compressed string and row: a stored id (>= 1), or a pending one (-1 - index) */
  private readonly newest = new Map<string, { counts: string; maskId: number }>();

  constructor(private readonly masks: MaskService) {}

  /** A new entry (reported in the order entries are made). */
  entry(name: string): MaskImportEntryDto {
    const e: MaskImportEntryDto = { name, status: 'error', reason: null, imageId: null, maskId: null };
    this.order.set(e, this.order.size);
    return e;
  }

  report(entries: MaskImportEntryDto[], status: MaskImportEntryDto['status'], reason: string | null, maskId: number | null = null): void {
    for (const e of entries) this.done.push({ at: this.order.get(e)!, entry: { ...e, status, reason, maskId } });
  }

  /** A mask for the image and author: unchanged when it equals their newest (stored or added before), else added. */
  async consider(entries: MaskImportEntryDto[], image: MaskImage, author: string, counts: number[]): Promise<void> {
    const key = `${image.id}\u0000${author}`;
    let before = this.newest.get(key);
    if (!before) {
      const row = this.masks.repo.newest(image.id, author);
      if (row) before = { counts: countsToString(await this.masks.countsOf(row)), maskId: row.id };
    }
    for (const e of entries) e.imageId = image.id;
    const s = countsToString(counts);
    if (before && before.counts === s) {
      this.report(entries, 'unchanged', null, before.maskId);
      return;
    }
    const maskId = -1 - this.pending.length;
    this.report(entries, 'imported', null, maskId);
    this.newest.set(key, { counts: s, maskId });
    this.pending.push({ imageId: image.id, author, counts, h: image.height, w: image.width, source: 'imported' });
  }

  /** Adds the pending rows (one transaction); the entries in order, with their mask ids. */
  finish(): MaskImportEntryDto[] {
    const ids = this.pending.length > 0 ? this.masks.add(this.pending) : [];
    return this.done
      .sort((a, b) => a.at - b.at)
      .map(({ entry: e }) => (e.maskId !== null && e.maskId < 0 ? { ...e, maskId: ids[-1 - e.maskId] } : e));
  }
}
