// Hand-built workspaces for the mask tests: a real SQLite file with one folder dataset whose
// images have the sizes and file names masks care about (pixels are not looked at): class
// folders with the same file name in two of them, an odd size, a file name with spaces, and an
// idx record. Mask helpers: shapes as row-major 0/1 arrays and their compressed strings.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { SimLensApp } from '../../src/main/app';
import { DatasetsRepo } from '../../src/main/store/datasets-repo';
import { ImagesRepo } from '../../src/main/store/images-repo';
import { encodeMaskString } from '../../src/shared/mask-rle';

export const SOURCE = '/data/garments';

/** [name, source path (inside SOURCE unless absolute), class, height, width] */
export const MASK_IMAGES: [string, string, string | null, number, number][] = [
  ['shirt1', 'shirt/img_001.jpg', 'shirt', 28, 28],
  ['shirt2', 'shirt/img_002.jpg', 'shirt', 28, 28],
  ['dress1', 'dress/img_001.jpg', 'dress', 28, 28],
  ['wide', 'dress/wide one.png', 'dress', 12, 40],
  ['odd', 'bag/odd.webp', 'bag', 17, 9],
  ['idx', 'train-images-idx3-ubyte.gz#42', null, 28, 28],
];

export interface MaskWorkspace {
  app: SimLensApp;
  dir: string;
  dbPath: string;
  datasetId: number;
  /** image ids by name */
  image: Record<string, number>;
  /** [height, width] by name */
  size: Record<string, [number, number]>;
  close(): Promise<void>;
}

/** `reversed`: the images inserted in reverse order (another workspace, other ids for the same files). */
export function maskWorkspace(options: { reversed?: boolean } = {}): MaskWorkspace {
  const prefix = 'simlens-masks-';
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const dbPath = join(dir, 'simlens.db');
  const app = new SimLensApp({ dbPath, shell: 'cli' });
  const datasetId = new DatasetsRepo(app.db).create({ name: 'Garments', sourceKind: 'folder', sourcePath: SOURCE });
  const images = new ImagesRepo(app.db);
  const image: Record<string, number> = {};
  const size: Record<string, [number, number]> = {};
  for (const [name, path, cls, h, w] of options.reversed ? [...MASK_IMAGES].reverse() : MASK_IMAGES) {
    const out = images.insertUnlessDuplicate({
      datasetId,
      sha256: createHash('sha256').update(`mask-image:${name}`).digest('hex'),
      sourcePath: `${SOURCE}/${path}`,
      classLabel: cls,
      officialSplit: null,
      width: w,
      height: h,
      channels: 1,
      pixelEncoding: 'raw',
      pixels: Buffer.alloc(h * w),
      thumbnail: null,
    });
    if (!out.inserted) throw new Error('duplicate image');
    image[name] = out.id;
    size[name] = [h, w];
  }
  let closed = false;
  return {
    app,
    dir,
    dbPath,
    datasetId,
    image,
    size,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A row-major h x w mask of a rectangle [x0, x1) x [y0, y1). */
export function rect(h: number, w: number, x0: number, y0: number, x1: number, y1: number): Uint8Array {
  const m = new Uint8Array(h * w);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * w + x] = 1;
  return m;
}

/** A row-major h x w mask of a disc. */
export function disc(h: number, w: number, cx: number, cy: number, r: number): Uint8Array {
  const m = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) m[y * w + x] = 1;
  return m;
}

export const rle = (mask: Uint8Array, [h, w]: [number, number]) => encodeMaskString(mask, h, w);
