// A browser-mode server of its own for a spec that needs a workspace nobody else touches (a
// true first start, counts and kappas worked out by hand): out/main/web.js on a free port
// with a fresh temp workspace, like global-setup.ts's, plus a typed call to its API.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface TestServer {
  url: string;
  origin: string;
  token: string;
  workspace: string;
  call<T>(method: string, args?: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

/** Calls a method of a server's API (throws its error message). */
export async function callApi<T>(origin: string, token: string, method: string, args: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(`${origin}/api/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify(args),
  });
  const body = (await res.json()) as { ok: boolean; value?: T; error?: { message: string } };
  if (!body.ok) throw new Error(`${method}: ${body.error?.message}`);
  return body.value as T;
}

export async function startServer(timeoutMs = 120_000): Promise<TestServer> {
  const root = resolve(__dirname, '../..');
  const entry = join(root, 'out/main/web.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  const workspace = mkdtempSync(join(tmpdir(), 'simlens-e2e-own-'));
  const child: ChildProcess = spawn(process.execPath, [entry, '--workspace', workspace, '--port', '0'], {
    cwd: root,
    env: { ...process.env, SIMLENS_WORKSPACE: workspace },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`browser mode did not print its URL within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const m = /(http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        done(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`browser mode exited (${code}) before printing its URL:\n${output}`));
    });
  });
  const parsed = new URL(url);
  const token = new URLSearchParams(parsed.hash.slice(1)).get('token') ?? '';
  return {
    url,
    origin: parsed.origin,
    token,
    workspace,
    call: (method, args = {}) => callApi(parsed.origin, token, method, args),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(workspace, { recursive: true, force: true });
    },
  };
}
