// ONNX Runtime sessions of cached ONNX files (accelerator.ts), shared within a thread and kept
// open for a while after their last user: an evaluation loads its version afresh in every worker
// and releases it at the end, and a new session's first runs are several times slower than later
// ones (memory arenas; measured in `npm run bench -- ort`: 287 and 268 ms against 50 ms for the
// same 256 images). So the next evaluation or explanation of the same version starts warm. At most
// MAX_IDLE sessions nobody uses stay open per thread, the least recently used closed first.
import { statSync } from 'node:fs';
import { inferenceInfo, ortThreads } from '../runtime/inference';
import { OnnxModelSession } from './session';

const MAX_IDLE = 2;

interface Entry {
  session: Promise<OnnxModelSession>;
  /** its intra-op threads */
  threads: number;
  users: number;
  lastUsed: number;
}

const entries = new Map<string, Entry>();

/**
 * A file's identity: a replaced file (a new export after a version folder was replaced) is another
 * key. So are other session options (intra-op threads, providers: read by OnnxModelSession.create
 * when the session is made), else a session made for 2 threads would serve a 1-thread caller.
 */
function keyOf(file: string, threads: number): string {
  const s = statSync(file);
  const providers = inferenceInfo()?.providers ?? ['cpu'];
  return `${file}|${s.ino}|${s.mtimeMs}|${s.size}|threads=${threads}|${providers.join(',')}`;
}

export interface SessionHandle {
  session: OnnxModelSession;
  /** This user is done; the session may stay open for the next (see MAX_IDLE). */
  close(): void;
}

function handle(key: string, entry: Entry, session: OnnxModelSession): SessionHandle {
  let closed = false;
  return {
    session,
    close: () => {
      if (closed) return;
      closed = true;
      entry.users--;
      entry.lastUsed = performance.now();
      evictIdle();
    },
  };
}

/** Opens the session of `file` with `threads` intra-op threads (or shares the one open). */
export async function openSession(file: string, threads = ortThreads()): Promise<SessionHandle> {
  const key = keyOf(file, threads);
  let entry = entries.get(key);
  if (!entry) {
    entry = { session: OnnxModelSession.create(file, { intraOpThreads: threads }), threads, users: 0, lastUsed: performance.now() };
    entries.set(key, entry);
    entry.session.catch(() => entries.delete(key));
  }
  entry.users++;
  try {
    return handle(key, entry, await entry.session);
  } catch (error) {
    entry.users--;
    throw error;
  }
}

/** Shares `session` (`threads` intra-op threads), created from `file`'s bytes before they were written, as that file's session. */
export function adoptSession(file: string, session: OnnxModelSession, threads = ortThreads()): SessionHandle {
  const key = keyOf(file, threads);
  const entry: Entry = { session: Promise.resolve(session), threads, users: 1, lastUsed: performance.now() };
  const previous = entries.get(key);
  if (previous && previous.users === 0) void previous.session.then((s) => s.release()).catch(() => undefined);
  if (!previous || previous.users === 0) entries.set(key, entry);
  return handle(key, entry, session);
}

function evictIdle(): void {
  const idle = [...entries].filter(([, e]) => e.users === 0).sort(([, a], [, b]) => a.lastUsed - b.lastUsed);
  for (const [key, entry] of idle.slice(0, Math.max(0, idle.length - MAX_IDLE))) {
    entries.delete(key);
    void entry.session.then((s) => s.release()).catch(() => undefined);
  }
}

/** Sessions open in this thread: their file, intra-op threads and how many users each has (tests, 'engine.info'). */
export function openSessions(): { file: string; threads: number; users: number }[] {
  return [...entries].map(([key, e]) => ({ file: key.split('|')[0], threads: e.threads, users: e.users }));
}
