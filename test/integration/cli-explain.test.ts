// `simlens explain` and `simlens metrics`: the built CLI (out/main/cli.js, rebuilt when the
// sources are newer) run as a child process on a temp workspace with the demo data and a
// model version with fixed (seeded) weights.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExplainMetricsDto, ExplanationDto } from '../../src/shared/dto';
import { ensureBuiltCli, runCli, type CliRun } from './cli-harness';
import { demoWorkspace, fixedModel } from './explain-fixture';

const simlens = (args: string[]): Promise<CliRun> => runCli(args, { env: { SIMLENS_BACKEND: 'wasm' } });

let dir: string;
let db: string;
let modelId: number;
let testPairIds: number[];

beforeAll(async () => {
  ensureBuiltCli();
  const ws = await demoWorkspace('simlens-cli-explain-');
  dir = ws.dir;
  db = ws.dbPath;
  modelId = await fixedModel(ws);
  testPairIds = ws.app.models.repo.pairs(ws.pairSetId, 'test').map((p) => p.id);
  await ws.app.close(); // the CLI opens the workspace itself
}, 120_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function pngSize(file: string): Promise<[number, number, string | undefined]> {
  const m = await sharp(file).metadata();
  return [m.width!, m.height!, m.format];
}

describe('simlens explain / metrics', () => {
  it('explain --pair writes the four overlays and the JSON summary', async () => {
    const out = join(dir, 'out-pair');
    const pairId = testPairIds[0];
    const run = await simlens(['explain', '--db', db, '--model', String(modelId), '--pair', String(pairId), '--out', out, '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const data = JSON.parse(run.stdout) as { modelId: number; method: string; layer: string; files: string[]; pairs: ExplanationDto[] };
    expect(data).toMatchObject({ modelId, method: 'gradcam', layer: 'conv4' });
    expect(data.pairs).toHaveLength(1);
    expect(data.pairs[0]).toMatchObject({ pairId, mapHeight: 14, mapWidth: 14, counterfactualDefined: true });
    const pngs = ['a-factual', 'a-counterfactual', 'b-factual', 'b-counterfactual'].map((n) => join(out, `pair-${pairId}`, `${n}.png`));
    expect(data.files.sort()).toEqual([...pngs, join(out, 'summary.json')].sort());
    for (const f of pngs) expect(await pngSize(f)).toEqual([28, 28, 'png']);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { pairs: ExplanationDto[] };
    expect(summary.pairs[0]).toEqual(data.pairs[0]);

    // human output; the pair is now stored, so it is read back, not recomputed
    const human = await simlens(['explain', '--db', db, '--model', String(modelId), '--pair', String(pairId)]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`Model version ${modelId} · gradcam at conv4 · 1 pair · maps 14x14`);
  });

  it('explain --split runs a batch job and writes every pair; options reach the overlays', async () => {
    const out = join(dir, 'out-split');
    const run = await simlens([
      'explain',
      '--db',
      db,
      '--model',
      String(modelId),
      '--split',
      'test',
      '--limit',
      '3',
      '--method',
      'hirescam',
      '--colormap',
      'viridis',
      '--opacity',
      '0.8',
      '--out',
      out,
      '--json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const data = JSON.parse(run.stdout) as { jobId: number; pairs: ExplanationDto[]; files: string[] };
    expect(data.jobId).toBeGreaterThan(0);
    expect(data.pairs.map((p) => p.pairId)).toEqual(testPairIds.slice(0, 3));
    expect(data.pairs.every((p) => p.method === 'hirescam')).toBe(true);
    expect(data.files.filter((f) => f.endsWith('.png'))).toHaveLength(12);
    // viridis at 0.8 differs from the jet overlays of the first test
    const a = await sharp(join(out, `pair-${testPairIds[0]}`, 'a-factual.png'))
      .raw()
      .toBuffer();
    const b = await sharp(join(dir, 'out-pair', `pair-${testPairIds[0]}`, 'a-factual.png'))
      .raw()
      .toBuffer();
    expect(Buffer.compare(a, b)).not.toBe(0);
  });

  it('metrics prints deletion / insertion against the baselines', async () => {
    const run = await simlens([
      'metrics',
      '--db',
      db,
      '--model',
      String(modelId),
      '--split',
      'test',
      '--limit',
      '4',
      '--steps',
      '8',
      '--json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const r = JSON.parse(run.stdout) as ExplainMetricsDto;
    expect(r).toMatchObject({ modelId, method: 'gradcam', split: 'test', pairs: 4, steps: 8, masks: null });
    expect(r.deletion!.random).toBeGreaterThanOrEqual(0);
    const human = await simlens([
      'metrics',
      '--db',
      db,
      '--model',
      String(modelId),
      '--split',
      'test',
      '--limit',
      '2',
      '--steps',
      '4',
      '--label',
      'same',
    ]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/deletion \(lower is better\)/);
    expect(human.stdout).toMatch(/Pairs where the map beats the random map/);
  });

  it('rejects bad arguments with exit code 2', async () => {
    const m = String(modelId);
    const cases: [string[], RegExp][] = [
      [['explain', '--db', db, '--model', m], /exactly one of --pair ID and --split S/],
      [['explain', '--db', db, '--pair', '1'], /missing --model/],
      [['explain', '--db', db, '--model', m, '--pair', '1', '--method', 'saliency'], /--method: expected one of/],
      [['explain', '--db', db, '--model', m, '--pair', '1', '--opacity', '2'], /--opacity/],
      [['explain', '--db', db, '--model', m, '--split', 'holdout'], /--split/],
      [['explain', '--db', db, '--model', m, '--pair', String(testPairIds[0]), '--layer', 'nope'], /not a target layer/],
      [['metrics', '--db', db, '--model', m], /missing --split/],
    ];
    for (const [args, message] of cases) {
      const run = await simlens(args);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(2);
      expect(run.stderr).toMatch(message);
    }
    const missing = await simlens(['explain', '--db', db, '--model', '999', '--pair', '1']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/Model version 999 does not exist/);
  });
});
