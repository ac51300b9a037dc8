// Who may talk to browser mode: requests must name this server in their Host header,
// must not come from a foreign Origin, and API calls must carry the per-launch token.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/** 32 random bytes, base64url: the token a launch prints in its URL's fragment. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Why a request is refused before anything else looks at it. */
export interface Refusal {
  status: number;
  message: string;
}

/** The Host and Origin checks every request passes first (pages and API alike); null when it may go on. */
export function checkHostAndOrigin(headers: IncomingHttpHeaders, port: number): Refusal | null {
  // DNS-rebinding guard: a page on evil.example resolving to 127.0.0.1 sends Host: evil.example.
  const allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  if (!allowedHosts.has((headers.host ?? '').toLowerCase())) return { status: 421, message: 'Unexpected Host header' };
  // Cross-site guard: browsers send Origin on cross-origin requests (and on all POSTs).
  const allowedOrigins = new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);
  const origin = headers.origin;
  if (origin !== undefined && !allowedOrigins.has(origin.toLowerCase()))
    return { status: 403, message: 'Cross-origin requests are not allowed' };
  return null;
}

/**
 * Whether the request carries the token: `Authorization: Bearer <token>`, or, when
 * `allowQuery` (the event stream: EventSource cannot send headers), `?token=`.
 * Compared in constant time.
 */
export function hasToken(req: IncomingMessage, url: URL, token: Buffer, allowQuery: boolean): boolean {
  const auth = req.headers.authorization;
  let given: string | null = null;
  if (auth?.startsWith('Bearer ')) given = auth.slice(7).trim();
  else if (allowQuery) given = url.searchParams.get('token');
  if (!given) return false;
  const bytes = Buffer.from(given);
  return bytes.length === token.length && timingSafeEqual(bytes, token);
}
