// Source (1): a folder with one sub-folder per class; the class label is the
// sub-folder's name. Files deeper inside a class folder belong to that class.
//
// The walk is asynchronous (every directory listing and link look-up goes to libuv's
// threads, so the thread serving the UI answers between them), works on the names' raw
// bytes (a name that is not valid UTF-8 is still a file), counts what it visits and stops
// with a clear error past a limit, and does not leave the chosen folder through symbolic
// links unless asked (followLinks). Even then it never follows a link to a folder that
// holds the link (a/up -> .. would give another class's images the label a).
import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { extname, sep } from 'node:path';
import { IMAGE_EXTENSIONS } from '../images/decode';
import { invalid } from '../errors';
import type { FileItem, SkippedItem } from './types';

const MAX_DEPTH = 16;
/** Entries (files, folders, links) a walk visits at most unless told otherwise. */
export const DEFAULT_MAX_ENTRIES = 200_000;

export interface WalkOptions {
  /** Follow symbolic links that point outside the folder (default: report them as skipped). */
  followLinks?: boolean;
  /** Stop with an error after this many entries (default DEFAULT_MAX_ENTRIES). */
  maxEntries?: number;
}

type Name = Buffer;
const SEP = Buffer.from(sep);
const joinBytes = (dir: Buffer, name: Name) => (dir.at(-1) === SEP[0] ? Buffer.concat([dir, name]) : Buffer.concat([dir, SEP, name]));
const text = (b: Buffer) => b.toString('utf8');
const byBytes = (a: Dirent<Name>, b: Dirent<Name>) => Buffer.compare(a.name, b.name);
const isHidden = (name: string) => name.startsWith('.') || name === 'Thumbs.db' || name === 'desktop.ini';
/** Whether `inner` is `outer` or lies inside it (real paths). */
const within = (inner: string, outer: string) => inner === outer || inner.startsWith(outer.endsWith(sep) ? outer : outer + sep);

/** What a directory entry is once links are resolved, or why it is not walked. */
type Resolved = { kind: 'dir'; real: string } | { kind: 'file' } | { kind: 'skip'; reason: string };

class FolderWalk {
  readonly files: FileItem[] = [];
  readonly skipped: SkippedItem[] = [];
  private entries = 0;
  /** real paths of walked folders (the root's included, so no link walks it again) */
  private readonly visited = new Set<string>();
  private readonly maxEntries: number;

  constructor(
    private readonly root: string,
    private readonly rootReal: string,
    private readonly options: WalkOptions,
  ) {
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.visited.add(rootReal);
    this.prefix = root.endsWith(sep) ? root.length : root.length + 1;
  }

  private readonly prefix: number;

  /** The path shown in the report: relative to the root, '/'-separated (invalid UTF-8 shown as U+FFFD). */
  display(path: Buffer): string {
    return text(path).slice(this.prefix).split(sep).join('/');
  }

  /** The sorted, visible entries of a folder; counted against the limit. */
  async list(dir: Buffer): Promise<Dirent<Name>[] | null> {
    let entries: Dirent<Name>[];
    try {
      entries = await readdir(dir, { withFileTypes: true, encoding: 'buffer' });
    } catch (error) {
      this.skipped.push({ display: this.display(dir), reason: `folder cannot be read: ${(error as Error).message}` });
      return null;
    }
    this.entries += entries.length;
    if (this.entries > this.maxEntries) {
      throw invalid(
        `${this.root} holds more than ${this.maxEntries.toLocaleString('en-US')} entries (files and folders): choose a smaller folder`,
      );
    }
    return entries.filter((e) => !isHidden(text(e.name))).sort(byBytes);
  }

  /** Resolves an entry of the real folder `parentReal`; symbolic links by the rules at the top of this file. */
  async resolve(entry: Dirent<Name>, path: Buffer, parentReal: string): Promise<Resolved> {
    if (entry.isDirectory()) return { kind: 'dir', real: parentReal + sep + text(entry.name) };
    if (entry.isFile()) return { kind: 'file' };
    if (!entry.isSymbolicLink()) return { kind: 'skip', reason: 'not a regular file' };
    let target: string;
    let isDir: boolean;
    try {
      target = await realpath(path, 'utf8');
      const st = await stat(path);
      if (!st.isDirectory() && !st.isFile()) return { kind: 'skip', reason: 'symbolic link to something that is not a regular file' };
      isDir = st.isDirectory();
    } catch {
      return { kind: 'skip', reason: 'broken symbolic link' };
    }
    const inside = within(target, this.rootReal);
    if (!inside && !this.options.followLinks) {
      return { kind: 'skip', reason: 'symbolic link pointing outside the imported folder: not followed (ask to follow links)' };
    }
    if (isDir && within(parentReal, target))
      return { kind: 'skip', reason: 'symbolic link to a folder that holds the link (a loop): not followed' };
    // a folder inside the imported one is walked where it really is, under its own class
    if (isDir && inside && !this.options.followLinks) {
      return { kind: 'skip', reason: 'symbolic link to a folder inside the imported folder: its images are imported where they are' };
    }
    return isDir ? { kind: 'dir', real: target } : { kind: 'file' };
  }

  async walk(dir: Buffer, real: string, classLabel: string, depth: number): Promise<void> {
    if (this.visited.has(real)) {
      this.skipped.push({ display: this.display(dir), reason: 'folder already imported through another path (symbolic link)' });
      return;
    }
    this.visited.add(real);
    const entries = await this.list(dir);
    if (!entries) return;
    for (const entry of entries) {
      const path = joinBytes(dir, entry.name);
      const what = await this.resolve(entry, path, real);
      if (what.kind === 'skip') this.skipped.push({ display: this.display(path), reason: what.reason });
      else if (what.kind === 'dir') {
        if (depth < MAX_DEPTH) await this.walk(path, what.real, classLabel, depth + 1);
        else this.skipped.push({ display: this.display(path), reason: 'folder nested too deeply' });
      } else this.addFile(path, entry.name, classLabel);
    }
  }

  addFile(path: Buffer, name: Name, classLabel: string): void {
    const ext = extname(text(name)).toLowerCase();
    if (!IMAGE_EXTENSIONS.has(ext)) {
      this.skipped.push({ display: this.display(path), reason: `not an image file (${ext || 'no extension'})` });
      return;
    }
    const asText = text(path);
    // a name that is not valid UTF-8 does not survive the round trip: read it by its bytes
    const item: FileItem = { path: asText, display: this.display(path), classLabel };
    if (!Buffer.from(asText).equals(path)) item.fsPath = path;
    this.files.push(item);
  }
}

export async function planFolder(root: string, options: WalkOptions = {}): Promise<{ files: FileItem[]; skipped: SkippedItem[] }> {
  const rootReal = await realpath(root);
  const walk = new FolderWalk(root, rootReal, options);
  const rootBytes = Buffer.from(root);
  const top = (await walk.list(rootBytes)) ?? [];
  let rootImages = 0;
  let rootCsvs = 0;
  for (const entry of top) {
    const path = joinBytes(rootBytes, entry.name);
    const name = text(entry.name);
    const what = await walk.resolve(entry, path, rootReal);
    if (what.kind === 'dir') {
      await walk.walk(path, what.real, name, 1);
    } else if (what.kind === 'skip') {
      walk.skipped.push({ display: name, reason: what.reason });
    } else {
      if (IMAGE_EXTENSIONS.has(extname(name).toLowerCase())) rootImages++;
      if (extname(name).toLowerCase() === '.csv') rootCsvs++;
      walk.skipped.push({
        display: name,
        reason: 'not in a class sub-folder (the class label is the name of the sub-folder a file is in)',
      });
    }
  }
  if (walk.files.length === 0) {
    const hint =
      rootImages > 0
        ? ` It has ${rootImages} image file(s) directly inside it; put them into one sub-folder per class.`
        : rootCsvs > 0
          ? ' To import a CSV of pairs, choose the CSV file itself.'
          : ' Expected one sub-folder per class holding jpg, png, webp, gif, tiff or bmp files.';
    throw invalid(`The folder ${root} contains no images to import.${hint}`);
  }
  return { files: walk.files, skipped: walk.skipped };
}
