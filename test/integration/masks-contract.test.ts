// Masks end to end through the contract on a real workspace (the bundled demo images, a small CNN
// with fixed weights): a garment mask seeded from the image and painted stroke by stroke, each
// stroke saved at once; explain.maps, whose maps measured in the renderer's way
// (src/shared/mask-agreement.ts) give what the metrics job gives for the stored mask; one mask
// serving every pair with its image in the review queue's maskOutside filter; PNG and COCO out and
// back in.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMap } from '../../src/main/engine/explain';
import type { ExplainMetricsDto } from '../../src/shared/dto';
import { maskAgreement, prepareMap } from '../../src/shared/mask-agreement';
import { decodeMaskString, encodeMaskString } from '../../src/shared/mask-rle';
import { jobResult } from '../../src/shared/job-result';
import { demoWorkspace, fixedModel, type Workspace } from './explain-fixture';

let ws: Workspace;
let modelId: number;
let pair: { id: number; image_a: number; image_b: number };
let garment: Uint8Array;
let painted: Uint8Array;
let out: string;

beforeAll(async () => {
  ws = await demoWorkspace('simlens-masks-contract-');
  modelId = await fixedModel(ws);
  const testPairs = ws.app.models.repo.pairs(ws.pairSetId, 'test');
  // a pair whose image A shares the split with another pair (one mask serves both)
  const uses = new Map<number, number>();
  for (const p of testPairs) for (const img of [p.image_a, p.image_b]) uses.set(img, (uses.get(img) ?? 0) + 1);
  pair = testPairs.find((p) => uses.get(p.image_a)! > 1)!;
  out = mkdtempSync(join(tmpdir(), 'simlens-masks-out-'));
}, 120_000);
afterAll(async () => {
  await ws?.close();
  rmSync(out, { recursive: true, force: true });
});

describe('masks on the demo workspace', () => {
  it('saves a seeded garment mask and then each stroke, at once, as history', async () => {
    const image = ws.app.explain.repo.image(pair.image_a)!;
    expect([image.height, image.width]).toEqual([28, 28]);
    garment = Uint8Array.from(image.pixels, (v) => (v > 0 ? 1 : 0));
    const seeded = await ws.app.dispatch('masks.save', {
      imageId: pair.image_a,
      author: 'Ann',
      size: [28, 28],
      counts: encodeMaskString(garment, 28, 28),
      source: 'seeded',
    });
    expect(seeded.ok).toBe(true);
    // strokes: a 3 x 3 dab each, saved after each one (as the renderer does); the time of each save
    painted = garment.slice();
    const times: number[] = [];
    for (let k = 0; k < 12; k++) {
      const cx = 2 + 2 * k;
      for (let y = 0; y < 3; y++) for (let x = cx - 1; x <= cx + 1; x++) painted[y * 28 + x] = 1;
      const t0 = performance.now();
      const res = await ws.app.call('masks.save', {
        imageId: pair.image_a,
        author: 'Ann',
        size: [28, 28],
        counts: encodeMaskString(painted, 28, 28),
        source: 'painted',
      });
      times.push(performance.now() - t0);
      expect(res.changed).toBe(true);
    }
    console.log(`masks.save per stroke (ms): median ${times.sort((x, y) => x - y)[6].toFixed(2)}, max ${times[11].toFixed(2)}`);
    expect(times[6]).toBeLessThan(100); // a few ms; the issue asks for a commit within about 300 ms
    const history = await ws.app.call('masks.history', { imageId: pair.image_a });
    expect(history).toHaveLength(13);
    expect(history[12]).toMatchObject({ source: 'seeded', current: false });
    const now = (await ws.app.call('masks.get', { imageId: pair.image_a }))!;
    expect(decodeMaskString(now.counts, 28, 28)).toEqual(painted);
    expect(now).toMatchObject({ id: history[0].id, current: true, source: 'painted' });
  });

  it('gives the raw maps of a pair (computed, then stored), small and with the images sizes', async () => {
    const first = await ws.app.call('explain.maps', { pairId: pair.id, modelId });
    expect(first).toMatchObject({
      pairId: pair.id,
      modelId,
      method: 'gradcam',
      cached: false,
      downsampledFrom: null,
      counterfactualDefined: true,
    });
    const { mapHeight: h, mapWidth: w } = first;
    expect(h).toBeLessThanOrEqual(64);
    expect(first.a).toMatchObject({ imageId: pair.image_a, imageSize: [28, 28] });
    expect(first.b.imageId).toBe(pair.image_b);
    for (const m of [first.a.factual, first.a.counterfactual!, first.b.factual, first.b.counterfactual!]) expect(m).toHaveLength(h * w);
    const again = await ws.app.call('explain.maps', { pairId: pair.id, modelId });
    expect(again.cached).toBe(true);
    expect(again.a.factual).toEqual(first.a.factual);
    const row = ws.app.explain.repo.get(pair.id, modelId, 'gradcam', first.layer)!;
    expect(first.a.factual).toEqual(Array.from(decodeMap(row.a_factual!, h, w)));
    // JSON as the contract carries it
    expect(JSON.parse(JSON.stringify(first))).toEqual(first);
  });

  it("measures as the metrics job: the renderer's live EPG, pointing game and IoU equal the job's for the stored mask", async () => {
    const maps = await ws.app.call('explain.maps', { pairId: pair.id, modelId });
    const t0 = performance.now();
    const live = maskAgreement(prepareMap({ data: maps.a.factual, h: maps.mapHeight, w: maps.mapWidth }, 28, 28), painted);
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(50);
    const job = await ws.app.jobs.wait((await ws.app.call('explain.metrics', { modelId, pairIds: [pair.id], steps: 4 })).jobId);
    expect(job.status, job.error ?? '').toBe('done');
    const r = jobResult(job, 'metrics') as ExplainMetricsDto;
    // image B of the pair may have a mask too only if it is image A: it is not
    expect(r.masks).toMatchObject({ images: 1 });
    expect(r.masks!.epg!).toBeCloseTo(live.epg!, 10);
    expect(r.masks!.pointingGame).toBe(live.pointingGame === null ? null : live.pointingGame ? 1 : 0);
    expect(r.masks!.iou!).toBeCloseTo(live.iou!, 10);
  });

  it("lets one mask serve every pair with the image in the queue's maskOutside filter", async () => {
    const other = ws.app.models.repo
      .pairs(ws.pairSetId, 'test')
      .find((p) => p.id !== pair.id && (p.image_a === pair.image_a || p.image_b === pair.image_a))!;
    await ws.app.call('explain.pair', { pairId: other.id, modelId });
    const q = await ws.app.call('review.queue', { modelId, split: 'test', reviewer: 'Ann', filters: { maskOutside: true }, limit: 500 });
    const cache = ws.app.db
      .prepare('SELECT pair_id, mask_a, mask_b, inside_a, inside_b, outside FROM mask_energy WHERE model_id = ? ORDER BY pair_id')
      .all(modelId) as {
      pair_id: number;
      mask_a: number | null;
      mask_b: number | null;
      inside_a: number | null;
      inside_b: number | null;
      outside: number;
    }[];
    const mask = (await ws.app.call('masks.get', { imageId: pair.image_a }))!.id;
    expect(cache.map((c) => c.pair_id).sort()).toEqual([pair.id, other.id].sort());
    for (const c of cache) expect(c.pair_id === other.id && other.image_b === pair.image_a ? c.mask_b : c.mask_a).toBe(mask);
    const expected = cache.filter((c) => c.outside === 1).map((c) => c.pair_id);
    expect(q.counts.maskOutside).toBe(expected.length);
    expect(q.items.map((i) => i.pairId).sort()).toEqual(expected.sort());
    const shares = cache.map((c) => c.inside_a ?? c.inside_b);
    for (const [i, s] of shares.entries()) expect(cache[i].outside).toBe(s !== null && s < 0.5 ? 1 : 0);
  });

  it('exports the masks as PNG and COCO and imports them back unchanged', async () => {
    const png = await ws.app.call('masks.export', { format: 'png', out: join(out, 'png') });
    expect(png).toMatchObject({ masks: 1, images: 1, datasetId: ws.datasetId });
    const [file] = readdirSync(join(out, 'png'));
    expect(file).toMatch(new RegExp(`^${pair.image_a}_(train|t10k)-images-idx3-ubyte-\\d+\\.png$`));
    const back = await ws.app.call('masks.import', { path: join(out, 'png'), author: 'Copy' });
    expect([back.imported, back.errors, back.unmatched]).toEqual([1, 0, 0]);
    const coco = await ws.app.call('masks.export', { format: 'coco', out: join(out, 'masks.json'), author: 'Ann' });
    const fromCoco = await ws.app.call('masks.import', { path: coco.path, author: 'Coco' });
    expect(fromCoco.imported).toBe(1);
    const ann = (await ws.app.call('masks.get', { imageId: pair.image_a, author: 'Ann' }))!.counts;
    expect((await ws.app.call('masks.get', { imageId: pair.image_a, author: 'Copy' }))!.counts).toBe(ann);
    expect((await ws.app.call('masks.get', { imageId: pair.image_a, author: 'Coco' }))!.counts).toBe(ann);
  });
});
