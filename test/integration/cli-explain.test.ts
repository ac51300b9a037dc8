// `simlens explain` and `simlens metrics`: the built CLI (out/main/cli.js, rebuilt when the
// sources are newer) run as a child process on a temp workspace with the demo data and a
// model version with fixed (seeded) weights.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColormapName, ExplainMetricsDto, ExplanationDto } from '../../src/shared/dto';
import { decodeMap } from '../../src/main/engine/explain/cam';
import { colormapRgb } from '../../src/main/images/colormap';
import { upsampleBilinear } from '../../src/main/images/overlay';
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

/** A written PNG's pixels, RGB. */
async function rgbOf(file: string): Promise<Uint8Array> {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  expect(info.channels).toBe(3);
  return new Uint8Array(data);
}

/**
 * The overlay computed here from the stored map and image (the store the CLI wrote): the map
 * upsampled to the image, coloured (255-entry table), blended (1 - a) * image + a * colour, rounded.
 */
function expectedOverlay(
  pairId: number,
  method: string,
  image: 'a' | 'b',
  kind: 'factual' | 'counterfactual',
  colormap: ColormapName,
  opacity: number,
): Uint8Array {
  const sqlite = new Database(db, { readonly: true, fileMustExist: true });
  try {
    const row = sqlite
      .prepare(
        `SELECT map_height AS h, map_width AS w, ${image}_${kind} AS map, image_${image} AS imageId FROM explanations JOIN pairs ON pairs.id = pair_id WHERE pair_id = ? AND model_id = ? AND method = ?`,
      )
      .get(pairId, modelId, method) as { h: number; w: number; map: Buffer; imageId: number };
    const img = sqlite.prepare('SELECT width, height, channels, pixel_encoding, pixels FROM images WHERE id = ?').get(row.imageId) as {
      width: number;
      height: number;
      channels: number;
      pixel_encoding: string;
      pixels: Buffer;
    };
    expect([img.channels, img.pixel_encoding]).toEqual([1, 'raw']);
    const map = upsampleBilinear(decodeMap(row.map, row.h, row.w), row.h, row.w, img.height, img.width);
    const out = new Uint8Array(img.width * img.height * 3);
    for (let p = 0; p < img.width * img.height; p++) {
      const colour = colormapRgb(colormap, Math.round(Math.min(1, Math.max(0, map[p])) * 255) / 255);
      for (let c = 0; c < 3; c++) out[3 * p + c] = Math.round((1 - opacity) * img.pixels[p] + opacity * colour[c]);
    }
    return out;
  } finally {
    sqlite.close();
  }
}

const maxDiff = (x: Uint8Array, y: Uint8Array) => {
  expect(x.length).toBe(y.length);
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  return worst;
};

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
    // the defaults: jet at opacity 0.5, each file the overlay of its own map
    for (const [k, [image, kind]] of (
      [
        ['a', 'factual'],
        ['a', 'counterfactual'],
        ['b', 'factual'],
        ['b', 'counterfactual'],
      ] as const
    ).entries())
      expect(maxDiff(await rgbOf(pngs[k]), expectedOverlay(pairId, 'gradcam', image, kind, 'jet', 0.5)), pngs[k]).toBeLessThanOrEqual(1);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { pairs: ExplanationDto[] };
    expect(summary.pairs[0]).toEqual(data.pairs[0]);

    // human output; the pair is now stored, so it is read back, not recomputed
    const human = await simlens(['explain', '--db', db, '--model', String(modelId), '--pair', String(pairId)]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`Model version ${modelId} · gradcam at conv4 · 1 pair · maps 14x14`);
  });

  // One option at a time against the first test's overlays (gradcam, jet, opacity 0.5), each file
  // compared pixel for pixel with the overlay computed here from the stored map and image: a CLI
  // that dropped an option would write the default overlay, not this one.
  for (const [name, extra, want] of [
    ['--colormap viridis', ['--colormap', 'viridis'], { method: 'gradcam', colormap: 'viridis', opacity: 0.5 }],
    ['--opacity 0.8', ['--opacity', '0.8'], { method: 'gradcam', colormap: 'jet', opacity: 0.8 }],
    ['--opacity 0', ['--opacity', '0'], { method: 'gradcam', colormap: 'jet', opacity: 0 }],
    ['--method hirescam', ['--method', 'hirescam'], { method: 'hirescam', colormap: 'jet', opacity: 0.5 }],
  ] as const) {
    it(`explain --pair with ${name} alone: every overlay is the one of that option`, async () => {
      const pairId = testPairIds[0];
      const out = join(dir, `out-${name.replace(/\W+/g, '-')}`);
      const run = await simlens([
        'explain',
        '--db',
        db,
        '--model',
        String(modelId),
        '--pair',
        String(pairId),
        '--out',
        out,
        ...extra,
        '--json',
      ]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const data = JSON.parse(run.stdout) as { method: string; pairs: ExplanationDto[] };
      expect(data.method).toBe(want.method);
      expect(data.pairs[0].method).toBe(want.method);
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { colormap: string; opacity: number };
      expect(summary).toMatchObject({ colormap: want.colormap, opacity: want.opacity });
      let changed = 0;
      for (const image of ['a', 'b'] as const)
        for (const kind of ['factual', 'counterfactual'] as const) {
          const file = `pair-${pairId}/${image}-${kind}.png`;
          const written = await rgbOf(join(out, file));
          const expected = expectedOverlay(pairId, want.method, image, kind, want.colormap, want.opacity);
          expect(maxDiff(written, expected), `${file}: the overlay of ${JSON.stringify(want)}`).toBeLessThanOrEqual(1);
          if (maxDiff(written, expectedOverlay(pairId, 'gradcam', image, kind, 'jet', 0.5)) > 1) changed++;
        }
      expect(changed, 'overlays that differ from the defaults').toBeGreaterThan(0); // the option matters here
    });
  }

  it('explain --split runs a batch job and writes every pair with the chosen method', async () => {
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
      'xgradcam',
      '--out',
      out,
      '--json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const data = JSON.parse(run.stdout) as { jobId: number; pairs: ExplanationDto[]; files: string[] };
    expect(data.jobId).toBeGreaterThan(0);
    expect(data.pairs.map((p) => p.pairId)).toEqual(testPairIds.slice(0, 3));
    expect(data.pairs.every((p) => p.method === 'xgradcam')).toBe(true);
    expect(data.files.filter((f) => f.endsWith('.png'))).toHaveLength(12);
    for (const pairId of testPairIds.slice(0, 3)) {
      const written = await rgbOf(join(out, `pair-${pairId}`, 'b-factual.png'));
      expect(maxDiff(written, expectedOverlay(pairId, 'xgradcam', 'b', 'factual', 'jet', 0.5))).toBeLessThanOrEqual(1);
    }
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
