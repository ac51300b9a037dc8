// The body of an API call: JSON only, at most MAX_BODY_BYTES (checked against the
// declared Content-Length first, then while reading, so a large body is never buffered).
import type { IncomingMessage } from 'node:http';

export const MAX_BODY_BYTES = 1024 * 1024;

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
      try {
        resolveBody({ ok: true, value: JSON.parse(text) });
      } catch {
        resolveBody({ ok: false, status: 400, message: 'Request body is not valid JSON' });
      }
    });
    req.on('error', () => {
      if (!done) resolveBody({ ok: false, status: 400, message: 'Request body could not be read' });
      done = true;
    });
  });
}
