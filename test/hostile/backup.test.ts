// Backups (issue #13): `simlens backup` and app.backup write one file with a consistent copy of
// the database (SQLite's online backup) and the model folders, also while the workspace is in
// use; `simlens restore` puts it into a new workspace. Compared after restoring: every row of
// every table and every model file (a quiet backup), and for a backup taken while a CLI import
// and the app's verdicts write, a consistent state (each committed import batch whole, the
// verdicts a prefix of the source's, the models byte for byte).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimLensApp } from '../../src/main/app';
import { CLI, ensureBuiltCli, ROOT, runCli, runCliJson } from '../integration/cli-harness';
import { copyWorkspace, prepareFixture, removeRoot, tempRoot, type Fixture } from './crash-harness';
import { noise, write } from './hostile-helpers';
import { scaled } from './slowdown';

let root: string;
let fixture: Fixture;

beforeAll(async () => {
  ensureBuiltCli();
  root = tempRoot();
  fixture = await prepareFixture(root);
}, scaled(300_000));
afterAll(() => removeRoot(root));

/** Every row of every table (blobs as base64), by table. */
function tables(dbPath: string): Record<string, unknown[][]> {
  const db = new Database(dbPath, { readonly: true });
  try {
    const names = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map(
      (r) => r.name,
    );
    return Object.fromEntries(
      names.map((n) => [
        n,
        (db.prepare(`SELECT * FROM "${n}"`).raw().all() as unknown[][]).map((row) =>
          row.map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : v)),
        ),
      ]),
    );
  } finally {
    db.close();
  }
}

/** sha256 of every file under a folder, by relative path. */
function fileHashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

describe('backups', () => {
  it('a quiet workspace restores identically: every row of every table, every model file', async () => {
    const ws = copyWorkspace(fixture, root, 'quiet');
    const out = join(root, 'quiet.simlens-backup');
    const backup = await runCliJson<{ path: string; models: number; files: number }>([
      'backup',
      '--db',
      join(ws, 'simlens.db'),
      '--out',
      out,
    ]);
    expect(backup).toMatchObject({ path: out, models: 1 });
    const restored = await runCliJson<{ workspace: string; db: string; models: number }>([
      'restore',
      out,
      '--to',
      join(root, 'quiet-restored'),
    ]);
    expect(restored.models).toBe(1);
    expect(tables(restored.db)).toEqual(tables(join(ws, 'simlens.db')));
    expect(fileHashes(join(restored.workspace, 'models'))).toEqual(fileHashes(join(ws, 'models')));
    // the restored workspace works: the CLI reads it
    const info = await runCliJson<{ datasets: unknown[] }>(['info', '--db', restored.db]);
    expect(info.datasets).toHaveLength(1);
  });

  it('a backup taken while a CLI import and the app write restores to a consistent workspace', async () => {
    const ws = copyWorkspace(fixture, root, 'busy');
    const dbPath = join(ws, 'simlens.db');
    const photos = join(root, 'busy-photos');
    await Promise.all(
      Array.from({ length: 160 }, async (_, i) => write(join(photos, `k${i % 2}`, `${i}.png`), await noise(180, 140 + (i % 5), 'png'))),
    );
    const child = spawn(process.execPath, [CLI, 'import', photos, '--db', dbPath, '--name', 'busy'], { cwd: ROOT, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const app = new SimLensApp({ dbPath, shell: 'cli' });
    const out = join(root, 'busy.simlens-backup');
    try {
      // verdicts from the app, the import from the CLI, and the backup in the middle of both:
      // once the import has committed a batch and the app some verdicts (whatever the machine's load)
      const importedSoFar = () =>
        (
          app.db.prepare("SELECT count(*) AS n FROM images i JOIN datasets d ON d.id = i.dataset_id WHERE d.name = 'busy'").get() as {
            n: number;
          }
        ).n;
      const deadline = Date.now() + scaled(60_000);
      let i = 0;
      while (i < 10 || importedSoFar() === 0) {
        if (Date.now() > deadline) throw new Error(`the CLI import committed nothing within ${scaled(60_000)} ms`);
        const pairId = fixture.pairIds[i % fixture.pairIds.length];
        await app.call('review.verdict', {
          pairId,
          modelId: fixture.modelId,
          similarity: i++ % 2 ? 'correct' : 'wrong',
          reviewer: 'backup-test',
        });
      }
      const backup = await app.call('app.backup', { path: out });
      expect(backup.models).toBe(1);
      for (let j = 0; j < 20; j++)
        await app.call('review.verdict', {
          pairId: fixture.pairIds[j],
          modelId: fixture.modelId,
          similarity: 'correct',
          reviewer: 'after-backup',
        });
    } finally {
      await app.close();
    }
    expect(await exited).toBe(0);
    const restored = await runCliJson<{ db: string; workspace: string }>(['restore', out, '--to', join(root, 'busy-restored')]);
    const copy = new Database(restored.db, { readonly: true });
    try {
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(copy.pragma('foreign_key_check')).toEqual([]);
      // an import batch is in the copy whole or not at all: every image with its report row
      const images = (
        copy.prepare("SELECT count(*) AS n FROM images i JOIN datasets d ON d.id = i.dataset_id WHERE d.name = 'busy'").get() as {
          n: number;
        }
      ).n;
      const reported = (
        copy
          .prepare(
            "SELECT count(*) AS n FROM import_reports WHERE status = 'imported' AND image_id IN (SELECT i.id FROM images i JOIN datasets d ON d.id = i.dataset_id WHERE d.name = 'busy')",
          )
          .get() as { n: number }
      ).n;
      expect(images).toBeGreaterThan(0);
      expect(images).toBe(reported);
      // the copy's verdicts are the source's verdicts up to the backup, none of those after it
      const source = tables(dbPath).verdicts;
      const copied = tables(restored.db).verdicts;
      expect(copied.length).toBeGreaterThan(0);
      expect(source.slice(0, copied.length)).toEqual(copied);
      expect((copy.prepare("SELECT count(*) AS n FROM verdicts WHERE reviewer = 'after-backup'").get() as { n: number }).n).toBe(0);
    } finally {
      copy.close();
    }
    expect(fileHashes(join(restored.workspace, 'models'))).toEqual(fileHashes(join(fixture.dir, 'models')));
  });

  it('refuses a damaged backup and a non-empty target, restoring nothing', async () => {
    const ws = copyWorkspace(fixture, root, 'damaged');
    const out = join(root, 'damaged.simlens-backup');
    await runCliJson(['backup', '--db', join(ws, 'simlens.db'), '--out', out]);
    const bytes = readFileSync(out);
    bytes[Math.floor(bytes.length / 3)] ^= 0xff; // one flipped byte inside a file's data
    writeFileSync(out, bytes);
    const target = join(root, 'damaged-restored');
    const run = await runCli(['restore', out, '--to', target]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/is damaged: .* does not match its manifest entry|checksum is wrong/);
    expect(() => readdirSync(target)).toThrow(/ENOENT/);
    const busy = await runCli(['restore', join(root, 'quiet.simlens-backup'), '--to', ws]);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toMatch(/is not empty: restore into a new workspace folder/);
    const again = await runCli(['backup', '--db', join(ws, 'simlens.db'), '--out', out]);
    expect(again.stderr).toMatch(/exists: choose a new file for the backup/);
  });
});
