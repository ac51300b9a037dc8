// Hostile calls at the HTTP binding of browser mode (issue #13, item 6): a real SimLensApp
// behind the real server, spoken to with node:http.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimLensApp } from '../../src/main/app';
import { startWebServer, type WebServer } from '../../src/main/web/server';

let dir: string;
let app: SimLensApp;
let server: WebServer;

function http(method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        method,
        path,
        headers: { Host: `127.0.0.1:${server.port}`, Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'simlens-http-hostile-'));
  const renderer = join(dir, 'renderer');
  mkdirSync(renderer);
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>SimLens</title>');
  writeFileSync(join(dir, 'secret.txt'), 'TOP SECRET');
  symlinkSync(join(dir, 'secret.txt'), join(renderer, 'leak.txt'));
  symlinkSync(dir, join(renderer, 'up'));
  app = new SimLensApp({ dbPath: join(dir, 'ws', 'simlens.db'), shell: 'browser' });
  server = await startWebServer(app, { rendererDir: renderer, host: '127.0.0.1' });
});

afterAll(async () => {
  await server?.close();
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('browser mode under hostile calls', () => {
  it('answers a JSON body nested 100,000 deep with 400, not 500', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    for (const body of [`{"id": ${deep}}`, deep, `{"limit": ${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`]) {
      const res = await http('POST', '/api/jobs.get', body);
      expect(res.status, res.body.slice(0, 200)).toBe(400);
      expect(JSON.parse(res.body)).toMatchObject({
        ok: false,
        error: { code: 'invalid_argument', message: expect.stringMatching(/nested/) },
      });
    }
  });

  it('refuses argument keys that name Object.prototype members as unknown fields', async () => {
    for (const key of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      const res = await http('POST', '/api/datasets.get', `{"id": 1, "${key}": {"polluted": true}}`);
      expect(res.status, key).toBe(400);
      expect(JSON.parse(res.body).error.message, key).toBe(`args.${key}: unknown field`);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('does not follow a symbolic link out of the renderer folder', async () => {
    for (const path of ['/leak.txt', '/up/secret.txt']) {
      const res = await http('GET', path);
      expect(res.body, path).not.toContain('TOP SECRET');
      expect(res.status, path).toBe(404);
    }
    expect((await http('GET', '/index.html')).status).toBe(200);
  });
});
