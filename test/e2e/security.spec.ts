import { request as httpRequest } from 'node:http';
import { expect, test } from '@playwright/test';
import { appOrigin, appToken } from './env';

function rawPost(path: string, headers: Record<string, string>): Promise<number> {
  const url = new URL(appOrigin());
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method: 'POST', path, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end('{}');
  });
}

test('the API refuses calls without the token', async ({ request }) => {
  const none = await request.post(`${appOrigin()}/api/datasets.list`, { data: {} });
  expect(none.status()).toBe(401);
  expect(await none.json()).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
  const wrong = await request.post(`${appOrigin()}/api/datasets.list`, { data: {}, headers: { Authorization: 'Bearer wrong' } });
  expect(wrong.status()).toBe(401);
  const events = await request.get(`${appOrigin()}/api/events`);
  expect(events.status()).toBe(401);
  const ok = await request.post(`${appOrigin()}/api/datasets.list`, { data: {}, headers: { Authorization: `Bearer ${appToken()}` } });
  expect(ok.status()).toBe(200);
  expect((await ok.json()).ok).toBe(true);
});

test('a bad Host header is rejected (DNS rebinding), even with the token', async () => {
  const port = new URL(appOrigin()).port;
  const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${appToken()}` };
  expect(await rawPost('/api/datasets.list', { ...headers, Host: `127.0.0.1:${port}` })).toBe(200);
  expect(await rawPost('/api/datasets.list', { ...headers, Host: 'attacker.example' })).toBe(421);
  expect(await rawPost('/api/datasets.list', { ...headers, Host: `attacker.example:${port}` })).toBe(421);
});

test('a cross-origin request is rejected', async () => {
  const port = new URL(appOrigin()).port;
  const status = await rawPost('/api/datasets.list', {
    'Content-Type': 'application/json',
    Authorization: `Bearer ${appToken()}`,
    Host: `127.0.0.1:${port}`,
    Origin: 'https://attacker.example',
  });
  expect(status).toBe(403);
});

test('pages carry the CSP and nosniff headers', async ({ request }) => {
  const res = await request.get(`${appOrigin()}/`);
  expect(res.status()).toBe(200);
  expect(res.headers()['content-security-policy']).toContain("script-src 'self'");
  expect(res.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(res.headers()['x-content-type-options']).toBe('nosniff');
});
