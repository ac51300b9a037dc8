import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate, NewerDatabaseError, openDatabase, SCHEMA_VERSION, userVersion } from '../../src/main/store/db';
import { MIGRATIONS } from '../../src/main/store/migrations';

const dirs: string[] = [];
function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'simlens-store-'));
  dirs.push(dir);
  return join(dir, 'test.db');
}
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('openDatabase', () => {
  it('creates the schema with WAL and foreign keys', () => {
    const db = openDatabase(tempDb());
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(userVersion(db)).toBe(SCHEMA_VERSION);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map(
      (t) => t.name,
    );
    for (const t of [
      'datasets',
      'images',
      'pairs',
      'pair_sets',
      'image_splits',
      'model_versions',
      'jobs',
      'scores',
      'explanations',
      'verdicts',
      'masks',
    ]) {
      expect(tables).toContain(t);
    }
    db.close();
  });

  it('is idempotent: reopening applies nothing new', () => {
    const path = tempDb();
    openDatabase(path).close();
    const db = openDatabase(path);
    expect(userVersion(db)).toBe(SCHEMA_VERSION);
    db.close();
  });

  it('refuses a database written by a newer version and leaves it unchanged', () => {
    const path = tempDb();
    const db = openDatabase(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    db.close();
    expect(() => openDatabase(path)).toThrow(NewerDatabaseError);
    expect(() => openDatabase(path)).toThrow(/newer SimLens/);
    expect(() => openDatabase(path, { readonly: true })).toThrow(NewerDatabaseError);
  });

  it('applies pending migrations in one transaction: a failing one leaves the version as it was', () => {
    const db = openDatabase(tempDb());
    const before = userVersion(db);
    const bad = [
      { version: before + 1, name: 'ok', sql: 'CREATE TABLE extra (x INTEGER);' },
      { version: before + 2, name: 'bad', sql: 'CREATE TABLE broken (;' },
    ];
    expect(() => migrate(db, 'test', bad)).toThrow(/near ";": syntax error/);
    expect(userVersion(db)).toBe(before);
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'extra'").get()).toEqual({ n: 0 });
    db.close();
  });

  it('upgrades a schema-3 database: jobs gain a nullable data column, existing rows kept', () => {
    const path = tempDb();
    // a workspace written before 0004: migrations 1-3 only
    const v3 = new Database(path);
    migrate(
      v3,
      path,
      MIGRATIONS.filter((m) => m.version <= 3),
    );
    v3.prepare("INSERT INTO jobs (kind, status, params, result) VALUES ('pairs', 'done', '{}', '{}')").run();
    v3.close();
    const db = openDatabase(path);
    expect(userVersion(db)).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(4);
    const columns = db.prepare('PRAGMA table_info(jobs)').all() as { name: string; notnull: number }[];
    expect(columns.find((c) => c.name === 'data')).toMatchObject({ notnull: 0 });
    expect(db.prepare('SELECT kind, status, data FROM jobs').all()).toEqual([{ kind: 'pairs', status: 'done', data: null }]);
    db.close();
  });

  it('enforces foreign keys', () => {
    const db = openDatabase(tempDb());
    expect(() => db.prepare("INSERT INTO pairs (pair_set_id, image_a, image_b, label, split) VALUES (99, 1, 2, 1, 'train')").run()).toThrow(
      /FOREIGN KEY/,
    );
    db.close();
  });
});
