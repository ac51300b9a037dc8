// `simlens train`, `eval` and `models`: the built CLI (out/main/cli.js, rebuilt when the
// sources are newer) run as a child process on temp databases with the bundled demo data.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeFrozenFeatures } from '../../src/shared/inference';
import { saveLayersModel } from '../../src/main/engine/runtime/model-io';
import type { ModelVersionDto } from '../../src/shared/dto';
import { CLI, DEMO, ensureBuiltCli, ROOT, runCli, runCliJson, type CliRun } from './cli-harness';
import type { MetricsSummary, SplitSummary } from '../../src/main/cli/commands/eval';

const env = () => ({ SIMLENS_WORKSPACE: work, SIMLENS_BACKEND: 'wasm' });
const simlens = (args: string[]): Promise<CliRun> => runCli(args, { env: env() });
const json = <T>(args: string[]): Promise<T> => runCliJson<T>(args, env());

interface TrainOut {
  jobId: number;
  modelId: number;
  name: string;
  arch: string;
  datasetId: number;
  pairSetId: number;
  seed: number;
  inputShape: number[];
  training: { epochs: number; bestEpoch: number; bestValAuc: number };
  metrics: MetricsSummary;
  history: { epoch: number; loss: number; valAuc: number }[];
}

const KEYS = ['auc', 'accuracy', 'precision', 'recall', 'f1', 'threshold', 'pairs', 'same', 'different', 'tp', 'fp', 'tn', 'fn'] as const;
const pick = (m: object) => Object.fromEntries(KEYS.map((k) => [k, (m as Record<string, unknown>)[k]]));

/**
 * The metrics of a split, recomputed from the stored scores of its pairs: AUC by brute force over
 * every (same, different) pair of pairs (ties count 1/2), the confusion counts at the threshold
 * ("same" when score >= threshold) and the rates from them.
 */
function expectMetricsOf(modelId: number, split: 'val' | 'test', m: SplitSummary): void {
  const sqlite = new Database(db, { readonly: true, fileMustExist: true });
  const rows = sqlite
    .prepare(
      'SELECT s.score AS score, p.label AS label FROM scores s JOIN pairs p ON p.id = s.pair_id WHERE s.model_id = ? AND p.split = ?',
    )
    .all(modelId, split) as { score: number; label: 0 | 1 }[];
  sqlite.close();
  const same = rows.filter((r) => r.label === 1).map((r) => r.score);
  const different = rows.filter((r) => r.label === 0).map((r) => r.score);
  expect([rows.length, same.length, different.length]).toEqual([m.pairs, m.same, m.different]);
  let wins = 0;
  for (const a of same) for (const b of different) wins += a > b ? 1 : a === b ? 0.5 : 0;
  expect(m.auc).toBeCloseTo(wins / (same.length * different.length), 9);
  const tp = same.filter((x) => x >= m.threshold).length;
  const fp = different.filter((x) => x >= m.threshold).length;
  expect({ tp: m.tp, fp: m.fp, tn: m.tn, fn: m.fn }).toEqual({ tp, fp, tn: different.length - fp, fn: same.length - tp });
  expect(m.accuracy).toBeCloseTo((tp + different.length - fp) / rows.length, 9);
  expect(m.precision).toBeCloseTo(tp + fp === 0 ? 0 : tp / (tp + fp), 9);
  expect(m.recall).toBeCloseTo(tp / same.length, 9);
  expect(m.f1).toBeCloseTo(m.precision + m.recall === 0 ? 0 : (2 * m.precision * m.recall) / (m.precision + m.recall), 9);
}

let work: string;
let db: string;
let pairSetId: number;
beforeAll(async () => {
  ensureBuiltCli();
  work = mkdtempSync(join(tmpdir(), 'simlens-cli-train-'));
  db = join(work, 'demo.db');
  await json(['import', DEMO, '--db', db, '--kind', 'idx']);
  pairSetId = (await json<{ pairSetId: number }>(['pairs', '--db', db, '--seed', '1'])).pairSetId;
}, 120_000);
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('simlens train / eval / models', () => {
  let trained: TrainOut;

  it('train --json prints the new version id and its val/test metrics', async () => {
    const run = await simlens(['train', '--db', db, '--epochs', '1', '--batch', '32', '--seed', '1', '--name', 'cli smoke', '--json']);
    expect(run.stderr, run.stderr).toBe(''); // not a terminal: no progress
    expect(run.code).toBe(0);
    trained = JSON.parse(run.stdout) as TrainOut;
    expect(trained.modelId).toBeGreaterThan(0);
    expect(trained).toMatchObject({ name: 'cli smoke', arch: 'small', datasetId: 1, pairSetId, seed: 1, inputShape: [28, 28, 1] });
    expect(trained.training).toMatchObject({ epochs: 1, bestEpoch: 1 });
    expect(trained.history).toHaveLength(1);
    expect(trained.metrics.thresholdSource).toBe('val');
    expect(Object.keys(trained.metrics.splits).sort()).toEqual(['test', 'val']);
    for (const s of ['val', 'test'] as const) {
      const m = trained.metrics.splits[s]!;
      expect(Object.keys(m).sort()).toEqual([...KEYS].sort());
      expect(m.threshold).toBe(trained.metrics.threshold);
      // every figure recomputed here from the scores the CLI stored for the split's pairs
      expectMetricsOf(trained.modelId, s, m);
      expect(m.auc, `${s} AUC after one epoch: better than chance`).toBeGreaterThan(0.6);
    }
    // the stored version carries the same numbers
    const stored = await json<ModelVersionDto>(['models', '--db', db, '--model', String(trained.modelId)]);
    expect(stored.metrics!.splits.test!.roc.length).toBeGreaterThan(1);
    for (const s of ['val', 'test'] as const) expect(pick(stored.metrics!.splits[s]!)).toEqual(trained.metrics.splits[s]);
  }, 60_000);

  it('eval --split test re-scores the test pairs: metrics equal the stored ones', async () => {
    const out = await json<{ jobId: number; modelId: number; metrics: MetricsSummary }>([
      'eval',
      '--db',
      db,
      '--model',
      String(trained.modelId),
      '--split',
      'test',
    ]);
    expect(out.modelId).toBe(trained.modelId);
    expect(Object.keys(out.metrics.splits)).toEqual(['test']);
    const test = out.metrics.splits.test!;
    expect(out.metrics.threshold).toBe(trained.metrics.threshold); // kept: val was not evaluated
    const stored = await json<ModelVersionDto>(['models', '--db', db, '--model', String(trained.modelId)]);
    expect(pick(stored.metrics!.splits.test!)).toEqual(test);
    // the weights on disk score as the model did at the end of training
    const before = trained.metrics.splits.test!;
    for (const k of KEYS) expect(test[k]).toBeCloseTo(before[k], 6);

    const human = await simlens(['eval', '--db', db, '--model', String(trained.modelId)]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`Model version ${trained.modelId} "cli smoke" (small)`);
    expect(human.stdout).toMatch(/^val\s+\d+\s+0\.\d{4}/m);
    expect(human.stdout).toMatch(/^test\s+\d+\s+0\.\d{4}/m);

    const list = await json<{ id: number; metrics: MetricsSummary | null }[]>(['models', '--db', db]);
    expect(list.map((m) => m.id)).toContain(trained.modelId);
  });

  it('rejects bad flags with a one-line message and exit code 2', async () => {
    const m = String(trained.modelId);
    const cases: [string[], RegExp][] = [
      [['train', '--db', db, '--epochs', '0'], /--epochs: expected an integer in \[1, 1000\], got 0/],
      [['train', '--db', db, '--epochs', '1.5'], /--epochs: expected an integer, got '1.5'/],
      [['train', '--db', db, '--lr', '-1'], /option '--lr' needs a value/],
      [['train', '--db', db, '--lr=-1'], /--lr: expected a number in \[1e-9, 1\], got -1/],
      [['train', '--db', db, '--lr', 'fast'], /--lr: expected a number, got 'fast'/],
      [['train', '--db', db, '--margin', '0'], /--margin: expected a number in/],
      [['train', '--db', db, '--batch', '1'], /--batch: expected an integer in \[2, 4096\]/],
      [['train', '--db', db, '--arch', 'vgg16'], /--arch: expected one of small, resnet18, resnet50, mobilenetv2, got 'vgg16'/],
      [['train', '--db', db, '--frozen-blocks', '2'], /--cut-layer and --frozen-blocks need --backbone DIR/],
      [['train', '--db', db, '--backbone', work, '--arch', 'small'], /--arch and --backbone exclude each other/],
      [['train', '--db', db, '--pair-set', String(pairSetId), '--dataset', '2'], /belongs to dataset 1, not 2/],
      [['eval', '--db', db], /missing --model ID/],
      [['eval', '--db', db, '--model', 'x'], /--model: expected an integer/],
      [['eval', '--db', db, '--model', m, '--split', 'holdout'], /--split: expected one or more of train, val, test/],
    ];
    for (const [args, message] of cases) {
      const run = await simlens([...args, '--json']);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr.split('\n')[0]).toMatch(/^simlens (train|eval): /);
      expect(run.stderr.split('\n')[0]).toMatch(message);
    }
  });

  it('fails with exit code 1 on an unknown model, a missing backbone, or no pairs; 2 when the dataset is ambiguous', async () => {
    for (const args of [
      ['eval', '--db', db, '--model', '999', '--json'],
      ['models', '--db', db, '--model', '999', '--json'],
    ]) {
      const run = await simlens(args);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/Model version 999 does not exist/);
    }
    const backbone = await simlens(['train', '--db', db, '--backbone', join(work, 'no-such-model')]);
    expect(backbone.code).toBe(1);
    expect(backbone.stderr).toMatch(/^simlens train: --backbone: no such folder .*no-such-model/);

    const other = join(work, 'no-pairs.db');
    await json(['import', DEMO, '--db', other, '--kind', 'idx']);
    const noPairs = await simlens(['train', '--db', other, '--json']);
    expect(noPairs.code).toBe(1);
    expect(noPairs.stdout).toBe('');
    expect(noPairs.stderr).toMatch(/^simlens train: Dataset 1 has no pairs yet: generate them first \(simlens pairs --dataset 1\)/);

    // two datasets: the CLI does not guess
    await json(['import', DEMO, '--db', other, '--kind', 'idx', '--name', 'second']);
    const ambiguous = await simlens(['train', '--db', other, '--json']);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toMatch(/^simlens train: The database has 2 datasets: choose one with --dataset ID/);
  });

  it('train --backbone DIR trains on a saved tfjs LayersModel, cut and partly frozen', async () => {
    // a small "pretrained" CNN with a classifier top, as a tfjs LayersModel folder
    await tf.setBackend('cpu');
    const input = tf.input({ shape: [28, 28, 1] });
    let x = tf.layers
      .conv2d({
        name: 'b1_conv',
        filters: 8,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed: 1 }),
      })
      .apply(input) as tf.SymbolicTensor;
    x = tf.layers.maxPooling2d({ name: 'b1_pool', poolSize: 2 }).apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .conv2d({
        name: 'b2_conv',
        filters: 8,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed: 2 }),
      })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .conv2d({
        name: 'b3_conv',
        filters: 8,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed: 3 }),
      })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
    const top = tf.layers.dense({ name: 'classes', units: 10, activation: 'softmax' }).apply(x) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: top });
    const dir = join(work, 'backbone');
    await saveLayersModel(model, dir);
    model.dispose();

    const out = await json<TrainOut>([
      'train',
      '--db',
      db,
      '--backbone',
      dir,
      '--cut-layer',
      'b2_conv',
      '--frozen-blocks',
      '1',
      '--epochs',
      '1',
      '--batch',
      '32',
      '--seed',
      '3',
      '--embedding',
      '16',
    ]);
    expect(out).toMatchObject({ arch: 'pretrained', inputShape: [28, 28, 1] });
    expectMetricsOf(out.modelId, 'test', out.metrics.splits.test!);
    const stored = await json<ModelVersionDto>(['models', '--db', db, '--model', String(out.modelId)]);
    expect(stored.config.model.backbone).toMatchObject({ dir, cutLayer: 'b2_conv', frozenBlocks: 1 });
    expect(stored.config.model.embeddingSize).toBe(16);
    // where the frozen block ran (this process's engine: ONNX Runtime where it loads), in the JSON and the text
    const frozen = stored.metrics!.training!.frozenFeatures!;
    expect(frozen).toMatchObject({ used: expect.any(Boolean) });
    const shown = await simlens(['models', '--db', db, '--model', String(out.modelId)]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`\nFrozen part: ${describeFrozenFeatures(frozen)}\n`);

    const badCut = await simlens(['train', '--db', db, '--backbone', dir, '--cut-layer', 'zzz', '--epochs', '1', '--json']);
    expect(badCut.code).toBe(1);
    expect(badCut.stdout).toBe('');
    expect(badCut.stderr.trim().split('\n')).toHaveLength(1);
    expect(badCut.stderr).toMatch(/^simlens train: train failed: .*zzz/);
  }, 60_000);

  it('lists train, eval and models in the help', async () => {
    const listed = await json<{ commands: { name: string; synopsis: string }[] }>(['help']);
    expect(listed.commands.map((c) => c.name)).toEqual(expect.arrayContaining(['train', 'eval', 'models', 'explain', 'metrics']));
    const help = await simlens(['help', 'train']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: simlens train .*--arch small\|resnet18\|resnet50\|mobilenetv2.*--backbone DIR/);
    expect(help.stdout).toMatch(/--frozen-blocks K/);
    expect((await simlens(['eval', '--help'])).stdout).toMatch(/Usage: simlens eval --model ID \[--split test\]/);
  });

  it('Ctrl-C cancels the training job: exit 130, no new version', async () => {
    const before = (await json<{ id: number }[]>(['models', '--db', db])).length;
    const child = spawn(process.execPath, [CLI, 'train', '--db', db, '--epochs', '50', '--batch', '32', '--json'], {
      cwd: ROOT,
      env: { ...process.env, ...env() },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    // wait until training steps run (the CLI then waits for the job with its SIGINT handler set)
    const sqlite = new Database(db, { readonly: true, fileMustExist: true });
    const deadline = Date.now() + 30_000;
    let job: { id: number } | undefined;
    while (!job && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      job = sqlite.prepare("SELECT id FROM jobs WHERE kind = 'train' AND status = 'running' AND message LIKE 'epoch %'").get() as
        { id: number } | undefined;
    }
    expect(job).toBeDefined();
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/simlens train: train cancelled/);
    expect((sqlite.prepare('SELECT status FROM jobs WHERE id = ?').get(job!.id) as { status: string }).status).toBe('cancelled');
    sqlite.close();
    expect(await json<{ id: number }[]>(['models', '--db', db])).toHaveLength(before);
    expect(readdirSync(join(work, 'models')).filter((n) => n.startsWith('.'))).toEqual([]);
  }, 60_000);
});
