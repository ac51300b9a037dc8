import type { APIRequestContext } from '@playwright/test';
// The running browser-mode server, as started by global-setup.ts.
export function appUrl(): string {
  const url = process.env.SIMLENS_E2E_URL;
  if (!url) throw new Error('SIMLENS_E2E_URL is not set: run the e2e tests through `npx playwright test`');
  return url;
}

export function appOrigin(): string {
  return new URL(appUrl()).origin;
}

export function appToken(): string {
  return new URLSearchParams(new URL(appUrl()).hash.slice(1)).get('token') ?? '';
}

export const DEMO_NAME = 'Fashion-MNIST demo';

/** A contract call over the app's HTTP API (with the token), for the values the page must show. */
export async function api<T>(request: APIRequestContext, method: string, args: Record<string, unknown> = {}): Promise<T> {
  const res = await request.post(`${appOrigin()}/api/${method}`, { headers: { Authorization: `Bearer ${appToken()}` }, data: args });
  const body = (await res.json()) as { ok: boolean; value?: T; error?: { message: string } };
  if (!body.ok) throw new Error(`${method}: ${body.error?.message}`);
  return body.value as T;
}

/** The server's workspace folder (its simlens.db is read, read-only, for pixel-level expectations). */
export function appWorkspace(): string {
  const dir = process.env.SIMLENS_E2E_WORKSPACE;
  if (!dir) throw new Error('SIMLENS_E2E_WORKSPACE is not set: run the e2e tests through `npx playwright test`');
  return dir;
}
