// The built `simlens` CLI (out/main/cli.js, rebuilt here when the sources are newer),
// run as a child process on temp databases, with the bundled demo data.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { SCHEMA_VERSION } from '../../src/main/store/db';
import { BIN, CLI, DEMO, ensureBuiltCli, runCli, runCliJson, type CliRun } from './cli-harness';

const simlens = (args: string[], entry = CLI): Promise<CliRun> => runCli(args, { entry, env: { SIMLENS_WORKSPACE: work } });
const json = <T>(args: string[]): Promise<T> => runCliJson<T>(args, { SIMLENS_WORKSPACE: work });

let work: string;
beforeAll(() => {
  ensureBuiltCli();
  work = mkdtempSync(join(tmpdir(), 'simlens-cli-'));
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('simlens CLI', () => {
  it('imports the demo folder, generates pairs and reports them, as JSON', async () => {
    const db = join(work, 'demo.db');
    const imported = await json<{
      jobId: number;
      datasetId: number;
      dataset: { id: number; name: string; imageCount: number; hasOfficialTest: boolean; classes: { classLabel: string; total: number }[] };
      totals: Record<string, number>;
    }>(['import', DEMO, '--db', db, '--name', 'Demo', '--kind', 'idx']);
    expect(imported.dataset.name).toBe('Demo');
    // the demo: 600 train + 100 official test images, 70 per class (resources/demo/README.md)
    expect(imported.dataset.imageCount).toBe(700);
    expect(imported.dataset.hasOfficialTest).toBe(true);
    expect(imported.dataset.classes).toHaveLength(10);
    for (const c of imported.dataset.classes) expect(c.total, c.classLabel).toBe(70);
    expect(imported.totals.imported).toBe(imported.dataset.imageCount);
    expect(imported.totals.error).toBe(0);

    type PairsOut = {
      jobId: number;
      pairSetId: number;
      seed: number;
      protocol: string;
      pairCount: number;
      counts: Record<'train' | 'val' | 'test', { images: number; positive: number; negative: number }>;
    };
    const pairs = await json<PairsOut>(['pairs', '--db', db, '--seed', '42', '--per-anchor', '2']);
    expect(pairs.seed).toBe(42);
    expect(pairs.protocol).toBe(imported.dataset.hasOfficialTest ? 'official-test' : 'ratios');
    // the official t10k images are the test split; the train images are split 90/10, per class (54 + 6)
    expect([pairs.counts.train.images, pairs.counts.val.images, pairs.counts.test.images]).toEqual([540, 60, 100]);
    for (const split of ['train', 'val', 'test'] as const) {
      expect(pairs.counts[split].positive).toBeGreaterThan(0);
      expect(pairs.counts[split].positive).toBe(pairs.counts[split].negative);
    }
    expect(pairs.counts.train.images).toBeGreaterThan(pairs.counts.val.images);

    // The same seed again: a new pair set with identical pairs.
    const again = await json<PairsOut>(['pairs', '--db', db, '--seed', '42', '--per-anchor', '2', '--dataset', String(imported.datasetId)]);
    expect(again.pairSetId).toBe(pairs.pairSetId + 1);
    const sqlite = new Database(db, { readonly: true });
    const rows = (id: number) =>
      sqlite.prepare('SELECT image_a, image_b, label, split FROM pairs WHERE pair_set_id = ? ORDER BY id').all(id);
    expect(rows(again.pairSetId)).toEqual(rows(pairs.pairSetId));
    expect(rows(pairs.pairSetId)).toHaveLength(pairs.pairCount);
    // the reported counts are those of the stored pairs, split by split
    const stored = sqlite
      .prepare('SELECT split, sum(label = 1) AS positive, sum(label = 0) AS negative FROM pairs WHERE pair_set_id = ? GROUP BY split')
      .all(pairs.pairSetId) as { split: 'train' | 'val' | 'test'; positive: number; negative: number }[];
    expect(Object.fromEntries(stored.map((r) => [r.split, { positive: r.positive, negative: r.negative }]))).toEqual(
      Object.fromEntries(
        (['test', 'train', 'val'] as const).map((k) => [k, { positive: pairs.counts[k].positive, negative: pairs.counts[k].negative }]),
      ),
    );
    sqlite.close();

    const info = await json<{
      schemaVersion: number;
      datasets: { id: number; imageCount: number; pairSets: { id: number; pairCount: number }[] }[];
      jobs: { byKind: Record<string, Record<string, number>> };
    }>(['info', '--db', db]);
    expect(info.schemaVersion).toBe(SCHEMA_VERSION);
    expect(info.datasets).toHaveLength(1);
    expect(info.datasets[0].pairSets.map((s) => s.id)).toEqual([again.pairSetId, pairs.pairSetId]);
    expect(info.datasets[0].pairSets[1].pairCount).toBe(pairs.pairCount);
    expect(info.jobs.byKind).toEqual({ import: { done: 1 }, pairs: { done: 2 } });

    const human = await simlens(['info', '--db', db]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`schema version ${SCHEMA_VERSION}`);
    expect(human.stdout).toContain('Dataset 1 "Demo"');
    expect(human.stdout).toContain(`Pair set ${pairs.pairSetId} (seed 42`);
  });

  it('rejects bad arguments with a one-line message, the usage, and exit code 2', async () => {
    const db = join(work, 'bad.db');
    const cases: [string[], RegExp][] = [
      [['pairs', '--db', db, '--bogus'], /unknown option '--bogus'/],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['pairs', '--db', db, '--per-anchor', '0'], /--per-anchor: expected an integer in \[1, 20\]/],
      [['pairs', '--db', db, '--seed', 'abc'], /--seed: expected an integer, got 'abc'/],
      [['pairs', '--db', db, '--split', '80/20'], /--split: expected three numbers/],
      [['import', '--db', db], /missing <path>/],
      [['info', '--db', db, 'extra'], /unexpected argument 'extra'/],
      [['import', DEMO, '--db', db, '--kind', 'zip'], /--kind: expected one of/],
    ];
    for (const [args, message] of cases) {
      const run = await simlens([...args, '--json']);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stdout, args.join(' ')).toBe('');
      expect(run.stderr.split('\n')[0]).toMatch(message);
      expect(run.stderr).toMatch(/Usage: simlens/);
    }
    expect(existsSync(db)).toBe(false);
  });

  it('fails with a clear message and exit code 1 on a missing database or path', async () => {
    const missing = await simlens(['info', '--db', join(work, 'nope.db')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^simlens info: No SimLens database at .*nope\.db/);
    expect(existsSync(join(work, 'nope.db'))).toBe(false);

    const db = join(work, 'empty.db');
    const badPath = await simlens(['import', join(work, 'no-such-folder'), '--db', db, '--json']);
    expect(badPath.code).toBe(1);
    expect(badPath.stdout).toBe('');
    expect(badPath.stderr.trim().split('\n')).toHaveLength(1);
    expect(badPath.stderr).toMatch(/^simlens import: .*no-such-folder/);

    const noData = await simlens(['pairs', '--db', db]);
    expect(noData.code).toBe(1);
    expect(noData.stderr).toMatch(/no datasets yet/);
  });

  it('prints help, and the bin shim runs the built CLI', async () => {
    const help = await simlens(['help'], BIN);
    expect(help.code).toBe(0);
    for (const cmd of ['import', 'pairs', 'info']) expect(help.stdout).toContain(`  ${cmd} `);
    const pairsHelp = await simlens(['pairs', '--help']);
    expect(pairsHelp.stdout).toMatch(/Usage: simlens pairs .*--per-anchor K/);
    expect(pairsHelp.stdout).toMatch(/official test split/);
    const listed = await json<{ commands: { name: string }[] }>(['help']);
    expect(listed.commands.map((c) => c.name)).toEqual(expect.arrayContaining(['import', 'pairs', 'info']));
  });
});
