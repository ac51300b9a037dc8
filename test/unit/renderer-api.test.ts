// Type-checked with the renderer (tsconfig.web.json: DOM, no Node types).
// The renderer's api.ts (pure parts, run in Node): envelopes unwrap to values or to thrown
// ApiErrors carrying the contract code; the HTTP transport sends the token and the JSON
// body; the token is taken from the URL fragment once and then from sessionStorage.
import { describe, expect, it, vi } from 'vitest';
import { ApiError, createApi, httpTransport, takeToken, type Transport } from '../../src/renderer/src/api';
import { METHOD_NAMES } from '../../src/shared/contract';

describe('createApi', () => {
  it('has one function per contract method', () => {
    const api = createApi({ kind: 'http', call: async () => ({ ok: true, value: null }), on: () => () => {} });
    expect(Object.keys(api).sort()).toEqual([...METHOD_NAMES].sort());
  });

  it('unwraps values and throws ApiError with the code', async () => {
    const transport: Transport = {
      kind: 'electron',
      call: async (name) =>
        name === 'app.info'
          ? { ok: true, value: { version: '1' } }
          : { ok: false, error: { code: 'not_found', message: 'Dataset 9 does not exist' } },
      on: () => () => {},
    };
    const api = createApi(transport);
    await expect(api['app.info']({})).resolves.toEqual({ version: '1' });
    const err = await api['datasets.get']({ id: 9 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: 'not_found', message: 'Dataset 9 does not exist', method: 'datasets.get' });
  });
});

describe('httpTransport', () => {
  it('posts JSON with the bearer token', async () => {
    const fetchMock = vi.fn(async () => new Response(JSON.stringify({ ok: true, value: [] }), { status: 200 }));
    const api = createApi(httpTransport({ token: 'tok', fetch: fetchMock as unknown as typeof fetch }));
    await expect(api['datasets.list']({})).resolves.toEqual([]);
    expect(fetchMock).toHaveBeenCalledWith('/api/datasets.list', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer tok' },
      body: '{}',
    });
  });

  it('turns a missing token and an unreachable server into ApiErrors', async () => {
    const noToken = createApi(httpTransport({ token: null, fetch: vi.fn() as unknown as typeof fetch }));
    await expect(noToken['app.info']({})).rejects.toMatchObject({ code: 'unauthorized' });
    const down = createApi(
      httpTransport({
        token: 't',
        fetch: (async () => {
          throw new TypeError('fetch failed');
        }) as unknown as typeof fetch,
      }),
    );
    await expect(down['app.info']({})).rejects.toMatchObject({ code: 'failed', message: expect.stringMatching(/server/) });
  });

  it('refuses unknown event names', () => {
    const t = httpTransport({ token: 't', fetch: vi.fn() as unknown as typeof fetch });
    expect(() => t.on('nope' as 'job.updated', () => {})).toThrow(/Unknown event/);
  });
});

describe('takeToken', () => {
  it('takes the token from the fragment, stores it, and clears the address bar', () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    const replace = vi.fn();
    expect(takeToken({ hash: '#token=abc', pathname: '/', search: '' }, storage, replace)).toBe('abc');
    expect(replace).toHaveBeenCalledWith('/');
    // A reload keeps working from sessionStorage.
    expect(takeToken({ hash: '', pathname: '/', search: '' }, storage, replace)).toBe('abc');
  });
});
