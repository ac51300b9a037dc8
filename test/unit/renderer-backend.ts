// The real backend of the renderer store tests: a SimLensApp on a temp workspace behind the real
// browser-mode server (src/main/web/server.ts), which the stores reach through the renderer's own
// HTTP transport. The renderer tests load this module at run time (a dynamic import), so their
// type check stays the renderer's (tsconfig.web.json: no Node types); this file is checked with
// the main side (tsconfig.node.json). What it returns is plain data, for the tests' expectations.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { SimLensApp } from '../../src/main/app';
import { encodeIdx } from '../../src/main/images/idx';
import { startWebServer } from '../../src/main/web/server';

export interface RendererBackend {
  /** http://127.0.0.1:<port> */
  origin: string;
  token: string;
  /** Rows of a read-only SQL query on the workspace (the expectations' ground truth). */
  all(sql: string, ...params: unknown[]): unknown[];
  /** A folder of 6 small PNGs in 2 class folders and one file that is not an image. */
  shapesFolder(): Promise<string>;
  /** A folder of MNIST-format idx files holding `n` random 28x28 images in 10 classes. */
  idxFolder(n: number): string;
  close(): Promise<void>;
}

export interface SeedOptions {
  /** Pair ids of pair set 7 of dataset 1 (split: train/val/test by id % 3, label: id % 2). */
  pairIds: number[];
  /** Images of dataset 1 the pairs use (raw 8x8 grey, class c<i % 3>). */
  images?: number;
}

const SPLITS = ['train', 'val', 'test'] as const;

export async function startRendererBackend(seed: SeedOptions): Promise<RendererBackend> {
  const dir = mkdtempSync(join(tmpdir(), 'simlens-renderer-'));
  const app = new SimLensApp({ dbPath: join(dir, 'ws', 'simlens.db'), shell: 'browser' });
  const db = app.db;
  const nImages = seed.images ?? 60;
  db.transaction(() => {
    db.prepare("INSERT INTO datasets (id, name, source_kind, source_path) VALUES (1, 'toy', 'folder', '/toy')").run();
    const image = db.prepare(
      "INSERT INTO images (id, dataset_id, sha256, source_path, class_label, width, height, channels, pixel_encoding, pixels) VALUES (?, 1, ?, ?, ?, 8, 8, 1, 'raw', ?)",
    );
    for (let i = 1; i <= nImages; i++)
      image.run(
        i,
        `sha-${i}`,
        `/toy/c${i % 3}/${i}.png`,
        `c${i % 3}`,
        Buffer.from(Array.from({ length: 64 }, (_, p) => (i * 7 + p * 3) % 256)),
      );
    db.prepare(
      "INSERT INTO pair_sets (id, dataset_id, source, seed, ratios, pairs_per_anchor) VALUES (7, 1, 'generated', 1, '[80,10,10]', 1)",
    ).run();
    const pair = db.prepare('INSERT INTO pairs (id, pair_set_id, image_a, image_b, label, split) VALUES (?, 7, ?, ?, ?, ?)');
    for (const id of seed.pairIds) pair.run(id, 1 + ((2 * id) % nImages), 1 + ((2 * id + 1) % nImages), id % 2, SPLITS[id % 3]);
  })();
  const server = await startWebServer(app, { host: '127.0.0.1', rendererDir: join(dir, 'renderer') });
  return {
    origin: `http://127.0.0.1:${server.port}`,
    token: server.token,
    all: (sql, ...params) => db.prepare(sql).all(...params),
    async shapesFolder() {
      const folder = join(dir, `shapes-${Date.now()}`);
      for (const [cls, shades] of Object.entries({ circles: [20, 60, 100], squares: [140, 180, 220] })) {
        mkdirSync(join(folder, cls), { recursive: true });
        for (const [i, shade] of shades.entries())
          writeFileSync(
            join(folder, cls, `${cls}-${i}.png`),
            await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: shade, g: 255 - shade, b: (shade * 7) % 256 } } })
              .png()
              .toBuffer(),
          );
      }
      writeFileSync(join(folder, 'squares', 'corrupt.png'), 'this is not an image at all, just text pretending');
      return folder;
    },
    idxFolder(n) {
      const folder = join(dir, `idx-${n}`);
      mkdirSync(folder, { recursive: true });
      let s = 12345;
      const pixels = Uint8Array.from({ length: n * 784 }, () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24);
      writeFileSync(join(folder, 'train-images-idx3-ubyte.gz'), encodeIdx([n, 28, 28], pixels));
      writeFileSync(
        join(folder, 'train-labels-idx1-ubyte.gz'),
        encodeIdx(
          [n],
          Uint8Array.from({ length: n }, (_, i) => i % 10),
        ),
      );
      return folder;
    },
    async close() {
      await server.close();
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
