// The Electron entry (src/main/index.ts) with Electron itself mocked at the module boundary, and
// only there: its binary cannot be downloaded on the machines this project is built on, so the
// window is never shown here. What is checked is what the entry asks Electron for: secure
// webPreferences, the app protocol and its CSP, navigation/window.open/permission refusals, and one
// IPC handler per contract method. Everything behind the 'electron' module is real: the SimLensApp
// on a temp userData folder, and its first start (the bundled demo imported, its pairs generated,
// the demo model registered and evaluated) before the window opens.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEMO_DATASET_NAME, DEMO_MODEL_NAME } from '../../src/main/demo';
import { CSP } from '../../src/main/csp';
import { METHOD_NAMES } from '../../src/shared/contract';

type Fn = (...args: unknown[]) => unknown;

const state = vi.hoisted(() => ({
  userData: '',
  windows: [] as { opts: Record<string, unknown>; url: string | null }[],
  ipcChannels: new Set<string>(),
  ipcHandlers: new Map<string, Fn>(),
  appEvents: new Map<string, Fn>(),
  privileged: [] as unknown[],
  protocolHandler: null as null | ((req: Request) => Response | Promise<Response>),
  headersHandler: null as null | Fn,
  permissionRequest: null as null | Fn,
  permissionCheck: null as null | Fn,
  sandboxEnabled: false,
  quit: 0,
  /** called when the window is created (synchronously, as the entry does) */
  onWindow: null as null | (() => void),
}));

vi.mock('electron', () => {
  class BrowserWindow {
    static all: BrowserWindow[] = [];
    static getAllWindows() {
      return BrowserWindow.all;
    }
    readonly webContents = { send: () => {}, isDestroyed: () => false };
    private readonly record: { opts: Record<string, unknown>; url: string | null };
    constructor(opts: Record<string, unknown>) {
      state.onWindow?.();
      this.record = { opts, url: null };
      state.windows.push(this.record);
      BrowserWindow.all.push(this);
    }
    once() {}
    on() {}
    show() {}
    loadURL(url: string) {
      this.record.url = url;
      return Promise.resolve();
    }
  }
  const app = {
    isPackaged: false,
    enableSandbox: () => (state.sandboxEnabled = true),
    requestSingleInstanceLock: () => true,
    on: (event: string, cb: Fn) => state.appEvents.set(event, cb),
    whenReady: () => Promise.resolve(),
    getPath: () => state.userData,
    getAppPath: () => '/nonexistent-app-path',
    quit: () => void state.quit++,
  };
  const ipcMain = {
    handle: (channel: string, h: Fn) => (state.ipcChannels.add(channel), state.ipcHandlers.set(channel, h)),
    removeHandler: (channel: string) => state.ipcChannels.delete(channel),
  };
  const protocol = {
    registerSchemesAsPrivileged: (schemes: unknown[]) => state.privileged.push(...schemes),
    handle: (_scheme: string, handler: (req: Request) => Response) => (state.protocolHandler = handler),
  };
  const session = {
    defaultSession: {
      webRequest: { onHeadersReceived: (cb: Fn) => (state.headersHandler = cb) },
      setPermissionRequestHandler: (cb: Fn) => (state.permissionRequest = cb),
      setPermissionCheckHandler: (cb: Fn) => (state.permissionCheck = cb),
      setDevicePermissionHandler: () => {},
    },
  };
  return { app, BrowserWindow, ipcMain, protocol, session };
});

/** What the workspace held when the window was created (read from its database, synchronously). */
let atWindow: { datasets: { name: string; images: number }[]; pairs: number; models: string[] } | null = null;

beforeAll(async () => {
  delete process.env.ELECTRON_RENDERER_URL;
  state.userData = mkdtempSync(join(tmpdir(), 'simlens-electron-'));
  state.onWindow = () => {
    const db = new Database(join(state.userData, 'simlens.db'), { readonly: true, fileMustExist: true });
    try {
      atWindow = {
        datasets: db.prepare('SELECT name, (SELECT count(*) FROM images WHERE dataset_id = d.id) AS images FROM datasets d').all() as {
          name: string;
          images: number;
        }[],
        pairs: (db.prepare('SELECT count(*) AS n FROM pairs').get() as { n: number }).n,
        models: (db.prepare('SELECT name FROM model_versions').all() as { name: string }[]).map((m) => m.name),
      };
    } finally {
      db.close();
    }
  };
  await import('../../src/main/index');
  // the first start imports the demo, generates its pairs and evaluates the demo model first
  await vi.waitFor(() => expect(state.windows).toHaveLength(1), { timeout: 150_000, interval: 50 });
}, 180_000);

afterAll(async () => {
  const beforeQuit = state.appEvents.get('before-quit');
  expect(beforeQuit).toBeDefined();
  beforeQuit!({ preventDefault: () => {} });
  // closing stops the first start's background jobs (maps, faithfulness) and the engine workers
  await vi.waitFor(() => expect(state.quit).toBe(1), { timeout: 60_000, interval: 50 });
  rmSync(state.userData, { recursive: true, force: true });
}, 90_000);

const trusted = { senderFrame: { url: 'simlens://app/index.html' } };
const invoke = async <T>(method: string, args: unknown = {}): Promise<T> => {
  const res = (await state.ipcHandlers.get(`simlens:${method}`)!(trusted, args)) as { ok: boolean; value?: T; error?: { message: string } };
  if (!res.ok) throw new Error(`${method}: ${res.error?.message}`);
  return res.value as T;
};

describe('Electron entry, first start', () => {
  it('keeps the workspace in userData and prepares the demo before the window opens', () => {
    expect(existsSync(join(state.userData, 'simlens.db'))).toBe(true);
    expect(atWindow).not.toBeNull();
    expect(atWindow!.datasets).toEqual([{ name: DEMO_DATASET_NAME, images: 700 }]);
    expect(atWindow!.pairs).toBeGreaterThan(0);
    expect(atWindow!.models).toEqual([DEMO_MODEL_NAME]);
  });

  it('serves the demo through IPC: its dataset with a pair set, the evaluated demo model, the first-start jobs', async () => {
    const datasets = await invoke<{ id: number; name: string; imageCount: number }[]>('datasets.list');
    expect(datasets.map((d) => [d.name, d.imageCount])).toEqual([[DEMO_DATASET_NAME, 700]]);
    const detail = await invoke<{ pairSets: { id: number; seed: number | null; pairCount: number }[] }>('datasets.get', {
      id: datasets[0].id,
    });
    expect(detail.pairSets).toHaveLength(1);
    expect(detail.pairSets[0]).toMatchObject({ seed: 42 });
    expect(detail.pairSets[0].pairCount).toBe(atWindow!.pairs);
    const models = await invoke<{ name: string; pairSetId: number; metrics: { splits: { test?: { auc: number } } } | null }[]>(
      'models.list',
      {},
    );
    expect(models).toHaveLength(1);
    expect(models[0]).toMatchObject({ name: DEMO_MODEL_NAME, pairSetId: detail.pairSets[0].id });
    expect(models[0].metrics!.splits.test!.auc).toBeGreaterThan(0.5); // evaluated on the demo's test pairs
    const jobs = await invoke<{ kind: string; status: string }[]>('jobs.list', {});
    const byKind = (kind: string) => jobs.filter((j) => j.kind === kind).map((j) => j.status);
    expect(byKind('import')).toEqual(['done']);
    expect(byKind('pairs')).toEqual(['done']);
    expect(byKind('evaluate')).toEqual(['done']);
    // started in the background, not waited for: the maps of the test pairs and the faithfulness summary
    expect(byKind('explain')).toHaveLength(1);
    expect(byKind('faithfulness')).toHaveLength(1);
  });
});

describe('Electron entry', () => {
  it('opens one window with secure webPreferences on the app protocol', () => {
    const prefs = state.windows[0].opts.webPreferences as Record<string, unknown>;
    expect(prefs).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, webviewTag: false });
    expect(String(prefs.preload)).toMatch(/preload[\\/]index\.js$/);
    expect(state.windows[0].url).toBe('simlens://app/index.html');
    expect(state.sandboxEnabled).toBe(true);
    expect(state.privileged).toEqual([
      expect.objectContaining({ scheme: 'simlens', privileges: expect.objectContaining({ standard: true, secure: true }) }),
    ]);
  });

  it('binds one IPC handler per contract method, answering the app page only', async () => {
    expect([...state.ipcChannels].sort()).toEqual(METHOD_NAMES.map((n) => `simlens:${n}`).sort());
    const info = state.ipcHandlers.get('simlens:app.info')!;
    await expect(info(trusted, {})).resolves.toMatchObject({
      ok: true,
      value: { shell: 'electron' },
    });
    await expect(info({ senderFrame: { url: 'https://evil.example/' } }, {})).resolves.toMatchObject({
      ok: false,
      error: { code: 'unauthorized' },
    });
  });

  it('serves the renderer with the CSP and refuses paths outside it', async () => {
    const page = await state.protocolHandler!(new Request('simlens://app/index.html'));
    expect(page.status).toBe(200);
    expect(page.headers.get('Content-Security-Policy')).toBe(CSP);
    expect(page.headers.get('X-Content-Type-Options')).toBe('nosniff');
    for (const url of ['simlens://app/%2e%2e/%2e%2e/package.json', 'simlens://other/index.html', 'simlens://app/..%2f..%2fpackage.json']) {
      const res = await state.protocolHandler!(new Request(url));
      expect(res.status, url).toBe(404);
    }
  });

  it('adds the CSP header to the app pages only', () => {
    const calls: unknown[] = [];
    state.headersHandler!({ url: 'simlens://app/index.html', responseHeaders: {} }, (r: unknown) => calls.push(r));
    state.headersHandler!({ url: 'https://example.com/', responseHeaders: {} }, (r: unknown) => calls.push(r));
    expect(calls[0]).toMatchObject({ responseHeaders: { 'Content-Security-Policy': [CSP] } });
    expect(calls[1]).toEqual({});
  });

  it('refuses navigation elsewhere, new windows, webviews and permissions', () => {
    const listeners = new Map<string, Fn>();
    let openHandler: Fn | null = null;
    const contents = { on: (event: string, cb: Fn) => listeners.set(event, cb), setWindowOpenHandler: (h: Fn) => (openHandler = h) };
    state.appEvents.get('web-contents-created')!({}, contents);

    const prevented = (event: string, url: string) => {
      let was = false;
      listeners.get(event)!({ preventDefault: () => (was = true) }, url);
      return was;
    };
    expect(prevented('will-navigate', 'https://evil.example/')).toBe(true);
    expect(prevented('will-navigate', 'file:///etc/passwd')).toBe(true);
    expect(prevented('will-navigate', 'simlens://app/index.html')).toBe(false);
    expect(prevented('will-redirect', 'https://evil.example/')).toBe(true);
    expect(prevented('will-attach-webview', 'about:blank')).toBe(true);
    expect(openHandler!({ url: 'https://example.com' })).toEqual({ action: 'deny' });

    let granted: boolean | null = null;
    state.permissionRequest!({}, 'media', (ok: boolean) => (granted = ok));
    expect(granted).toBe(false);
    expect(state.permissionCheck!({}, 'clipboard-read')).toBe(false);
  });
});
