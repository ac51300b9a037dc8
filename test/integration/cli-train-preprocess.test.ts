// `simlens train --preprocess`: flag validation (before any database is opened) and help.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuiltCli, runCli } from './cli-harness';

let work = '';
beforeAll(() => {
  ensureBuiltCli();
  work = mkdtempSync(join(tmpdir(), 'simlens-cli-preprocess-'));
}, 300_000);
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('simlens train --preprocess', () => {
  it('rejects an unknown mode with exit code 2 naming the choices', async () => {
    const run = await runCli(['train', '--db', join(work, 'none.db'), '--preprocess', 'bgr', '--json'], {
      env: { SIMLENS_WORKSPACE: work },
    });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.split('\n')[0]).toMatch(/^simlens train: --preprocess: expected one of none, tf, caffe, torch, got 'bgr'/);
  });

  it('a valid mode passes flag validation (then fails on the missing database, exit 1)', async () => {
    const run = await runCli(['train', '--db', join(work, 'none.db'), '--preprocess', 'caffe'], { env: { SIMLENS_WORKSPACE: work } });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/No SimLens database/);
  });

  it('help train documents the modes', async () => {
    const run = await runCli(['help', 'train'], { env: { SIMLENS_WORKSPACE: work } });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/--preprocess/);
    expect(run.stdout).toMatch(/caffe \(BGR 0-255 minus ImageNet means/);
  });
});
