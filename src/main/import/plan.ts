// Works out what an import will do before any job starts: finds the source kind, reads
// and checks the listing / CSV / idx headers. Every problem that makes the whole import
// pointless is thrown here as an AppError with a clear message. Asynchronous throughout
// (folder walks, CSV and idx reads go to libuv's threads), so planning a huge or hostile
// source never blocks the thread serving the UI.
import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, extname, resolve } from 'node:path';
import type { ArgsOf } from '../../shared/contract';
import { AppError, invalid, notFound } from '../errors';
import type { DatasetsRepo } from '../store/datasets-repo';
import { planCsv } from './csv';
import { planFolder } from './folder';
import { folderHasIdx, isIdxFileName, planIdx } from './idx-source';
import type { ImportPlan } from './types';

/** Limits of the planning step (ImportOptions carries them from the service). */
export interface PlanOptions {
  /** entries a folder walk visits at most */
  maxEntries?: number;
}

function absolute(path: string): string {
  if (path === '~' || path.startsWith('~/')) return resolve(homedir(), path.slice(2));
  return resolve(path);
}

export async function planImport(args: ArgsOf<'datasets.import'>, datasets: DatasetsRepo, options: PlanOptions = {}): Promise<ImportPlan> {
  const path = absolute(args.path.trim());
  let st;
  try {
    st = await stat(path);
  } catch {
    throw new AppError('not_found', `${path} does not exist`);
  }
  if (args.datasetId !== undefined && !datasets.exists(args.datasetId)) throw notFound('Dataset', args.datasetId);
  const isDir = st.isDirectory();
  let kind = args.kind ?? 'auto';
  if (kind === 'auto') {
    if (isDir) kind = (await folderHasIdx(path)) ? 'idx' : 'folder';
    else if (extname(path).toLowerCase() === '.csv') kind = 'csv';
    else if (isIdxFileName(basename(path))) kind = 'idx';
    else
      throw invalid(
        `${path} is a file, but not a CSV of pairs or an idx file; import a folder with one sub-folder per class, a pairs CSV, or a folder of idx files`,
      );
  }
  const datasetId = args.datasetId ?? null;
  const fromName = (p: string) => args.name?.trim() || basename(p).replace(/\.csv$/i, '') || 'dataset';

  switch (kind) {
    case 'folder': {
      if (!isDir) throw invalid(`${path} is not a folder`);
      const { files, skipped } = await planFolder(path, { followLinks: args.followLinks, maxEntries: options.maxEntries });
      return { kind, path, name: fromName(path), datasetId, files, skipped };
    }
    case 'csv': {
      if (isDir) throw invalid(`${path} is a folder, not a CSV file`);
      const { files, pairs, hasSplits, droppedRows } = await planCsv(path);
      return { kind, path, name: fromName(path), datasetId, files, skipped: [], pairs, hasSplits, droppedRows };
    }
    case 'idx': {
      const dir = isDir ? path : dirname(path);
      const fashion = /fashion/i.test(dir) || /fashion/i.test(args.name ?? '');
      const { sets, classNames } = await planIdx(dir, fashion);
      return { kind, path: dir, name: fromName(dir), datasetId, sets, classNames };
    }
  }
}
