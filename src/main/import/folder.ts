// Source (1): a folder with one sub-folder per class; the class label is the
// sub-folder's name. Files deeper inside a class folder belong to that class.
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { IMAGE_EXTENSIONS } from '../images/decode';
import { invalid } from '../errors';
import type { FileItem, SkippedItem } from './types';

const MAX_DEPTH = 16;
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const isHidden = (name: string) => name.startsWith('.') || name === 'Thumbs.db' || name === 'desktop.ini';

function kindOf(path: string): 'dir' | 'file' | 'other' {
  try {
    const st = statSync(path);
    return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
  } catch {
    return 'other';
  }
}

export function planFolder(root: string): { files: FileItem[]; skipped: SkippedItem[] } {
  const files: FileItem[] = [];
  const skipped: SkippedItem[] = [];
  const display = (p: string) => relative(root, p).split(sep).join('/');

  const visited = new Set<string>(); // real paths: a symlink loop is walked once
  const walk = (dir: string, classLabel: string, depth: number) => {
    let real: string;
    try {
      real = realpathSync(dir);
    } catch {
      real = dir;
    }
    if (visited.has(real)) {
      skipped.push({ display: display(dir), reason: 'folder already imported through another path (symbolic link)' });
      return;
    }
    visited.add(real);
    let names: string[];
    try {
      names = readdirSync(dir)
        .filter((n) => !isHidden(n))
        .sort(byName);
    } catch (error) {
      skipped.push({ display: display(dir), reason: `folder cannot be read: ${(error as Error).message}` });
      return;
    }
    for (const name of names) {
      const p = join(dir, name);
      const kind = kindOf(p);
      if (kind === 'dir') {
        if (depth < MAX_DEPTH) walk(p, classLabel, depth + 1);
        else skipped.push({ display: display(p), reason: 'folder nested too deeply' });
      } else if (kind === 'file') {
        const ext = extname(name).toLowerCase();
        if (IMAGE_EXTENSIONS.has(ext)) files.push({ path: p, display: display(p), classLabel });
        else skipped.push({ display: display(p), reason: `not an image file (${ext || 'no extension'})` });
      } else {
        skipped.push({ display: display(p), reason: 'not a regular file' });
      }
    }
  };

  const top = readdirSync(root)
    .filter((n) => !isHidden(n))
    .sort(byName);
  let rootImages = 0;
  let rootCsvs = 0;
  for (const name of top) {
    const p = join(root, name);
    const kind = kindOf(p);
    if (kind === 'dir') {
      walk(p, name, 1);
    } else {
      if (IMAGE_EXTENSIONS.has(extname(name).toLowerCase())) rootImages++;
      if (extname(name).toLowerCase() === '.csv') rootCsvs++;
      skipped.push({ display: name, reason: 'not in a class sub-folder (the class label is the name of the sub-folder a file is in)' });
    }
  }
  if (files.length === 0) {
    const hint =
      rootImages > 0
        ? ` It has ${rootImages} image file(s) directly inside it; put them into one sub-folder per class.`
        : rootCsvs > 0
          ? ' To import a CSV of pairs, choose the CSV file itself.'
          : ' Expected one sub-folder per class holding jpg, png, webp, gif, tiff or bmp files.';
    throw invalid(`The folder ${root} contains no images to import.${hint}`);
  }
  return { files, skipped };
}
