// Review bundles between hand-built workspaces of the same dataset: the merge is idempotent and
// overwrites nothing, pairs stored the other way round get their heatmap answers swapped, undone
// verdicts stay undone; damaged, edited, foreign or invalid bundles are refused with a message
// naming the problem and leave the verdicts as they were.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ArgsOf } from '../../src/shared/contract';
import type { VerdictDto } from '../../src/shared/dto';
import { bundleChecksum, readBundleText, writeBundleText, type Bundle, type BundleBody } from '../../src/main/review/bundle';
import { handBuiltWorkspace, imageHash, type HandBuilt } from './review-fixture';

let a: HandBuilt;
let b: HandBuilt;
const opened: HandBuilt[] = [];

function open(options: Parameters<typeof handBuiltWorkspace>[0] = {}): HandBuilt {
  const ws = handBuiltWorkspace(options);
  opened.push(ws);
  return ws;
}

const verdict = (ws: HandBuilt, pair: string, reviewer: string, answers: Partial<ArgsOf<'review.verdict'>>) =>
  ws.app.call('review.verdict', { pairId: ws.pair[pair], modelId: ws.modelId, reviewer, ...answers });

/** Every verdict row of a workspace, as comparable values (ids dropped). */
function snapshot(ws: HandBuilt) {
  return ws.app.db
    .prepare(
      `SELECT v.uid, v.pair_id, v.reviewer, v.similarity, v.heatmap_a, v.heatmap_b, v.method, v.layer, v.note, v.current, v.origin, v.created_at,
              (SELECT group_concat(tag, ';') FROM verdict_tags t WHERE t.verdict_id = v.id) AS tags
         FROM verdicts v ORDER BY v.uid`,
    )
    .all();
}

/** The current verdicts of a workspace by (pair name, reviewer), in each workspace's own orientation. */
async function current(ws: HandBuilt): Promise<Record<string, Pick<VerdictDto, 'similarity' | 'heatmapA' | 'heatmapB' | 'uid'>>> {
  const out: Record<string, Pick<VerdictDto, 'similarity' | 'heatmapA' | 'heatmapB' | 'uid'>> = {};
  for (const [name, pairId] of Object.entries(ws.pair)) {
    for (const v of await ws.app.call('review.history', { pairId, modelId: ws.modelId })) {
      if (v.current) out[`${name}/${v.reviewer}`] = { similarity: v.similarity, heatmapA: v.heatmapA, heatmapB: v.heatmapB, uid: v.uid };
    }
  }
  return out;
}

const exportBundle = async (ws: HandBuilt, file = 'bundle.json') => {
  const path = join(ws.dir, file);
  return { path, result: await ws.app.call('review.exportBundle', { path, modelId: ws.modelId }) };
};

beforeEach(async () => {
  a = open();
  // b stores every pair the other way round (image B first), as a workspace built differently might
  b = open({ swapped: true });
  const shown = { method: 'gradcam', layer: 'conv_2' } as const;
  await verdict(a, 'p1', 'Ann', { similarity: 'wrong', note: 'first look' });
  await verdict(a, 'p1', 'Ann', { similarity: 'correct', heatmapA: 'sensible', heatmapB: 'not_sensible', ...shown, tags: ['texture'] });
  await verdict(a, 'p2', 'Ann', { similarity: 'wrong', heatmapA: 'unsure', heatmapB: 'sensible', ...shown });
  await verdict(a, 'p3', 'Ann', { similarity: 'wrong' });
  await verdict(b, 'p1', 'Bob', { similarity: 'correct', heatmapA: 'not_sensible', heatmapB: 'not_sensible', ...shown, note: 'Bob, in b' });
  await verdict(b, 'p4', 'Bob', { similarity: 'correct' });
});
afterEach(async () => {
  for (const ws of opened.splice(0)) await ws.close();
});

describe('review bundles', () => {
  it('carry every verdict with its history, keyed by image hashes and the weights fingerprint, under a checksum', async () => {
    const { path, result } = await exportBundle(a);
    expect(result).toMatchObject({ dataset: { id: a.datasetId, name: 'Hand-built' }, verdicts: 4, images: 6, skipped: [] });
    expect(result.models).toEqual([{ id: a.modelId, name: 'hand-built', fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    const bundle = JSON.parse(readFileSync(path, 'utf8')) as Bundle;
    expect(bundle.checksum).toBe(bundleChecksum({ ...bundle, checksum: undefined } as unknown as BundleBody));
    expect(bundle).toMatchObject({ format: 'simlens-review-bundle', version: 2, dataset: { name: 'Hand-built', images: 12 } });
    expect(bundle.images.map((i) => i.sha256).sort()).toEqual(['cat1', 'cat2', 'cat3', 'dog1', 'dog2', 'dog3'].map(imageHash).sort());
    expect(
      bundle.verdicts.map((v) => [
        v.reviewer,
        v.similarity,
        v.imageA === imageHash('cat1') ? 'p1' : v.imageA === imageHash('cat3') ? 'p2' : 'p3',
      ]),
    ).toEqual([
      ['Ann', 'wrong', 'p1'],
      ['Ann', 'correct', 'p1'],
      ['Ann', 'wrong', 'p2'],
      ['Ann', 'wrong', 'p3'],
    ]);
    // the same weights in b: the same fingerprint
    expect((await exportBundle(b)).result.models[0].fingerprint).toBe(result.models[0].fingerprint);
  });

  it('merge idempotently both ways: nothing overwritten, each reviewer keeps their own verdicts', async () => {
    const beforeA = await current(a);
    const beforeB = await current(b);
    const fromA = (await exportBundle(a)).path;
    const first = await b.app.call('review.importBundle', { path: fromA });
    expect(first).toMatchObject({
      datasetId: b.datasetId,
      imported: 4,
      alreadyPresent: 0,
      unmatched: 0,
      dryRun: false,
      bundle: { dataset: 'Hand-built', verdicts: 4 },
    });
    expect(first.entries.map((e) => e.pairId)).toEqual([b.pair.p1, b.pair.p1, b.pair.p2, b.pair.p3]);
    const afterFirst = snapshot(b);
    // again: nothing changes
    const second = await b.app.call('review.importBundle', { path: fromA });
    expect(second).toMatchObject({ imported: 0, alreadyPresent: 4, unmatched: 0 });
    expect(second.entries.every((e) => e.status === 'already_present' && e.reason === null)).toBe(true);
    expect(snapshot(b)).toEqual(afterFirst);

    // b sends everything back (its own and a's): a learns Bob's two, and nothing else changes
    const fromB = (await exportBundle(b)).path;
    const back = await a.app.call('review.importBundle', { path: fromB });
    expect(back).toMatchObject({ imported: 2, alreadyPresent: 4, unmatched: 0 });
    expect((await a.app.call('review.importBundle', { path: fromB })).imported).toBe(0);

    // both hold the same verdicts now; each reviewer's current verdict is the one they gave
    expect(snapshot(a).map((r) => (r as { uid: string }).uid)).toEqual(snapshot(b).map((r) => (r as { uid: string }).uid));
    const nowA = await current(a);
    const nowB = await current(b);
    expect(nowA['p1/Ann']).toEqual(beforeA['p1/Ann']);
    expect(nowB['p1/Bob']).toEqual(beforeB['p1/Bob']);
    expect(Object.keys(nowA).sort()).toEqual(['p1/Ann', 'p1/Bob', 'p2/Ann', 'p3/Ann', 'p4/Bob']);
    expect(Object.keys(nowB).sort()).toEqual(Object.keys(nowA).sort());
    // b stores p1 and p2 the other way round: the heatmap answers follow the images
    expect(nowB['p1/Ann']).toEqual({ ...nowA['p1/Ann'], heatmapA: 'not_sensible', heatmapB: 'sensible' });
    expect(nowB['p2/Ann']).toEqual({ ...nowA['p2/Ann'], heatmapA: 'sensible', heatmapB: 'unsure' });
    expect(nowA['p1/Bob']).toEqual(nowB['p1/Bob']); // both "not sensible": unchanged by the swap
    // history travelled too, marked as imported
    const history = await b.app.call('review.history', { pairId: b.pair.p1, modelId: b.modelId, reviewer: 'Ann' });
    expect(history.map((v) => [v.similarity, v.current, v.origin, v.note])).toEqual([
      ['correct', true, 'imported', null],
      ['wrong', false, 'imported', 'first look'],
    ]);
    // the stats of both agree (heatmap A here is heatmap B there, so only similarity's kappa is the same)
    const statsA = await a.app.call('review.stats', { modelId: a.modelId });
    const statsB = await b.app.call('review.stats', { modelId: b.modelId });
    expect(statsA.verdicts).toEqual(statsB.verdicts);
    expect(statsA.similarity).toEqual(statsB.similarity);
    expect(statsA.agreement[0]).toEqual(statsB.agreement[0]);
  });

  it('report without writing on a dry run', async () => {
    const before = snapshot(b);
    const dry = await b.app.call('review.importBundle', { path: (await exportBundle(a)).path, dryRun: true });
    expect(dry).toMatchObject({ imported: 4, dryRun: true });
    expect(snapshot(b)).toEqual(before);
  });

  it('do not bring back a verdict undone here', async () => {
    const fromA = (await exportBundle(a)).path;
    await b.app.call('review.importBundle', { path: fromA });
    const undone = await b.app.call('review.undo', { modelId: b.modelId, pairId: b.pair.p3, reviewer: 'Ann' });
    expect(undone.undone).not.toBeNull();
    const again = await b.app.call('review.importBundle', { path: fromA });
    expect(again).toMatchObject({ imported: 0, alreadyPresent: 4 });
    expect(again.entries.find((e) => e.uid === undone.undone!.uid)).toMatchObject({
      status: 'already_present',
      reason: 'it was undone in this workspace',
    });
    expect(await b.app.call('review.history', { pairId: b.pair.p3, modelId: b.modelId })).toEqual([]);
  });

  it('report a verdict whose pair or images are not here as unmatched, and import the rest', async () => {
    // c lacks image dog1 (so pairs p2 and p6)
    const c = open({ without: ['dog1'] });
    const path = (await exportBundle(a)).path;
    // and a verdict on two images that form no pair (cat1, fox3), sealed like an export
    const body = readBundleText(readFileSync(path, 'utf8'), 'bundle.json');
    body.images.push({ sha256: imageHash('fox3'), classLabel: 'fox', sourcePath: 'x' });
    body.verdicts.push({ ...body.verdicts[3], uid: '11111111-1111-4111-8111-111111111111', imageB: imageHash('fox3') });
    const edited = join(c.dir, 'edited.json');
    writeFileSync(edited, writeBundleText(body));
    const report = await c.app.call('review.importBundle', { path: edited });
    expect(report).toMatchObject({ imported: 3, alreadyPresent: 0, unmatched: 2 });
    expect(report.entries.filter((e) => e.status === 'unmatched').map((e) => e.reason)).toEqual([
      `image B (${imageHash('dog1').slice(0, 12)}) is not in dataset ${c.datasetId}`,
      `no pair of images ${c.image.dog2} and ${c.image.fox3} in pair set ${c.pairSetId} of model version ${c.modelId}`,
    ]);
  });
});

describe('bad bundles', () => {
  /** Imports into b and expects a refusal with this message, and b's verdicts unchanged. */
  async function refused(path: string, message: RegExp | string, code = 'invalid_argument') {
    const before = snapshot(b);
    await expect(b.app.call('review.importBundle', { path })).rejects.toMatchObject({
      code,
      message: typeof message === 'string' ? message : expect.stringMatching(message),
    });
    expect(snapshot(b)).toEqual(before);
  }
  const write = (name: string, text: string) => {
    const path = join(b.dir, name);
    writeFileSync(path, text);
    return path;
  };
  const exported = async () => readFileSync((await exportBundle(a)).path, 'utf8');
  const reseal = async (edit: (body: BundleBody) => void) => {
    const { checksum: _checksum, ...body } = JSON.parse(await exported()) as Bundle;
    edit(body);
    return writeBundleText(body);
  };

  it('refuses a truncated bundle', async () => {
    const text = await exported();
    await refused(
      write('cut.json', text.slice(0, Math.floor(text.length / 2))),
      /^cut.json is not a complete review bundle: its JSON is cut off or damaged/,
    );
  });

  it('refuses an edited bundle', async () => {
    const text = await exported();
    await refused(
      write('edited.json', text.replace('"similarity": "wrong"', '"similarity": "correct"')),
      'edited.json: the checksum does not match the content: the bundle was cut short or edited after it was exported',
    );
    const noChecksum = JSON.parse(text) as Record<string, unknown>;
    delete noChecksum.checksum;
    await refused(write('bare.json', JSON.stringify(noChecksum)), 'bare.json has no checksum: it is not a complete review bundle');
  });

  it('refuses what is not a bundle, a newer format, and a missing file', async () => {
    await refused(write('other.json', '{"hello": "world"}'), /^other.json is not a SimLens review bundle/);
    await refused(
      write('newer.json', await reseal((body) => (body.version = 3))),
      /newer.json is a review bundle of format version 3, written by a newer SimLens/,
    );
    await refused(join(b.dir, 'nothing-here.json'), /^No bundle file at /, 'not_found');
  });

  it('refuses a bundle from a dataset this workspace does not hold', async () => {
    // the same bundle over other images: every content hash replaced by another
    const other = (sha: string) => createHash('sha256').update(sha).digest('hex');
    const text = await reseal((body) => {
      for (const image of body.images) image.sha256 = other(image.sha256);
      for (const v of body.verdicts) [v.imageA, v.imageB] = [other(v.imageA), other(v.imageB)];
      body.dataset.name = 'Herbarium';
    });
    await refused(
      write('foreign.json', text),
      'foreign.json comes from a dataset this workspace does not hold: none of its 6 images (of dataset "Herbarium", 12 images) is here. Import that dataset first.',
    );
  });

  it('refuses a bundle of model versions this workspace does not have', async () => {
    const text = await reseal((body) => (body.models[0].fingerprint = 'f'.repeat(64)));
    await refused(write('model.json', text), /^model.json: none of its model versions \("hand-built"\) is in this workspace/);
  });

  it.each<[string, (body: BundleBody) => void, RegExp]>([
    [
      'an empty reviewer name',
      (body) => (body.verdicts[0].reviewer = '  '),
      /bundle.verdicts\[0\].reviewer: a reviewer name must not be empty/,
    ],
    [
      'a 10,000-character reviewer name',
      (body) => (body.verdicts[1].reviewer = 'r'.repeat(10_000)),
      /bundle.verdicts\[1\].reviewer: a reviewer name has at most 100 characters \(got 10000\)/,
    ],
    [
      'an unknown answer',
      (body) => ((body.verdicts[2] as { heatmapA: string }).heatmapA = 'great'),
      /bundle.verdicts\[2\].heatmapA: expected one of sensible, not_sensible, unsure/,
    ],
    [
      'a verdict of an image it does not list',
      (body) => (body.verdicts[0].imageA = 'a'.repeat(64)),
      /bundle.verdicts\[0\].imageA: a{64} is none of the bundle's images/,
    ],
    ['a uid twice', (body) => (body.verdicts[1].uid = body.verdicts[0].uid), /bundle.verdicts\[1\].uid: .* appears twice/],
    ['a bad time', (body) => (body.verdicts[0].createdAt = 'yesterday'), /bundle.verdicts\[0\].createdAt: expected a time like/],
    ['no verdicts', (body) => (body.verdicts = []), /holds no verdicts: nothing to import/],
  ])('refuses a bundle with %s, even when its checksum matches', async (_what, edit, message) => {
    await refused(write('bad.json', await reseal(edit)), message);
  });

  it('imports all or nothing: a failure on the last verdict leaves none of the others', async () => {
    const path = (await exportBundle(a)).path;
    const last = (JSON.parse(readFileSync(path, 'utf8')) as Bundle).verdicts[3].uid;
    b.app.db.exec(
      `CREATE TRIGGER refuse_last BEFORE INSERT ON verdicts WHEN NEW.uid = '${last}' BEGIN SELECT RAISE(ABORT, 'disk full'); END`,
    );
    await refused(path, 'disk full', 'failed');
  });
});
