// Retraining with the experts' masks through the contract, data-parallel over a 2-worker engine
// pool (ModelService.startRetrain -> engine/train/retrain.ts): which masks a retraining sees, the new
// version's lineage, loss, lambda, second-derivative check and mask snapshot; bad requests refused
// with nothing stored; a cancel that leaves nothing; and models.compare / comparePairs on the parent
// and its child.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SimLensApp } from '../../src/main/app';
import { WorkerPool } from '../../src/main/engine/runtime/pool';
import { poolModelEngine } from '../../src/main/services/models';
import type { EngineTasks } from '../../src/main/engine/tasks';
import { jobResult } from '../../src/shared/job-result';
import { seedToyDataset } from './models-fixture';

let pool: WorkerPool<EngineTasks>;
const dirs: string[] = [];
const apps: SimLensApp[] = [];

beforeAll(async () => {
  pool = new WorkerPool<EngineTasks>({ size: 2, backend: 'wasm', cancelGraceMs: 5000 });
  await pool.ready();
});
afterAll(async () => {
  await pool?.close();
});
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

const workerTensors = async () => (await pool.broadcast('engine.info')).map((i) => i.memory.numTensors);
const count = (app: SimLensApp, sql: string, ...args: unknown[]) => (app.db.prepare(sql).get(...args) as { n: number }).n;

/** An 8x8 PNG mask: the 3x3 blob of class c (toy images: quadrant c) dilated by one pixel. */
async function blobMask(cls: number): Promise<Buffer> {
  const px = Buffer.alloc(64);
  const oy = cls < 2 ? 1 : 4;
  const ox = cls % 2 === 0 ? 1 : 4;
  for (let y = oy - 1; y <= oy + 3; y++) for (let x = ox - 1; x <= ox + 3; x++) if (y >= 0 && y < 8 && x >= 0 && x < 8) px[y * 8 + x] = 255;
  return sharp(px, { raw: { width: 8, height: 8, channels: 1 } })
    .png()
    .toBuffer();
}

/** A workspace with the toy dataset, a trained parent version and masks: 3 train images by ann, 1 by bob, 1 test image by ann. */
async function setup(): Promise<{
  app: SimLensApp;
  dir: string;
  parentId: number;
  masks: { id: number; image: number; author: string }[];
}> {
  const dir = mkdtempSync(join(tmpdir(), 'simlens-retrain-'));
  dirs.push(dir);
  const app = new SimLensApp({ dbPath: join(dir, 'simlens.db'), shell: 'cli', modelEngine: poolModelEngine(() => pool) });
  apps.push(app);
  const { datasetId, pairSetId } = seedToyDataset(app.db);
  const job = await app.jobs.wait(
    (await app.call('models.train', { datasetId, epochs: 2, batchSize: 16, learningRate: 3e-3, seed: 1, width: 0.125, embeddingSize: 8 }))
      .jobId,
  );
  expect(job.error).toBeNull();
  const parentId = jobResult(job, 'train')!.modelId;
  const images = (split: string) =>
    app.db
      .prepare(
        'SELECT i.id, i.class_label FROM image_splits s JOIN images i ON i.id = s.image_id WHERE s.pair_set_id = ? AND s.split = ? ORDER BY i.id',
      )
      .all(pairSetId, split) as { id: number; class_label: string }[];
  const train = images('train');
  const test = images('test');
  const insert = app.db.prepare(
    "INSERT INTO masks (image_id, author, encoding, width, height, data, source) VALUES (?, ?, 'png', 8, 8, ?, 'painted')",
  );
  const masks: { id: number; image: number; author: string }[] = [];
  for (const [img, author] of [
    [train[0], 'ann'],
    [train[1], 'ann'],
    [train[2], 'ann'],
    [train[3], 'bob'],
    [test[0], 'ann'],
  ] as const) {
    const id = Number(insert.run(img.id, author, await blobMask(Number(img.class_label.slice(-1)))).lastInsertRowid);
    masks.push({ id, image: img.id, author });
  }
  return { app, dir, parentId, masks };
}

describe('retraining with masks (ModelService, data-parallel pool)', () => {
  it('sees the masks of train images only, per author; refuses a retraining without any, storing nothing', async () => {
    const { app, parentId } = await setup();
    const cov = await app.call('models.maskCoverage', { id: parentId });
    expect(cov.canRetrain).toBe(true);
    expect(cov.splits.find((s) => s.split === 'train')).toMatchObject({ images: 32, masked: 4 });
    expect(cov.splits.find((s) => s.split === 'test')).toMatchObject({ masked: 1 });
    expect(cov.trainAuthors).toEqual([
      { author: 'ann', images: 3 },
      { author: 'bob', images: 1 },
    ]);
    const none = await app.call('models.maskCoverage', { id: parentId, author: 'zed' });
    expect(none.canRetrain).toBe(false);
    expect(none.reason).toMatch(/No train image of pair set \d+ has a mask by "zed"/);
    const jobsBefore = app.jobs.list().length;
    await expect(app.call('models.retrain', { id: parentId, author: 'zed' })).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(app.call('models.retrain', { id: 9999 })).rejects.toMatchObject({ code: 'not_found' });
    expect(app.jobs.list().length).toBe(jobsBefore);
    expect(app.models.repo.count()).toBe(1);
  });

  it('stores the new version with its parent, loss, lambda, check and the snapshot of the masks used', async () => {
    const { app, dir, parentId, masks } = await setup();
    const baseline = await workerTensors();
    const job = await app.jobs.wait((await app.call('models.retrain', { id: parentId, loss: 'energy', epochs: 2, seed: 3 })).jobId);
    expect(job.error).toBeNull();
    expect(job.kind).toBe('retrain');
    const result = jobResult(job, 'retrain')!;
    expect(result.epochs).toBe(2);
    expect(result.history.every((h) => typeof h.maskLoss === 'number' && typeof h.contrastiveLoss === 'number')).toBe(true);
    const child = await app.call('models.get', { id: result.modelId });
    expect(child.parentId).toBe(parentId);
    const r = child.config.retrain!;
    expect(r).toMatchObject({
      parentId,
      loss: 'energy',
      lossUsed: 'energy',
      lambda: 5, // the defaults: RETRAIN_DEFAULTS
      maps: 'both',
      layer: 'conv4',
      gradLayer: 'pool2',
      fallback: null,
      author: null,
    });
    expect(r.masks).toEqual({
      count: 4,
      trainImages: 32,
      authors: [
        { author: 'ann', masks: 3 },
        { author: 'bob', masks: 1 },
      ],
    });
    expect(r.check).toMatchObject({ backend: 'wasm', ok: true, doubleDiffLayers: ['Flatten', 'Dense', 'Dense'] });
    expect(r.check!.relativeError!).toBeLessThan(0.05);
    expect(result.retrain).toEqual(r);
    // the snapshot: the train masks' ids and authors (not the test image's)
    const snap = await app.call('models.maskSnapshot', { id: child.id });
    expect(snap.total).toBe(4);
    expect(snap.rows).toEqual(masks.slice(0, 4).map((m) => ({ maskId: m.id, imageId: m.image, author: m.author })));
    // a later mask does not change it
    app.db.prepare("UPDATE masks SET author = 'carl' WHERE id = ?").run(masks[0].id);
    expect((await app.call('models.maskSnapshot', { id: child.id })).rows[0].author).toBe('ann');
    expect(count(app, 'SELECT count(*) AS n FROM scores WHERE model_id = ?', child.id)).toBeGreaterThan(0);
    expect(child.metrics!.splits.test).toBeDefined();
    expect(existsSync(join(dir, 'models', String(child.id), 'model.json'))).toBe(true);
    expect(readdirSync(join(dir, 'models')).filter((n) => n.startsWith('.'))).toEqual([]); // staging and checkpoint gone
    expect(await workerTensors()).toEqual(baseline);
    // deleting the version deletes its snapshot
    await app.call('models.delete', { id: child.id });
    expect(count(app, 'SELECT count(*) AS n FROM model_version_masks')).toBe(0);
  });

  it("uses only the author's masks with an author; 'augment' needs no check", async () => {
    const { app, parentId, masks } = await setup();
    const bob = jobResult(
      await app.jobs.wait((await app.call('models.retrain', { id: parentId, author: 'bob', epochs: 1 })).jobId),
      'retrain',
    )!;
    expect(bob.retrain).toMatchObject({
      loss: 'energy', // the default loss and its lambda
      lossUsed: 'energy',
      lambda: 5,
      author: 'bob',
      masks: { count: 1, authors: [{ author: 'bob', masks: 1 }] },
    });
    expect((await app.call('models.maskSnapshot', { id: bob.modelId })).rows).toEqual([
      { maskId: masks[3].id, imageId: masks[3].image, author: 'bob' },
    ]);
    const aug = jobResult(
      await app.jobs.wait((await app.call('models.retrain', { id: parentId, loss: 'augment', epochs: 1 })).jobId),
      'retrain',
    )!;
    expect(aug.retrain).toMatchObject({ loss: 'augment', lossUsed: 'augment', check: null, layer: null });
    expect((await app.call('models.get', { id: aug.modelId })).name).toContain('retrained (augment)');
  });

  it('a cancelled retraining leaves nothing: no version, no snapshot, no folders, no tensors in the workers', async () => {
    const { app, dir, parentId } = await setup();
    const baseline = await workerTensors();
    const { jobId } = await app.call('models.retrain', { id: parentId, epochs: 200, batchSize: 4 });
    for (let i = 0; i < 1000 && app.jobs.get(jobId).data?.kind !== 'train.step'; i++) await new Promise((r) => setTimeout(r, 20));
    expect(app.jobs.get(jobId).status).toBe('running');
    app.jobs.cancel(jobId);
    const job = await app.jobs.wait(jobId);
    expect(job.status).toBe('cancelled');
    expect(app.models.repo.count()).toBe(1);
    expect(count(app, 'SELECT count(*) AS n FROM model_version_masks')).toBe(0);
    expect(readdirSync(join(dir, 'models'))).toEqual([String(parentId)]);
    expect(await workerTensors()).toEqual(baseline);
    expect(await pool.run('engine.echo', 7)).toBe(7);
  });

  it('compares the parent and its child: figures, maps of both stored, pairs by how much the maps moved', async () => {
    const { app, parentId } = await setup();
    const childId = jobResult(
      await app.jobs.wait((await app.call('models.retrain', { id: parentId, epochs: 1, lambda: 100 })).jobId),
      'retrain',
    )!.modelId;
    const job = await app.jobs.wait((await app.call('models.compare', { a: parentId, b: childId, steps: 4 })).jobId);
    expect(job.error).toBeNull();
    const c = jobResult(job, 'compare')!;
    expect(c.split).toBe('test');
    expect(c.pairs).toBe(count(app, "SELECT count(*) AS n FROM pairs WHERE split = 'test'"));
    expect(c.maskedPairs).toBeGreaterThan(0);
    expect(c.a).toMatchObject({ modelId: parentId, method: 'gradcam', layer: 'conv4', parentId: null });
    expect(c.b).toMatchObject({ modelId: childId, parentId });
    for (const v of [c.a, c.b]) {
      expect(v.test!.auc).toBeGreaterThan(0);
      expect(v.masked.images).toBeGreaterThan(0);
      expect(v.masked.deletionAuc).not.toBeNull();
      expect(v.review).toMatchObject({ verdicts: 0, pairs: 0 });
    }
    expect(c.delta.testAccuracy).toBeCloseTo(c.b.test!.accuracy - c.a.test!.accuracy, 10);
    const moves = c.moved.map((p) => p.movement);
    expect(moves).toEqual([...moves].sort((x, y) => y - x));
    moves.forEach((m) => expect(m).toBeGreaterThanOrEqual(0));
    moves.forEach((m) => expect(m).toBeLessThanOrEqual(1));
    // both versions' maps are stored: the compare view shows them with explain.overlay
    for (const id of [parentId, childId])
      expect(count(app, "SELECT count(*) AS n FROM explanations WHERE model_id = ? AND method = 'gradcam'", id)).toBe(c.pairs);
    const page = await app.call('models.comparePairs', { a: parentId, b: childId, offset: 2, limit: 3 });
    expect(page.total).toBe(c.pairs);
    expect(page.items.map((p) => p.pairId)).toEqual(c.moved.slice(2, 5).map((p) => p.pairId));
    const masked = await app.call('models.comparePairs', { a: parentId, b: childId, maskedOnly: true });
    expect(masked.total).toBe(c.maskedPairs);
    expect(masked.items.every((p) => p.images.some((i) => i.hasMask && i.epgA !== null))).toBe(true);
    await expect(app.call('models.compare', { a: parentId, b: parentId })).rejects.toMatchObject({ code: 'invalid_argument' });
  });
});
