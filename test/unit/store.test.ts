import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { appliedVersions, migrate, NewerDatabaseError, openDatabase, SCHEMA_VERSION, userVersion } from '../../src/main/store/db';
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
      ...MIGRATIONS,
      { version: before + 1, name: 'ok', sql: 'CREATE TABLE extra (x INTEGER);' },
      { version: before + 2, name: 'bad', sql: 'CREATE TABLE broken (;' },
    ];
    expect(() => migrate(db, 'test', bad)).toThrow(/near ";": syntax error/);
    expect(userVersion(db)).toBe(before);
    expect([...appliedVersions(db)].sort((a, b) => a - b)).toEqual(MIGRATIONS.map((m) => m.version));
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

describe('migration numbers with gaps', () => {
  const table = (name: string) => `CREATE TABLE ${name} (x INTEGER);`;
  const tablesOf = (db: Database.Database) =>
    (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 't%' ORDER BY name").all() as { name: string }[]).map(
      (t) => t.name,
    );
  const recorded = (db: Database.Database) =>
    (db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all() as { version: number; name: string }[]).map(
      (r) => `${r.version}:${r.name}`,
    );

  it('applies 1, 2, 4 in ascending order whatever order the list has, and the absent 3 is no error', () => {
    const path = tempDb();
    const db = new Database(path);
    // 4 depends on 2's table: applied out of order it fails
    migrate(db, path, [
      { version: 4, name: 'four', sql: 'CREATE TABLE t4 AS SELECT x FROM t2;' },
      { version: 1, name: 'one', sql: table('t1') },
      { version: 2, name: 'two', sql: table('t2') },
    ]);
    expect(tablesOf(db)).toEqual(['t1', 't2', 't4']);
    expect(recorded(db)).toEqual(['1:one', '2:two', '4:four']);
    expect(userVersion(db)).toBe(4);
    db.close();
  });

  it('applies a migration that lands later under a lower number (3 after 4) when the database already has 4', () => {
    const path = tempDb();
    const db = new Database(path);
    const early = [
      { version: 1, name: 'one', sql: table('t1') },
      { version: 2, name: 'two', sql: table('t2') },
      { version: 4, name: 'four', sql: table('t4') },
    ];
    migrate(db, path, early);
    migrate(db, path, [...early, { version: 3, name: 'three', sql: table('t3') }]);
    expect(tablesOf(db)).toEqual(['t1', 't2', 't3', 't4']);
    expect(recorded(db)).toEqual(['1:one', '2:two', '3:three', '4:four']);
    expect(userVersion(db)).toBe(4);
    // and again: nothing left to apply (a second CREATE TABLE t3 would throw)
    migrate(db, path, [...early, { version: 3, name: 'three', sql: table('t3') }]);
    expect(recorded(db)).toHaveLength(4);
    db.close();
  });

  it("refuses a database holding a migration this build lacks, though its number is below this build's highest", () => {
    const path = tempDb();
    const db = new Database(path);
    const full = [
      { version: 1, name: 'one', sql: table('t1') },
      { version: 2, name: 'two', sql: table('t2') },
      { version: 3, name: 'three', sql: table('t3') },
    ];
    migrate(db, path, full);
    const withoutTwo = [full[0]!, full[2]!];
    expect(() => migrate(db, path, withoutTwo)).toThrow(NewerDatabaseError);
    expect(() => migrate(db, path, withoutTwo)).toThrow(/holds migration 0002, which this version does not have/);
    expect(recorded(db)).toEqual(['1:one', '2:two', '3:three']);
    db.close();
  });

  it('takes a database from before versions were recorded (user_version only) as having 1..user_version, and records them', () => {
    const path = tempDb();
    const legacy = new Database(path);
    legacy.exec(table('t1') + table('t2'));
    legacy.pragma('user_version = 2');
    migrate(legacy, path, [
      { version: 1, name: 'one', sql: table('t1') },
      { version: 2, name: 'two', sql: table('t2') },
      { version: 4, name: 'four', sql: table('t4') },
    ]);
    expect(tablesOf(legacy)).toEqual(['t1', 't2', 't4']);
    expect(recorded(legacy)).toEqual(['1:one', '2:two', '4:four']);
    expect(userVersion(legacy)).toBe(4);
    legacy.close();
  });

  it('refuses two migrations with one number', () => {
    const db = new Database(tempDb());
    expect(() =>
      migrate(db, 'test', [
        { version: 1, name: 'one', sql: table('t1') },
        { version: 1, name: 'other', sql: table('t9') },
      ]),
    ).toThrow('Two migrations claim version 1: renumber one of them');
    db.close();
  });

  it("this build's list: retraining's 0008, job owners' 0009; a schema-7 workspace from before both gains them", () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(MIGRATIONS.find((m) => m.version === 8)?.name).toBe('0008-create-model-version-masks');
    expect(MIGRATIONS.find((m) => m.version === 9)?.name).toBe('0009-add-job-owner');
    const path = tempDb();
    const old = new Database(path);
    old.pragma('foreign_keys = ON');
    // a workspace main wrote before versions were recorded: 1..7 and user_version 7, no table
    for (const m of MIGRATIONS.filter((m) => m.version <= 7)) old.exec(m.sql);
    old.pragma('user_version = 7');
    old.close();
    const db = openDatabase(path);
    expect([...appliedVersions(db)].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(userVersion(db)).toBe(9);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'model_version_masks'").get()).toBeDefined();
    const columns = (db.prepare('PRAGMA table_info(jobs)').all() as { name: string }[]).map((c) => c.name);
    expect(columns).toEqual(expect.arrayContaining(['owner_pid', 'owner_host', 'owner_token', 'heartbeat_at']));
    db.close();
  });
});
