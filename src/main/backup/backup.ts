// Workspace backups: one file (a tar, backup/tar.ts) holding a consistent copy of the database
// and the folders of the model versions that copy knows, plus a manifest with every file's
// size and sha256. Written while the app (and maybe a CLI job) keeps using the workspace:
// - the database is copied with SQLite's online backup API (better-sqlite3's db.backup), which
//   yields a snapshot of one committed state, a few pages per event-loop turn;
// - the models packed are those the SNAPSHOT's rows point at (a version committed after the
//   snapshot is not in it, and its folder is not packed), and version folders are never
//   changed once committed, so database and models agree.
// Restoring writes into a new, empty workspace folder, checks every file against the
// manifest, then opens the database (integrity_check, migrations of an older schema).
import { createHash } from 'node:crypto';
import { ONNX_CACHE_DIR } from '../engine/onnx/cache-files';
import { createWriteStream, existsSync, readdirSync, statSync, type WriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, posix, resolve, sep } from 'node:path';
import Database from 'better-sqlite3';
import type { BackupDto } from '../../shared/dto';
import { AppError, invalid } from '../errors';
import { openDatabase, SCHEMA_VERSION, userVersion, type Db } from '../store/db';
import { readTar, TarWriter } from './tar';

const FORMAT = 'simlens-backup';
const MANIFEST = 'manifest.json';
const DB_ENTRY = 'simlens.db';

interface Manifest {
  format: typeof FORMAT;
  version: 1;
  createdAt: string;
  appVersion: string;
  schemaVersion: number;
  files: { path: string; bytes: number; sha256: string }[];
}

/**
 * The files of a folder, recursively, as paths relative to it ('/'-separated). A version's ONNX
 * Runtime cache is left out: it is rebuilt on use, and may be written while the backup runs.
 */
function filesUnder(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory() && entry.name === ONNX_CACHE_DIR) continue;
    if (entry.isDirectory()) out.push(...filesUnder(join(dir, entry.name), rel));
    else if (entry.isFile()) out.push(rel);
  }
  return out.sort();
}

/**
 * Writes a backup of the workspace whose database is `db` (open, in use) to `out` (a new file).
 * `workspaceDir`: where the versions' weights_path are relative to.
 */
export async function createBackup(db: Db, workspaceDir: string, out: string, appVersion: string): Promise<BackupDto> {
  const target = resolve(out);
  if (existsSync(target)) throw invalid(`${target} exists: choose a new file for the backup`);
  await mkdir(dirname(target), { recursive: true });
  const scratch = await mkdtemp(join(dirname(target), '.simlens-backup-'));
  const partial = `${target}.partial`;
  try {
    const snapshot = join(scratch, DB_ENTRY);
    await db.backup(snapshot);
    const copy = new Database(snapshot, { readonly: true });
    let folders: string[];
    let schemaVersion: number;
    try {
      schemaVersion = userVersion(copy);
      folders = (
        copy.prepare('SELECT weights_path AS p FROM model_versions WHERE weights_path IS NOT NULL ORDER BY id').all() as { p: string }[]
      ).map((r) => r.p);
    } finally {
      copy.close();
    }
    const tar = new TarWriter(partial);
    const files: Manifest['files'] = [];
    const add = async (name: string, source: string) => {
      const hash = createHash('sha256');
      const bytes = await tar.addFile(name, source, (chunk) => hash.update(chunk));
      files.push({ path: name, bytes, sha256: hash.digest('hex') });
    };
    try {
      await add(DB_ENTRY, snapshot);
      let models = 0;
      for (const folder of folders) {
        const abs = resolve(workspaceDir, folder);
        // a path that leaves the workspace, or a folder deleted since the snapshot, is not packed
        if (!abs.startsWith(resolve(workspaceDir) + sep) || !existsSync(abs) || !statSync(abs).isDirectory()) continue;
        for (const rel of filesUnder(abs)) await add(posix.join(folder.split(sep).join('/'), rel), join(abs, rel));
        models++;
      }
      const manifest: Manifest = { format: FORMAT, version: 1, createdAt: new Date().toISOString(), appVersion, schemaVersion, files };
      await tar.addBuffer(MANIFEST, Buffer.from(JSON.stringify(manifest, null, 2)));
      await tar.finish();
      await rename(partial, target);
      return { path: target, bytes: (await stat(target)).size, models, files: files.length + 1, schemaVersion };
    } catch (error) {
      await tar.finish().catch(() => undefined);
      throw error;
    }
  } finally {
    await rm(partial, { force: true });
    await rm(scratch, { recursive: true, force: true });
  }
}

export interface RestoreResult {
  workspace: string;
  db: string;
  models: number;
  files: number;
  schemaVersion: number;
}

/** Whether a relative path from a backup stays inside the folder it is written to. */
const safeEntry = (name: string) => !name.startsWith('/') && !name.split('/').some((p) => p === '..' || p === '') && !name.includes('\\');

/**
 * Restores a backup into `workspaceDir`, which must not exist or be empty. Every file is checked
 * against the manifest (size and sha256); a damaged or foreign file restores nothing.
 */
export async function restoreBackup(file: string, workspaceDir: string): Promise<RestoreResult> {
  const source = resolve(file);
  if (!existsSync(source)) throw new AppError('not_found', `${source} does not exist`);
  const target = resolve(workspaceDir);
  if (existsSync(target) && readdirSync(target).length > 0) throw invalid(`${target} is not empty: restore into a new workspace folder`);
  await mkdir(dirname(target), { recursive: true });
  const staging = await mkdtemp(join(dirname(target), '.simlens-restore-'));
  try {
    const written = new Map<string, { bytes: number; sha256: string }>();
    let manifestText = '';
    await readTar(source, async ({ name }) => {
      if (name === MANIFEST) {
        const parts: Buffer[] = [];
        return { chunk: async (b) => void parts.push(b), end: async () => void (manifestText = Buffer.concat(parts).toString('utf8')) };
      }
      if (!safeEntry(name)) throw invalid(`${source} holds an entry that would leave the workspace: ${name}`);
      const dest = join(staging, ...name.split('/'));
      await mkdir(dirname(dest), { recursive: true });
      const out: WriteStream = createWriteStream(dest, { flags: 'wx' });
      const hash = createHash('sha256');
      let bytes = 0;
      return {
        chunk: (b) =>
          new Promise<void>((done, fail) => {
            hash.update(b);
            bytes += b.length;
            out.write(b, (error) => (error ? fail(error) : done()));
          }),
        end: () =>
          new Promise<void>((done, fail) => {
            written.set(name, { bytes, sha256: hash.digest('hex') });
            out.end((error?: Error | null) => (error ? fail(error) : done()));
          }),
      };
    }).catch((error: unknown) => {
      throw error instanceof AppError ? error : invalid(`${source} is not a readable SimLens backup: ${(error as Error).message}`);
    });
    let manifest: Manifest;
    try {
      manifest = JSON.parse(manifestText) as Manifest;
    } catch {
      throw invalid(`${source} is not a SimLens backup (no readable ${MANIFEST})`);
    }
    if (manifest.format !== FORMAT) throw invalid(`${source} is not a SimLens backup`);
    if (manifest.schemaVersion > SCHEMA_VERSION)
      throw invalid(`${source} was written by a newer SimLens (schema ${manifest.schemaVersion}); update SimLens to restore it`);
    for (const f of manifest.files) {
      const got = written.get(f.path);
      if (!got || got.bytes !== f.bytes || got.sha256 !== f.sha256)
        throw invalid(`${source} is damaged: ${f.path} does not match its manifest entry`);
    }
    if (written.size !== manifest.files.length) throw invalid(`${source} holds files its manifest does not list`);
    const check = new Database(join(staging, DB_ENTRY), { readonly: true });
    try {
      const result = check.pragma('integrity_check', { simple: true });
      if (result !== 'ok') throw invalid(`The database in ${source} fails its integrity check: ${String(result)}`);
    } finally {
      check.close();
    }
    if (existsSync(target)) await rm(target, { recursive: true });
    await rename(staging, target);
    // opening applies the migrations of an older backup's schema
    const db = openDatabase(join(target, DB_ENTRY));
    const schemaVersion = userVersion(db);
    db.close();
    const models = new Set(manifest.files.filter((f) => f.path.startsWith('models/')).map((f) => f.path.split('/')[1])).size;
    return { workspace: target, db: join(target, DB_ENTRY), models, files: manifest.files.length + 1, schemaVersion };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
