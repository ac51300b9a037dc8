// Browser mode fuzzed (issue #13, "Security of the shells"): 10,000+ random and malformed
// calls through the real HTTP binding (the real server, the real SimLensApp on a workspace
// with data), 16 in flight. Afterwards: no crash (the server still answers), no hang (every
// call answered within its bound), no unhandled rejection, no answer outside the expected
// statuses (a 500 would be a bug the fuzz found), and the database unchanged row for row.
// Methods that write are always sent arguments the contract refuses (random ones, made
// invalid when they happen to be valid), so "unchanged" is what must hold.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimLensApp } from '../../src/main/app';
import { startWebServer, type WebServer } from '../../src/main/web/server';
import { createRng, type Rng } from '../../src/main/pairs/rng';
import { checkArgs, METHOD_NAMES, type MethodName } from '../../src/shared/contract';
import { solid, write } from './hostile-helpers';
import { scaled } from './slowdown';

const CALLS = 10_000;
const IN_FLIGHT = 16;
/** A call not answered within this is a hang (a hang guard, stretched on a loaded machine: slowdown.ts). */
const HANG_MS = scaled(15_000);

/** Methods that only read: they may get valid arguments. Every other method gets refused ones. */
const READ_ONLY = new Set<MethodName>([
  'app.info',
  'datasets.list',
  'datasets.get',
  'jobs.list',
  'jobs.get',
  'jobs.importReport',
  'pairs.page',
  'images.thumbnails',
  'models.list',
  'models.get',
  'models.faithfulness',
  'review.reviewer',
  'review.history',
  'review.tags',
  'review.stats',
]);
const EXPECTED_STATUSES = new Set([200, 400, 401, 403, 404, 405, 409, 413, 415, 421]);

let dir: string;
let app: SimLensApp;
let server: WebServer;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);

/** Every row of every table, hashed: equal before and after means nothing changed. */
function databaseDigest(): string {
  const hash = createHash('sha256');
  const tables = app.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[];
  for (const { name } of tables) {
    hash.update(`\n${name}\n`);
    for (const row of app.db.prepare(`SELECT * FROM "${name}"`).raw().all())
      hash.update(JSON.stringify(row, (_k, v) => (Buffer.isBuffer(v) ? v.toString('base64') : v)));
  }
  return hash.digest('hex');
}

// ---- random values ----

const FIELDS = [
  'id',
  'ids',
  'datasetId',
  'modelId',
  'pairId',
  'jobId',
  'pairSetId',
  'limit',
  'offset',
  'afterId',
  'beforeId',
  'path',
  'kind',
  'name',
  'split',
  'status',
  'method',
  'layer',
  'seed',
  'ratios',
  'reviewer',
  'filters',
  'order',
  'format',
  'dryRun',
  'similarity',
  'note',
  'tags',
  '__proto__',
  'constructor',
  'toString',
  '',
  ' ',
  'id ',
  'ID',
  '\u0000',
  'a'.repeat(300),
];
const STRINGS = [
  '',
  ' ',
  'test',
  'val',
  'train',
  'auto',
  'idx',
  'csv',
  'folder',
  'gradcam',
  '../../etc/passwd',
  '/etc/passwd',
  '~',
  '\u0000',
  '%00',
  '\ud800',
  '𝕊',
  '<script>',
  "' OR 1=1 --",
  'x'.repeat(5000),
  'NaN',
  '1e309',
  '[object Object]',
];
const pick = <T>(rng: Rng, items: readonly T[]) => items[rng.int(items.length)];

function randomValue(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 3 ? 6 : 9)) {
    case 0:
      return rng.int(6); // small ids: some exist
    case 1:
      return pick(rng, [-1, 0, 0.5, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, Number.MAX_SAFE_INTEGER + 2]);
    case 2:
      return pick(rng, STRINGS);
    case 3:
      return pick(rng, [true, false, null]);
    case 4:
      return String(rng.int(1000));
    case 5:
      return undefined;
    case 6:
      return Array.from({ length: rng.int(5) }, () => randomValue(rng, depth + 1));
    case 7:
      return pick(rng, [[1, 2, 3], [80, 10, 10], [], Array.from({ length: 20_000 }, (_, i) => i)]);
    default:
      return randomObject(rng, depth + 1);
  }
}

function randomObject(rng: Rng, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = rng.int(4); i > 0; i--)
    Object.defineProperty(out, pick(rng, FIELDS), { value: randomValue(rng, depth), enumerable: true, writable: true, configurable: true });
  return out;
}

/**
 * Arguments for a method: random; for a method that writes, refused by the contract whatever they
 * are. Judged as the server will see them, after JSON: `{ id: undefined }` is refused as it is but
 * arrives as `{}`, a valid call of a method whose arguments are all optional (demo.addDecoy).
 */
function argsFor(rng: Rng, method: MethodName): unknown {
  const args = rng.int(10) === 0 ? randomValue(rng) : randomObject(rng);
  if (READ_ONLY.has(method)) return args;
  const json = JSON.stringify(args);
  const sent: unknown = json === undefined ? undefined : JSON.parse(json);
  try {
    checkArgs(method, sent);
  } catch {
    return args; // refused already
  }
  const object = typeof sent === 'object' && sent !== null && !Array.isArray(sent) ? sent : {};
  return { ...object, ['unknown field ' + rng.int(100)]: 1 }; // valid by chance: made invalid
}

interface Call {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

function randomCall(rng: Rng): Call {
  const auth = { Host: `127.0.0.1:${server.port}`, Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' };
  const method = pick(rng, METHOD_NAMES);
  const body = () => JSON.stringify(argsFor(rng, method)) ?? '';
  switch (rng.int(14)) {
    case 0: // garbage bytes
      return {
        method: 'POST',
        path: `/api/${method}`,
        headers: auth,
        body: Buffer.from(Array.from({ length: rng.int(200) }, () => rng.int(256))),
      };
    case 1: {
      // truncated JSON: at least its first character and never whole, so never valid JSON (an
      // empty body is `{}` to the server: a valid call of a method whose arguments are all
      // optional, e.g. demo.addDecoy, which writes)
      const whole = body();
      return {
        method: 'POST',
        path: `/api/${method}`,
        headers: auth,
        body: whole.slice(0, 1 + rng.int(Math.max(1, Math.min(20, whole.length - 1)))),
      };
    }
    case 2: // deeply nested
      return { method: 'POST', path: `/api/${method}`, headers: auth, body: `{"id":${'['.repeat(200 + rng.int(5000))}` };
    case 3: // wrong or missing token
      return {
        method: 'POST',
        path: `/api/${method}`,
        headers: { ...auth, Authorization: pick(rng, ['Bearer ', 'Bearer x', `Bearer ${server.token}x`, 'Basic a', '']) },
        body: body(),
      };
    case 4: // wrong Host or foreign Origin
      return {
        method: 'POST',
        path: `/api/${method}`,
        headers: rng.int(2) ? { ...auth, Host: 'evil.example' } : { ...auth, Origin: 'http://evil.example' },
        body: body(),
      };
    case 5: // unknown or odd method names
      return {
        method: 'POST',
        path: `/api/${encodeURIComponent(pick(rng, ['__proto__', 'constructor', 'toString', 'app', '', 'datasets.', 'x'.repeat(500), '..%2f..', method + ' ']))}`,
        headers: auth,
        body: '{}',
      };
    case 6: // wrong content type or HTTP method
      return rng.int(2)
        ? {
            method: 'POST',
            path: `/api/${method}`,
            headers: { ...auth, 'Content-Type': pick(rng, ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']) },
            body: body(),
          }
        : { method: pick(rng, ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']), path: `/api/${method}`, headers: auth };
    case 7: // static paths
      return {
        method: 'GET',
        path: pick(rng, [
          '/',
          '/index.html',
          '/../../etc/passwd',
          '/%2e%2e/%2e%2e/etc/passwd',
          '/.env',
          '/assets/../../x',
          '/%00',
          '/a\\b',
        ]),
        headers: { Host: auth.Host },
      };
    default: // well-formed JSON with random (or refused) arguments
      return { method: 'POST', path: `/api/${method}`, headers: auth, body: body() };
  }
}

function send(call: Call): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: server.port, method: call.method, path: call.path, headers: call.headers, timeout: HANG_MS },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${HANG_MS} ms: ${call.method} ${call.path}`)));
    req.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' || error.code === 'EPIPE' ? resolve(-1) : reject(error),
    );
    if (call.body !== undefined) req.write(call.body);
    req.end();
  });
}

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  dir = mkdtempSync(join(tmpdir(), 'simlens-fuzz-'));
  for (let i = 0; i < 8; i++)
    write(join(dir, 'data', `c${i % 2}`, `${i}.png`), await solid('png', 6 + i, 6, i % 2 ? '#204080' : '#802040'));
  app = new SimLensApp({ dbPath: join(dir, 'ws', 'simlens.db'), shell: 'browser' });
  const imported = await app.jobs.wait((await app.call('datasets.import', { path: join(dir, 'data') })).jobId);
  await app.jobs.wait(
    (await app.call('pairs.generate', { datasetId: (imported.result as { datasetId: number }).datasetId, seed: 1, ratios: [50, 25, 25] }))
      .jobId,
  );
  server = await startWebServer(app, { host: '127.0.0.1', rendererDir: join(dir, 'renderer') });
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await server?.close();
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('browser mode under 10,000 random and malformed calls', () => {
  it('never crashes, hangs, rejects unhandled, answers outside the expected statuses, or changes the database', async () => {
    const before = databaseDigest();
    const rng = createRng(13, 13);
    const statuses = new Map<number, number>();
    const unexpected: string[] = [];
    let next = 0;
    const t0 = Date.now();
    const lane = async () => {
      while (next < CALLS) {
        next++;
        const call = randomCall(rng);
        const status = await send(call);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status !== -1 && !EXPECTED_STATUSES.has(status))
          unexpected.push(`${status} ${call.method} ${call.path} ${String(call.body ?? '').slice(0, 200)}`);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
    const seconds = (Date.now() - t0) / 1000;
    console.log(
      `fuzz: ${CALLS} calls in ${seconds.toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`,
    );
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(CALLS);
    expect(unexpected.slice(0, 10)).toEqual([]);
    expect(unhandled).toEqual([]);
    expect(databaseDigest()).toBe(before);
    expect(app.db.pragma('integrity_check', { simple: true })).toBe('ok');
    // still serving
    expect(
      await send({
        method: 'POST',
        path: '/api/app.info',
        headers: { Host: `127.0.0.1:${server.port}`, Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' },
        body: '{}',
      }),
    ).toBe(200);
  });
});
