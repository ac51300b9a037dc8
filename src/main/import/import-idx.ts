// Imports idx (MNIST-format) sets: each set's file is read whole, then its records are
// written IDX_BATCH at a time, each batch in one transaction with its report rows,
// yielding to the event loop between batches.
import { basename } from 'node:path';
import { pixelHash } from '../images/decode';
import { readIdx } from '../images/idx';
import type { JobContext } from '../services/jobs';
import type { ImportTarget } from './target';
import type { IdxSet, ImportOptions } from './types';

export const IDX_BATCH = 1000;

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function importIdx(
  target: ImportTarget,
  sets: IdxSet[],
  classNames: string[] | null,
  ctx: JobContext,
  options: ImportOptions,
): Promise<void> {
  const total = sets.reduce((a, s) => a + s.count, 0);
  const batch = options.idxBatch ?? IDX_BATCH;
  let done = 0;
  for (const set of sets) {
    ctx.throwIfCancelled();
    ctx.progress(done / total, `reading ${basename(set.imagesPath)}`);
    const arr = await readIdx(set.imagesPath);
    const [count, rows, cols] = arr.dims;
    if (count !== set.count || rows !== set.rows || cols !== set.cols)
      throw new Error(`${basename(set.imagesPath)} changed while it was being imported`);
    for (let start = 0; start < count; start += batch) {
      ctx.throwIfCancelled();
      const end = Math.min(count, start + batch);
      target.db.transaction(() => writeRecords(target, set, arr.data, classNames, start, end))();
      done += end - start;
      ctx.progress(done / total, `${done}/${total} images`);
      await options.afterBatch?.(done, total);
      await tick(); // let cancel requests and UI calls in between batches
    }
  }
}

/** Writes records [start, end) of a set (rows x cols bytes each) and their report rows. */
function writeRecords(target: ImportTarget, set: IdxSet, data: Buffer, classNames: string[] | null, start: number, end: number): void {
  const { rows, cols } = set;
  const size = rows * cols;
  const name = basename(set.imagesPath);
  for (let i = start; i < end; i++) {
    const pixels = data.subarray(i * size, (i + 1) * size);
    const label = set.labels[i];
    const where = `${name}#${i}`;
    const out = target.images.insertUnlessDuplicate({
      datasetId: target.datasetId,
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
    if (out.inserted) target.report(where, 'imported', null, out.id);
    else target.report(where, 'duplicate', `same content as image ${out.duplicateOf} (${basename(out.duplicatePath)})`, out.duplicateOf);
  }
}
