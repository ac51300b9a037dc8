// The Electron entry (src/main/index.ts) with Electron itself mocked at the module
// boundary: its binary cannot be downloaded on the machines this project is built on,
// so the window is never shown here. What is checked is what the entry asks Electron
// for: secure webPreferences, the app protocol and its CSP, navigation/window.open/
// permission refusals, and one IPC handler per contract method. The app behind it is
// real (a temp workspace); only the demo import is stubbed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
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

vi.mock('../../src/main/demo', () => ({ ensureDemoWorkspace: async () => ({ action: 'none' }) }));

beforeAll(async () => {
  delete process.env.ELECTRON_RENDERER_URL;
  state.userData = mkdtempSync(join(tmpdir(), 'simlens-electron-'));
  await import('../../src/main/index');
  await vi.waitFor(() => expect(state.windows).toHaveLength(1));
});

afterAll(async () => {
  const beforeQuit = state.appEvents.get('before-quit');
  if (beforeQuit) {
    beforeQuit({ preventDefault: () => {} });
    await vi.waitFor(() => expect(state.quit).toBe(1));
  }
  rmSync(state.userData, { recursive: true, force: true });
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
    await expect(info({ senderFrame: { url: 'simlens://app/index.html' } }, {})).resolves.toMatchObject({
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
