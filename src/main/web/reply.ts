// JSON answers of browser mode's API. Every one carries the app's security headers and
// is never cached; failures use the contract's envelope, with an HTTP status that
// matches the error code.
import type { ServerResponse } from 'node:http';
import type { Envelope } from '../../shared/bridge';
import type { ContractError, ErrorCode } from '../../shared/contract';
import { SECURITY_HEADERS } from '../csp';

export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  invalid_argument: 400,
  not_found: 404,
  conflict: 409,
  failed: 500,
  unknown_method: 404,
  unauthorized: 401,
};

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
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

export function sendError(res: ServerResponse, status: number, code: ErrorCode, message: string, headers?: Record<string, string>): void {
  const error: ContractError = { code, message };
  sendJson(res, status, { ok: false, error } satisfies Envelope, headers);
}
