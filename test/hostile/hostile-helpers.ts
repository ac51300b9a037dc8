// Shared helpers of the hostile suite: hostile files made on the fly (a 1-bit BMP of any
// size, a gzip that inflates far beyond its size) and the import harness of the integration
// tests, re-exported so each hostile case reads as one short block.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { encodeIdx } from '../../src/main/images/idx';

export { bmp, count, createHarness, solid, noise, write, type Harness } from '../integration/import-helpers';

/** This thread's time on a CPU so far (ns): Linux's /proc/thread-self/schedstat; null where it does not exist. */
function threadCpuNs(): number | null {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
  } catch {
    return null;
  }
}

export interface Blocking<T> {
  value: T;
  /**
   * The longest this thread ran without letting a 10 ms interval tick (ms): its CPU time between
   * two ticks (and from the last tick to the end of the work). CPU time, not wall time: while
   * other processes load the machine this thread waits for a core, which stretches the wall
   * time between ticks but is not the code under test blocking anything. Wall time where the
   * system gives no per-thread CPU time (not Linux).
   */
  maxBlockMs: number;
  /** for the log: the largest wall-clock gap between ticks (ms) */
  maxGapMs: number;
  ticks: number;
}

/** Runs `work` while a 10 ms interval ticks on this thread and measures how long the thread was held at most. */
export async function measureBlocking<T>(work: () => Promise<T>): Promise<Blocking<T>> {
  const clock = threadCpuNs() === null ? () => performance.now() : () => threadCpuNs()! / 1e6;
  let lastWall = performance.now();
  let lastCpu = clock();
  let maxGapMs = 0;
  let maxBlockMs = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const wall = performance.now();
    const cpu = clock();
    maxGapMs = Math.max(maxGapMs, wall - lastWall);
    maxBlockMs = Math.max(maxBlockMs, cpu - lastCpu);
    lastWall = wall;
    lastCpu = cpu;
    ticks++;
  }, 10);
  try {
    const value = await work();
    return {
      value,
      maxBlockMs: Math.max(maxBlockMs, clock() - lastCpu),
      maxGapMs: Math.max(maxGapMs, performance.now() - lastWall),
      ticks,
    };
  } finally {
    clearInterval(timer);
  }
}

/** For the log: how long the thread was held at most (CPU and wall). */
export function logBlocking(what: string, b: Blocking<unknown>): void {
  console.log(
    `${what}: UI thread held at most ${b.maxBlockMs.toFixed(1)} ms of CPU time (largest wall gap ${b.maxGapMs.toFixed(0)} ms, ${b.ticks} ticks)`,
  );
}

/**
 * How long (CPU time, see measureBlocking) the thread serving the UI may be held in one go.
 * The issue asks for ~50 ms; twice that leaves room for a garbage collection pause and for a
 * core shared with other work running slower. Before the fixes these cases held it for seconds.
 */
export const UI_BLOCK_BOUND_MS = 100;

/** A 1-bit (2-colour palette) bottom-up BMP of width x height: tiny on disk per pixel, huge decoded. */
export function oneBitBmp(width: number, height: number): Buffer {
  const stride = Math.ceil(width / 32) * 4;
  const offset = 14 + 40 + 8;
  const b = Buffer.alloc(offset + stride * height);
  b.write('BM');
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(offset, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(width, 18);
  b.writeInt32LE(height, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(1, 28); // 1 bit per pixel
  b.writeUInt32LE(0, 30);
  b.writeUInt32LE(2, 46); // 2 palette colours
  b.writeUInt32LE(0x00000000, 54); // black
  b.writeUInt32LE(0x00ffffff, 58); // white
  for (let y = 0; y < height; y += 2) b.fill(0xaa, offset + y * stride, offset + (y + 1) * stride); // stripes
  return b;
}

/**
 * A gzip file whose first member is `head` and which then inflates to `extraMiB` MiB of
 * zeros: 1 MiB of zeros deflates to about 1 KiB, and gzip members may be concatenated, so
 * the file stays small (about extraMiB KiB) however much it inflates to.
 */
export function gzipBomb(head: Buffer, extraMiB: number): Buffer {
  const zeros = gzipSync(Buffer.alloc(1024 * 1024), { level: 9 });
  return Buffer.concat([gzipSync(head), ...Array.from({ length: extraMiB }, () => zeros)]);
}

/** An idx labels file (header + labels), not gzipped. */
export const idxLabels = (labels: number[]) => encodeIdx([labels.length], Uint8Array.from(labels), false);
