// `simlens review export|import|stats` through the built CLI (out/main/cli.js) on hand-built
// workspaces (test/unit/review-fixture.ts), closed before the CLI opens them.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArgsOf } from '../../src/shared/contract';
import type { ReviewBundleExportDto, ReviewExportDto, ReviewImportDto, ReviewStatsDto } from '../../src/shared/dto';
import { parseCsv } from '../../src/main/review/csv';
import { handBuiltWorkspace, type HandBuilt } from '../unit/review-fixture';
import { ensureBuiltCli, runCli, runCliJson } from './cli-harness';

let ann: HandBuilt;
let bob: HandBuilt;
let annDb: string;
let bobDb: string;

const verdict = (ws: HandBuilt, pair: string, reviewer: string, answers: Partial<ArgsOf<'review.verdict'>>) =>
  ws.app.call('review.verdict', { pairId: ws.pair[pair], modelId: ws.modelId, reviewer, ...answers });

beforeAll(async () => {
  ensureBuiltCli();
  ann = handBuiltWorkspace();
  bob = handBuiltWorkspace();
  const shown = { method: 'gradcam', layer: 'conv_2' } as const;
  await verdict(ann, 'p1', 'Ann', { similarity: 'wrong' });
  await verdict(ann, 'p1', 'Ann', {
    similarity: 'correct',
    heatmapA: 'sensible',
    heatmapB: 'unsure',
    ...shown,
    note: 'a "decoy", maybe,\nsee the belt',
    tags: ['decoy', 'belt'],
  });
  await verdict(ann, 'p2', 'Ann', { similarity: 'wrong', heatmapA: 'not_sensible', heatmapB: 'sensible', ...shown });
  await verdict(bob, 'p1', 'Bob', { similarity: 'correct', heatmapA: 'sensible', heatmapB: 'sensible', ...shown });
  await verdict(bob, 'p2', 'Bob', { similarity: 'correct' });
  annDb = join(ann.dir, 'simlens.db');
  bobDb = join(bob.dir, 'simlens.db');
  // the CLI opens the databases itself
  await ann.app.close();
  await bob.app.close();
}, 300_000);
afterAll(() => {
  for (const ws of [ann, bob]) if (ws) rmSync(ws.dir, { recursive: true, force: true });
});

describe('simlens review', () => {
  it('explains itself', async () => {
    const help = await runCli(['help', 'review']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: simlens review export --format csv|json|bundle --out FILE');
    expect(help.stdout).toContain('simlens review import BUNDLE');
    expect(help.stdout).toContain("Cohen's kappa for two");
    const list = await runCli(['help']);
    expect(list.stdout).toMatch(/\n {2}review +Verdicts out and in/);
  });

  it('exports current verdicts as CSV (quoted properly) and, with --history, the superseded ones too', async () => {
    const out = join(ann.dir, 'verdicts.csv');
    const written = await runCliJson<ReviewExportDto>(['review', 'export', '--db', annDb, '--format', 'csv', '--out', out]);
    expect(written).toEqual({ path: out, format: 'csv', rows: 2, history: false });
    const [header, ...rows] = parseCsv(readFileSync(out, 'utf8'));
    expect(header).toEqual([
      'pair_id',
      'split',
      'label',
      'image_a_id',
      'image_a_path',
      'image_a_class',
      'image_b_id',
      'image_b_path',
      'image_b_class',
      'model_id',
      'model_name',
      'reviewer',
      'similarity',
      'heatmap_a',
      'heatmap_b',
      'method',
      'layer',
      'note',
      'tags',
      'created_at',
      'current',
      'origin',
      'uid',
    ]);
    expect(rows.map((r) => r.slice(0, 19))).toEqual([
      [
        String(ann.pair.p1),
        'test',
        '1',
        String(ann.image.cat1),
        '/nowhere/cat/cat1.png',
        'cat',
        String(ann.image.cat2),
        '/nowhere/cat/cat2.png',
        'cat',
        String(ann.modelId),
        'hand-built',
        'Ann',
        'correct',
        'sensible',
        'unsure',
        'gradcam',
        'conv_2',
        'a "decoy", maybe,\nsee the belt',
        'belt;decoy',
      ],
      [
        String(ann.pair.p2),
        'test',
        '0',
        String(ann.image.cat3),
        '/nowhere/cat/cat3.png',
        'cat',
        String(ann.image.dog1),
        '/nowhere/dog/dog1.png',
        'dog',
        String(ann.modelId),
        'hand-built',
        'Ann',
        'wrong',
        'not_sensible',
        'sensible',
        'gradcam',
        'conv_2',
        '',
        '',
      ],
    ]);
    const text = readFileSync(out, 'utf8');
    expect(text).toContain('"a ""decoy"", maybe,\nsee the belt"');
    expect(text.endsWith('\r\n')).toBe(true);

    const all = await runCliJson<ReviewExportDto>(['review', 'export', '--db', annDb, '--format', 'csv', '--out', out, '--history']);
    expect(all.rows).toBe(3);
    expect(
      parseCsv(readFileSync(out, 'utf8'))
        .slice(1)
        .map((r) => r[20]),
    ).toEqual(['0', '1', '1']);
  });

  it('exports JSON rows, for one reviewer and version', async () => {
    const out = join(ann.dir, 'verdicts.json');
    const human = await runCli([
      'review',
      'export',
      '--db',
      annDb,
      '--format',
      'json',
      '--out',
      out,
      '--history',
      '--reviewer',
      'Ann',
      '--model',
      String(ann.modelId),
    ]);
    expect(human.code).toBe(0);
    expect(human.stdout).toBe(`Wrote 3 verdict row(s) (with superseded rows) as JSON to ${out}\n`);
    const rows = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>[];
    expect(rows.map((r) => [r.pair_id, r.similarity, r.current, r.tags])).toEqual([
      [ann.pair.p1, 'wrong', false, []],
      [ann.pair.p1, 'correct', true, ['belt', 'decoy']],
      [ann.pair.p2, 'wrong', true, []],
    ]);
    const none = await runCliJson<ReviewExportDto>([
      'review',
      'export',
      '--db',
      annDb,
      '--format',
      'json',
      '--out',
      out,
      '--reviewer',
      'Zoe',
    ]);
    expect(none.rows).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual([]);
  });

  it('carries verdicts to another workspace by bundle; importing twice changes nothing', async () => {
    const bundle = join(ann.dir, 'ann.bundle.json');
    const written = await runCliJson<ReviewBundleExportDto>(['review', 'export', '--db', annDb, '--format', 'bundle', '--out', bundle]);
    expect(written).toMatchObject({ path: bundle, verdicts: 3, images: 4, dataset: { name: 'Hand-built' }, skipped: [] });
    const first = await runCliJson<ReviewImportDto>(['review', 'import', bundle, '--db', bobDb]);
    expect(first).toMatchObject({ imported: 3, alreadyPresent: 0, unmatched: 0, dryRun: false });
    const again = await runCli(['review', 'import', bundle, '--db', bobDb]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(
      /^Imported 0 of 3 verdict\(s\) from .*ann\.bundle\.json \(dataset "Hand-built" matched dataset 1\): 0 imported, 3 already present, 0 unmatched\n$/,
    );
    const stats = await runCliJson<ReviewStatsDto>(['review', 'stats', '--db', bobDb, '--model', String(bob.modelId)]);
    expect(stats.verdicts).toEqual({ current: 4, superseded: 1, complete: 3, pairs: 2 });
    expect(stats.reviewers.map((r) => r.reviewer)).toEqual(['Ann', 'Bob']);
    // similarity on p1 (correct/correct) and p2 (wrong/correct): po 1/2; Ann c w, Bob c c: pe = 1/2 * 1 = 1/2: kappa 0
    expect(stats.agreement[0].overall).toEqual({
      method: 'cohen',
      raters: ['Ann', 'Bob'],
      pairs: 2,
      kappa: 0,
      observed: 0.5,
      expected: 0.5,
    });
    expect(stats.tags.slice(0, 2)).toEqual([
      { tag: 'belt', count: 1 },
      { tag: 'decoy', count: 1 },
    ]);
    const human = await runCli(['review', 'stats', '--db', bobDb, '--model', String(bob.modelId)]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(
      `Model version ${bob.modelId} · threshold 0.5000 · 4 current verdict(s) on 2 pair(s) (3 complete), 1 superseded`,
    );
    expect(human.stdout).toContain('Heatmaps judged sensible: 66.7% of 6');
    expect(human.stdout).toContain('similarity: 0.000 (cohen, 2 pairs)');
  });

  it('refuses bad input with a clear message and the right exit code, changing nothing', async () => {
    const bad = (args: string[]) => runCli(args);
    let r = await bad(['review', 'frobnicate', '--db', annDb]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("simlens review: unknown review subcommand 'frobnicate' (expected export, import or stats)");
    r = await bad(['review', 'export', '--db', annDb, '--out', join(ann.dir, 'x.csv')]);
    expect([r.code, r.stderr.split('\n')[0]]).toEqual([2, 'simlens review: --format is required: csv, json or bundle']);
    r = await bad(['review', 'export', '--db', annDb, '--format', 'xml', '--out', join(ann.dir, 'x.xml')]);
    expect([r.code, r.stderr.split('\n')[0]]).toEqual([2, "simlens review: --format: expected csv, json or bundle, got 'xml'"]);
    r = await bad(['review', 'stats', '--db', annDb]);
    expect([r.code, r.stderr.split('\n')[0]]).toEqual([2, 'simlens review: --model ID is required']);
    r = await bad(['review', 'stats', '--db', annDb, '--model', '1', '--history']);
    expect([r.code, r.stderr.split('\n')[0]]).toEqual([2, 'simlens review: review stats does not take --history']);
    r = await bad(['review', 'stats', '--db', annDb, '--model', '99']);
    expect([r.code, r.stderr]).toEqual([1, 'simlens review: Model version 99 does not exist\n']);
    r = await bad(['review', 'export', '--db', annDb, '--format', 'csv', '--out', join(ann.dir, 'x.csv'), '--reviewer', '   ']);
    expect([r.code, r.stderr]).toEqual([2, 'simlens review: args.reviewer: a reviewer name must not be empty\n']);
    r = await bad(['review', 'import', '--db', bobDb]);
    expect([r.code, r.stderr.split('\n')[0]]).toEqual([2, 'simlens review: missing the BUNDLE file to import']);

    const before = await runCliJson<ReviewStatsDto>(['review', 'stats', '--db', bobDb, '--model', String(bob.modelId)]);
    const bundle = join(ann.dir, 'ann.bundle.json');
    const text = readFileSync(bundle, 'utf8');
    const cut = join(ann.dir, 'cut.json');
    writeFileSync(cut, text.slice(0, text.length - 200));
    r = await bad(['review', 'import', cut, '--db', bobDb]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^simlens review: cut\.json is not a complete review bundle: its JSON is cut off or damaged/);
    const edited = join(ann.dir, 'edited.json');
    writeFileSync(edited, text.replace('"reviewer": "Ann"', '"reviewer": "Eve"'));
    r = await bad(['review', 'import', edited, '--db', bobDb]);
    expect([r.code, r.stderr]).toEqual([
      2,
      'simlens review: edited.json: the checksum does not match the content: the bundle was cut short or edited after it was exported\n',
    ]);
    r = await bad(['review', 'import', join(ann.dir, 'missing.json'), '--db', bobDb]);
    expect([r.code, r.stderr]).toEqual([1, `simlens review: No bundle file at ${join(ann.dir, 'missing.json')}\n`]);
    expect(await runCliJson<ReviewStatsDto>(['review', 'stats', '--db', bobDb, '--model', String(bob.modelId)])).toEqual(before);
  });
});
