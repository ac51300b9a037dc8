// Two processes on one workspace (issue #13, item 3 and "Crash safety"): the built CLI
// imports a folder in a child process while this process opens the same workspace, runs
// its own imports beside it and reads the jobs. Nothing of one may touch the other: opening
// a workspace interrupts only jobs whose owning process is gone, and no "database is
// locked" reaches either side.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimLensApp } from '../../src/main/app';
import { CLI, ensureBuiltCli, ROOT } from '../integration/cli-harness';
import { noise, solid, write } from './hostile-helpers';
import { scaled } from './slowdown';

let work: string;
let big: string;
const BIG_FILES = 400;

beforeAll(async () => {
  ensureBuiltCli();
  work = mkdtempSync(join(tmpdir(), 'simlens-two-processes-'));
  big = join(work, 'big');
  await Promise.all(
    Array.from({ length: BIG_FILES }, async (_, i) => write(join(big, `c${i % 4}`, `${i}.png`), await noise(160 + (i % 7), 120, 'png'))),
  );
}, scaled(120_000));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Polls `read` until it returns a value (not undefined; a throw counts as not yet), for at most `ms`. */
async function until<T>(read: () => T | undefined, ms = scaled(60_000)): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    let value: T | undefined;
    try {
      value = read();
    } catch {
      value = undefined;
    }
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the awaited condition did not hold within ${ms} ms`);
}

describe('two processes on one workspace', () => {
  it('the app opens the workspace, imports beside a CLI import and touches none of its jobs', async () => {
    const db = join(work, 'shared.db');
    const child = spawn(process.execPath, [CLI, 'import', big, '--db', db, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));

    // the CLI's job is running and has written some files
    const reader = await until(() => new Database(db, { readonly: true, fileMustExist: true }));
    const cliJob = await until(() => {
      const row = reader.prepare("SELECT id FROM jobs WHERE status = 'running' AND kind = 'import'").get() as { id: number } | undefined;
      const written = (reader.prepare('SELECT count(*) AS n FROM import_reports').get() as { n: number }).n;
      return row && written > 0 ? row.id : undefined;
    });

    // this process opens the same workspace: the CLI's running job stays running
    const app = new SimLensApp({ dbPath: db, shell: 'cli' });
    try {
      expect(app.jobs.get(cliJob).status).toBe('running');
      // ... and imports beside it, writing while the CLI writes
      const mine: number[] = [];
      for (let i = 0; i < 6; i++) {
        const folder = join(work, `small-${i}`);
        for (let j = 0; j < 6; j++) write(join(folder, 'k', `${j}.png`), await solid('png', 8 + j, 8 + i, '#3366aa'));
        mine.push((await app.call('datasets.import', { path: folder, name: `small ${i}` })).jobId);
      }
      const finished = await Promise.all(mine.map((id) => app.jobs.wait(id)));
      expect(finished.map((j) => [j.status, j.error])).toEqual(mine.map(() => ['done', null]));
      expect(app.jobs.get(cliJob).status).toMatch(/^(running|done)$/);
    } finally {
      await app.close();
    }
    expect(await exited, stderr).toBe(0);
    expect(stderr).not.toMatch(/locked|busy/i);
    expect(JSON.parse(stdout).totals).toEqual({ imported: BIG_FILES, duplicate: 0, skipped: 0, error: 0 });
    expect(reader.prepare('SELECT status FROM jobs WHERE id = ?').get(cliJob)).toEqual({ status: 'done' });
    expect(reader.pragma('integrity_check', { simple: true })).toBe('ok');
    reader.close();
  });
});

describe('which unfinished jobs opening a workspace interrupts', () => {
  it('only those whose owner is gone: a dead pid, a stale heartbeat, no recorded owner', async () => {
    const dbPath = join(work, 'owners.db');
    const first = new SimLensApp({ dbPath, shell: 'cli' });
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => dead.on('exit', resolve));
    const insert = first.db.prepare(
      "INSERT INTO jobs (kind, status, params, owner_pid, owner_host, owner_token, heartbeat_at) VALUES ('import', 'running', '{}', ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?))",
    );
    const host = first.jobs.owner.host;
    const alive = Number(insert.run(sleeper.pid, host, 'token-alive', '-0 seconds').lastInsertRowid);
    const deadPid = Number(insert.run(dead.pid, host, 'token-dead', '-0 seconds').lastInsertRowid);
    const stale = Number(insert.run(sleeper.pid, host, 'token-stale', '-120 seconds').lastInsertRowid);
    const otherHost = Number(insert.run(999_999, 'another-machine', 'token-far', '-0 seconds').lastInsertRowid);
    const legacy = Number(
      first.db.prepare("INSERT INTO jobs (kind, status, params) VALUES ('train', 'running', '{}')").run().lastInsertRowid,
    );
    try {
      expect(first.jobs.interruptAbandoned().sort((a, b) => a - b)).toEqual([deadPid, stale, legacy]);
      const status = (id: number) => first.jobs.get(id).status;
      expect([alive, deadPid, stale, otherHost, legacy].map(status)).toEqual([
        'running',
        'interrupted',
        'interrupted',
        'running',
        'interrupted',
      ]);
      expect(first.jobs.get(deadPid).error).toMatch(/process is gone/);
    } finally {
      sleeper.kill();
      await first.close();
    }
  });
});
