// The /api/ routes: /api/events (GET; the token in the header or the query) opens the
// event stream; /api/<method> (POST, JSON body, the token in the header) is a contract
// call, passed to the app's untrusted-call entry and answered with its envelope.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Envelope } from '../../shared/bridge';
import type { SimLensApp } from '../app';
import { isJsonRequest, readJsonBody } from './body';
import type { EventStreams } from './event-stream';
import { hasToken } from './guard';
import { STATUS_BY_CODE, sendError, sendJson } from './reply';

/** What the server needs from the app: the untrusted-call entry and the event bus. */
export type WebApp = Pick<SimLensApp, 'dispatch' | 'events'>;

export interface ApiContext {
  app: WebApp;
  token: Buffer;
  streams: EventStreams;
}

const sendUnauthorized = (res: ServerResponse) =>
  sendError(res, 401, 'unauthorized', 'Missing or wrong token', { 'WWW-Authenticate': 'Bearer' });

export async function handleApi(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const name = url.pathname.slice('/api/'.length);
  if (name === 'events') {
    if (!hasToken(req, url, ctx.token, true)) return sendUnauthorized(res);
    if (req.method !== 'GET') return sendError(res, 405, 'invalid_argument', 'Use GET for /api/events', { Allow: 'GET' });
    return ctx.streams.open(req, res);
  }
  if (!hasToken(req, url, ctx.token, false)) return sendUnauthorized(res);
  if (req.method !== 'POST') return sendError(res, 405, 'invalid_argument', 'Use POST for API calls', { Allow: 'POST' });
  if (!isJsonRequest(req)) return sendError(res, 415, 'invalid_argument', 'Content-Type must be application/json');
  const body = await readJsonBody(req);
  if (!body.ok) return sendError(res, body.status, 'invalid_argument', body.message, body.status === 413 ? { Connection: 'close' } : {});
  const result = await ctx.app.dispatch(name, body.value);
  if (result.ok) return sendJson(res, 200, result satisfies Envelope);
  return sendJson(res, STATUS_BY_CODE[result.error.code] ?? 500, result satisfies Envelope);
}
