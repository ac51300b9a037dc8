// `simlens retrain`, `simlens compare` and `simlens bench decoy`: the built CLI as a child process,
// on a temp workspace with the bundled demo data (masks written into its store as an expert's), and
// on the real Fashion-MNIST for the benchmark (tiny sizes): --json output, exit codes, messages.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompareDto, RetrainSettingsDto } from '../../src/shared/dto';
import { DEMO, ensureBuiltCli, runCli, runCliJson, type CliRun } from './cli-harness';

const env = () => ({ SIMLENS_WORKSPACE: work, SIMLENS_BACKEND: 'wasm' });
const simlens = (args: string[]): Promise<CliRun> => runCli(args, { env: env() });
const json = <T>(args: string[]): Promise<T> => runCliJson<T>(args, env());
const FASHION = process.env.SIMLENS_FASHION_MNIST ?? '/usr/share/datasets/fashion-mnist';

interface RetrainOut {
  jobId: number;
  modelId: number;
  parentId: number;
  retrain: RetrainSettingsDto;
  metrics: { threshold: number; splits: Record<string, { auc: number; accuracy: number }> };
  history: { epoch: number; loss: number; maskLoss?: number }[];
}

/** The first `n` items of an idx file of the demo (header count rewritten), gzipped into `dir`. */
function idxHead(dir: string, name: string, n: number): void {
  const raw = gunzipSync(readFileSync(join(DEMO, name)));
  const dims = raw[3];
  const item = dims === 3 ? raw.readUInt32BE(8) * raw.readUInt32BE(12) : 1;
  const head = 4 + 4 * dims;
  const out = Buffer.from(raw.subarray(0, head + n * item));
  out.writeUInt32BE(n, 4);
  writeFileSync(join(dir, name), gzipSync(out));
}

let work: string;
let db: string;
let parentId: number;
beforeAll(async () => {
  ensureBuiltCli();
  work = mkdtempSync(join(tmpdir(), 'simlens-cli-retrain-'));
  db = join(work, 'demo.db');
  // a third of the bundled demo (200 train, 60 test images) keeps the epochs short
  const data = join(work, 'fmnist');
  mkdirSync(data);
  for (const [name, n] of [
    ['train-images-idx3-ubyte.gz', 200],
    ['train-labels-idx1-ubyte.gz', 200],
    ['t10k-images-idx3-ubyte.gz', 60],
    ['t10k-labels-idx1-ubyte.gz', 60],
  ] as const)
    idxHead(data, name, n);
  await json(['import', data, '--db', db, '--kind', 'idx']);
  const pairs = await json<{ pairSetId: number }>(['pairs', '--db', db, '--seed', '1']);
  parentId = (await json<{ modelId: number }>(['train', '--db', db, '--epochs', '1', '--batch', '32', '--seed', '1'])).modelId;
  // an expert's masks (the garment's middle) on every 10th train image
  const sqlite = new Database(db);
  const train = sqlite
    .prepare("SELECT image_id AS id FROM image_splits WHERE pair_set_id = ? AND split = 'train' ORDER BY image_id")
    .all(pairs.pairSetId) as { id: number }[];
  const px = Buffer.alloc(28 * 28);
  for (let y = 3; y < 25; y++) for (let x = 5; x < 23; x++) px[y * 28 + x] = 255;
  const png = await sharp(px, { raw: { width: 28, height: 28, channels: 1 } })
    .png()
    .toBuffer();
  const insert = sqlite.prepare(
    "INSERT INTO masks (image_id, author, encoding, width, height, data, source) VALUES (?, ?, 'png', 28, 28, ?, 'seeded')",
  );
  train.filter((_, i) => i % 10 === 0).forEach((r, i) => insert.run(r.id, i % 2 === 0 ? 'ann' : 'bob', png));
  sqlite.close();
}, 900_000);
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('simlens retrain / compare', () => {
  let child: RetrainOut;

  it('retrain --json prints the new version id, its parent, how the masks were used and its metrics', async () => {
    child = await json<RetrainOut>([
      'retrain',
      '--db',
      db,
      '--from',
      String(parentId),
      '--loss',
      'energy',
      '--lambda',
      '2',
      '--epochs',
      '1',
      '--seed',
      '2',
    ]);
    expect(child.modelId).toBeGreaterThan(parentId);
    expect(child.parentId).toBe(parentId);
    expect(child.retrain).toMatchObject({ parentId, loss: 'energy', lossUsed: 'energy', lambda: 2, fallback: null, author: null });
    expect(child.retrain.masks.authors.map((a) => a.author)).toEqual(['ann', 'bob']);
    expect(child.retrain.check).toMatchObject({ ok: true, backend: 'wasm' });
    expect(child.metrics.splits.test.auc).toBeGreaterThan(0.5);
    expect(child.history).toHaveLength(1);
    expect(child.history[0].maskLoss).toBeGreaterThan(0);
    const human = await simlens([
      'retrain',
      '--db',
      db,
      '--from',
      String(parentId),
      '--loss',
      'augment',
      '--author',
      'bob',
      '--epochs',
      '1',
    ]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/retrained from version \d+/);
    expect(human.stdout).toMatch(/Loss augment with \d+ mask\(s\)/);
    expect(human.stdout).toContain('by bob (');
  }, 900_000);

  it('compare --json prints both versions, the deltas and the pairs whose maps moved most', async () => {
    const c = await json<CompareDto & { jobId: number }>([
      'compare',
      '--db',
      db,
      '--a',
      String(parentId),
      '--b',
      String(child.modelId),
      '--limit',
      '60',
      '--steps',
      '4',
    ]);
    expect(c.a.modelId).toBe(parentId);
    expect(c.b.modelId).toBe(child.modelId);
    expect(c.pairs).toBe(60);
    expect(c.a.test!.accuracy).toBeGreaterThan(0);
    expect(c.delta.testAuc).toBeCloseTo(c.b.test!.auc - c.a.test!.auc, 10);
    expect(c.moved.length).toBe(20);
    expect(c.moved[0].movement).toBeGreaterThanOrEqual(c.moved[19].movement);
    const human = await simlens([
      'compare',
      '--db',
      db,
      '--a',
      String(parentId),
      '--b',
      String(child.modelId),
      '--limit',
      '60',
      '--steps',
      '4',
    ]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('Pairs whose maps moved most');
  }, 900_000);

  it('refuses bad arguments (exit 2), unknown versions and missing masks with one line', async () => {
    const cases: [string[], number, RegExp][] = [
      [['retrain', '--db', db], 2, /--from ID is required/],
      [
        ['retrain', '--db', db, '--from', String(parentId), '--loss', 'l2'],
        2,
        /--loss: expected one of rrr, energy, hint, augment, got 'l2'/,
      ],
      [['retrain', '--db', db, '--from', String(parentId), '--lambda=-1'], 2, /--lambda: expected a number in \[0, 1000000\]/],
      [['retrain', '--db', db, '--from', String(parentId), '--maps', 'some'], 2, /--maps: expected factual or both/],
      [['retrain', '--db', db, '--from', String(parentId), '--author', 'zed'], 2, /No train image of pair set \d+ has a mask by "zed"/],
      [['retrain', '--db', db, '--from', '999'], 1, /Model version 999/],
      [['compare', '--db', db, '--a', '1'], 2, /--a ID and --b ID are required/],
      [['compare', '--db', db, '--a', '1', '--b', '1'], 2, /two different versions/],
      [['compare', '--db', db, '--a', '1', '--b', '999'], 1, /Model version 999/],
      [['bench', 'nothing'], 2, /unknown benchmark 'nothing'; available: decoy/],
      [['bench', 'decoy', '--data', join(work, 'nowhere')], 1, /No Fashion-MNIST idx files in/],
      [['bench', 'decoy', '--kind', 'colour'], 2, /--kind: expected position or shade/],
    ];
    for (const [args, code, message] of cases) {
      const run = await simlens(args);
      expect(run.code, args.join(' ')).toBe(code);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(message);
      expect(run.stderr.trim().split('\n')[0]).toMatch(new RegExp(`^simlens ${args[0]}: `));
    }
  }, 300_000);
});

describe.runIf(existsSync(join(FASHION, 'train-images-idx3-ubyte.gz')))('simlens bench decoy', () => {
  it('--json reports every row on the real Fashion-MNIST (tiny sizes)', async () => {
    const r = await json<{
      sizes: { trainImages: number; maskedTrainImages: number; testPairs: number };
      rows: { model: string; testAccuracy: number; testAuc: number; epg: number | null; seconds: number; used: string | null }[];
      aims: { gapClosed80: boolean; epgAbove07: boolean };
    }>([
      'bench',
      'decoy',
      '--seed',
      '3',
      '--train-per-class',
      '12',
      '--val-per-class',
      '4',
      '--test-per-class',
      '4',
      '--epochs',
      '1',
      '--retrain-epochs',
      '1',
      '--workers',
      '0',
    ]);
    expect(r.sizes).toMatchObject({ trainImages: 120, maskedTrainImages: 12 });
    expect(r.rows.map((row) => row.model)).toEqual(['clean', 'decoy', 'retrain rrr', 'retrain energy', 'retrain hint', 'retrain augment']);
    for (const row of r.rows) {
      expect(row.testAccuracy).toBeGreaterThanOrEqual(0);
      expect(row.testAuc).toBeLessThanOrEqual(1);
      expect(row.epg === null || (row.epg >= 0 && row.epg <= 1)).toBe(true);
      expect(row.seconds).toBeGreaterThan(0);
    }
    expect(r.rows.slice(2).map((row) => row.used)).toEqual(['rrr', 'energy', 'hint', 'augment']);
    expect(typeof r.aims.gapClosed80).toBe('boolean');
  }, 900_000);
});
