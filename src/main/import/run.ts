// Runs a checked ImportPlan inside a job. Files are decoded a few at a time (sharp
// works on libuv's thread pool) and written in batches, each batch in one transaction
// together with its report rows.
//
// Cancel and failure semantics: batches already committed stay (each one is complete:
// images plus their report rows); the batch in flight is never written. A CSV's pair
// set is written only after all its images, in one transaction, so a cancelled CSV
// import keeps its images but has no pair set. A dataset this job created that holds
// no image when the job is cancelled or fails is removed again. Nothing that existed
// before the import is modified (duplicates are reported, never overwritten).
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { ImportFileStatus, Split } from '../../shared/dto';
import type { JobContext } from '../services/jobs';
import { ImageRejectedError, encodePng, makeThumbnail, normalise, pixelHash, type NormaliseOptions } from '../images/decode';
import { readIdx } from '../images/idx';
import type { Db } from '../store/db';
import { DatasetsRepo } from '../store/datasets-repo';
import { ImagesRepo, type NewImage } from '../store/images-repo';
import { ImportReportsRepo } from '../store/import-reports-repo';
import { PairsRepo, type NewPair } from '../store/pairs-repo';
import { splitByComponents } from './components';
import type { FileItem, ImportPlan, IdxSet } from './types';

export const FILE_BATCH = 32;
export const IDX_BATCH = 1000;
const DECODE_CONCURRENCY = 4;
/** Seed and ratios for CSV pairs that come without splits. */
export const CSV_SPLIT_SEED = 1;
export const CSV_SPLIT_RATIOS: [number, number, number] = [80, 10, 10];

export interface ImportOptions extends NormaliseOptions {
  /** files per transaction (default FILE_BATCH) */
  fileBatch?: number;
  /** idx records per transaction (default IDX_BATCH) */
  idxBatch?: number;
  /** test hook: called after each committed batch */
  afterBatch?: (done: number, total: number) => void | Promise<void>;
}

export interface ImportResult extends Record<string, unknown> {
  datasetId: number;
  datasetName: string;
  totals: Record<ImportFileStatus, number>;
  pairSetId?: number;
  pairs?: number;
  /** CSV pairs left out because one of their images could not be imported */
  droppedPairs?: number;
  /** CSV pairs per split */
  splitPairs?: Record<Split, number>;
}

type Prepared =
  | { item: FileItem; status: 'skipped'; reason: string }
  | { item: FileItem; status: 'error'; reason: string }
  | { item: FileItem; status: 'ok'; image: Omit<NewImage, 'datasetId'> }
  | { item: FileItem; status: 'known'; sha256: string };

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export async function runImport(db: Db, plan: ImportPlan, ctx: JobContext, options: ImportOptions = {}): Promise<ImportResult> {
  const datasets = new DatasetsRepo(db);
  const images = new ImagesRepo(db);
  const reports = new ImportReportsRepo(db);
  const totals: Record<ImportFileStatus, number> = { imported: 0, duplicate: 0, skipped: 0, error: 0 };
  const hasOfficialTest = plan.kind === 'idx' && plan.sets.some((s) => s.officialSplit === 'test');

  let datasetId = plan.datasetId;
  let created = false;
  if (datasetId === null) {
    datasetId = db.transaction(() => datasets.create({ name: datasets.uniqueName(plan.name), sourceKind: plan.kind, sourcePath: plan.path, hasOfficialTest }))();
    created = true;
  } else if (hasOfficialTest) {
    datasets.setHasOfficialTest(datasetId);
  }
  const dsId = datasetId;
  const datasetName = datasets.get(dsId)!.name;
  // Records the dataset in the job row (jobs.checkpoint): a cancelled or failed import
  // has no result, and re-importing into this dataset resumes it (imported files are duplicates).
  ctx.saveCheckpoint({ datasetId: dsId });
  const report = (path: string, status: ImportFileStatus, reason: string | null, imageId: number | null) => {
    reports.add(ctx.jobId, { path, status, reason, imageId });
    totals[status]++;
  };
  const result = (): ImportResult => ({ datasetId: dsId, datasetName, totals: { ...totals } });

  try {
    if (plan.kind === 'idx') {
      await importIdx(plan.sets, plan.classNames);
      return result();
    }
    if (plan.skipped.length > 0) db.transaction(() => plan.skipped.forEach((s) => report(s.display, 'skipped', s.reason, null)))();
    const idOfPath = await importFiles(plan.files);
    if (plan.kind === 'folder') return result();

    // CSV: one pair set over the images that made it in.
    ctx.throwIfCancelled();
    const valid: NewPair[] = [];
    for (const p of plan.pairs) {
      const a = idOfPath.get(p.a);
      const b = idOfPath.get(p.b);
      if (a !== undefined && b !== undefined) valid.push({ imageA: a, imageB: b, label: p.label, split: p.split ?? 'train' });
    }
    const droppedPairs = plan.pairs.length - valid.length;
    if (valid.length === 0) throw new Error(`None of the ${plan.pairs.length} pairs could be kept: their images failed to import (see the report)`);
    let imageSplits: Map<number, Split>;
    let seed: number | null = null;
    let ratios: [number, number, number] | null = null;
    if (plan.hasSplits) {
      imageSplits = new Map();
      for (const p of valid) {
        for (const id of [p.imageA, p.imageB]) {
          const prev = imageSplits.get(id);
          if (prev && prev !== p.split) {
            throw new Error(`Image ${id} (${images.get(id)?.sourcePath}) is in split ${prev} and in ${p.split}: two files in different splits have identical content`);
          }
          imageSplits.set(id, p.split);
        }
      }
    } else {
      seed = CSV_SPLIT_SEED;
      ratios = CSV_SPLIT_RATIOS;
      const assigned = splitByComponents(
        valid.map((p) => ({ a: p.imageA, b: p.imageB })),
        ratios,
        seed,
      );
      imageSplits = assigned.imageSplits;
      for (const p of valid) p.split = imageSplits.get(p.imageA)!;
    }
    const pairSetId = new PairsRepo(db).insertPairSet({ datasetId: dsId, source: 'csv', seed, ratios, pairsPerAnchor: null }, imageSplits, valid);
    const splitPairs: Record<Split, number> = { train: 0, val: 0, test: 0 };
    for (const p of valid) splitPairs[p.split]++;
    return { ...result(), pairSetId, pairs: valid.length, droppedPairs, splitPairs };
  } catch (error) {
    if (created && images.count(dsId) === 0) datasets.delete(dsId);
    throw error;
  }

  async function importFiles(files: FileItem[]): Promise<Map<string, number>> {
    const idOfPath = new Map<string, number>();
    const prepare = async (item: FileItem): Promise<Prepared> => {
      let bytes: Buffer;
      try {
        bytes = await readFile(item.path);
      } catch (error) {
        return { item, status: 'error', reason: `cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
      }
      if (bytes.length === 0) return { item, status: 'error', reason: 'empty file (0 bytes)' };
      try {
        const img = await normalise(bytes, options);
        if (images.findId(dsId, img.sha256) !== undefined) return { item, status: 'known', sha256: img.sha256 };
        const [pixels, thumbnail] = await Promise.all([encodePng(img), makeThumbnail(img)]);
        return {
          item,
          status: 'ok',
          image: {
            sha256: img.sha256,
            sourcePath: item.path,
            classLabel: item.classLabel,
            officialSplit: null,
            width: img.width,
            height: img.height,
            channels: img.channels,
            pixelEncoding: 'png',
            pixels,
            thumbnail,
          },
        };
      } catch (error) {
        if (error instanceof ImageRejectedError) return { item, status: error.kind, reason: error.message };
        return { item, status: 'error', reason: error instanceof Error ? error.message : String(error) };
      }
    };
    const total = files.length;
    const batch = options.fileBatch ?? FILE_BATCH;
    ctx.progress(0, `0/${total} files`);
    for (let start = 0; start < total; start += batch) {
      ctx.throwIfCancelled();
      const prepared = await mapLimit(files.slice(start, start + batch), DECODE_CONCURRENCY, prepare);
      ctx.throwIfCancelled(); // the batch in flight is dropped, never half-written
      db.transaction(() => {
        for (const p of prepared) {
          if (p.status !== 'ok' && p.status !== 'known') {
            report(p.item.display, p.status, p.reason, null);
            continue;
          }
          if (p.status === 'known') {
            const dup = images.findDuplicate(dsId, p.sha256);
            if (!dup) {
              // deleted since it was looked up (another job or a delete): nothing to point at
              report(p.item.display, 'error', 'its content matched an image that was deleted during the import; import it again', null);
              continue;
            }
            idOfPath.set(p.item.path, dup.id);
            report(p.item.display, 'duplicate', `same content as image ${dup.id} (${dup.sourcePath})`, dup.id);
            continue;
          }
          const out = images.insertUnlessDuplicate({ datasetId: dsId, ...p.image });
          if (out.inserted) {
            idOfPath.set(p.item.path, out.id);
            report(p.item.display, 'imported', null, out.id);
          } else {
            idOfPath.set(p.item.path, out.duplicateOf);
            report(p.item.display, 'duplicate', `same content as image ${out.duplicateOf} (${out.duplicatePath})`, out.duplicateOf);
          }
        }
      })();
      const done = Math.min(total, start + batch);
      ctx.progress(done / total, `${done}/${total} files`);
      await options.afterBatch?.(done, total);
    }
    return idOfPath;
  }

  async function importIdx(sets: IdxSet[], classNames: string[] | null): Promise<void> {
    const total = sets.reduce((a, s) => a + s.count, 0);
    const batch = options.idxBatch ?? IDX_BATCH;
    let done = 0;
    for (const set of sets) {
      ctx.throwIfCancelled();
      ctx.progress(done / total, `reading ${basename(set.imagesPath)}`);
      const arr = await readIdx(set.imagesPath);
      const [count, rows, cols] = arr.dims;
      if (count !== set.count || rows !== set.rows || cols !== set.cols) throw new Error(`${basename(set.imagesPath)} changed while it was being imported`);
      const size = rows * cols;
      const name = basename(set.imagesPath);
      for (let start = 0; start < count; start += batch) {
        ctx.throwIfCancelled();
        const end = Math.min(count, start + batch);
        db.transaction(() => {
          for (let i = start; i < end; i++) {
            const pixels = arr.data.subarray(i * size, (i + 1) * size);
            const label = set.labels[i];
            const where = `${name}#${i}`;
            const out = images.insertUnlessDuplicate({
              datasetId: dsId,
              sha256: pixelHash(cols, rows, 1, pixels),
              sourcePath: `${set.imagesPath}#${i}`,
              classLabel: classNames ? classNames[label] : String(label),
              officialSplit: set.officialSplit,
              width: cols,
              height: rows,
              channels: 1,
              pixelEncoding: 'raw',
              pixels,
              thumbnail: null,
            });
            if (out.inserted) report(where, 'imported', null, out.id);
            else report(where, 'duplicate', `same content as image ${out.duplicateOf} (${basename(out.duplicatePath)})`, out.duplicateOf);
          }
        })();
        done += end - start;
        ctx.progress(done / total, `${done}/${total} images`);
        await options.afterBatch?.(done, total);
        await tick(); // let cancel requests and UI calls in between batches
      }
    }
  }
}
