import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** The repository's resources/ folder; out/main/*.js and src/main/*.ts sit at the same depth. */
export function resourcesDir(): string {
  const candidates = [resolve(__dirname, '../../resources'), resolve(__dirname, '../../../resources'), resolve(process.cwd(), 'resources')];
  return candidates.find((p) => existsSync(join(p, 'demo'))) ?? candidates[0];
}

/** Where a workspace lives unless told otherwise: $SIMLENS_WORKSPACE or ~/.simlens. */
export function defaultWorkspaceDir(): string {
  return process.env.SIMLENS_WORKSPACE ? resolve(process.env.SIMLENS_WORKSPACE) : join(homedir(), '.simlens');
}

export interface WorkspacePaths {
  dir: string;
  db: string;
  /** trained model versions: one folder per version (model.json + shards) */
  models: string;
}

export function workspacePaths(dir: string): WorkspacePaths {
  return { dir, db: join(dir, 'simlens.db'), models: join(dir, 'models') };
}
