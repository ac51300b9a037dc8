// The MNIST idx format (http://yann.lecun.com/exdb/mnist/): a big-endian header
// (0x00 0x00 <dtype> <ndim>, then ndim uint32 sizes) followed by the data, often
// gzipped. SimLens reads ubyte (0x08) files: images [n, rows, cols] and labels [n].
import { createReadStream, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import zlib from 'node:zlib';

const UBYTE = 0x08;

export interface IdxHeader {
  dims: number[];
  headerBytes: number;
  /** bytes of data after the header: product(dims) */
  dataBytes: number;
}

export interface IdxArray extends IdxHeader {
  /** the data after the header (uint8) */
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

/** The largest idx data SimLens reads (2 GiB): a header may claim anything, memory may not. */
export const MAX_IDX_DATA_BYTES = 2 ** 31;

/**
 * Bytes of compressed input the header check inflates (the idx header is at most 20 bytes, the
 * gzip header before it rarely more than a file name). Deflate expands at most ~1032:1, so this
 * inflates to at most ~1 MiB, within HEAD_INFLATED_LIMIT: a legit file is never cut short.
 */
const HEAD_COMPRESSED_BYTES = 1024;
const HEAD_INFLATED_LIMIT = 2 * 1024 * 1024;

const corrupt = (name: string, error: unknown) =>
  new IdxFormatError(`${name}: corrupt gzip data (${error instanceof Error ? error.message : String(error)})`);

/**
 * The file's bytes (inflated when gzipped) as a stream of chunks. Inflating runs on libuv's
 * threads (zlib's asynchronous API), never on the caller's, and stops when the caller stops
 * reading (`destroy`).
 */
function openIdxStream(path: string, gzipped: boolean, name: string): { chunks: AsyncIterable<Buffer>; destroy: () => void } {
  const file = createReadStream(path);
  if (!gzipped) return { chunks: file, destroy: () => file.destroy() };
  const gunzipStream = zlib.createGunzip();
  file.on('error', (error) => gunzipStream.destroy(error));
  file.pipe(gunzipStream);
  const chunks = (async function* () {
    try {
      for await (const chunk of gunzipStream) yield chunk as Buffer;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code?.startsWith('Z_')) throw corrupt(name, error);
      throw error;
    }
  })();
  return {
    chunks,
    destroy: () => {
      file.destroy();
      gunzipStream.destroy();
    },
  };
}

async function isGzipFile(path: string): Promise<boolean> {
  const fd = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await fd.read(head, 0, 2, 0);
    return bytesRead === 2 && isGzip(head);
  } finally {
    await fd.close();
  }
}

const sizeMismatch = (name: string, holds: number, header: IdxHeader) =>
  new IdxFormatError(
    `${name}: holds ${holds} bytes but its header (${header.dims.join('x')}) needs ${header.headerBytes + header.dataBytes}`,
  );

/**
 * Reads and checks only the header of an idx file (gzipped or not) plus its total size,
 * cheaply and without blocking: at most a few KiB are inflated, and for gzip the size comes
 * from the trailer (ISIZE). Throws IdxFormatError when they disagree.
 */
export async function inspectIdx(path: string): Promise<IdxHeader> {
  const name = basename(path);
  const fd = await open(path, 'r');
  try {
    const size = (await fd.stat()).size;
    const head = Buffer.alloc(Math.min(size, 64 * 1024));
    await fd.read(head, 0, head.length, 0);
    if (!isGzip(head)) {
      const header = checkedHeader(head, name);
      if (size !== header.headerBytes + header.dataBytes) throw sizeMismatch(name, size, header);
      return header;
    }
    const inflated = await new Promise<Buffer>((resolveHead, rejectHead) =>
      zlib.gunzip(
        head.subarray(0, HEAD_COMPRESSED_BYTES),
        { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: HEAD_INFLATED_LIMIT },
        (error, out) => (error ? rejectHead(corrupt(name, error)) : resolveHead(out)),
      ),
    );
    const header = checkedHeader(inflated, name);
    const trailer = Buffer.alloc(4);
    await fd.read(trailer, 0, 4, size - 4);
    const total = trailer.readUInt32LE(0); // uncompressed size mod 2^32
    if (total !== (header.headerBytes + header.dataBytes) % 2 ** 32) throw sizeMismatch(name, total, header);
    return header;
  } finally {
    await fd.close();
  }
}

/** The header, refused when its data would be larger than SimLens reads. */
function checkedHeader(bytes: Uint8Array, name: string): IdxHeader {
  const header = parseIdxHeader(bytes, name);
  if (header.dataBytes > MAX_IDX_DATA_BYTES) {
    throw new IdxFormatError(
      `${name}: its header (${header.dims.join('x')}) declares ${header.dataBytes} bytes, more than the ${MAX_IDX_DATA_BYTES} SimLens reads`,
    );
  }
  return header;
}

export interface ReadIdxOptions {
  /** Checks the header before the data is read (e.g. a labels file's count); throw to stop. */
  checkHeader?: (header: IdxHeader) => void;
}

/**
 * Reads a whole idx file, gzipped or not, as a stream: the header comes first and fixes how
 * many bytes may follow, so a file that inflates to more than its header says is refused as
 * soon as it passes that size (a 1 MB gzip that inflates to 1 GiB is stopped at the header's
 * few bytes). Inflating runs on libuv's threads. Throws IdxFormatError naming the file.
 */
export async function readIdx(path: string, options: ReadIdxOptions = {}): Promise<IdxArray> {
  const name = basename(path);
  const stream = openIdxStream(path, await isGzipFile(path), name);
  let header: IdxHeader | null = null;
  let head = Buffer.alloc(0);
  let data: Buffer | null = null;
  let filled = 0;
  try {
    for await (const chunk of stream.chunks) {
      let rest = chunk;
      if (!header) {
        head = Buffer.concat([head, chunk]);
        if (head.length < 4 || head.length < 4 + 4 * head[3]) continue;
        header = checkedHeader(head, name);
        options.checkHeader?.(header);
        data = Buffer.allocUnsafe(header.dataBytes);
        rest = head.subarray(header.headerBytes);
      }
      if (filled + rest.length > header.dataBytes) {
        const limit = header.headerBytes + header.dataBytes;
        throw new IdxFormatError(`${name}: holds more than the ${limit} bytes its header (${header.dims.join('x')}) needs`);
      }
      rest.copy(data!, filled);
      filled += rest.length;
    }
  } finally {
    stream.destroy();
  }
  if (!header) {
    if (head.length >= 4) checkedHeader(head, name); // names what is wrong with the start
    throw new IdxFormatError(`${name}: too short to be an idx file`);
  }
  if (filled !== header.dataBytes) throw sizeMismatch(name, header.headerBytes + filled, header);
  return { ...header, data: data! };
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
