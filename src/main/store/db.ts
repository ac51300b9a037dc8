import Database from 'better-sqlite3';
import { MIGRATIONS, type Migration } from './migrations';

export type Db = Database.Database;

export interface OpenOptions {
  /** Electron passes the better-sqlite3 binary built for its ABI; plain Node uses the default. */
  nativeBinding?: string;
  readonly?: boolean;
}

/** The schema version this build writes. */
export const SCHEMA_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));

export class NewerDatabaseError extends Error {
  /**
   * `found`: the database's schema version; `unknownMigration`: a migration it records that this
   * build lacks though its number is not past this build's highest (a newer build filled a gap).
   */
  constructor(path: string, found: number, unknownMigration?: number) {
    const what =
      unknownMigration === undefined
        ? `schema ${found}, this version knows up to ${SCHEMA_VERSION}`
        : `it holds migration ${String(unknownMigration).padStart(4, '0')}, which this version does not have`;
    super(`The database ${path} was written by a newer SimLens (${what}). Update SimLens to open it; it has not been changed.`);
    this.name = 'NewerDatabaseError';
  }
}

/** How long a statement waits for another process's write transaction before it fails as busy. */
export const BUSY_TIMEOUT_MS = 30_000;

/**
 * Makes every `db.transaction(fn)` BEGIN IMMEDIATE (its .deferred variant stays available).
 * Two processes share a workspace (the app and a CLI job): a deferred transaction that reads
 * and then writes cannot wait for the other's write lock (SQLite answers SQLITE_BUSY at once,
 * "database is locked", busy timeout or not), while an immediate one takes the write lock at
 * BEGIN and waits for it up to the busy timeout. Transactions are short, so waiting is cheap.
 */
function immediateTransactions(db: Database.Database): void {
  const transaction = db.transaction.bind(db);
  db.transaction = ((fn: (...args: never[]) => unknown) => {
    const t = transaction(fn);
    const run = (...args: never[]) => t.immediate(...args);
    return Object.assign(run, { default: t.immediate, deferred: t.deferred, immediate: t.immediate, exclusive: t.exclusive });
  }) as typeof db.transaction;
}

/**
 * Opens (creating if needed) a workspace database: WAL, foreign keys on, a busy timeout and
 * immediate transactions (several processes may share it), pending migrations applied in one
 * transaction. Refuses a database from a newer schema.
 */
export function openDatabase(path: string, options: OpenOptions = {}): Db {
  const db = new Database(path, {
    readonly: options.readonly ?? false,
    ...(options.nativeBinding ? { nativeBinding: options.nativeBinding } : {}),
  });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = NORMAL');
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    immediateTransactions(db);
    if (!options.readonly) migrate(db, path, MIGRATIONS);
    else checkNotNewer(db, path);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

export function userVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Where the runner records each applied migration (created by the runner itself, not by a migration). */
export const APPLIED_MIGRATIONS_TABLE = 'schema_migrations';

function hasAppliedTable(db: Db): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(APPLIED_MIGRATIONS_TABLE) !== undefined;
}

/**
 * The migration versions applied to `db`. A database written before versions were recorded has
 * only its user_version; the builds that wrote those numbered their migrations 1..N without
 * gaps, so every version up to it counts as applied.
 */
export function appliedVersions(db: Db): Set<number> {
  if (hasAppliedTable(db))
    return new Set((db.prepare(`SELECT version FROM ${APPLIED_MIGRATIONS_TABLE}`).all() as { version: number }[]).map((r) => r.version));
  return new Set(Array.from({ length: userVersion(db) }, (_, i) => i + 1));
}

/**
 * Throws NewerDatabaseError when `db` holds a migration `migrations` does not know (a newer
 * build wrote it): its user_version is past the highest known one, or a recorded version is
 * missing from the list (a newer build filled a gap this one leaves).
 */
function refuseNewer(db: Db, path: string, migrations: Migration[], applied: Set<number>): void {
  const known = new Set(migrations.map((m) => m.version));
  const latest = Math.max(0, ...known);
  const current = userVersion(db);
  if (current > latest) throw new NewerDatabaseError(path, current);
  const unknown = [...applied].filter((v) => !known.has(v)).sort((a, b) => b - a);
  if (unknown.length > 0) throw new NewerDatabaseError(path, current, unknown[0]);
}

/** Refuses a database from a newer build without writing to it (for read-only opens). */
export function checkNotNewer(db: Db, path: string, migrations: Migration[] = MIGRATIONS): void {
  refuseNewer(db, path, migrations, appliedVersions(db));
}

/**
 * Applies the migrations of `migrations` (the full list a build knows) that `db` lacks, in
 * ascending version order, in one immediate transaction, recording each in
 * schema_migrations; user_version becomes the highest applied version (what older builds
 * compare). Versions need not be contiguous, and one that lands after a higher one (a gap
 * filled later: 0008 after 0009) is applied when it appears. Refuses a newer database.
 */
export function migrate(db: Db, path: string, migrations: Migration[]): void {
  const versions = migrations.map((m) => m.version);
  const repeated = versions.find((v, i) => versions.indexOf(v) !== i);
  if (repeated !== undefined) throw new Error(`Two migrations claim version ${repeated}: renumber one of them`);
  const pending = () => {
    const applied = appliedVersions(db);
    refuseNewer(db, path, migrations, applied);
    return { applied, todo: migrations.filter((m) => !applied.has(m.version)).sort((a, b) => a.version - b.version) };
  };
  if (pending().todo.length === 0 && hasAppliedTable(db)) return;
  // immediate, and the state read again inside: another process may be migrating right now
  db.transaction(() => {
    const { applied, todo } = pending();
    if (!hasAppliedTable(db)) {
      db.exec(
        `CREATE TABLE ${APPLIED_MIGRATIONS_TABLE} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))`,
      );
      // what a database from before the table already has (its user_version's 1..N)
      const record = db.prepare(`INSERT INTO ${APPLIED_MIGRATIONS_TABLE} (version, name) VALUES (?, ?)`);
      for (const version of [...applied].sort((a, b) => a - b))
        record.run(
          version,
          migrations.find((m) => m.version === version)?.name ??
            `${String(version).padStart(4, '0')} (recorded as applied by user_version)`,
        );
    }
    const record = db.prepare(`INSERT INTO ${APPLIED_MIGRATIONS_TABLE} (version, name) VALUES (?, ?)`);
    for (const m of todo) {
      db.exec(m.sql);
      record.run(m.version, m.name);
      applied.add(m.version);
    }
    db.pragma(`user_version = ${Math.max(0, ...applied)}`);
  }).immediate();
}
