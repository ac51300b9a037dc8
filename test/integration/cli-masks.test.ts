// `simlens masks export|import` through the built CLI (out/main/cli.js) on hand-built workspaces
// (test/unit/masks-fixture.ts), closed before the CLI opens them: the files written, the per-file
// import report (JSON and text), exit codes, and that refused calls change nothing.
import Database from 'better-sqlite3';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MaskExportDto, MaskImportDto } from '../../src/shared/dto';
import { decodeMaskString } from '../../src/shared/mask-rle';
import { disc, maskWorkspace, rect, rle, type MaskWorkspace } from '../unit/masks-fixture';
import { ensureBuiltCli, runCli, runCliJson } from './cli-harness';

let a: MaskWorkspace;
let b: MaskWorkspace;
const SHIRT = disc(28, 28, 12, 12, 6);
const WIDE = rect(12, 40, 3, 3, 20, 9);

/** The masks table of a closed workspace, row by row. */
function maskRows(dbPath: string): unknown[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare('SELECT id, uid, image_id, author, data, source, created_at FROM masks ORDER BY id').all();
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  ensureBuiltCli();
  a = maskWorkspace();
  b = maskWorkspace();
  const save = (name: string, mask: Uint8Array, author: string) =>
    a.app.call('masks.save', { imageId: a.image[name], author, size: a.size[name], counts: rle(mask, a.size[name]), source: 'painted' });
  await save('shirt1', rect(28, 28, 1, 1, 5, 5), 'Ann');
  await save('shirt1', SHIRT, 'Ann');
  await save('wide', WIDE, 'Bob');
  // the CLI opens the databases itself
  await a.app.close();
  await b.app.close();
}, 300_000);
afterAll(() => {
  for (const ws of [a, b]) if (ws) rmSync(ws.dir, { recursive: true, force: true });
});

describe('simlens masks', () => {
  it('explains itself', async () => {
    const help = await runCli(['help', 'masks']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: simlens masks export --format png|coco|csv --out DIR [--author A] [--history]');
    expect(help.stdout).toContain('masks import PATH [--author A]');
    const list = await runCli(['help']);
    expect(list.stdout).toMatch(/\n {2}masks +Masks out and in/);
  });

  it('exports PNGs (JSON report), COCO and CSV (text)', async () => {
    const out = join(a.dir, 'png');
    const r = await runCliJson<MaskExportDto>(['masks', 'export', '--db', a.dbPath, '--format', 'png', '--out', out]);
    expect(r).toEqual({
      format: 'png',
      datasetId: a.datasetId,
      path: out,
      masks: 2,
      images: 2,
      author: null,
      history: false,
      category: null,
      skippedEmpty: 0,
    });
    expect(readdirSync(out).sort()).toEqual([`${a.image.shirt1}_img_001.png`, `${a.image.wide}_wide one.png`].sort());
    const coco = await runCli([
      'masks',
      'export',
      '--db',
      a.dbPath,
      '--format',
      'coco',
      '--out',
      join(a.dir, 'm.json'),
      '--history',
      '--category',
      'relevant',
    ]);
    expect([coco.code, coco.stderr]).toEqual([0, '']);
    expect(coco.stdout).toBe(
      `Wrote 3 mask(s) of 2 image(s) as COCO JSON (categories: relevant) to ${join(a.dir, 'm.json')} (dataset ${a.datasetId}; every author; with superseded masks)\n`,
    );
    const anns = JSON.parse(readFileSync(join(a.dir, 'm.json'), 'utf8')).annotations;
    expect(anns).toHaveLength(3);
    expect(decodeMaskString(anns[1].segmentation.counts, 28, 28)).toEqual(SHIRT);
    const csv = await runCli(['masks', 'export', '--db', a.dbPath, '--format', 'csv', '--out', a.dir, '--author', 'Bob']);
    expect(csv.stdout).toContain(
      `Wrote 1 mask(s) of 1 image(s) as CSV to ${join(a.dir, 'masks.csv')} (dataset ${a.datasetId}; author Bob; newest masks only)`,
    );
    expect(readFileSync(join(a.dir, 'masks.csv'), 'utf8').split('\r\n')[1]).toContain(
      ',dress/wide one.png,dress,Bob,painted,local,40,12,102,3,3,17,6,',
    );
  });

  it('imports a folder with a per-file report; bad files are named with the reason, the rest imported', async () => {
    const dir = join(b.dir, 'in');
    mkdirSync(dir);
    const out = join(a.dir, 'png');
    for (const f of readdirSync(out)) writeFileSync(join(dir, f), readFileSync(join(out, f)));
    writeFileSync(join(dir, `${b.image.odd}_odd.png`), Buffer.alloc(0));
    writeFileSync(join(dir, 'stranger.png'), readFileSync(join(out, `${a.image.shirt1}_img_001.png`)));
    const r = await runCliJson<MaskImportDto>(['masks', 'import', dir, '--db', b.dbPath, '--author', 'Cy']);
    expect([r.format, r.imported, r.unchanged, r.unmatched, r.errors]).toEqual(['png', 2, 0, 1, 1]);
    expect(r.entries.map((e) => [e.name, e.status, e.reason])).toEqual(
      [
        [`${a.image.shirt1}_img_001.png`, 'imported', null],
        [`${a.image.wide}_wide one.png`, 'imported', null],
        [`${b.image.odd}_odd.png`, 'error', 'the file is empty (0 bytes)'],
        [
          'stranger.png',
          'unmatched',
          `no image of dataset ${b.datasetId} has the file stem "stranger" (or name the file <imageId>_<stem>.png)`,
        ],
      ].sort((x, y) => (x[0]! < y[0]! ? -1 : 1)),
    );
    // again, as text: nothing new
    const again = await runCli(['masks', 'import', dir, '--db', b.dbPath, '--author', 'Cy']);
    expect([again.code, again.stderr]).toEqual([0, '']);
    expect(again.stdout).toBe(
      [
        `Imported masks from ${dir} (PNG files) into dataset ${b.datasetId}: 0 imported, 2 unchanged, 1 unmatched, 1 refused`,
        `  refused ${b.image.odd}_odd.png: the file is empty (0 bytes)`,
        `  unmatched stranger.png: no image of dataset ${b.datasetId} has the file stem "stranger" (or name the file <imageId>_<stem>.png)`,
        '',
      ].join('\n'),
    );
  });

  it('imports a COCO file, reporting a bad annotation by name', async () => {
    const coco = JSON.parse(readFileSync(join(a.dir, 'm.json'), 'utf8'));
    coco.annotations[0].segmentation.counts = 'bad counts';
    const file = join(b.dir, 'edited.json');
    writeFileSync(file, JSON.stringify(coco));
    const r = await runCliJson<MaskImportDto>(['masks', 'import', file, '--db', b.dbPath]);
    expect([r.format, r.imported, r.errors]).toEqual(['coco', 2, 1]);
    expect(r.entries[0]).toMatchObject({
      name: `edited.json: annotations[0] (id ${coco.annotations[0].id})`,
      status: 'error',
      reason: "bad counts: character 3 of the counts string is \" \": COCO's compressed counts use '0' to 'o'",
    });
  });

  it.each<[string, string[], number, RegExp]>([
    ['no subcommand', ['masks'], 2, /missing a subcommand \(export or import\)/],
    ['an unknown subcommand', ['masks', 'paint'], 2, /unknown masks subcommand 'paint'/],
    ['export without --format', ['masks', 'export', '--out', 'x'], 2, /--format is required: png, coco or csv/],
    ['an unknown format', ['masks', 'export', '--format', 'tiff', '--out', 'x'], 2, /--format: expected png, coco or csv, got 'tiff'/],
    ['export without --out', ['masks', 'export', '--format', 'png'], 2, /--out DIR is required/],
    [
      '--category with png',
      ['masks', 'export', '--format', 'png', '--out', 'x', '--category', 'class'],
      2,
      /--category is for --format coco/,
    ],
    ['an option export does not take', ['masks', 'import', 'x', '--history'], 2, /masks import does not take --history/],
    ['import without PATH', ['masks', 'import'], 2, /missing the PATH to import/],
    [
      'an author with a control character',
      ['masks', 'import', '.', '--author', 'a\tb'],
      2,
      /args.author: a reviewer name must not contain control characters/,
    ],
    [
      'a bad --dataset',
      ['masks', 'export', '--format', 'csv', '--out', 'x', '--dataset', 'one'],
      2,
      /--dataset: expected an integer, got 'one'/,
    ],
    ['an unknown dataset', ['masks', 'export', '--format', 'csv', '--out', 'x', '--dataset', '99'], 1, /Dataset 99 does not exist/],
    ['a missing PATH', ['masks', 'import', '/nowhere/at/all'], 1, /No file or folder at \/nowhere\/at\/all/],
    ['a file that is not COCO', ['masks', 'import', 'package.json'], 2, /package.json is not a COCO file/],
  ])('refuses %s (exit code, message) and changes nothing', async (_name, args, code, message) => {
    const before = maskRows(b.dbPath);
    const run = await runCli([...args, '--db', b.dbPath]);
    expect(run.code, run.stderr).toBe(code);
    expect(run.stderr).toMatch(/^simlens masks: /);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
    expect(maskRows(b.dbPath)).toEqual(before);
  });

  it('needs an existing database', async () => {
    const run = await runCli(['masks', 'export', '--format', 'png', '--out', 'x', '--db', join(a.dir, 'none.db')]);
    expect([run.code, run.stderr]).toEqual([
      1,
      `simlens masks: No SimLens database at ${join(a.dir, 'none.db')} (create one with: simlens import <path> --db ${join(a.dir, 'none.db')})\n`,
    ]);
  });
});
