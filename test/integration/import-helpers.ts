// Shared set-up for the import integration tests: a real SQLite file in a temp dir,
// the real job runner and services, and image files made with sharp.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import type { JobDto } from '../../src/shared/dto';
import { EventBus } from '../../src/main/events';
import type { ImportOptions } from '../../src/main/import/types';
import { DatasetService } from '../../src/main/services/datasets';
import { ImageService } from '../../src/main/services/images';
import { JobRunner } from '../../src/main/services/jobs';
import { openDatabase, type Db } from '../../src/main/store/db';
import { JobsRepo } from '../../src/main/store/jobs-repo';

export const DEMO_DIR = resolve(__dirname, '../../resources/demo/fashion-mnist');

export interface Harness {
  dir: string;
  db: Db;
  events: EventBus;
  jobs: JobRunner;
  datasets: DatasetService;
  images: ImageService;
  /** starts an import and waits for its job to end */
  importAndWait(args: Parameters<DatasetService['startImport']>[0]): Promise<JobDto>;
  close(): Promise<void>;
}

export function createHarness(options: ImportOptions = {}): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'simlens-import-'));
  const db = openDatabase(join(dir, 'test.db'));
  const events = new EventBus();
  const jobs = new JobRunner(new JobsRepo(db), events);
  const datasets = new DatasetService(db, jobs, options);
  const images = new ImageService(db);
  return {
    dir,
    db,
    events,
    jobs,
    datasets,
    images,
    importAndWait: async (args) => jobs.wait((await datasets.startImport(args)).id),
    close: async () => {
      await jobs.stopAll();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function write(path: string, data: Buffer | string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
  return path;
}

/** A solid colour image of the given format. */
export async function solid(
  format: 'png' | 'jpeg' | 'webp' | 'gif' | 'tiff',
  width: number,
  height: number,
  colour: string,
): Promise<Buffer> {
  const img = sharp({ create: { width, height, channels: 3, background: colour } });
  switch (format) {
    case 'png':
      return img.png().toBuffer();
    case 'jpeg':
      return img.jpeg({ quality: 95 }).toBuffer();
    case 'webp':
      return img.webp({ lossless: true }).toBuffer();
    case 'gif':
      return img.gif().toBuffer();
    case 'tiff':
      return img.tiff().toBuffer();
  }
}

/** Gaussian noise (so every call gives different content when the size differs). */
export async function noise(width: number, height: number, format: 'png' | 'jpeg' = 'jpeg'): Promise<Buffer> {
  const img = sharp({ create: { width, height, channels: 3, background: '#000000', noise: { type: 'gaussian', mean: 128, sigma: 40 } } });
  return format === 'png' ? img.png().toBuffer() : img.jpeg().toBuffer();
}

/** A PNG whose header claims width x height while holding 8x8 pixels: a decompression bomb. */
export async function bombPng(width: number, height: number): Promise<Buffer> {
  const png = Buffer.from(await solid('png', 8, 8, '#000000'));
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)) >>> 0, 29);
  return png;
}

/**
 * A 24-bit bottom-up BMP of width x height whose pixel (x, y) is rgb(x*20, y*20, seed).
 * `compression` other than 0 writes an (unsupported) compressed header.
 */
export function bmp(width = 3, height = 2, seed = 0, compression = 0): Buffer {
  const stride = Math.ceil((width * 24) / 32) * 4;
  const b = Buffer.alloc(54 + stride * height);
  b.write('BM');
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(width, 18);
  b.writeInt32LE(height, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(24, 28);
  b.writeUInt32LE(compression, 30);
  for (let y = 0; y < height; y++) {
    const row = 54 + (height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      b[row + x * 3] = seed; // B
      b[row + x * 3 + 1] = y * 20; // G
      b[row + x * 3 + 2] = x * 20; // R
    }
  }
  return b;
}

export function count(db: Db, sql: string, ...params: unknown[]): number {
  return (db.prepare(sql).get(...params) as { n: number }).n;
}
