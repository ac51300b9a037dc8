import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/main/errors';
import { bmp, bombPng, count, createHarness, noise, solid, write, type Harness } from './import-helpers';

let h: Harness;
let folder: string;

beforeAll(async () => {
  h = createHarness();
  folder = join(h.dir, 'shapes');
  const put = (rel: string, data: Buffer | string) => write(join(folder, rel), data);
  put('red/r1.png', await solid('png', 40, 30, '#ff0000'));
  put('red/r1_copy.png', await solid('png', 40, 30, '#ff0000')); // same content, another file
  put('red/r2.jpg', await noise(64, 48));
  put('red/r3.webp', await solid('webp', 20, 20, '#aa0000'));
  put('red/corrupt.png', Buffer.from('this is not a PNG at all, just text with a .png name'));
  const jpg = await noise(80, 60);
  put('red/truncated.jpg', jpg.subarray(0, jpg.length >> 1));
  put('red/huge.png', await bombPng(40_000, 40_000));
  put('blue/b1.png', await solid('png', 10, 50, '#0000ff'));
  put('blue/b2.gif', await solid('gif', 33, 17, '#2040c0'));
  put('blue/b3.tiff', await solid('tiff', 21, 13, '#0000aa'));
  put('blue/deeper/b4.png', await noise(300, 200, 'png'));
  put('blue/notes.txt', 'not an image');
  put('blue/b5.bmp', bmp(7, 5, 99));
  put('blue/rle.bmp', bmp(7, 5, 1, 1));
  put('stray.png', await solid('png', 5, 5, '#00ff00'));
});
afterAll(() => h.close());

describe('folder import', () => {
  let jobId: number;
  let datasetId: number;

  it('imports the readable images and reports every other file by name with a reason', async () => {
    const job = await h.importAndWait({ path: folder });
    expect(job.status).toBe('done');
    expect(job.progress).toBe(1);
    jobId = job.id;
    datasetId = (job.result as { datasetId: number }).datasetId;
    const report = h.datasets.importReport({ jobId, limit: 100 });
    expect(report.totals).toEqual({ imported: 8, duplicate: 1, skipped: 3, error: 3 });
    expect(report.total).toBe(15);
    const byPath = Object.fromEntries(report.entries.map((e) => [e.path, e]));
    for (const p of [
      'red/r1.png',
      'red/r2.jpg',
      'red/r3.webp',
      'blue/b1.png',
      'blue/b2.gif',
      'blue/b3.tiff',
      'blue/deeper/b4.png',
      'blue/b5.bmp',
    ]) {
      expect(byPath[p]).toMatchObject({ status: 'imported', reason: null, imageId: expect.any(Number) });
    }
    expect(byPath['red/r1_copy.png']).toMatchObject({ status: 'duplicate', imageId: byPath['red/r1.png'].imageId });
    expect(byPath['red/r1_copy.png'].reason).toMatch(/^same content as image \d+ .*r1\.png/);
    expect(byPath['red/corrupt.png']).toMatchObject({ status: 'error', reason: expect.stringMatching(/^corrupt or not an image/) });
    expect(byPath['red/truncated.jpg']).toMatchObject({ status: 'error', reason: expect.stringMatching(/^truncated image/) });
    expect(byPath['red/huge.png']).toMatchObject({
      status: 'error',
      reason: expect.stringMatching(/^image too large: more than 100,000,000 pixels/),
    });
    expect(byPath['blue/notes.txt']).toMatchObject({ status: 'skipped', reason: 'not an image file (.txt)' });
    expect(byPath['blue/rle.bmp']).toMatchObject({
      status: 'skipped',
      reason: 'unsupported image format: compressed BMP (compression 1) is not supported',
    });
    expect(byPath['stray.png']).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/^not in a class sub-folder/) });
    // paging and filtering of the report
    expect(
      h.datasets
        .importReport({ jobId, status: 'error' })
        .entries.map((e) => e.path)
        .sort(),
    ).toEqual(['red/corrupt.png', 'red/huge.png', 'red/truncated.jpg']);
    const page2 = h.datasets.importReport({ jobId, offset: 10, limit: 10 });
    expect(page2.entries).toHaveLength(5);
    expect(page2.total).toBe(15);
  });

  it('stores normalised PNG pixels, shapes and class labels from the sub-folder names', async () => {
    const detail = h.datasets.get(datasetId);
    expect(detail).toMatchObject({ name: 'shapes', sourceKind: 'folder', imageCount: 8, hasOfficialTest: false, pairSets: [] });
    expect(detail.classes).toEqual([
      { classLabel: 'blue', total: 5, train: 0, val: 0, test: 0, unassigned: 5 },
      { classLabel: 'red', total: 3, train: 0, val: 0, test: 0, unassigned: 3 },
    ]);
    const rows = h.db
      .prepare(
        'SELECT source_path, width, height, channels, pixel_encoding, pixels, thumbnail FROM images WHERE dataset_id = ? ORDER BY id',
      )
      .all(datasetId) as {
      source_path: string;
      width: number;
      height: number;
      channels: number;
      pixel_encoding: string;
      pixels: Buffer;
      thumbnail: Buffer;
    }[];
    const b4 = rows.find((r) => r.source_path.endsWith('b4.png'))!;
    expect([b4.width, b4.height, b4.channels, b4.pixel_encoding]).toEqual([300, 200, 3, 'png']);
    const meta = await sharp(b4.pixels).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 300, 200]);
    const thumb = await sharp(b4.thumbnail).metadata();
    expect([thumb.format, thumb.width, thumb.height]).toEqual(['png', 128, 85]);
    const r1 = rows.find((r) => r.source_path.endsWith('r1.png'))!;
    expect([r1.width, r1.height, r1.channels]).toEqual([40, 30, 3]);
    // the BMP (decoded by SimLens itself: sharp's libvips has no BMP loader), pixel for pixel
    const b5 = rows.find((r) => r.source_path.endsWith('b5.bmp'))!;
    const { data, info } = await sharp(b5.pixels).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([7, 5, 3]);
    expect([...data.subarray((2 * 7 + 3) * 3, (2 * 7 + 3) * 3 + 3)]).toEqual([60, 40, 99]);
  });

  it('serves thumbnails as PNG data URLs and leaves out unknown ids', async () => {
    const ids = (h.db.prepare('SELECT id FROM images WHERE dataset_id = ? ORDER BY id').all(datasetId) as { id: number }[]).map(
      (r) => r.id,
    );
    const thumbs = await h.images.thumbnails([...ids, 999_999]);
    expect(
      Object.keys(thumbs)
        .map(Number)
        .sort((a, b) => a - b),
    ).toEqual(ids);
    for (const url of Object.values(thumbs)) expect(url).toMatch(/^data:image\/png;base64,iVBORw0KGgo/);
  });

  it('re-importing the same folder into the dataset reports duplicates and adds no rows', async () => {
    const before = count(h.db, 'SELECT count(*) AS n FROM images');
    const job = await h.importAndWait({ path: folder, datasetId });
    expect(job.status).toBe('done');
    const report = h.datasets.importReport({ jobId: job.id, limit: 100 });
    expect(report.totals).toEqual({ imported: 0, duplicate: 9, skipped: 3, error: 3 });
    expect(count(h.db, 'SELECT count(*) AS n FROM images')).toBe(before);
    const original = Object.fromEntries(
      h.datasets.importReport({ jobId, status: 'imported', limit: 100 }).entries.map((e) => [e.path, e.imageId]),
    );
    for (const e of report.entries.filter((x) => x.status === 'duplicate' && x.path !== 'red/r1_copy.png'))
      expect(e.imageId).toBe(original[e.path]);
  });

  it('importing it again without datasetId makes a second dataset with a unique name', async () => {
    const job = await h.importAndWait({ path: folder });
    const second = h.datasets.get((job.result as { datasetId: number }).datasetId);
    expect(second.name).toBe('shapes (2)');
    expect(second.imageCount).toBe(8);
    expect(h.datasets.list().map((d) => [d.name, d.imageCount])).toEqual([
      ['shapes', 8],
      ['shapes (2)', 8],
    ]);
  });

  it('reports a file that is gone by the time the job reads it, and goes on', async () => {
    const dir = join(h.dir, 'vanishing');
    write(join(dir, 'a/ok.png'), await solid('png', 4, 4, '#123456'));
    write(join(dir, 'a/gone.png'), await solid('png', 4, 4, '#654321'));
    const started = await h.datasets.startImport({ path: dir });
    unlinkSync(join(dir, 'a/gone.png')); // listed by the plan, removed before the job reads it
    const job = await h.jobs.wait(started.id);
    expect(job.status).toBe('done');
    const report = h.datasets.importReport({ jobId: job.id });
    expect(report.totals).toEqual({ imported: 1, duplicate: 0, skipped: 0, error: 1 });
    expect(report.entries.find((e) => e.path === 'a/gone.png')).toMatchObject({ status: 'error', reason: 'cannot be read: ENOENT' });
  });

  it('reports a file the user may not read (EACCES) and goes on: run as an unprivileged user, since root reads it anyway', async () => {
    // The import runs in a child process: as 'nobody' when these tests run as root (CI), else as this user.
    const asRoot = process.getuid?.() === 0;
    const dir = mkdtempSync(join(tmpdir(), 'simlens-import-perm-'));
    try {
      chmodSync(dir, 0o755);
      const src = join(dir, 'images');
      write(join(src, 'a/ok.png'), await solid('png', 4, 4, '#123456'));
      write(join(src, 'a/locked.png'), await solid('png', 4, 4, '#abcdef'));
      chmodSync(join(src, 'a/locked.png'), 0);
      const ws = join(dir, 'ws');
      mkdirSync(ws);
      const user = asRoot ? nobody() : null;
      if (user) chownSync(ws, user.uid, user.gid);
      const child = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, 'import-as-user.child.ts'), src, join(ws, 'w.db')], {
        cwd: join(__dirname, '../..'),
        env: { ...process.env, HOME: ws },
        encoding: 'utf8',
        timeout: 60_000,
        ...(user ? { uid: user.uid, gid: user.gid } : {}),
      });
      expect(child.stderr).toBe('');
      expect(child.status).toBe(0);
      const out = JSON.parse(child.stdout) as { uid: number; status: string; report: ReturnType<Harness['datasets']['importReport']> };
      expect(out.uid).toBe(user ? user.uid : process.getuid!()); // who ran the import
      expect(out.uid).not.toBe(0); // so the permission check is real, not overridden by root
      expect(out.status).toBe('done');
      expect(out.report.totals).toEqual({ imported: 1, duplicate: 0, skipped: 0, error: 1 });
      expect(out.report.entries.find((e) => e.path === 'a/locked.png')).toMatchObject({
        status: 'error',
        reason: 'cannot be read: EACCES',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});

/** uid and gid of the 'nobody' user (present on Debian/Ubuntu, where CI runs as root). */
function nobody(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('nobody:'));
  if (!line) throw new Error("no 'nobody' user in /etc/passwd: the permission case needs an unprivileged user to run as");
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

describe('clear errors before a job starts', () => {
  const codeOf = async (fn: () => unknown) => {
    try {
      await fn();
    } catch (error) {
      return error instanceof AppError ? [error.code, error.message] : ['not an AppError', String(error)];
    }
    return null;
  };

  it('refuses a missing path, an empty folder, images without class folders, an unknown dataset', async () => {
    const jobsBefore = h.jobs.list(500).length;
    expect(await codeOf(() => h.datasets.startImport({ path: join(h.dir, 'nope') }))).toEqual([
      'not_found',
      `${join(h.dir, 'nope')} does not exist`,
    ]);
    mkdirSync(join(h.dir, 'empty/cls'), { recursive: true });
    expect(await codeOf(() => h.datasets.startImport({ path: join(h.dir, 'empty') }))).toEqual([
      'invalid_argument',
      expect.stringMatching(/contains no images to import/),
    ]);
    write(join(h.dir, 'flat/a.png'), await solid('png', 4, 4, '#000000'));
    expect(await codeOf(() => h.datasets.startImport({ path: join(h.dir, 'flat') }))).toEqual([
      'invalid_argument',
      expect.stringMatching(/1 image file\(s\) directly inside it; put them into one sub-folder per class/),
    ]);
    copyFileSync(join(folder, 'red/r1.png'), join(h.dir, 'single.png'));
    expect((await codeOf(() => h.datasets.startImport({ path: join(h.dir, 'single.png') })))?.[0]).toBe('invalid_argument');
    expect(await codeOf(() => h.datasets.startImport({ path: folder, datasetId: 4242 }))).toEqual([
      'not_found',
      'Dataset 4242 does not exist',
    ]);
    expect(await codeOf(() => h.datasets.startImport({ path: folder, kind: 'csv' }))).toEqual([
      'invalid_argument',
      `${folder} is a folder, not a CSV file`,
    ]);
    expect(h.jobs.list(500).length).toBe(jobsBefore); // no job was started
  });
});

describe('oversized images', () => {
  it('rejects images above the configured pixel limit with a clear reason', async () => {
    const strict = createHarness({ maxInputPixels: 10_000 });
    try {
      const dir = join(strict.dir, 'sizes');
      write(join(dir, 'c/small.png'), await solid('png', 100, 100, '#101010'));
      write(join(dir, 'c/big.jpg'), await noise(101, 100));
      const job = await strict.importAndWait({ path: dir });
      const report = strict.datasets.importReport({ jobId: job.id });
      expect(report.totals).toEqual({ imported: 1, duplicate: 0, skipped: 0, error: 1 });
      expect(report.entries.find((e) => e.path === 'c/big.jpg')?.reason).toBe(
        'image too large: more than 10,000 pixels (decompression-bomb guard)',
      );
    } finally {
      await strict.close();
    }
  });
});

describe('symbolic links', () => {
  it('walks a folder reached twice through a link loop only once', async () => {
    const dir = join(h.dir, 'loop');
    write(join(dir, 'cls/a.png'), await solid('png', 6, 6, '#334455'));
    symlinkSync(join(dir, 'cls'), join(dir, 'cls', 'again'));
    const job = await h.importAndWait({ path: dir });
    const report = h.datasets.importReport({ jobId: job.id });
    expect(report.totals).toEqual({ imported: 1, duplicate: 0, skipped: 1, error: 0 });
    expect(report.entries.find((e) => e.status === 'skipped')).toMatchObject({
      path: 'cls/again',
      reason: expect.stringMatching(/symbolic link/),
    });
  });
});
