// Browser mode's entry (built to out/main/web.js; plain Node, no 'electron'):
//   node out/main/web.js [--workspace DIR] [--port N] [--open] [--browser PATH]
// Opens the workspace ($SIMLENS_WORKSPACE or ~/.simlens unless --workspace), prepares
// the demo data on first start, serves the app on 127.0.0.1 and prints its URL (with
// the per-launch token in the fragment). --open starts Chromium on it. SIGINT/SIGTERM
// close the server and the app cleanly (running jobs are cancelled, the db closed).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SimLensApp } from './app';
import { ensureDemoWorkspace } from './demo';
import { defaultWorkspaceDir, workspacePaths } from './paths';
import { startWebServer } from './web/server';

interface Options {
  workspace: string;
  port: number;
  open: boolean;
  browser: string | null;
}

const USAGE = 'usage: node out/main/web.js [--workspace DIR] [--port N] [--open] [--browser PATH]';

function parseArgs(argv: string[]): Options {
  const opts: Options = { workspace: defaultWorkspaceDir(), port: 0, open: false, browser: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
      return v;
    };
    if (arg === '--workspace') opts.workspace = resolve(value());
    else if (arg === '--port') {
      const p = Number(value());
      if (!Number.isInteger(p) || p < 0 || p > 65535) throw new Error(`--port: expected 0-65535\n${USAGE}`);
      opts.port = p;
    } else if (arg === '--open') opts.open = true;
    else if (arg === '--no-open') opts.open = false;
    else if (arg === '--browser') opts.browser = value();
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`Unknown option ${arg}\n${USAGE}`);
  }
  return opts;
}

function findChromium(explicit: string | null): string | null {
  const candidates = [explicit, process.env.SIMLENS_BROWSER, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  return candidates.find((p): p is string => !!p && existsSync(p)) ?? null;
}

function openBrowser(url: string, explicit: string | null): void {
  const exe = findChromium(explicit);
  if (!exe) {
    console.log('No Chromium found; open the URL above in a browser.');
    return;
  }
  const args = [
    `--app=${url}`,
    `--user-data-dir=${mkdtempSync(join(tmpdir(), 'simlens-chromium-'))}`,
    '--no-first-run',
    '--no-default-browser-check',
  ];
  // Chromium refuses to run as root without this (CI containers); a user's session never is root.
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  const child = spawn(exe, args, { stdio: 'ignore', detached: true });
  child.on('error', (error) => console.log(`Could not start ${exe}: ${error.message}`));
  child.unref();
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const paths = workspacePaths(opts.workspace);
  const app = new SimLensApp({ dbPath: paths.db, shell: 'browser' });

  let server: Awaited<ReturnType<typeof startWebServer>> | null = null;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`\nSimLens: ${signal}, shutting down`);
    await server?.close();
    await app.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  try {
    await ensureDemoWorkspace(app);
  } catch (error) {
    console.error(`SimLens: could not prepare the demo data: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (stopping) return;
  server = await startWebServer(app, { port: opts.port, host: '127.0.0.1', rendererDir: join(__dirname, '../renderer') });
  console.log(`SimLens browser mode (workspace ${paths.dir}): ${server.url}`);
  if (opts.open) openBrowser(server.url, opts.browser);
}

main().catch((error: unknown) => {
  console.error(`SimLens: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
