// Browser mode: the contract over HTTP on 127.0.0.1, plus the built renderer as static
// files. node:http only. What guards it:
// - bound to 127.0.0.1 only;
// - a per-launch random token on every /api request (`Authorization: Bearer <token>`,
//   or `?token=` on the Server-Sent Events stream, which EventSource cannot send
//   headers for), compared in constant time;
// - the Host header must be 127.0.0.1:<port> or localhost:<port> (DNS rebinding), and a
//   request carrying a foreign Origin is refused (cross-site requests);
// - POST bodies must be JSON and at most MAX_BODY_BYTES;
// - static files are served only from inside the renderer folder (no traversal, no
//   dotfiles, no directory listings), with the app's CSP and nosniff.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import { EVENT_NAMES, type ContractError, type ErrorCode } from '../shared/contract';
import type { Envelope } from '../shared/bridge';
import type { SimLensApp } from './app';
import { SECURITY_HEADERS } from './csp';

export const MAX_BODY_BYTES = 1024 * 1024;
const HEARTBEAT_MS = 20_000;

/** What the server needs from the app: the untrusted-call entry and the event bus. */
export type WebApp = Pick<SimLensApp, 'dispatch' | 'events'>;

export interface WebServerOptions {
  /** 0 or absent: any free port. */
  port?: number;
  /** Loopback only, by design: a lab reviewing from a laptop tunnels over SSH. */
  host?: '127.0.0.1';
  /** The built renderer (out/renderer). */
  rendererDir?: string;
  /** For tests; otherwise 32 random bytes. */
  token?: string;
}

export interface WebServer {
  port: number;
  token: string;
  /** http://127.0.0.1:<port>/#token=<token>: the token travels in the fragment, never in Referer or logs. */
  url: string;
  close(): Promise<void>;
}

const STATUS_BY_CODE: Record<ErrorCode, number> = {
  invalid_argument: 400,
  not_found: 404,
  conflict: 409,
  failed: 500,
  unknown_method: 404,
  unauthorized: 401,
};

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Maps a request path to a file inside `root`, or null when it must not be served
 * (outside root, dotfiles, NUL bytes, malformed escapes). "/" maps to index.html.
 * Exported for the Electron app protocol, which serves the same folder.
 */
export function resolveStaticPath(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const parts = decoded.split('/').filter((p) => p !== '');
  if (parts.some((p) => p === '..' || p.startsWith('.'))) return null;
  const base = resolve(root);
  const file = resolve(base, ...(parts.length ? parts : ['index.html']));
  if (file !== base && !file.startsWith(base + sep)) return null;
  return file;
}

export function startWebServer(app: WebApp, options: WebServerOptions = {}): Promise<WebServer> {
  const host = '127.0.0.1';
  if (options.host !== undefined && options.host !== host) return Promise.reject(new Error('Browser mode binds to 127.0.0.1 only'));
  const token = options.token ?? randomBytes(32).toString('base64url');
  const tokenBytes = Buffer.from(token);
  const rendererDir = resolve(options.rendererDir ?? join(__dirname, '../renderer'));
  let port = 0;
  const sseClients = new Set<ServerResponse>();
  const sockets = new Set<Socket>();

  const allowedHosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  const allowedOrigins = () => new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      ...SECURITY_HEADERS,
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(text)),
      'Cache-Control': 'no-store',
      ...headers,
    });
    res.end(text);
  }

  function sendError(res: ServerResponse, status: number, code: ErrorCode, message: string, headers?: Record<string, string>): void {
    const error: ContractError = { code, message };
    send(res, status, { ok: false, error } satisfies Envelope, headers);
  }

  function tokenOk(req: IncomingMessage, url: URL, allowQuery: boolean): boolean {
    const auth = req.headers.authorization;
    let given: string | null = null;
    if (auth?.startsWith('Bearer ')) given = auth.slice(7).trim();
    else if (allowQuery) given = url.searchParams.get('token');
    if (!given) return false;
    const bytes = Buffer.from(given);
    return bytes.length === tokenBytes.length && timingSafeEqual(bytes, tokenBytes);
  }

  function readJson(req: IncomingMessage): Promise<{ ok: true; value: unknown } | { ok: false; status: number; message: string }> {
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

  async function handleApi(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const name = url.pathname.slice('/api/'.length);
    if (name === 'events') {
      if (!tokenOk(req, url, true)) return sendError(res, 401, 'unauthorized', 'Missing or wrong token', { 'WWW-Authenticate': 'Bearer' });
      if (req.method !== 'GET') return sendError(res, 405, 'invalid_argument', 'Use GET for /api/events', { Allow: 'GET' });
      return openEventStream(req, res);
    }
    if (!tokenOk(req, url, false)) return sendError(res, 401, 'unauthorized', 'Missing or wrong token', { 'WWW-Authenticate': 'Bearer' });
    if (req.method !== 'POST') return sendError(res, 405, 'invalid_argument', 'Use POST for API calls', { Allow: 'POST' });
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json') return sendError(res, 415, 'invalid_argument', 'Content-Type must be application/json');
    const body = await readJson(req);
    if (!body.ok) return sendError(res, body.status, 'invalid_argument', body.message, body.status === 413 ? { Connection: 'close' } : {});
    const result = await app.dispatch(name, body.value);
    if (result.ok) return send(res, 200, result satisfies Envelope);
    return send(res, STATUS_BY_CODE[result.error.code] ?? 500, result satisfies Envelope);
  }

  function openEventStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 2000\n: connected\n\n');
    sseClients.add(res);
    const unsubscribe = EVENT_NAMES.map((event) =>
      app.events.on(event, (payload) => {
        res.write(`event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`);
      }),
    );
    const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    const cleanup = () => {
      clearInterval(heartbeat);
      unsubscribe.forEach((off) => off());
      sseClients.delete(res);
    };
    req.on('close', cleanup);
    res.on('close', cleanup);
  }

  function serveStatic(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...SECURITY_HEADERS, Allow: 'GET, HEAD' }).end();
      return;
    }
    const file = resolveStaticPath(rendererDir, url.pathname);
    if (!file) {
      res.writeHead(403, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' }).end('Forbidden');
      return;
    }
    let size: number;
    try {
      const st = statSync(file);
      if (!st.isFile()) throw new Error('not a file');
      size = st.size;
    } catch {
      res.writeHead(404, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found');
      return;
    }
    const isHtml = extname(file) === '.html';
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': String(size),
      // Hashed asset names never change; the page itself is always revalidated.
      'Cache-Control': isHtml ? 'no-store' : 'public, max-age=31536000, immutable',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  }

  const server: Server = createServer((req, res) => {
    // DNS-rebinding guard: a page on evil.example resolving to 127.0.0.1 sends Host: evil.example.
    if (!allowedHosts().has((req.headers.host ?? '').toLowerCase())) {
      return sendError(res, 421, 'invalid_argument', 'Unexpected Host header');
    }
    // Cross-site guard: browsers send Origin on cross-origin requests (and on all POSTs).
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins().has(origin.toLowerCase())) {
      return sendError(res, 403, 'invalid_argument', 'Cross-origin requests are not allowed');
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    } catch {
      return sendError(res, 400, 'invalid_argument', 'Malformed request URL');
    }
    if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
      handleApi(req, res, url).catch((error: unknown) => {
        if (!res.headersSent) sendError(res, 500, 'failed', error instanceof Error ? error.message : String(error));
        else res.destroy();
      });
      return;
    }
    serveStatic(req, res, url);
  });
  server.headersTimeout = 30_000;
  server.requestTimeout = 60_000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  return new Promise((resolveStart, rejectStart) => {
    server.once('error', rejectStart);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', rejectStart);
      port = (server.address() as AddressInfo).port;
      resolveStart({
        port,
        token,
        url: `http://${host}:${port}/#token=${token}`,
        close: () =>
          new Promise<void>((resolveClose) => {
            for (const res of sseClients) res.end();
            sseClients.clear();
            server.close(() => resolveClose());
            for (const socket of sockets) socket.destroy();
          }),
      });
    });
  });
}
