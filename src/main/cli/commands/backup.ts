import { resolve } from 'node:path';
import { restoreBackup } from '../../backup/backup';
import type { CliCommand } from '../types';
import { usageError } from '../types';

export const backupCommand: CliCommand = {
  name: 'backup',
  summary: 'Write a consistent backup of the workspace (database and models) into one file, also while the app runs',
  synopsis: 'backup --out FILE [--db FILE] [--json]',
  options: {
    out: { type: 'string', arg: 'FILE', description: 'the backup file to write (must not exist)' },
  },
  positionals: { min: 0, max: 0, names: '' },
  db: 'existing',
  details:
    "The database is copied with SQLite's online backup (a snapshot of one committed state, while the\n" +
    'app or a CLI job keeps writing); the model versions that snapshot knows are packed with it, with a\n' +
    "manifest of every file's sha256. Restore with: simlens restore FILE --to DIR.",
  async run(ctx) {
    const out = ctx.values.out as string | undefined;
    if (!out) throw usageError('missing --out FILE');
    const app = ctx.openApp();
    const backup = await app.call('app.backup', { path: resolve(out) });
    return {
      data: backup,
      text: `Backup ${backup.path}: ${backup.bytes} bytes, the database (schema ${backup.schemaVersion}) and ${backup.models} model version(s), ${backup.files} files.`,
    };
  },
};

export const restoreCommand: CliCommand = {
  name: 'restore',
  summary: 'Restore a backup into a new workspace folder',
  synopsis: 'restore <backup-file> --to DIR [--json]',
  options: {
    to: { type: 'string', arg: 'DIR', description: 'the new workspace folder (must not exist or be empty)' },
  },
  positionals: { min: 1, max: 1, names: '<backup-file>' },
  db: 'none',
  details:
    "Every file is checked against the backup's manifest (size and sha256) and the database against\n" +
    "SQLite's integrity check before anything is put in place; open the result with\n" +
    '--db DIR/simlens.db or SIMLENS_WORKSPACE=DIR.',
  async run(ctx) {
    const to = ctx.values.to as string | undefined;
    if (!to) throw usageError('missing --to DIR');
    const result = await restoreBackup(resolve(ctx.positionals[0]), resolve(to));
    return {
      data: result,
      text: `Restored into ${result.workspace}: database ${result.db} (schema ${result.schemaVersion}), ${result.models} model version(s), ${result.files} files.`,
    };
  },
};
