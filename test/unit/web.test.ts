// Browser mode at the HTTP level: a real SimLensApp on a temp database behind the real
// server, spoken to with node:http (so Host, Origin and raw paths are exactly as sent).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimLensApp } from '../../src/main/app';
import { CSP, META_CSP } from '../../src/main/csp';
import { MAX_BODY_BYTES } from '../../src/main/web/body';
import { startWebServer, type WebServer } from '../../src/main/web/server';
import { resolveStaticPath } from '../../src/main/web/static';
import type { JobDto } from '../../src/shared/dto';

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let dir: string;
let app: SimLensApp;
let server: WebServer;

function http(method: string, path: string, opts: { headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: server.port, method, path, headers: { Host: `127.0.0.1:${server.port}`, ...opts.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

const auth = () => ({ Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' });
const call = (method: string, args: unknown, headers: Record<string, string> = auth()) =>
  http('POST', `/api/${method}`, { headers, body: JSON.stringify(args) });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'simlens-web-'));
  const renderer = join(dir, 'renderer');
  mkdirSync(join(renderer, 'assets'), { recursive: true });
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>SimLens test</title>');
  writeFileSync(join(renderer, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(renderer, '.env'), 'hidden');
  writeFileSync(join(dir, 'secret.txt'), 'TOP SECRET');
  app = new SimLensApp({ dbPath: join(dir, 'ws', 'simlens.db'), shell: 'browser' });
  server = await startWebServer(app, { rendererDir: renderer, host: '127.0.0.1' });
});

afterAll(async () => {
  await server?.close();
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('startWebServer', () => {
  it('listens on 127.0.0.1 only and prints the token in the URL fragment', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/#token=${server.token}`);
    expect(server.token.length).toBeGreaterThanOrEqual(40);
  });

  it('refuses any host other than 127.0.0.1', async () => {
    await expect(startWebServer(app, { host: '0.0.0.0' as '127.0.0.1' })).rejects.toThrow(/127\.0\.0\.1/);
  });

  it('requires the token on API calls', async () => {
    const none = await call('app.info', {}, { 'Content-Type': 'application/json' });
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body)).toMatchObject({ ok: false, error: { code: 'unauthorized' } });

    const wrong = await call('app.info', {}, { 'Content-Type': 'application/json', Authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);

    // The query-string token is only for the event stream (EventSource cannot send headers).
    const query = await http('POST', `/api/app.info?token=${server.token}`, {
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(query.status).toBe(401);

    const ok = await call('app.info', {});
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ ok: true, value: { shell: 'browser', version: expect.any(String) } });
  });

  it('answers an unknown method with unknown_method', async () => {
    const res = await call('datasets.explode', {});
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toMatchObject({ ok: false, error: { code: 'unknown_method' } });
  });

  it('rejects invalid arguments with 400, naming the field', async () => {
    const res = await call('datasets.get', { id: 'seven' });
    expect(res.status).toBe(400);
    const body = JSON.parse(res.body);
    expect(body.error.code).toBe('invalid_argument');
    expect(body.error.message).toContain('args.id');

    const extra = await call('pairs.page', { datasetId: 1, limit: 10, evil: true });
    expect(extra.status).toBe(400);
    expect(JSON.parse(extra.body).error.message).toContain('args.evil');

    const tooMany = await call('pairs.page', { datasetId: 1, limit: 100000 });
    expect(tooMany.status).toBe(400);
    expect(JSON.parse(tooMany.body).error.message).toContain('args.limit');
  });

  it('rejects non-JSON bodies, wrong content types, other verbs and oversized bodies', async () => {
    const bad = await http('POST', '/api/app.info', { headers: auth(), body: '{not json' });
    expect(bad.status).toBe(400);
    const form = await http('POST', '/api/app.info', { headers: { ...auth(), 'Content-Type': 'text/plain' }, body: '{}' });
    expect(form.status).toBe(415);
    const get = await http('GET', '/api/app.info', { headers: auth() });
    expect(get.status).toBe(405);
    const big = await http('POST', '/api/app.info', { headers: auth(), body: Buffer.alloc(MAX_BODY_BYTES + 10, 0x20) });
    expect(big.status).toBe(413);
  });

  it('rejects a foreign Host header (DNS rebinding) on pages and API alike', async () => {
    for (const host of [
      'evil.example',
      `evil.example:${server.port}`,
      `127.0.0.1:${server.port + 1}`,
      `localhost.evil.example:${server.port}`,
      `127.0.0.1:${server.port}.evil.example`,
    ]) {
      const page = await http('GET', '/', { headers: { Host: host } });
      expect(page.status, host).toBe(421);
      const api = await http('POST', '/api/app.info', { headers: { ...auth(), Host: host }, body: '{}' });
      expect(api.status, host).toBe(421);
      expect(api.body).not.toContain('"ok":true');
    }
    const localhost = await call('app.info', {}, { ...auth(), Host: `localhost:${server.port}` });
    expect(localhost.status).toBe(200);
  });

  it('rejects cross-origin requests, accepts its own origin', async () => {
    const cross = await call('app.info', {}, { ...auth(), Origin: 'https://evil.example' });
    expect(cross.status).toBe(403);
    const same = await call('app.info', {}, { ...auth(), Origin: `http://127.0.0.1:${server.port}` });
    expect(same.status).toBe(200);
  });

  it('serves the renderer with the CSP and nosniff', async () => {
    const res = await http('GET', '/');
    expect(res.status).toBe(200);
    expect(res.body).toContain('SimLens test');
    expect(res.headers['content-security-policy']).toBe(CSP);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    const js = await http('GET', '/assets/app.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
    expect((await http('GET', '/nope.js')).status).toBe(404);
    expect((await http('GET', '/assets')).status).toBe(404);
  });

  it('does not let a path escape the renderer folder', async () => {
    for (const path of [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/..%5csecret.txt',
      '/%2e%2e%2fsecret.txt',
      '/.env',
      '/%00index.html',
      '/%E0%A4%A',
    ]) {
      const res = await http('GET', path);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.body, path).not.toContain('TOP SECRET');
      expect(res.body, path).not.toContain('hidden');
    }
    expect(resolveStaticPath('/srv/r', '/../x')).toBeNull();
    expect(resolveStaticPath('/srv/r', '/a/../../x')).toBeNull();
    expect(resolveStaticPath('/srv/r', '/')).toBe('/srv/r/index.html');
    expect(resolveStaticPath('/srv/r', '/assets/a.js')).toBe('/srv/r/assets/a.js');
  });

  it('pushes contract events over Server-Sent Events, with the token in the query', async () => {
    const denied = await http('GET', '/api/events');
    expect(denied.status).toBe(401);

    const job = { id: 99, kind: 'import', status: 'running', progress: 0.5 } as JobDto;
    const received = await new Promise<string>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: server.port, path: `/api/events?token=${server.token}`, headers: { Host: `127.0.0.1:${server.port}` } },
        (res) => {
          expect(res.statusCode).toBe(200);
          expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
          let text = '';
          res.on('data', (c: Buffer) => {
            text += c.toString('utf8');
            if (text.includes('event: job.updated')) {
              req.destroy();
              resolve(text);
            }
          });
          // Emit once the stream is open.
          setTimeout(() => app.events.emit('job.updated', job), 50);
        },
      );
      req.on('error', (e) => (e.message.includes('socket hang up') ? undefined : reject(e)));
      req.end();
    });
    const data = received.split('\n').find((l) => l.startsWith('data: '))!;
    expect(JSON.parse(data.slice(6))).toMatchObject({ id: 99, status: 'running', progress: 0.5 });
  });

  it('index.html carries the same CSP in a <meta> (minus frame-ancestors, which a meta cannot set)', () => {
    const html = readFileSync(join(__dirname, '../../src/renderer/index.html'), 'utf8');
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html);
    expect(meta?.[1]).toBe(META_CSP);
  });
});
