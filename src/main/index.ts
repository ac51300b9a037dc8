// The Electron entry: one window with secure defaults, the app's pages served from a
// privileged `simlens://app/` protocol (not file://) with a strict CSP, the contract bound
// over IPC (src/main/ipc.ts), the workspace in userData. With ipc.ts the only main-side
// file that imports 'electron'.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { app, BrowserWindow, ipcMain, protocol, session } from 'electron';
import { SimLensApp } from './app';
import { CSP, DEV_CSP, SECURITY_HEADERS } from './csp';
import { ensureDemoWorkspace } from './demo';
import { bindIpc } from './ipc';
import { workspacePaths } from './paths';
import { realFileInside, resolveStaticPath } from './web/static';

const SCHEME = 'simlens';
const APP_ORIGIN = `${SCHEME}://app`;
/** Set by `electron-vite dev`: the renderer comes from Vite's dev server. */
const DEV_URL = !app.isPackaged ? process.env.ELECTRON_RENDERER_URL : undefined;
const pageOrigin = DEV_URL ? new URL(DEV_URL).origin : null;

// standard + secure: a real origin (simlens://app) that counts as a secure context;
// corsEnabled: Vite's <script type="module" crossorigin> is fetched in CORS mode (same
// origin here; no Access-Control-Allow-Origin is ever sent, so other origins get nothing).
protocol.registerSchemesAsPrivileged([
  { scheme: SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true } },
]);
app.enableSandbox();

let simlens: SimLensApp | null = null;
let mainWindow: BrowserWindow | null = null;

/**
 * Whether a URL is one of the app's own pages. Compares scheme and host rather than
 * URL.origin: Node's URL gives a custom scheme the opaque origin "null".
 */
function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url);
    if (DEV_URL) return u.origin === pageOrigin;
    return u.protocol === `${SCHEME}:` && u.host === 'app';
  } catch {
    return false;
  }
}

/** better-sqlite3 compiled for Electron's ABI by scripts/start.mjs (plain Node keeps the default build). */
function electronNativeBinding(): string | undefined {
  const candidates = [
    join(app.getAppPath(), '.native/electron/better_sqlite3.node'),
    join(process.resourcesPath ?? '', '.native/electron/better_sqlite3.node'),
  ];
  return candidates.find((p) => existsSync(p));
}

function serveAppProtocol(): void {
  const root = join(__dirname, '../renderer');
  protocol.handle(SCHEME, (request) => {
    const url = new URL(request.url);
    const path = url.host === 'app' ? resolveStaticPath(root, url.pathname) : null;
    const file = path === null ? null : realFileInside(root, path);
    if (!file) return new Response('Not found', { status: 404, headers: SECURITY_HEADERS });
    const types: Record<string, string> = {
      '.html': 'text/html',
      '.js': 'text/javascript',
      '.css': 'text/css',
      '.svg': 'image/svg+xml',
      '.png': 'image/png',
    };
    const ext = file.slice(file.lastIndexOf('.'));
    return new Response(readFileSync(file), { headers: { ...SECURITY_HEADERS, 'Content-Type': types[ext] ?? 'application/octet-stream' } });
  });
}

function hardenSession(): void {
  const ses = session.defaultSession;
  // The dev server's pages get the policy as a header too (the app protocol sets its own).
  ses.webRequest.onHeadersReceived((details, callback) => {
    if (!isAppUrl(details.url)) return callback({});
    callback({
      responseHeaders: {
        ...details.responseHeaders,
        'Content-Security-Policy': [DEV_URL ? DEV_CSP : CSP],
        'X-Content-Type-Options': ['nosniff'],
      },
    });
  });
  ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  ses.setDevicePermissionHandler(() => false);
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 860,
    minWidth: 900,
    minHeight: 600,
    title: 'SimLens',
    show: false,
    backgroundColor: '#f6f7f9',
    webPreferences: {
      preload: join(__dirname, '../preload/index.js'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win.show());
  void win.loadURL(DEV_URL ?? `${APP_ORIGIN}/index.html`);
  return win;
}

// Every web contents (the window and anything it might spawn): no navigation away from
// the app, no new windows, no <webview>.
app.on('web-contents-created', (_event, contents) => {
  contents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
});

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (mainWindow) {
      if (mainWindow.isMinimized()) mainWindow.restore();
      mainWindow.focus();
    }
  });

  void app.whenReady().then(async () => {
    hardenSession();
    serveAppProtocol();
    const paths = workspacePaths(app.getPath('userData'));
    simlens = new SimLensApp({ dbPath: paths.db, shell: 'electron', nativeBinding: electronNativeBinding() });
    bindIpc(simlens, ipcMain, {
      target: () => mainWindow?.webContents ?? null,
      isTrustedSender: isAppUrl,
    });
    try {
      await ensureDemoWorkspace(simlens);
    } catch (error) {
      console.error('SimLens: could not prepare the demo workspace:', error);
    }
    mainWindow = createWindow();
    mainWindow.on('closed', () => (mainWindow = null));
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) {
        mainWindow = createWindow();
        mainWindow.on('closed', () => (mainWindow = null));
      }
    });
  });

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  let closing = false;
  app.on('before-quit', (event) => {
    if (!simlens || closing) return;
    closing = true;
    event.preventDefault();
    const open = simlens;
    simlens = null;
    void open.close().finally(() => app.quit());
  });
}
