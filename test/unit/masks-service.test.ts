// Masks per image and author with history (src/main/services/masks.ts) through the contract on a
// hand-built workspace: masks.save / get / history, what save refuses (and that it then stores
// nothing), the newest row by time, rows of the older forms (JSON counts, PNG) read by the same
// decoder, and migration 0007 carrying old rows over with uids.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMask } from '../../src/main/images/mask';
import { migrate, openDatabase } from '../../src/main/store/db';
import { ExplanationsRepo } from '../../src/main/store/explanations-repo';
import { MIGRATIONS } from '../../src/main/store/migrations';
import { countsToString, decodeMaskString, encodeCounts } from '../../src/shared/mask-rle';
import { disc, maskWorkspace, rect, rle, type MaskWorkspace } from './masks-fixture';

let ws: MaskWorkspace;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

beforeAll(() => {
  ws = maskWorkspace();
});
afterAll(() => ws.close());

const count = () => (ws.app.db.prepare('SELECT count(*) AS n FROM masks').get() as { n: number }).n;
const save = (name: string, mask: Uint8Array, author = 'Ann', source: 'painted' | 'seeded' | 'imported' = 'painted') =>
  ws.app.call('masks.save', { imageId: ws.image[name], author, size: ws.size[name], counts: rle(mask, ws.size[name]), source });

describe('masks.save, masks.get, masks.history', () => {
  it('stores a mask at its image size and gives it back with area, bbox, uid and time', async () => {
    const mask = rect(28, 28, 4, 6, 10, 9);
    const { mask: saved, changed } = await save('shirt1', mask);
    expect(changed).toBe(true);
    expect(saved).toMatchObject({
      imageId: ws.image.shirt1,
      author: 'Ann',
      size: [28, 28],
      counts: rle(mask, [28, 28]),
      source: 'painted',
      origin: 'local',
      area: 18,
      bbox: [4, 6, 6, 3],
      current: true,
    });
    expect(saved.uid).toMatch(UUID);
    expect(await ws.app.call('masks.get', { imageId: ws.image.shirt1 })).toEqual(saved);
    expect(await ws.app.call('masks.get', { imageId: ws.image.shirt1, author: 'Ann' })).toEqual(saved);
    expect(await ws.app.call('masks.get', { imageId: ws.image.shirt1, author: 'Bob' })).toBeNull();
    expect(await ws.app.call('masks.get', { imageId: ws.image.shirt2 })).toBeNull();
    // stored as JSON {size, counts} with the compressed string
    const row = ws.app.db.prepare('SELECT encoding, width, height, data FROM masks WHERE id = ?').get(saved.id) as {
      encoding: string;
      width: number;
      height: number;
      data: Buffer;
    };
    expect(row.encoding).toBe('rle');
    expect(JSON.parse(row.data.toString())).toEqual({ size: [28, 28], counts: saved.counts });
    // the metrics jobs' decoder reads it
    const grid = await decodeMask(row as { encoding: 'rle'; width: number; height: number; data: Buffer });
    expect(Array.from(grid.data, (v) => (v > 0.5 ? 1 : 0))).toEqual(Array.from(mask));
  });

  it('adds a row per stroke (history, newest first), and nothing for the same pixels again', async () => {
    const before = count();
    const a = rect(17, 9, 1, 1, 4, 4);
    const b = rect(17, 9, 1, 1, 6, 8);
    const first = await save('odd', a, 'Ann', 'seeded');
    const second = await save('odd', b);
    const again = await save('odd', b);
    expect(again).toEqual({ mask: second.mask, changed: false });
    expect(count()).toBe(before + 2);
    // Bob's mask of the same image is his own
    const bob = await save('odd', a, 'Bob');
    expect(bob.changed).toBe(true);
    const history = await ws.app.call('masks.history', { imageId: ws.image.odd });
    expect(history.map((m) => [m.id, m.author, m.current])).toEqual([
      [bob.mask.id, 'Bob', true],
      [second.mask.id, 'Ann', true],
      [first.mask.id, 'Ann', false],
    ]);
    expect((await ws.app.call('masks.history', { imageId: ws.image.odd, author: 'Ann' })).map((m) => m.id)).toEqual([
      second.mask.id,
      first.mask.id,
    ]);
    expect((await ws.app.call('masks.history', { imageId: ws.image.odd, limit: 1 })).map((m) => m.id)).toEqual([bob.mask.id]);
    // the image's mask is the newest of anyone; each author's is their newest
    expect((await ws.app.call('masks.get', { imageId: ws.image.odd }))!.id).toBe(bob.mask.id);
    expect((await ws.app.call('masks.get', { imageId: ws.image.odd, author: 'Ann' }))!.id).toBe(second.mask.id);
    // non-canonical strings for the same pixels (empty runs inside) are the same mask
    const counts = encodeCounts(b, 17, 9);
    for (const same of [
      [counts[0], 0, 0, ...counts.slice(1)],
      [counts[0] - 1, 0, 1, ...counts.slice(1)],
    ]) {
      const res = await ws.app.call('masks.save', {
        imageId: ws.image.odd,
        author: 'Ann',
        size: [17, 9],
        counts: countsToString(same),
        source: 'painted',
      });
      expect(res).toEqual({ mask: second.mask, changed: false });
    }
    expect(count()).toBe(before + 3);
  });

  it('stores saves sent without waiting (fast strokes) in the order they were sent', async () => {
    const strokes = Array.from({ length: 20 }, (_, k) => rect(28, 28, 0, 0, k + 1, 2));
    const results = await Promise.all(strokes.map((m) => save('shirt2', m, 'Fast')));
    expect(results.every((r) => r.changed)).toBe(true);
    const history = await ws.app.call('masks.history', { imageId: ws.image.shirt2, author: 'Fast' });
    expect(history.map((m) => m.counts)).toEqual(strokes.map((m) => rle(m, [28, 28])).reverse());
    expect(history.map((m) => m.id)).toEqual(results.map((r) => r.mask.id).reverse());
  });

  it('keeps the row saved last the newest, even after a row stamped later by another clock', async () => {
    const img = ws.image.wide;
    const future = '2999-01-01T00:00:00.000Z';
    ws.app.db
      .prepare(
        "INSERT INTO masks (image_id, author, encoding, width, height, data, source, origin, created_at) VALUES (?, 'Cy', 'rle', 40, 12, ?, 'painted', 'imported', ?)",
      )
      .run(img, Buffer.from(JSON.stringify({ size: [12, 40], counts: rle(rect(12, 40, 0, 0, 5, 5), [12, 40]) })), future);
    const mine = await save('wide', disc(12, 40, 20, 6, 4));
    expect(mine.mask.createdAt > future).toBe(true);
    expect((await ws.app.call('masks.get', { imageId: img }))!.id).toBe(mine.mask.id);
    // the metrics jobs read the same newest row
    expect(new ExplanationsRepo(ws.app.db).newestMasks([img]).get(img)!.id).toBe(mine.mask.id);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['an unknown image', { imageId: 999 }, /Image 999 does not exist/],
    ['a size other than the image', { size: [28, 27] }, /args.size: image \d+ is 28 x 28 \(height x width\).*got \[28, 27\]/],
    ['a size of three numbers', { size: [28, 28, 1] }, /args.size: expected \[height, width\]/],
    ['a zero size', { size: [0, 28] }, /args.size: a mask size is two positive integers/],
    ['counts that cover too few pixels', { counts: '322OO' }, /args.counts: the runs cover 9 pixels, a 28 x 28 mask has 784/],
    ['counts with a bad character', { counts: '3x2' }, /args.counts: character 1 of the counts string is "x"/],
    ['counts cut off', { counts: 'T' }, /args.counts: the counts string ends inside a count/],
    ['an empty counts string', { counts: '' }, /args.counts: expected a string of 1-1000000 characters/],
    ['no author', { author: undefined }, /args.author: expected a reviewer name/],
    ['an author with a line break', { author: 'A\nB' }, /args.author: a reviewer name must not contain control characters/],
    ['an unknown source', { source: 'drawn' }, /args.source: expected one of painted, seeded, imported/],
  ])('refuses %s and stores nothing', async (_name, change, message) => {
    const before = count();
    const args = {
      imageId: ws.image.shirt2,
      author: 'Ann',
      size: [28, 28],
      counts: rle(rect(28, 28, 1, 1, 3, 3), [28, 28]),
      source: 'painted',
      ...change,
    };
    const res = await ws.app.dispatch('masks.save', args);
    expect(res.ok).toBe(false);
    if (!res.ok) {
      expect(res.error.message).toMatch(message);
      expect(res.error.code).toBe(/does not exist/.test(res.error.message) ? 'not_found' : 'invalid_argument');
    }
    expect(count()).toBe(before);
  });

  it('reads rows of the older forms (JSON counts arrays, PNG) as compressed strings', async () => {
    const img = ws.image.dress1;
    const mask = disc(28, 28, 14, 14, 6);
    const counts = encodeCounts(mask, 28, 28);
    const png = await sharp(Buffer.from(mask.map((v) => v * 255)), { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toBuffer();
    const insert = ws.app.db.prepare(
      "INSERT INTO masks (image_id, author, encoding, width, height, data, source, created_at) VALUES (?, ?, ?, 28, 28, ?, 'seeded', ?)",
    );
    insert.run(img, 'old-array', 'rle', Buffer.from(JSON.stringify(counts)), '2020-01-01T00:00:00.000Z');
    insert.run(img, 'old-object', 'rle', Buffer.from(JSON.stringify({ counts })), '2020-01-01T00:00:00.001Z');
    insert.run(img, 'old-png', 'png', png, '2020-01-01T00:00:00.002Z');
    for (const author of ['old-array', 'old-object', 'old-png']) {
      const got = (await ws.app.call('masks.get', { imageId: img, author }))!;
      expect(got.counts).toBe(countsToString(counts));
      expect(decodeMaskString(got.counts, 28, 28)).toEqual(mask);
      expect(got.area).toBe(mask.reduce((a, b) => a + b, 0));
    }
    // a damaged row is named
    insert.run(img, 'broken', 'rle', Buffer.from('[1, 2]'), '2020-01-01T00:00:00.003Z');
    await expect(ws.app.call('masks.get', { imageId: img, author: 'broken' })).rejects.toThrow(
      /Mask \d+ of image \d+ cannot be read: the runs cover 3 pixels, a 28 x 28 mask has 784/,
    );
  });
});

describe('migration 0007', () => {
  it('carries the masks of a schema-6 workspace over, each with a uid of its own', () => {
    const dir = mkdtempSync(join(tmpdir(), 'simlens-masks-mig-'));
    try {
      const path = join(dir, 'old.db');
      const db = new Database(path);
      db.pragma('foreign_keys = ON');
      migrate(
        db,
        path,
        MIGRATIONS.filter((m) => m.version <= 6),
      );
      db.exec("INSERT INTO datasets (name, source_kind, source_path) VALUES ('d', 'folder', '/d')");
      db.exec(
        "INSERT INTO images (dataset_id, sha256, source_path, width, height, channels, pixel_encoding, pixels) VALUES (1, 'h', '/d/a.png', 2, 2, 1, 'raw', x'00000000')",
      );
      db.exec(
        "INSERT INTO masks (image_id, author, encoding, width, height, data, source) VALUES (1, 'ann', 'rle', 2, 2, '[1,3]', 'painted'), (1, 'bob', 'rle', 2, 2, '[4]', 'seeded')",
      );
      db.close();
      const up = openDatabase(path);
      const rows = up.prepare('SELECT id, uid, author, origin, data FROM masks ORDER BY id').all() as {
        id: number;
        uid: string;
        author: string;
        origin: string;
      }[];
      expect(rows.map((r) => [r.id, r.author, r.origin])).toEqual([
        [1, 'ann', 'local'],
        [2, 'bob', 'local'],
      ]);
      for (const r of rows) expect(r.uid).toMatch(UUID);
      expect(new Set(rows.map((r) => r.uid)).size).toBe(2);
      const tables = up.prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'index') AND name LIKE 'mask%'").all() as {
        name: string;
      }[];
      expect(tables.map((t) => t.name).sort()).toEqual(
        ['mask_energy', 'mask_energy_by_explanation', 'mask_energy_by_pair', 'masks', 'masks_by_image', 'masks_by_image_time'].sort(),
      );
      // uids are unique
      expect(() =>
        up
          .prepare(
            "INSERT INTO masks (uid, image_id, author, encoding, width, height, data, source) VALUES (?, 1, 'cy', 'rle', 2, 2, '[4]', 'painted')",
          )
          .run(rows[0].uid),
      ).toThrow(/UNIQUE constraint failed: masks.uid/);
      up.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
