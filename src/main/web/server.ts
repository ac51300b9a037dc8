// Browser mode: the contract over HTTP on 127.0.0.1, plus the built renderer as static
// files. node:http only. This module starts the server and routes each request; what
// guards it lives next to it:
// - bound to 127.0.0.1 only (here);
// - the Host header must be 127.0.0.1:<port> or localhost:<port> (DNS rebinding), and a
//   request carrying a foreign Origin is refused (cross-site requests): guard.ts;
// - a per-launch random token on every /api request, compared in constant time
//   (guard.ts, checked by api.ts);
// - POST bodies must be JSON and at most MAX_BODY_BYTES: body.ts;
// - static files only from inside the renderer folder, with the app's CSP and nosniff:
//   static.ts. Events go out as Server-Sent Events: event-stream.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { handleApi, type ApiContext, type WebApp } from './api';
import { EventStreams } from './event-stream';
import { checkHostAndOrigin, newToken } from './guard';
import { sendError } from './reply';
import { serveStatic } from './static';

const HOST = '127.0.0.1';

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

/** What a request needs to be answered; `port` is set once the server listens. */
interface RequestContext extends ApiContext {
  rendererDir: string;
  port: number;
}

export function startWebServer(app: WebApp, options: WebServerOptions = {}): Promise<WebServer> {
  if (options.host !== undefined && options.host !== HOST) return Promise.reject(new Error('Browser mode binds to 127.0.0.1 only'));
  const token = options.token ?? newToken();
  const ctx: RequestContext = {
    app,
    token: Buffer.from(token),
    streams: new EventStreams(app.events),
    rendererDir: resolve(options.rendererDir ?? join(__dirname, '../renderer')),
    port: 0,
  };
  const server: Server = createServer((req, res) => handleRequest(ctx, req, res));
  server.headersTimeout = 30_000;
  server.requestTimeout = 60_000;
  const sockets = trackSockets(server);

  return new Promise((resolveStart, rejectStart) => {
    server.once('error', rejectStart);
    server.listen(options.port ?? 0, HOST, () => {
      server.off('error', rejectStart);
      ctx.port = (server.address() as AddressInfo).port;
      resolveStart({
        port: ctx.port,
        token,
        url: `http://${HOST}:${ctx.port}/#token=${token}`,
        close: () =>
          new Promise<void>((resolveClose) => {
            ctx.streams.endAll();
            server.close(() => resolveClose());
            for (const socket of sockets) socket.destroy();
          }),
      });
    });
  });
}

/** Host and Origin first, then /api/ to the API, everything else to the static files. */
function handleRequest(ctx: RequestContext, req: IncomingMessage, res: ServerResponse): void {
  const refusal = checkHostAndOrigin(req.headers, ctx.port);
  if (refusal) return sendError(res, refusal.status, 'invalid_argument', refusal.message);
  let url: URL;
  try {
    url = new URL(req.url ?? '/', `http://${req.headers.host}`);
  } catch {
    return sendError(res, 400, 'invalid_argument', 'Malformed request URL');
  }
  if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
    handleApi(ctx, req, res, url).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, 'failed', error instanceof Error ? error.message : String(error));
      else res.destroy();
    });
    return;
  }
  serveStatic(ctx.rendererDir, req, res, url);
}

/** The open connections, so that close() need not wait for idle keep-alive sockets. */
function trackSockets(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return sockets;
}
