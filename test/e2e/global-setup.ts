// Starts browser mode (out/main/web.js, built by `npm run build`) on a free port with a
// fresh temp workspace, waits for the URL it prints, and passes it to the tests as
// SIMLENS_E2E_URL (workers inherit the environment). The returned function is the
// teardown: it stops the server with SIGTERM (a clean shutdown) and removes the workspace.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// SIMLENS_E2E_STARTUP_MS: a longer wait on a loaded machine
const STARTUP_TIMEOUT_MS = Number(process.env.SIMLENS_E2E_STARTUP_MS) || 120_000;

export default async function globalSetup(): Promise<() => Promise<void>> {
  const root = resolve(__dirname, '../..');
  const entry = join(root, 'out/main/web.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  const workspace = mkdtempSync(join(tmpdir(), 'simlens-e2e-'));
  const child = spawn(process.execPath, [entry, '--workspace', workspace, '--port', '0'], {
    cwd: root,
    env: { ...process.env, SIMLENS_WORKSPACE: workspace },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`browser mode did not print its URL within ${STARTUP_TIMEOUT_MS} ms:\n${output}`)),
      STARTUP_TIMEOUT_MS,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const m = /(http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString('utf8');
      if (process.env.SIMLENS_E2E_VERBOSE) process.stderr.write(c);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`browser mode exited (${code}) before printing its URL:\n${output}`));
    });
  });
  process.env.SIMLENS_E2E_URL = url;
  process.env.SIMLENS_E2E_WORKSPACE = workspace;

  return async () => {
    let clean = true;
    if (child.exitCode === null) {
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000))]);
      if (code === 'timeout') child.kill('SIGKILL');
      clean = code === 0;
    }
    rmSync(workspace, { recursive: true, force: true });
    // Browser mode must shut down cleanly on SIGTERM (jobs stopped, database closed, exit 0).
    if (!clean) throw new Error(`browser mode did not exit cleanly on SIGTERM:\n${output.slice(-2000)}`);
  };
}
