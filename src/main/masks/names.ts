// How mask files name images, and how imports find the image a file names. An image is known by
// its original file (images.source_path): exports write PNGs as <imageId>_<stem>.png and COCO
// file_name as the file's path inside the dataset's source folder; imports match a PNG by a
// leading "<imageId>_" or by the stem, a COCO image by its file_name. An idx image
// (".../train-images-idx3-ubyte.gz#123") is named after its file and record: stem
// "train-images-idx3-ubyte-123".
import { basename, dirname, extname, isAbsolute, relative, sep } from 'node:path';
import type { ImportSourceKind } from '../../shared/dto';
import type { MaskImage } from '../store/masks-repo';

const IDX_MEMBER = /^(.*)#(\d+)$/;
// characters no file name may hold on Windows, macOS or Linux, and control characters
const UNSAFE = /[\\/:*?"<>|\u0000-\u001f\u007f]/g;

/** The image's own file name: the source path's last part (an idx record: "<file>#<index>"). */
export function sourceBaseName(sourcePath: string): string {
  return basename(sourcePath);
}

/** The stem of the image's file, safe in a file name: the base name without its extension (an idx record: "<file stem>-<index>"). */
export function fileStem(sourcePath: string): string {
  const base = sourceBaseName(sourcePath);
  const idx = IDX_MEMBER.exec(base);
  const stem = idx
    ? `${idx[1].slice(0, idx[1].length - extname(idx[1]).length)}-${idx[2]}`
    : base.slice(0, base.length - extname(base).length);
  return (stem || base).replace(UNSAFE, '_');
}

/** The PNG file name of an image's mask: <imageId>_<stem>.png. */
export function maskPngName(image: { id: number; source_path: string }): string {
  return `${image.id}_${fileStem(image.source_path)}.png`;
}

/**
 * The file name COCO exports write for an image: its path inside the dataset's source folder
 * (a folder import's class folder and file, an idx record), POSIX separators; the base name
 * when it lies elsewhere.
 */
export function cocoFileName(sourcePath: string, dataset: { sourceKind: ImportSourceKind; sourcePath: string }): string {
  const root = dataset.sourceKind === 'csv' ? dirname(dataset.sourcePath) : dataset.sourcePath;
  const rel = relative(root, sourcePath);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return sourceBaseName(sourcePath);
  return rel.split(sep).join('/');
}

export type Match = { image: MaskImage; by: 'id' | 'stem' | 'file_name' } | { reason: string };

/** What a dataset's images are found by. */
export class ImageIndex {
  private readonly byId = new Map<number, MaskImage>();
  private readonly byStem = new Map<string, MaskImage[]>();
  private readonly byStemLower = new Map<string, MaskImage[]>();
  private readonly byFileName = new Map<string, MaskImage[]>();
  private readonly byBaseName = new Map<string, MaskImage[]>();

  constructor(
    images: readonly MaskImage[],
    private readonly dataset: { id: number; sourceKind: ImportSourceKind; sourcePath: string },
  ) {
    const add = (map: Map<string, MaskImage[]>, key: string, image: MaskImage) => map.set(key, [...(map.get(key) ?? []), image]);
    for (const image of images) {
      this.byId.set(image.id, image);
      const stem = fileStem(image.source_path);
      add(this.byStem, stem, image);
      add(this.byStemLower, stem.toLowerCase(), image);
      add(this.byFileName, cocoFileName(image.source_path, dataset), image);
      add(this.byBaseName, sourceBaseName(image.source_path), image);
    }
  }

  get size(): number {
    return this.byId.size;
  }

  /** The one image with this stem (exact, else ignoring case), or why none. */
  private stem(stem: string): { image: MaskImage } | { reason: string } | null {
    const found = this.byStem.get(stem) ?? this.byStemLower.get(stem.toLowerCase()) ?? [];
    if (found.length === 1) return { image: found[0] };
    if (found.length > 1) {
      const ids = found.slice(0, 5).map((i) => i.id);
      return {
        reason: `"${stem}" is the file stem of ${found.length} images (ids ${ids.join(', ')}${found.length > 5 ? ', ...' : ''}): name the file <imageId>_${stem}.png`,
      };
    }
    return null;
  }

  /**
   * The image a mask PNG names: "<id>_<stem>.png" (id and stem agree; else the image with that
   * stem; else, when no image has it, the id), "<stem>.png" or "<id>.png". A stem of several
   * images matches none of them.
   */
  matchPng(fileName: string): Match {
    const name = fileName.replace(/\.png$/i, '');
    const prefixed = /^(\d+)_(.+)$/.exec(name);
    const idOnly = /^(\d+)$/.exec(name);
    const byId = prefixed || idOnly ? this.byId.get(Number((prefixed ?? idOnly)![1])) : undefined;
    if (prefixed && byId && fileStem(byId.source_path) === prefixed[2]) return { image: byId, by: 'id' };
    let ambiguous: string | null = null;
    for (const stem of prefixed ? [prefixed[2], name] : [name]) {
      const found = this.stem(stem);
      if (found && 'image' in found) return { image: found.image, by: 'stem' };
      if (found) ambiguous ??= found.reason;
    }
    // a stem several images have names one of them, not (necessarily) the image with that id
    if (ambiguous) return { reason: byId ? `${ambiguous}; image ${byId.id} is "${fileStem(byId.source_path)}"` : ambiguous };
    // the stem names no image (renamed?): the id decides
    if (byId) return { image: byId, by: 'id' };
    const id = prefixed ?? idOnly;
    return {
      reason:
        id !== null
          ? `no image of dataset ${this.dataset.id} has id ${id[1]} or the file stem "${prefixed ? prefixed[2] : name}"`
          : `no image of dataset ${this.dataset.id} has the file stem "${name}" (or name the file <imageId>_<stem>.png)`,
    };
  }

  /** The image a COCO file_name names: its path in the dataset (as exports write it), else its base name when only one image has it. */
  matchFileName(fileName: string): Match {
    const exact = this.byFileName.get(fileName.replace(/\\/g, '/')) ?? [];
    if (exact.length === 1) return { image: exact[0], by: 'file_name' };
    const base = fileName.replace(/\\/g, '/').split('/').pop() ?? fileName;
    const found = exact.length > 1 ? exact : (this.byBaseName.get(base) ?? []);
    if (found.length === 1) return { image: found[0], by: 'file_name' };
    if (found.length > 1)
      return {
        reason: `file_name "${fileName}" names ${found.length} images of dataset ${this.dataset.id} (ids ${found
          .slice(0, 5)
          .map((i) => i.id)
          .join(', ')}${found.length > 5 ? ', ...' : ''}): give the path inside the dataset's folder`,
      };
    return { reason: `no image of dataset ${this.dataset.id} has the file name "${fileName}"` };
  }
}
