// Imports a folder's or a CSV's image files. Files are read and decoded a few at a time
// (sharp works on libuv's thread pool) and written in batches, each batch in one
// transaction together with its report rows; a cancel drops the batch in flight.
import { readFile } from 'node:fs/promises';
import type { JobContext } from '../services/jobs';
import { ImageRejectedError, encodePng, makeThumbnail, normalise } from '../images/decode';
import type { NewImage } from '../store/images-repo';
import type { ImportTarget } from './target';
import type { FileItem, ImportOptions } from './types';

export const FILE_BATCH = 32;
const DECODE_CONCURRENCY = 4;

/** A file after reading and decoding, before anything is written. */
type Prepared =
  | { item: FileItem; status: 'skipped'; reason: string }
  | { item: FileItem; status: 'error'; reason: string }
  | { item: FileItem; status: 'ok'; image: Omit<NewImage, 'datasetId'> }
  | { item: FileItem; status: 'known'; sha256: string };

/** Imports the files; returns the image id of every file that is in the dataset afterwards (imported or a duplicate), by path. */
export async function importFiles(
  target: ImportTarget,
  files: FileItem[],
  ctx: JobContext,
  options: ImportOptions,
): Promise<Map<string, number>> {
  const idOfPath = new Map<string, number>();
  const total = files.length;
  const batch = options.fileBatch ?? FILE_BATCH;
  ctx.progress(0, `0/${total} files`);
  for (let start = 0; start < total; start += batch) {
    ctx.throwIfCancelled();
    const prepared = await mapLimit(files.slice(start, start + batch), DECODE_CONCURRENCY, (item) => prepareFile(target, item, options));
    ctx.throwIfCancelled(); // the batch in flight is dropped, never half-written
    target.db.transaction(() => {
      for (const p of prepared) writePrepared(target, p, idOfPath);
    })();
    const done = Math.min(total, start + batch);
    ctx.progress(done / total, `${done}/${total} files`);
    await options.afterBatch?.(done, total);
  }
  return idOfPath;
}

/** Reads and decodes one file; never throws (a file that cannot be imported is an error or skipped outcome). */
async function prepareFile(target: ImportTarget, item: FileItem, options: ImportOptions): Promise<Prepared> {
  let bytes: Buffer;
  try {
    bytes = await readFile(item.fsPath ?? item.path);
  } catch (error) {
    return { item, status: 'error', reason: `cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
  }
  if (bytes.length === 0) return { item, status: 'error', reason: 'empty file (0 bytes)' };
  try {
    const img = await normalise(bytes, options);
    if (target.images.findId(target.datasetId, img.sha256) !== undefined) return { item, status: 'known', sha256: img.sha256 };
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
}

/** Writes one prepared file (inside the batch's transaction) and its report row; records its image id in idOfPath. */
function writePrepared(target: ImportTarget, p: Prepared, idOfPath: Map<string, number>): void {
  const { images, datasetId } = target;
  if (p.status !== 'ok' && p.status !== 'known') {
    target.report(p.item.display, p.status, p.reason, null);
    return;
  }
  if (p.status === 'known') {
    const dup = images.findDuplicate(datasetId, p.sha256);
    if (!dup) {
      // deleted since it was looked up (another job or a delete): nothing to point at
      target.report(p.item.display, 'error', 'its content matched an image that was deleted during the import; import it again', null);
      return;
    }
    idOfPath.set(p.item.path, dup.id);
    target.report(p.item.display, 'duplicate', `same content as image ${dup.id} (${dup.sourcePath})`, dup.id);
    return;
  }
  const out = images.insertUnlessDuplicate({ datasetId, ...p.image });
  if (out.inserted) {
    idOfPath.set(p.item.path, out.id);
    target.report(p.item.display, 'imported', null, out.id);
  } else {
    idOfPath.set(p.item.path, out.duplicateOf);
    target.report(p.item.display, 'duplicate', `same content as image ${out.duplicateOf} (${out.duplicatePath})`, out.duplicateOf);
  }
}

/** fn over items with at most `limit` calls in flight; results in input order. */
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
