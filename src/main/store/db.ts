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
  constructor(path: string, found: number) {
    super(
      `The database ${path} was written by a newer SimLens (schema ${found}, this version knows up to ${SCHEMA_VERSION}). ` +
        'Update SimLens to open it; it has not been changed.',
    );
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
    else if (userVersion(db) > SCHEMA_VERSION) throw new NewerDatabaseError(path, userVersion(db));
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

export function userVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function migrate(db: Db, path: string, migrations: Migration[]): void {
  const latest = Math.max(0, ...migrations.map((m) => m.version));
  const check = () => {
    const current = userVersion(db);
    if (current > latest) throw new NewerDatabaseError(path, current);
    return migrations.filter((m) => m.version > current).sort((a, b) => a.version - b.version);
  };
  if (check().length === 0) return;
  // immediate, and the version read again inside: another process may be migrating right now
  db.transaction(() => {
    for (const m of check()) db.exec(m.sql);
    db.pragma(`user_version = ${latest}`);
  }).immediate();
}
