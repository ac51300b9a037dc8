// A minimal POSIX tar (ustar) writer and reader for workspace backups: regular files only,
// names up to 255 bytes, written and read as streams so a backup of large model folders never
// sits in memory. (Node has no tar module, and a backup needs nothing more.)
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';

const BLOCK = 512;

function header(name: string, size: number, mtime: Date): Buffer {
  const h = Buffer.alloc(BLOCK);
  const bytes = Buffer.from(name);
  if (bytes.length > 255) throw new Error(`tar: name too long: ${name}`);
  let prefix = Buffer.alloc(0);
  let base = bytes;
  if (bytes.length > 100) {
    const cut = name.lastIndexOf('/', 155);
    if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100) throw new Error(`tar: cannot split name ${name}`);
    prefix = Buffer.from(name.slice(0, cut));
    base = Buffer.from(name.slice(cut + 1));
  }
  base.copy(h, 0);
  h.write('0000644\0', 100, 'ascii'); // mode
  h.write('0000000\0', 108, 'ascii'); // uid
  h.write('0000000\0', 116, 'ascii'); // gid
  h.write(size.toString(8).padStart(11, '0') + '\0', 124, 'ascii');
  h.write(
    Math.floor(mtime.getTime() / 1000)
      .toString(8)
      .padStart(11, '0') + '\0',
    136,
    'ascii',
  );
  h.write('        ', 148, 'ascii'); // checksum placeholder
  h.write('0', 156, 'ascii'); // regular file
  h.write('ustar\x0000', 257, 'binary');
  prefix.copy(h, 345);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return h;
}

function write(out: WriteStream, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (out.write(chunk)) return resolve();
    // wait for the buffer to drain; both listeners go once either fires
    const onError = (error: Error) => {
      out.off('drain', onDrain);
      reject(error);
    };
    const onDrain = () => {
      out.off('error', onError);
      resolve();
    };
    out.once('drain', onDrain);
    out.once('error', onError);
  });
}

/** Writes a tar file entry by entry; `finish()` writes the end marker and closes it. */
export class TarWriter {
  private readonly out: WriteStream;
  private readonly closed: Promise<void>;

  constructor(path: string) {
    this.out = createWriteStream(path, { flags: 'wx' });
    this.closed = new Promise((resolve, reject) => {
      this.out.on('close', resolve);
      this.out.on('error', reject);
    });
  }

  /** Adds the file at `source` as `name`; `onChunk` sees its bytes (e.g. to hash them). */
  async addFile(name: string, source: string, onChunk?: (chunk: Buffer) => void): Promise<number> {
    const handle = await open(source, 'r');
    const { size, mtime } = await handle.stat();
    await handle.close();
    await write(this.out, header(name, size, mtime));
    let written = 0;
    for await (const chunk of createReadStream(source, { end: Math.max(0, size - 1) })) {
      const bytes = (chunk as Buffer).subarray(0, Math.max(0, size - written));
      written += bytes.length;
      onChunk?.(bytes);
      await write(this.out, bytes);
      if (written >= size) break;
    }
    if (written !== size) throw new Error(`tar: ${source} changed while it was being packed`);
    if (size % BLOCK) await write(this.out, Buffer.alloc(BLOCK - (size % BLOCK)));
    return size;
  }

  async addBuffer(name: string, data: Buffer): Promise<void> {
    await write(this.out, header(name, data.length, new Date()));
    await write(this.out, data);
    if (data.length % BLOCK) await write(this.out, Buffer.alloc(BLOCK - (data.length % BLOCK)));
  }

  async finish(): Promise<void> {
    await write(this.out, Buffer.alloc(2 * BLOCK));
    this.out.end();
    await this.closed;
  }
}

export interface TarEntry {
  name: string;
  size: number;
}

/**
 * Reads a tar file entry by entry: `onEntry` gets each regular file's name and size and returns
 * where its bytes go (a function per chunk, then `end`), or null to skip it.
 */
export async function readTar(
  path: string,
  onEntry: (entry: TarEntry) => Promise<{ chunk: (bytes: Buffer) => Promise<void>; end: () => Promise<void> } | null>,
): Promise<number> {
  const handle = await open(path, 'r');
  try {
    let offset = 0;
    let entries = 0;
    const block = Buffer.alloc(BLOCK);
    for (;;) {
      const { bytesRead } = await handle.read(block, 0, BLOCK, offset);
      if (bytesRead < BLOCK) throw new Error(`${path} ends in the middle of a tar header (not a complete backup)`);
      offset += BLOCK;
      if (block.every((b) => b === 0)) return entries;
      let sum = 0;
      for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i];
      if (parseInt(block.toString('ascii', 148, 156).replace(/\0.*$/, '').trim(), 8) !== sum)
        throw new Error(`${path}: a tar header's checksum is wrong at byte ${offset - BLOCK} (the file is damaged)`);
      const cstr = (from: number, to: number) => {
        const raw = block.subarray(from, to);
        const end = raw.indexOf(0);
        return raw.subarray(0, end < 0 ? raw.length : end).toString('utf8');
      };
      const prefix = cstr(345, 500);
      const name = (prefix ? `${prefix}/` : '') + cstr(0, 100);
      const size = parseInt(cstr(124, 136).trim() || '0', 8);
      const type = String.fromCharCode(block[156] || 0x30);
      const sink = type === '0' ? await onEntry({ name, size }) : null;
      let left = size;
      const chunk = Buffer.alloc(64 * 1024);
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        const { bytesRead: got } = await handle.read(chunk, 0, n, offset);
        if (got < n) throw new Error(`${path} ends in the middle of ${name} (not a complete backup)`);
        if (sink) await sink.chunk(Buffer.from(chunk.subarray(0, n)));
        offset += n;
        left -= n;
      }
      if (sink) await sink.end();
      if (size % BLOCK) offset += BLOCK - (size % BLOCK);
      entries++;
    }
  } finally {
    await handle.close();
  }
}
