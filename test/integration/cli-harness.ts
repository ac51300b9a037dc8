// Shared harness for the CLI tests: the built `simlens` (out/main/cli.js, rebuilt when
// the main-side sources are newer), run as a child process.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';

export const ROOT = resolve(__dirname, '../..');
export const CLI = join(ROOT, 'out/main/cli.js');
export const BIN = join(ROOT, 'bin/simlens.cjs');
export const DEMO = join(ROOT, 'resources/demo/fashion-mnist');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds out/ with electron-vite when cli.js is missing or older than src/main or src/shared. */
export function ensureBuiltCli(): void {
  const sources = Math.max(newestMtime(join(ROOT, 'src/main')), newestMtime(join(ROOT, 'src/shared')));
  if (!existsSync(CLI) || statSync(CLI).mtimeMs < sources) {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], { cwd: ROOT, stdio: 'pipe' });
  }
}

/** Runs the CLI (or another entry, e.g. the bin shim) with extra environment variables. */
export function runCli(args: string[], options: { entry?: string; env?: Record<string, string> } = {}): Promise<CliRun> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [options.entry ?? CLI, ...args],
      { cwd: ROOT, env: { ...process.env, ...options.env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Runs a command with --json, asserts it succeeded silently on stderr, and parses stdout. */
export async function runCliJson<T>(args: string[], env?: Record<string, string>): Promise<T> {
  const run = await runCli([...args, '--json'], { env });
  expect(run.stderr, run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as T;
}
