// The body of an API call: JSON only, at most MAX_BODY_BYTES (checked against the
// declared Content-Length first, then while reading, so a large body is never buffered).
import type { IncomingMessage } from 'node:http';

export const MAX_BODY_BYTES = 1024 * 1024;
/** Deeper JSON is refused: no contract argument nests more than a few levels. */
export const MAX_BODY_DEPTH = 64;

/** How deeply arrays and objects nest in a parsed JSON value, counted without recursion (stopping past `limit`). */
export function jsonDepth(value: unknown, limit = MAX_BODY_DEPTH): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    deepest = Math.max(deepest, depth);
    if (deepest > limit) return deepest;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return deepest;
}

export type BodyResult = { ok: true; value: unknown } | { ok: false; status: number; message: string };

/** Whether the request declares a JSON body (parameters such as charset are ignored). */
export function isJsonRequest(req: IncomingMessage): boolean {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  return type === 'application/json';
}

/** Reads and parses the body; an empty body is `{}`. Never rejects: failures carry their HTTP status. */
export function readJsonBody(req: IncomingMessage): Promise<BodyResult> {
  return new Promise((resolveBody) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      resolveBody({ ok: false, status: 413, message: `Request body over ${MAX_BODY_BYTES} bytes` });
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        done = true;
        resolveBody({ ok: false, status: 413, message: `Request body over ${MAX_BODY_BYTES} bytes` });
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolveBody({ ok: true, value: {} });
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return resolveBody({ ok: false, status: 400, message: 'Request body is not valid JSON' });
      }
      if (jsonDepth(value) > MAX_BODY_DEPTH)
        return resolveBody({ ok: false, status: 400, message: `Request body is nested more than ${MAX_BODY_DEPTH} levels deep` });
      resolveBody({ ok: true, value });
    });
    req.on('error', () => {
      if (!done) resolveBody({ ok: false, status: 400, message: 'Request body could not be read' });
      done = true;
    });
  });
}
