// Verdicts through the contract on a hand-built workspace: the reviewer's name, verdicts with
// history, partial verdicts, undo, tags; bad input refused with a message naming the problem and
// nothing stored; and migration 0006 carrying 0001's verdict rows over.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import type { ArgsOf } from '../../src/shared/contract';
import { migrate, openDatabase, SCHEMA_VERSION, userVersion } from '../../src/main/store/db';
import { MIGRATIONS } from '../../src/main/store/migrations';
import { handBuiltWorkspace, type HandBuilt } from './review-fixture';

let ws: HandBuilt;
beforeEach(async () => {
  ws = handBuiltWorkspace();
  await ws.app.call('review.setReviewer', { name: 'Ann' });
});
afterEach(() => ws.close());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const rows = () => (ws.app.db.prepare('SELECT count(*) AS n FROM verdicts').get() as { n: number }).n;
const verdict = (pair: string, answers: Partial<ArgsOf<'review.verdict'>>) =>
  ws.app.call('review.verdict', { pairId: ws.pair[pair], modelId: ws.modelId, ...answers });
const full = { similarity: 'correct', heatmapA: 'sensible', heatmapB: 'unsure', method: 'gradcam', layer: 'conv_2' } as const;

describe('the reviewer of a workspace', () => {
  it('is asked once: stored trimmed, listed with every reviewer who has verdicts', async () => {
    const fresh = handBuiltWorkspace();
    try {
      expect(await fresh.app.call('review.reviewer', {})).toEqual({ name: null, known: [] });
      expect(await fresh.app.call('review.setReviewer', { name: '  Dr. Ünal Øster  ' })).toEqual({ name: 'Dr. Ünal Øster', known: [] });
      await fresh.app.call('review.verdict', { pairId: fresh.pair.p1, modelId: fresh.modelId, similarity: 'wrong' });
      await fresh.app.call('review.verdict', { pairId: fresh.pair.p1, modelId: fresh.modelId, similarity: 'wrong', reviewer: 'Bob' });
      expect(await fresh.app.call('review.reviewer', {})).toEqual({ name: 'Dr. Ünal Øster', known: ['Bob', 'Dr. Ünal Øster'] });
    } finally {
      await fresh.close();
    }
  });

  it.each([
    ['empty', '   ', 'args.name: a reviewer name must not be empty'],
    ['10,000 characters', 'x'.repeat(10_000), 'args.name: a reviewer name has at most 100 characters (got 10000)'],
    ['a line break', 'Ann\nBob', 'args.name: a reviewer name must not contain control characters (tabs, line breaks, ...)'],
    ['not a string', 42, 'args.name: expected a reviewer name (a string), got 42'],
  ])('refuses a name that is %s, and keeps the one it had', async (_what, name, message) => {
    await expect(ws.app.call('review.setReviewer', { name } as never)).rejects.toMatchObject({ code: 'invalid_argument', message });
    // the same check guards every reviewer argument
    await expect(verdict('p1', { similarity: 'correct', reviewer: name } as never)).rejects.toMatchObject({
      code: 'invalid_argument',
      message: message.replace('args.name', 'args.reviewer'),
    });
    expect((await ws.app.call('review.reviewer', {})).name).toBe('Ann');
    expect(rows()).toBe(0);
  });
});

describe('verdicts', () => {
  it('stores a verdict per pair, version and reviewer; a change adds a row and keeps the earlier one as history', async () => {
    const first = await verdict('p1', { ...full, note: '  looks at the collar ', tags: ['Texture', 'background', 'texture'] });
    expect(first.changed).toBe(true);
    expect(first.previous).toBeNull();
    expect(first.verdict).toMatchObject({
      pairId: ws.pair.p1,
      modelId: ws.modelId,
      reviewer: 'Ann',
      similarity: 'correct',
      heatmapA: 'sensible',
      heatmapB: 'unsure',
      method: 'gradcam',
      layer: 'conv_2',
      note: 'looks at the collar',
      tags: ['background', 'texture'],
      complete: true,
      current: true,
      origin: 'local',
    });
    expect(first.verdict.uid).toMatch(UUID);

    const second = await verdict('p1', { ...full, heatmapB: 'not_sensible', method: 'gradcampp' });
    expect(second.changed).toBe(true);
    expect(second.previous).toMatchObject({ id: first.verdict.id, current: false, heatmapB: 'unsure' });
    expect(second.verdict).toMatchObject({ heatmapB: 'not_sensible', method: 'gradcampp', note: null, tags: [], current: true });
    expect(second.verdict.createdAt >= first.verdict.createdAt).toBe(true);

    const history = await ws.app.call('review.history', { pairId: ws.pair.p1, modelId: ws.modelId });
    expect(history.map((h) => [h.id, h.current])).toEqual([
      [second.verdict.id, true],
      [first.verdict.id, false],
    ]);
    // the same answers again change nothing
    const again = await verdict('p1', { ...full, heatmapB: 'not_sensible', method: 'gradcampp' });
    expect(again).toEqual({ verdict: second.verdict, changed: false, previous: { ...first.verdict, current: false } });
    expect(rows()).toBe(2);
  });

  it("keeps each reviewer's verdicts apart", async () => {
    await verdict('p2', { similarity: 'wrong' });
    await verdict('p2', { similarity: 'correct', reviewer: 'Bob' });
    await verdict('p2', { similarity: 'correct' });
    const all = await ws.app.call('review.history', { pairId: ws.pair.p2, modelId: ws.modelId });
    expect(all.map((v) => [v.reviewer, v.similarity, v.current])).toEqual([
      ['Ann', 'correct', true],
      ['Bob', 'correct', true],
      ['Ann', 'wrong', false],
    ]);
    expect(
      (await ws.app.call('review.history', { pairId: ws.pair.p2, modelId: ws.modelId, reviewer: 'Bob' })).map((v) => v.similarity),
    ).toEqual(['correct']);
  });

  it('allows partial verdicts: an answer, a note or a tag; heatmap answers carry the map shown', async () => {
    expect((await verdict('p3', { similarity: 'wrong' })).verdict).toMatchObject({ complete: false, heatmapA: null, method: null });
    expect((await verdict('p4', { note: 'blurry image' })).verdict).toMatchObject({
      complete: false,
      similarity: null,
      note: 'blurry image',
    });
    expect((await verdict('p5', { tags: ['decoy'] })).verdict.tags).toEqual(['decoy']);
    expect((await verdict('p6', { heatmapB: 'sensible', method: 'occlusion', layer: 'input' })).verdict).toMatchObject({
      heatmapB: 'sensible',
      method: 'occlusion',
      layer: 'input',
    });
  });

  it.each<[string, Partial<ArgsOf<'review.verdict'>> & { pairId?: number; modelId?: number }, string, RegExp]>([
    ['nothing to say', {}, 'invalid_argument', /needs at least one answer/],
    ['a heatmap answer without the map shown', { heatmapA: 'sensible' }, 'invalid_argument', /a heatmap answer needs the method and layer/],
    ['an unknown answer', { similarity: 'maybe' as never }, 'invalid_argument', /args.similarity: expected one of correct, wrong/],
    ['a pair that does not exist', { similarity: 'correct', pairId: 99_999 }, 'not_found', /Pair 99999 does not exist/],
    ['a version that does not exist', { similarity: 'correct', modelId: 999 }, 'not_found', /Model version 999 does not exist/],
    [
      'a note of 5,000 characters',
      { similarity: 'correct', note: 'n'.repeat(5000) },
      'invalid_argument',
      /args.note: a note has at most 4000 characters/,
    ],
    [
      '21 tags',
      { similarity: 'correct', tags: Array.from({ length: 21 }, (_, i) => `t${i}`) },
      'invalid_argument',
      /args.tags: a verdict has at most 20 tags/,
    ],
    ['a tag with a semicolon', { similarity: 'correct', tags: ['a;b'] }, 'invalid_argument', /args.tags\[0\]: a tag must not contain ';'/],
    ['an empty tag', { similarity: 'correct', tags: ['ok', '  '] }, 'invalid_argument', /args.tags\[1\]: a tag must not be empty/],
    ['an unknown field', { similarity: 'correct', confidence: 3 } as never, 'invalid_argument', /args.confidence: unknown field/],
  ])('refuses %s, storing nothing', async (_what, args, code, message) => {
    await verdict('p1', { similarity: 'correct' });
    await expect(verdict('p1', args)).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
    expect(rows()).toBe(1);
  });

  it("refuses a pair of another version's pair set", async () => {
    // a second pair set of the same dataset, with a pair of p1's images
    const set = ws.app.db.prepare("INSERT INTO pair_sets (dataset_id, source) VALUES (?, 'csv')").run(ws.datasetId).lastInsertRowid;
    const pair = Number(
      ws.app.db
        .prepare("INSERT INTO pairs (pair_set_id, image_a, image_b, label, split) VALUES (?, ?, ?, 1, 'test')")
        .run(set, ws.image.cat1, ws.image.cat2).lastInsertRowid,
    );
    await expect(ws.app.call('review.verdict', { pairId: pair, modelId: ws.modelId, similarity: 'correct' })).rejects.toMatchObject({
      code: 'invalid_argument',
      message: `Pair ${pair} is not in model version ${ws.modelId}'s pair set ${ws.pairSetId}`,
    });
    expect(rows()).toBe(0);
  });
});

describe('undo', () => {
  it('removes the newest verdict of the pair; the earlier one is current again', async () => {
    const a = await verdict('p1', { similarity: 'correct' });
    const b = await verdict('p1', { similarity: 'wrong' });
    await verdict('p1', { similarity: 'correct', reviewer: 'Bob' });
    const first = await ws.app.call('review.undo', { modelId: ws.modelId, pairId: ws.pair.p1 });
    expect(first.undone).toMatchObject({ id: b.verdict.id, similarity: 'wrong', current: false });
    expect(first.current).toMatchObject({ id: a.verdict.id, similarity: 'correct', current: true });
    const second = await ws.app.call('review.undo', { modelId: ws.modelId, pairId: ws.pair.p1 });
    expect(second).toEqual({ undone: { ...a.verdict, current: false }, current: null });
    expect(await ws.app.call('review.undo', { modelId: ws.modelId, pairId: ws.pair.p1 })).toEqual({ undone: null, current: null });
    // Bob's verdict is untouched; the undone uids are remembered
    expect((await ws.app.call('review.history', { pairId: ws.pair.p1, modelId: ws.modelId })).map((v) => v.reviewer)).toEqual(['Bob']);
    const tombstones = ws.app.db.prepare('SELECT uid FROM verdict_tombstones ORDER BY uid').all() as { uid: string }[];
    expect(tombstones.map((t) => t.uid)).toEqual([a.verdict.uid, b.verdict.uid].sort());
  });

  it('without a pair, undoes the last verdict the reviewer recorded on the version, one after the other', async () => {
    await verdict('p1', { similarity: 'correct' });
    await verdict('p2', { similarity: 'wrong' });
    await verdict('p3', { similarity: 'wrong', reviewer: 'Bob' });
    await verdict('p1', { similarity: 'wrong' });
    const undo = () => ws.app.call('review.undo', { modelId: ws.modelId });
    expect((await undo()).undone).toMatchObject({ pairId: ws.pair.p1, similarity: 'wrong' });
    expect((await undo()).undone).toMatchObject({ pairId: ws.pair.p2 });
    expect((await undo()).undone).toMatchObject({ pairId: ws.pair.p1, similarity: 'correct' });
    expect(await undo()).toEqual({ undone: null, current: null });
    expect(rows()).toBe(1);
  });
});

describe('tags', () => {
  it("offers the defaults first, then the reviewers' own, with their counts on current verdicts", async () => {
    expect(await ws.app.call('review.tags', {})).toEqual([
      { tag: 'background', count: 0, builtin: true },
      { tag: 'decoy', count: 0, builtin: true },
      { tag: 'texture', count: 0, builtin: true },
    ]);
    await verdict('p1', { similarity: 'correct', tags: ['Decoy', 'shadow'] });
    await verdict('p2', { similarity: 'correct', tags: ['shadow', 'Zipper'] });
    await verdict('p2', { similarity: 'wrong', tags: ['zipper'] }); // supersedes: "shadow" of p2 no longer counts
    expect(await ws.app.call('review.tags', { modelId: ws.modelId })).toEqual([
      { tag: 'background', count: 0, builtin: true },
      { tag: 'decoy', count: 1, builtin: true },
      { tag: 'texture', count: 0, builtin: true },
      { tag: 'shadow', count: 1, builtin: false },
      { tag: 'zipper', count: 1, builtin: false },
    ]);
  });
});

describe('migration 0006', () => {
  it("carries 0001's verdict rows over: answers mapped, a uid each, the newest of each group current", () => {
    const dir = mkdtempSync(join(tmpdir(), 'simlens-migrate-'));
    try {
      const path = join(dir, 'old.db');
      const old = new Database(path);
      old.pragma('foreign_keys = ON');
      migrate(
        old,
        path,
        MIGRATIONS.filter((m) => m.version < 6),
      );
      expect(userVersion(old)).toBe(5);
      old.exec(`
        INSERT INTO datasets (id, name, source_kind, source_path) VALUES (1, 'd', 'folder', '/x');
        INSERT INTO images (id, dataset_id, sha256, source_path, class_label, width, height, channels, pixel_encoding, pixels)
          VALUES (1, 1, 'a', 'a.png', 'cat', 1, 1, 1, 'raw', x'00'), (2, 1, 'b', 'b.png', 'dog', 1, 1, 1, 'raw', x'01');
        INSERT INTO pair_sets (id, dataset_id, source) VALUES (1, 1, 'csv');
        INSERT INTO pairs (id, pair_set_id, image_a, image_b, label, split) VALUES (1, 1, 1, 2, 0, 'test');
        INSERT INTO model_versions (id, name, dataset_id, pair_set_id, arch, config) VALUES (1, 'm', 1, 1, 'small', '{}');
        INSERT INTO verdicts (pair_id, model_id, reviewer, similarity_correct, heatmap_a_sensible, heatmap_b_sensible, note, created_at) VALUES
          (1, 1, 'ann', 1, 0, NULL, 'first', '2024-01-01T10:00:00.000Z'),
          (1, 1, 'ann', 0, 1, 1, NULL, '2024-01-02T10:00:00.000Z'),
          (1, 1, 'bob', NULL, NULL, 0, 'bob''s', '2024-01-01T09:00:00.000Z'),
          (1, NULL, 'ann', 1, NULL, NULL, NULL, '2024-01-03T10:00:00.000Z');
      `);
      old.close();
      const db = openDatabase(path);
      expect(userVersion(db)).toBe(SCHEMA_VERSION);
      const migrated = db
        .prepare(
          'SELECT id, uid, pair_id, model_id, reviewer, similarity, heatmap_a, heatmap_b, method, note, current, origin, created_at FROM verdicts ORDER BY id',
        )
        .all() as Record<string, unknown>[];
      expect(migrated.map(({ uid: _uid, ...rest }) => rest)).toEqual([
        {
          id: 1,
          pair_id: 1,
          model_id: 1,
          reviewer: 'ann',
          similarity: 'correct',
          heatmap_a: 'not_sensible',
          heatmap_b: null,
          method: null,
          note: 'first',
          current: 0,
          origin: 'local',
          created_at: '2024-01-01T10:00:00.000Z',
        },
        {
          id: 2,
          pair_id: 1,
          model_id: 1,
          reviewer: 'ann',
          similarity: 'wrong',
          heatmap_a: 'sensible',
          heatmap_b: 'sensible',
          method: null,
          note: null,
          current: 1,
          origin: 'local',
          created_at: '2024-01-02T10:00:00.000Z',
        },
        {
          id: 3,
          pair_id: 1,
          model_id: 1,
          reviewer: 'bob',
          similarity: null,
          heatmap_a: null,
          heatmap_b: 'not_sensible',
          method: null,
          note: "bob's",
          current: 1,
          origin: 'local',
          created_at: '2024-01-01T09:00:00.000Z',
        },
        {
          id: 4,
          pair_id: 1,
          model_id: null,
          reviewer: 'ann',
          similarity: 'correct',
          heatmap_a: null,
          heatmap_b: null,
          method: null,
          note: null,
          current: 1,
          origin: 'local',
          created_at: '2024-01-03T10:00:00.000Z',
        },
      ]);
      const uids = migrated.map((r) => r.uid as string);
      for (const uid of uids) expect(uid).toMatch(UUID);
      expect(new Set(uids).size).toBe(4);
      // one current row per group, enforced
      expect(() => db.prepare('UPDATE verdicts SET current = 1 WHERE id = 1').run()).toThrow(/UNIQUE/);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
