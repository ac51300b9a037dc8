// The MNIST idx format (http://yann.lecun.com/exdb/mnist/): a big-endian header
// (0x00 0x00 <dtype> <ndim>, then ndim uint32 sizes) followed by the data, often
// gzipped. SimLens reads ubyte (0x08) files: images [n, rows, cols] and labels [n].
import { closeSync, openSync, readSync, fstatSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const gunzip = promisify(zlib.gunzip);
const UBYTE = 0x08;

export interface IdxHeader {
  dims: number[];
  headerBytes: number;
  /** bytes of data after the header: product(dims) */
  dataBytes: number;
}

export interface IdxArray extends IdxHeader {
  /** the data after the header (uint8), a view into the decompressed file */
  data: Buffer;
}

/** A malformed idx file; the message names the file and what is wrong. */
export class IdxFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdxFormatError';
  }
}

const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

export function parseIdxHeader(bytes: Uint8Array, name: string): IdxHeader {
  if (bytes.length < 4) throw new IdxFormatError(`${name}: too short to be an idx file`);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new IdxFormatError(`${name}: bad magic number (not an idx file)`);
  if (bytes[2] !== UBYTE)
    throw new IdxFormatError(`${name}: data type 0x${bytes[2].toString(16)} is not supported (only unsigned bytes, 0x08)`);
  const ndim = bytes[3];
  if (ndim < 1 || ndim > 4) throw new IdxFormatError(`${name}: bad magic number (${ndim} dimensions)`);
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) throw new IdxFormatError(`${name}: header is truncated`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i, false));
  const dataBytes = dims.reduce((a, b) => a * b, 1);
  return { dims, headerBytes, dataBytes };
}

/**
 * Reads and checks only the header of an idx file (gzipped or not) plus its total
 * size, synchronously and cheaply: the first bytes are inflated, and for gzip the
 * size comes from the trailer (ISIZE). Throws IdxFormatError when they disagree.
 */
export function inspectIdx(path: string): IdxHeader {
  const name = basename(path);
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(size, 64 * 1024));
    readSync(fd, head, 0, head.length, 0);
    let header: IdxHeader;
    let total: number;
    if (isGzip(head)) {
      let inflated: Buffer;
      try {
        inflated = zlib.gunzipSync(head, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
      } catch (error) {
        throw new IdxFormatError(`${name}: corrupt gzip data (${(error as Error).message})`);
      }
      header = parseIdxHeader(inflated, name);
      const trailer = Buffer.alloc(4);
      readSync(fd, trailer, 0, 4, size - 4);
      total = trailer.readUInt32LE(0); // uncompressed size mod 2^32
      const expected = (header.headerBytes + header.dataBytes) % 2 ** 32;
      if (total !== expected) {
        throw new IdxFormatError(
          `${name}: holds ${total} bytes but its header (${header.dims.join('x')}) needs ${header.headerBytes + header.dataBytes}`,
        );
      }
    } else {
      header = parseIdxHeader(head, name);
      total = size;
      if (total !== header.headerBytes + header.dataBytes) {
        throw new IdxFormatError(
          `${name}: holds ${total} bytes but its header (${header.dims.join('x')}) needs ${header.headerBytes + header.dataBytes}`,
        );
      }
    }
    return header;
  } finally {
    closeSync(fd);
  }
}

/** Reads a whole idx file (gunzipping off the main thread) and checks its size. */
export async function readIdx(path: string, bytes?: Buffer): Promise<IdxArray> {
  const name = basename(path);
  const file = bytes ?? readFileSync(path);
  let raw: Buffer;
  try {
    raw = isGzip(file) ? await gunzip(file) : file;
  } catch (error) {
    throw new IdxFormatError(`${name}: corrupt gzip data (${(error as Error).message})`);
  }
  const header = parseIdxHeader(raw, name);
  if (raw.length !== header.headerBytes + header.dataBytes) {
    throw new IdxFormatError(
      `${name}: holds ${raw.length} bytes but its header (${header.dims.join('x')}) needs ${header.headerBytes + header.dataBytes}`,
    );
  }
  return { ...header, data: raw.subarray(header.headerBytes) };
}

/** Encodes an idx ubyte file; gzipped when `gzip` is set (deterministic output). */
export function encodeIdx(dims: number[], data: Uint8Array, gzip = true): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = UBYTE;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  const expected = dims.reduce((a, b) => a * b, 1);
  if (data.length !== expected) throw new Error(`encodeIdx: ${data.length} bytes for dims ${dims.join('x')}`);
  const raw = Buffer.concat([header, data]);
  return gzip ? zlib.gzipSync(raw, { level: 9 }) : raw;
}

export function writeIdx(path: string, dims: number[], data: Uint8Array): void {
  writeFileSync(path, encodeIdx(dims, data, path.endsWith('.gz')));
}
