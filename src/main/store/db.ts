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

/**
 * Opens (creating if needed) a workspace database: WAL, foreign keys on, pending
 * migrations applied in one transaction. Refuses a database from a newer schema.
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
    db.pragma('busy_timeout = 5000');
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
  const current = userVersion(db);
  const latest = Math.max(0, ...migrations.map((m) => m.version));
  if (current > latest) throw new NewerDatabaseError(path, current);
  const pending = migrations.filter((m) => m.version > current).sort((a, b) => a.version - b.version);
  if (pending.length === 0) return;
  db.transaction(() => {
    for (const m of pending) db.exec(m.sql);
    db.pragma(`user_version = ${latest}`);
  })();
}
