// Masks in review bundles (format version 2) between hand-built workspaces of the same dataset:
// rows keyed by image content hash with their uid, author, source and time; imported once
// (twice changes nothing), with history or each (image, author)'s newest, of one author, or none;
// bundles of masks alone; version-1 bundles still read; damaged mask rows refused.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeBundleText, type Bundle, type BundleBody } from '../../src/main/review/bundle';
import type { ArgsOf } from '../../src/shared/contract';
import { countsToString } from '../../src/shared/mask-rle';
import { handBuiltWorkspace, imageHash, type HandBuilt } from './review-fixture';

let a: HandBuilt;
let b: HandBuilt;
const opened: HandBuilt[] = [];

function open(options: Parameters<typeof handBuiltWorkspace>[0] = {}): HandBuilt {
  const ws = handBuiltWorkspace(options);
  opened.push(ws);
  return ws;
}

// the fixture's images are 1 x 1: a mask is inside ([0, 1]) or not ([1])
const INSIDE = countsToString([0, 1]);
const OUTSIDE = countsToString([1]);
const saveMask = (ws: HandBuilt, image: string, author: string, counts: string) =>
  ws.app.call('masks.save', { imageId: ws.image[image], author, size: [1, 1], counts, source: 'painted' });

/** Every mask row of a workspace, comparable across workspaces (images by content hash). */
const maskRows = (ws: HandBuilt) =>
  ws.app.db
    .prepare(
      'SELECT m.uid, i.sha256, m.author, m.source, m.data, m.created_at FROM masks m JOIN images i ON i.id = m.image_id ORDER BY m.uid',
    )
    .all();

async function exportBundle(ws: HandBuilt, args: Partial<ArgsOf<'review.exportBundle'>> = {}, file = 'bundle.json') {
  const path = join(ws.dir, file);
  return { path, result: await ws.app.call('review.exportBundle', { path, ...args }) };
}

/** The bundle at `path` edited and sealed again (a valid checksum), written next to it. */
function reseal(path: string, edit: (body: BundleBody) => void, file = 'edited.json'): string {
  const { checksum: _checksum, ...body } = JSON.parse(readFileSync(path, 'utf8')) as Bundle;
  edit(body);
  const out = join(path, '..', file);
  writeFileSync(out, writeBundleText(body));
  return out;
}

beforeEach(async () => {
  a = open();
  b = open({ swapped: true });
  await a.app.call('review.verdict', { pairId: a.pair.p1, modelId: a.modelId, reviewer: 'Ann', similarity: 'correct' });
  await saveMask(a, 'cat1', 'Ann', OUTSIDE);
  await saveMask(a, 'cat1', 'Ann', INSIDE);
  await saveMask(a, 'dog1', 'Bob', INSIDE);
});
afterEach(async () => {
  for (const ws of opened.splice(0)) await ws.close();
});

describe('masks in review bundles', () => {
  it('carry the mask rows with history, keyed by image hash, and import them once', async () => {
    const { path, result } = await exportBundle(a, { modelId: a.modelId });
    expect(result).toMatchObject({ verdicts: 1, masks: 3 });
    const bundle = JSON.parse(readFileSync(path, 'utf8')) as Bundle;
    expect(bundle.version).toBe(2);
    const ann = await a.app.call('masks.history', { imageId: a.image.cat1 });
    expect(bundle.masks).toEqual([
      {
        uid: ann[1].uid,
        image: imageHash('cat1'),
        author: 'Ann',
        source: 'painted',
        size: [1, 1],
        counts: OUTSIDE,
        createdAt: ann[1].createdAt,
      },
      {
        uid: ann[0].uid,
        image: imageHash('cat1'),
        author: 'Ann',
        source: 'painted',
        size: [1, 1],
        counts: INSIDE,
        createdAt: ann[0].createdAt,
      },
      expect.objectContaining({ image: imageHash('dog1'), author: 'Bob', counts: INSIDE }),
    ]);
    // the masks' images are among the bundle's images
    expect(bundle.images.map((i) => i.sha256)).toEqual(expect.arrayContaining([imageHash('cat1'), imageHash('dog1')]));

    const first = await b.app.call('review.importBundle', { path });
    expect(first.masks).toMatchObject({ imported: 3, alreadyPresent: 0, unmatched: 0 });
    expect(first.masks.entries.map((e) => [e.author, e.status, e.imageId])).toEqual([
      ['Ann', 'imported', b.image.cat1],
      ['Ann', 'imported', b.image.cat1],
      ['Bob', 'imported', b.image.dog1],
    ]);
    expect(maskRows(b)).toEqual(maskRows(a));
    const there = (await b.app.call('masks.get', { imageId: b.image.cat1 }))!;
    expect(there).toMatchObject({
      uid: ann[0].uid,
      author: 'Ann',
      counts: INSIDE,
      origin: 'imported',
      source: 'painted',
      createdAt: ann[0].createdAt,
    });
    // twice: nothing new
    const second = await b.app.call('review.importBundle', { path });
    expect(second.masks).toMatchObject({ imported: 0, alreadyPresent: 3, unmatched: 0 });
    expect(maskRows(b)).toEqual(maskRows(a));
    // and back: A knows every uid
    await saveMask(b, 'fox1', 'Cy', INSIDE);
    const back = await exportBundle(b, { modelId: b.modelId }, 'back.json');
    const merged = await a.app.call('review.importBundle', { path: back.path });
    expect(merged.masks).toMatchObject({ imported: 1, alreadyPresent: 3 });
    expect(maskRows(a)).toEqual(maskRows(b));
  });

  it('carry only the newest rows, only one author, or none, as asked', async () => {
    expect((await exportBundle(a, { modelId: a.modelId, masks: 'newest' })).result.masks).toBe(2);
    const bob = await exportBundle(a, { modelId: a.modelId, reviewer: 'Bob' }, 'bob.json');
    expect(bob.result.masks).toBe(1);
    const none = await exportBundle(a, { modelId: a.modelId, masks: 'none' }, 'none.json');
    expect(none.result.masks).toBe(0);
    expect((JSON.parse(readFileSync(none.path, 'utf8')) as Bundle).masks).toEqual([]);
    expect((await b.app.call('review.importBundle', { path: none.path })).masks.entries).toEqual([]);
    expect(maskRows(b)).toEqual([]);
  });

  it('carry masks alone (no verdicts, no version in common) and import them', async () => {
    const c = open({ weights: 'other weights' });
    await saveMask(c, 'fox2', 'Dee', INSIDE);
    // no datasetId, no modelId: the only dataset with verdicts or masks
    const { path, result } = await exportBundle(c);
    expect(result).toMatchObject({ verdicts: 0, masks: 1, models: [] });
    const r = await b.app.call('review.importBundle', { path });
    expect([r.imported, r.masks.imported]).toEqual([0, 1]);
    expect((await b.app.call('masks.get', { imageId: b.image.fox2 }))!.author).toBe('Dee');
    // verdicts of a version b does not have, with masks: the masks go in, the verdicts are reported unmatched
    await c.app.call('review.verdict', { pairId: c.pair.p5, modelId: c.modelId, reviewer: 'Dee', similarity: 'wrong' });
    await saveMask(c, 'fox3', 'Dee', INSIDE);
    const both = await exportBundle(c, { modelId: c.modelId }, 'both.json');
    const r2 = await b.app.call('review.importBundle', { path: both.path });
    expect([r2.imported, r2.unmatched, r2.masks.imported, r2.masks.alreadyPresent]).toEqual([0, 1, 1, 1]);
  });

  it('report a mask of an image the dataset lacks, or of another size, as unmatched; dryRun writes none', async () => {
    const d = open({ without: ['dog1'] });
    const { path } = await exportBundle(a, { modelId: a.modelId });
    const r = await d.app.call('review.importBundle', { path, dryRun: true });
    expect(r.masks).toMatchObject({ imported: 2, unmatched: 1 });
    expect(r.masks.entries[2]).toMatchObject({
      author: 'Bob',
      status: 'unmatched',
      reason: `image ${imageHash('dog1').slice(0, 12)} is not in dataset ${d.datasetId}`,
      imageId: null,
    });
    expect(maskRows(d)).toEqual([]);
    const bigger = reseal(path, (body) => {
      body.masks![0].size = [2, 1];
      body.masks![0].counts = countsToString([1, 1]);
    });
    const r2 = await b.app.call('review.importBundle', { path: bigger });
    expect(r2.masks.entries[0]).toMatchObject({ status: 'unmatched', reason: `image ${b.image.cat1} is 1 x 1 here, the mask 2 x 1` });
    expect(r2.masks.imported).toBe(2);
  });

  it('still read version-1 bundles (no masks)', async () => {
    const { path } = await exportBundle(a, { modelId: a.modelId });
    const v1 = reseal(path, (body) => {
      body.version = 1;
      delete body.masks;
    });
    const r = await b.app.call('review.importBundle', { path: v1 });
    expect([r.imported, r.masks.entries.length]).toEqual([1, 0]);
  });

  it.each<[string, (body: BundleBody) => void, RegExp]>([
    [
      'counts that do not cover the mask',
      (body) => (body.masks![0].counts = countsToString([0, 2])),
      /bundle.masks\[0\].counts: the runs cover 2 pixels, a 1 x 1 mask has 1/,
    ],
    [
      'counts with a bad character',
      (body) => (body.masks![1].counts = '~'),
      /bundle.masks\[1\].counts: character 0 of the counts string is "~"/,
    ],
    [
      'a mask of an image it does not list',
      (body) => (body.masks![0].image = 'b'.repeat(64)),
      /bundle.masks\[0\].image: b{64} is none of the bundle's images/,
    ],
    ['a mask uid twice', (body) => (body.masks![1].uid = body.masks![0].uid), /bundle.masks\[1\].uid: .* appears twice/],
    [
      'an unknown source',
      (body) => ((body.masks![0] as { source: string }).source = 'guessed'),
      /bundle.masks\[0\].source: expected one of painted, seeded, imported/,
    ],
  ])('refuse a bundle with %s, changing nothing', async (_what, edit, message) => {
    const { path } = await exportBundle(a, { modelId: a.modelId });
    const before = maskRows(b);
    const res = await b.app.dispatch('review.importBundle', { path: reseal(path, edit) });
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.error.message).toMatch(message);
    expect(maskRows(b)).toEqual(before);
  });

  it('import verdicts and masks all or nothing', async () => {
    const { path } = await exportBundle(a, { modelId: a.modelId });
    b.app.db.exec("CREATE TRIGGER refuse_bob BEFORE INSERT ON masks WHEN NEW.author = 'Bob' BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    const res = await b.app.dispatch('review.importBundle', { path });
    expect(res).toEqual({ ok: false, error: { code: 'failed', message: 'disk full' } });
    expect(maskRows(b)).toEqual([]);
    expect((b.app.db.prepare('SELECT count(*) AS n FROM verdicts').get() as { n: number }).n).toBe(0);
  });
});
