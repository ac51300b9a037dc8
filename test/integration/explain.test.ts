// ExplainService through the contract, on a real store (temp SQLite), the bundled demo data
// and a small CNN trained briefly through models.train (wasm backend).
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMap } from '../../src/main/engine/explain/cam';
import { colormapRgb } from '../../src/main/images/colormap';
import { upsampleBilinear } from '../../src/main/images/overlay';
import { energyPointingGame, pointingGame, thresholdIoU, type Grid } from '../../src/main/engine/explain/metrics';
import type { ExplainMetricsDto } from '../../src/shared/dto';
import { WorkerPool } from '../../src/main/engine/runtime/pool';
import { ExplainService } from '../../src/main/services/explain';
import { demoWorkspace, pooledExplainService, trainModel, type Workspace } from './explain-fixture';
import type { EngineTasks } from '../../src/main/engine/tasks';

let ws: Workspace;
let modelId: number;
let testPairs: { id: number; image_a: number; image_b: number; label: 0 | 1 }[];

beforeAll(async () => {
  ws = await demoWorkspace();
  modelId = await trainModel(ws, { epochs: 2, width: 0.25, embeddingSize: 16 });
  testPairs = ws.app.models.repo.pairs(ws.pairSetId, 'test');
}, 60_000);
afterAll(async () => {
  await ws?.close();
});

/** COCO uncompressed RLE counts of a 0/1 mask: column-major runs, starting with background. */
function rleCounts(inside: Uint8Array, h: number, w: number): number[] {
  const counts: number[] = [];
  let cur = 0;
  let run = 0;
  for (let col = 0; col < w; col++)
    for (let row = 0; row < h; row++) {
      const v = inside[row * w + col] ? 1 : 0;
      if (v !== cur) {
        counts.push(run);
        cur = v;
        run = 0;
      }
      run++;
    }
  counts.push(run);
  return counts;
}

async function decodePng(dataUrl: string): Promise<{ data: Buffer; info: { width: number; height: number; channels: number } }> {
  expect(dataUrl.startsWith('data:image/png;base64,')).toBe(true);
  return sharp(Buffer.from(dataUrl.slice('data:image/png;base64,'.length), 'base64'))
    .raw()
    .toBuffer({ resolveWithObject: true });
}

describe('explain.pair', () => {
  it('computes and stores the four maps with their shape, then returns the stored row', async () => {
    const pair = testPairs[0];
    const first = await ws.app.call('explain.pair', { pairId: pair.id, modelId });
    expect(first).toMatchObject({
      pairId: pair.id,
      modelId,
      method: 'gradcam',
      layer: 'conv4',
      mapHeight: 14,
      mapWidth: 14,
      cached: false,
      counterfactualDefined: true,
    });
    expect(first.a.imageId).toBe(pair.image_a);
    expect(first.b.imageId).toBe(pair.image_b);
    expect(first.score).toBeGreaterThan(0);
    expect(first.score).toBeLessThanOrEqual(1);
    // the stored score is the model's score of the pair (as evaluated at training time)
    const stored = ws.app.models.scores.forModel(modelId, [pair.id]);
    expect(stored).toHaveLength(1);
    expect(first.score).toBeCloseTo(stored[0].score, 4);

    const row = ws.app.explain.repo.get(pair.id, modelId, 'gradcam', 'conv4')!;
    expect(row.map_height * row.map_width).toBe(196);
    for (const blob of [row.a_factual, row.a_counterfactual, row.b_factual, row.b_counterfactual]) {
      expect(blob!.length).toBe(196 * 4);
      const m = decodeMap(blob!, 14, 14);
      expect(Math.min(...m)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...m)).toBeLessThanOrEqual(1);
    }
    const { meta } = row;
    expect(meta.counterfactualDefined).toBe(true);
    expect(typeof meta.noEvidence!.a.factual).toBe('boolean');
    expect(meta.timings!.explainMs).toBeGreaterThan(0);
    // a normalised map with evidence peaks at exactly 1, where its summary says; one without is all zero
    const summaries = [first.a.factual, first.a.counterfactual!, first.b.factual, first.b.counterfactual!];
    const blobs = [row.a_factual, row.a_counterfactual, row.b_factual, row.b_counterfactual];
    expect(summaries.some((m) => !m.noEvidence)).toBe(true);
    for (const [k, summary] of summaries.entries()) {
      const m = decodeMap(blobs[k]!, 14, 14);
      const [r, c] = summary.peak ?? [0, 0];
      expect({ noEvidence: summary.noEvidence, max: Math.max(...m), atPeak: summary.noEvidence ? 0 : m[r * 14 + c] }).toEqual(
        summary.noEvidence ? { noEvidence: true, max: 0, atPeak: 0 } : { noEvidence: false, max: 1, atPeak: 1 },
      );
    }

    const again = await ws.app.call('explain.pair', { pairId: pair.id, modelId });
    expect(again.cached).toBe(true);
    expect({ ...again, cached: false }).toEqual(first);
    expect(ws.app.explain.repo.count(modelId)).toBe(1);
    const refreshed = await ws.app.call('explain.pair', { pairId: pair.id, modelId, refresh: true });
    expect(refreshed.cached).toBe(false);
    expect(refreshed.a).toEqual(first.a);
    expect(ws.app.explain.repo.count(modelId)).toBe(1); // upsert, not a second row
  });

  it("uses each image's own gradients: explaining (b, a) gives the maps of (a, b) swapped", async () => {
    const pair = testPairs.find((p) => p.label === 1)!;
    const swappedId = Number(
      ws.app.db
        .prepare("INSERT INTO pairs (pair_set_id, image_a, image_b, label, split) VALUES (?, ?, ?, ?, 'test')")
        .run(ws.pairSetId, pair.image_b, pair.image_a, pair.label).lastInsertRowid,
    );
    for (const method of ['gradcam', 'hirescam'] as const) {
      const ab = await ws.app.call('explain.pair', { pairId: pair.id, modelId, method });
      const ba = await ws.app.call('explain.pair', { pairId: swappedId, modelId, method });
      expect(ba.score).toBeCloseTo(ab.score, 5);
      const r1 = ws.app.explain.repo.get(pair.id, modelId, method, 'conv4')!;
      const r2 = ws.app.explain.repo.get(swappedId, modelId, method, 'conv4')!;
      for (const [x, y] of [
        [r1.a_factual, r2.b_factual],
        [r1.b_factual, r2.a_factual],
        [r1.a_counterfactual, r2.b_counterfactual],
        [r1.b_counterfactual, r2.a_counterfactual],
      ]) {
        const mx = decodeMap(x!, 14, 14);
        const my = decodeMap(y!, 14, 14);
        for (let i = 0; i < mx.length; i++) expect(my[i]).toBeCloseTo(mx[i], 4);
      }
      // and the two images' maps are not the same map
      expect(Buffer.compare(r1.a_factual!, r1.b_factual!)).not.toBe(0);
    }
    ws.app.db.prepare('DELETE FROM pairs WHERE id = ?').run(swappedId);
  });

  it('explains at a chosen layer and with the other methods; input-space methods are stored at layer "input"', async () => {
    const layers = await ws.app.call('explain.layers', { modelId });
    expect(layers.default).toBe('conv4');
    expect(layers.layers).toEqual(['conv1', 'conv2', 'conv3', 'conv4']);
    expect(layers.methods.map((m) => m.id)).toEqual([
      'gradcam',
      'gradcampp',
      'xgradcam',
      'hirescam',
      'layercam',
      'scorecam',
      'occlusion',
      'rise',
    ]);
    expect(layers.methods.find((m) => m.id === 'rise')!.counterfactualDefined).toBe(false);

    const pairId = testPairs[1].id;
    const early = await ws.app.call('explain.pair', { pairId, modelId, layer: 'conv2' });
    expect([early.layer, early.mapHeight, early.mapWidth]).toEqual(['conv2', 28, 28]);
    const occ = await ws.app.call('explain.pair', { pairId, modelId, method: 'occlusion' });
    expect([occ.layer, occ.mapHeight, occ.mapWidth, occ.counterfactualDefined]).toEqual(['input', 28, 28, true]);
    const sc = await ws.app.call('explain.pair', { pairId, modelId, method: 'scorecam' });
    expect([sc.layer, sc.mapHeight]).toEqual(['conv4', 14]);
    const rise = await ws.app.call('explain.pair', { pairId, modelId, method: 'rise' });
    expect(rise.counterfactualDefined).toBe(false);
    expect(rise.a.counterfactual).toBeNull();
    await expect(ws.app.call('explain.overlay', { pairId, modelId, method: 'rise', image: 'a', kind: 'counterfactual' })).rejects.toThrow(
      /defines no counterfactual/,
    );
    for (const method of ['gradcampp', 'xgradcam', 'layercam'] as const) {
      const e = await ws.app.call('explain.pair', { pairId, modelId, method });
      expect(e.mapHeight).toBe(14);
    }
  }, 30_000);
});

describe('explain.overlay', () => {
  it('renders the stored map upsampled onto the stored image, per colormap and opacity, cached', async () => {
    const pair = testPairs[2];
    const base = { pairId: pair.id, modelId, image: 'a' as const };
    const jet = await ws.app.call('explain.overlay', { ...base, colormap: 'jet', opacity: 0.6 });
    expect(jet).toMatchObject({ width: 28, height: 28 });
    const jetPx = await decodePng(jet.dataUrl);
    expect([jetPx.info.width, jetPx.info.height, jetPx.info.channels]).toEqual([28, 28, 3]);
    const viridis = await decodePng((await ws.app.call('explain.overlay', { ...base, colormap: 'viridis', opacity: 0.6 })).dataUrl);
    expect(Buffer.compare(jetPx.data, viridis.data)).not.toBe(0);
    // each is (1 - a) * image + a * colour(map upsampled to the image), computed here from the stored map and image
    const stored = ws.app.explain.repo.get(pair.id, modelId, 'gradcam', 'conv4')!;
    const upMap = upsampleBilinear(decodeMap(stored.a_factual!, 14, 14), 14, 14, 28, 28);
    const pixelsA = ws.app.explain.repo.image(pair.image_a)!.pixels;
    const blended = (colormap: 'jet' | 'viridis', a: number) =>
      Buffer.from(
        Array.from({ length: 28 * 28 * 3 }, (_, i) => {
          const p = Math.floor(i / 3);
          const colour = colormapRgb(colormap, Math.round(Math.min(1, Math.max(0, upMap[p])) * 255) / 255)[i % 3];
          return Math.round((1 - a) * pixelsA[p] + a * colour);
        }),
      );
    const worst = (x: Buffer, y: Buffer) => x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
    expect(worst(jetPx.data, blended('jet', 0.6))).toBeLessThanOrEqual(1);
    expect(worst(viridis.data, blended('viridis', 0.6))).toBeLessThanOrEqual(1);
    expect(worst(jetPx.data, Buffer.from(Array.from(pixelsA).flatMap((v) => [v, v, v])))).toBeGreaterThan(50); // not the bare image
    const faint = await decodePng((await ws.app.call('explain.overlay', { ...base, colormap: 'jet', opacity: 0.2 })).dataUrl);
    expect(Buffer.compare(jetPx.data, faint.data)).not.toBe(0);
    // opacity 0 is the image itself (grey: R = G = B = the stored pixel)
    const none = await decodePng((await ws.app.call('explain.overlay', { ...base, opacity: 0 })).dataUrl);
    const img = ws.app.explain.repo.image(pair.image_a)!;
    for (let p = 0; p < 28 * 28; p++)
      expect([none.data[3 * p], none.data[3 * p + 1], none.data[3 * p + 2]]).toEqual([img.pixels[p], img.pixels[p], img.pixels[p]]);
    // the counterfactual map of image b gives another picture
    const cf = await decodePng(
      (await ws.app.call('explain.overlay', { ...base, image: 'b', kind: 'counterfactual', opacity: 0.6 })).dataUrl,
    );
    expect(Buffer.compare(jetPx.data, cf.data)).not.toBe(0);

    // cached: the same call again is served from the LRU (same string, no new entry)
    const size = ws.app.explain.overlayCacheSize;
    const again = await ws.app.call('explain.overlay', { ...base, colormap: 'jet', opacity: 0.6 });
    expect(again.dataUrl).toBe(jet.dataUrl);
    expect(ws.app.explain.overlayCacheSize).toBe(size);
  });

  it('rejects invalid arguments with the field named', async () => {
    const pairId = testPairs[0].id;
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['explain.overlay', { pairId, modelId, image: 'a', opacity: 1.5 }, /args\.opacity/],
      ['explain.overlay', { pairId, modelId, image: 'a', opacity: -0.1 }, /args\.opacity/],
      ['explain.overlay', { pairId, modelId, image: 'c' }, /args\.image/],
      ['explain.overlay', { pairId, modelId, image: 'a', colormap: 'hot' }, /args\.colormap/],
      ['explain.overlay', { pairId, modelId, image: 'a', kind: 'both' }, /args\.kind/],
      ['explain.pair', { pairId, modelId, method: 'saliency' }, /args\.method/],
      ['explain.pair', { pairId: 0, modelId }, /args\.pairId/],
      ['explain.pair', { pairId, modelId: 1.5 }, /args\.modelId/],
      ['explain.pair', { pairId, modelId, layer: '' }, /args\.layer/],
      ['explain.pair', { pairId, modelId, layer: 'dense1' }, /args\.layer: "dense1" is not a target layer/],
      ['explain.pair', { pairId, modelId, extra: 1 }, /args\.extra: unknown field/],
      ['explain.batch', { modelId }, /args\.split \/ args\.pairIds/],
      ['explain.batch', { modelId, split: 'test', pairIds: [1] }, /args\.split \/ args\.pairIds/],
      ['explain.batch', { modelId, split: 'holdout' }, /args\.split/],
      ['explain.batch', { modelId, pairIds: [1, -2] }, /args\.pairIds\[1\]/],
      ['explain.metrics', { modelId, split: 'test', steps: 1 }, /args\.steps/],
      ['explain.metrics', { modelId, split: 'test', limit: 0 }, /args\.limit/],
      ['explain.sanity', { pairId, modelId, maxLayers: 0 }, /args\.maxLayers/],
    ];
    for (const [method, args, message] of cases) {
      const res = await ws.app.dispatch(method, args);
      expect(res.ok, `${method} ${JSON.stringify(args)}`).toBe(false);
      if (!res.ok) {
        expect(res.error.code, res.error.message).toBe('invalid_argument');
        expect(res.error.message).toMatch(message);
      }
    }
    const missing = await ws.app.dispatch('explain.pair', { pairId: 999_999, modelId });
    expect(missing).toMatchObject({ ok: false, error: { code: 'not_found' } });
    const noModel = await ws.app.dispatch('explain.layers', { modelId: 999 });
    expect(noModel).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });
});

describe('explain.batch', () => {
  it('stores one row per pair of a split, skips stored ones, and leaks no tensors', async () => {
    // warm: the model is loaded and its sub-models built by the tests above
    const before = tf.memory().numTensors;
    const { jobId } = await ws.app.call('explain.batch', { modelId, split: 'test', method: 'xgradcam' });
    const job = await ws.app.jobs.wait(jobId);
    expect(job.error).toBeNull();
    expect(job.status).toBe('done');
    expect(job.kind).toBe('explain');
    expect(job.result).toMatchObject({ pairs: testPairs.length, skipped: 1, explained: testPairs.length - 1, layer: 'conv4' }); // one was explained above
    expect(ws.app.explain.repo.count(modelId, 'xgradcam', 'conv4')).toBe(testPairs.length);
    expect(tf.memory().numTensors).toBe(before);
    // again: nothing to do
    const second = await ws.app.jobs.wait((await ws.app.call('explain.batch', { modelId, split: 'test', method: 'xgradcam' })).jobId);
    expect(second.result).toMatchObject({ explained: 0, skipped: testPairs.length });
    // the batched maps are the maps of single explanations
    const some = testPairs[5];
    const rowBatch = ws.app.explain.repo.get(some.id, modelId, 'xgradcam', 'conv4')!;
    await ws.app.call('explain.pair', { pairId: some.id, modelId, method: 'xgradcam', refresh: true });
    const rowSingle = ws.app.explain.repo.get(some.id, modelId, 'xgradcam', 'conv4')!;
    const [mb, ms] = [decodeMap(rowBatch.b_factual!, 14, 14), decodeMap(rowSingle.b_factual!, 14, 14)];
    for (let i = 0; i < mb.length; i++) expect(mb[i]).toBeCloseTo(ms[i], 4);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('can be cancelled, leaving whole rows only', async () => {
    const service = new ExplainService(ws.app.db, ws.app.jobs, ws.app.models, ws.app.explain.engine, { groupSize: 8 });
    const train = ws.app.models.repo.pairs(ws.pairSetId, 'train');
    const job = await service.startBatch({ modelId, split: 'train', method: 'layercam' });
    while (service.repo.count(modelId, 'layercam', 'conv4') < 16) await new Promise((r) => setTimeout(r, 5));
    ws.app.jobs.cancel(job.id);
    const done = await ws.app.jobs.wait(job.id);
    expect(done.status).toBe('cancelled');
    const trainIds = new Set(train.map((p) => p.id));
    const rows = service.repo.listForModel(modelId, 'layercam', 'conv4').filter((r) => trainIds.has(r.pair_id));
    expect(rows.length).toBeGreaterThanOrEqual(16);
    expect(rows.length).toBeLessThan(train.length);
    expect(rows.length % 8).toBe(0); // groups commit as a whole
    for (const r of rows) {
      for (const b of [r.a_factual, r.a_counterfactual, r.b_factual, r.b_counterfactual]) expect(b!.length).toBe(196 * 4);
      expect(r.score).not.toBeNull();
    }
    // the rows are those of the first pairs, in order
    expect(rows.map((r) => r.pair_id)).toEqual(train.slice(0, rows.length).map((p) => p.id));
  });

  it('runs on the worker pool (both cores) with the same maps as in this thread', async () => {
    const pool = new WorkerPool<EngineTasks>({ size: 2, backend: 'wasm' });
    try {
      const service = pooledExplainService(ws, pool);
      const ids = testPairs.slice(0, 24).map((p) => p.id);
      const job = await ws.app.jobs.wait(
        (await service.startBatch({ modelId, pairIds: ids, method: 'gradcampp', skipExisting: false })).id,
      );
      expect(job.error).toBeNull();
      expect(job.result).toMatchObject({ explained: 24, workers: 2 });
      const fromPool = ids.map((id) => service.repo.get(id, modelId, 'gradcampp', 'conv4')!);
      const local = await ws.app.jobs.wait(
        (await ws.app.call('explain.batch', { modelId, pairIds: ids, method: 'gradcampp', skipExisting: false })).jobId,
      );
      expect(local.result).toMatchObject({ explained: 24, workers: 1 });
      for (const [i, id] of ids.entries()) {
        const r = service.repo.get(id, modelId, 'gradcampp', 'conv4')!;
        expect(r.score).toBeCloseTo(fromPool[i].score!, 5);
        const [x, y] = [decodeMap(r.a_factual!, 14, 14), decodeMap(fromPool[i].a_factual!, 14, 14)];
        for (let k = 0; k < x.length; k++) expect(x[k]).toBeCloseTo(y[k], 4);
      }
    } finally {
      await pool.close();
    }
  }, 60_000);
});

describe('explain.metrics and explain.sanity', () => {
  it('measures deletion / insertion against the baselines and, where masks exist, EPG, pointing game and IoU', async () => {
    const pairs = testPairs.slice(0, 6);
    // masks: the garment (non-zero pixels) of each pair's first image, first as PNG, then (newer) as COCO RLE
    const garment = (imageId: number) => Uint8Array.from(ws.app.explain.repo.image(imageId)!.pixels, (v) => (v > 0 ? 1 : 0));
    const masked = [...new Set(pairs.map((p) => p.image_a))];
    const insert = ws.app.db.prepare(
      "INSERT INTO masks (image_id, author, encoding, width, height, data, source) VALUES (?, 'test', ?, 28, 28, ?, 'seeded')",
    );
    for (const id of masked)
      insert.run(
        id,
        'png',
        await sharp(Buffer.from(garment(id).map((v) => v * 255)), { raw: { width: 28, height: 28, channels: 1 } })
          .png()
          .toBuffer(),
      );
    const measure = async () => {
      const job = await ws.app.jobs.wait(
        (await ws.app.call('explain.metrics', { modelId, pairIds: pairs.map((p) => p.id), steps: 8, seed: 3 })).jobId,
      );
      expect(job.error).toBeNull();
      expect(job.kind).toBe('metrics');
      return job.result as unknown as ExplainMetricsDto;
    };
    const r = await measure();
    expect(r).toMatchObject({ modelId, method: 'gradcam', layer: 'conv4', split: null, pairs: 6, steps: 8 });
    expect(r.images + r.noEvidence).toBe(12);
    for (const mode of ['deletion', 'insertion'] as const) {
      for (const k of ['map', 'random', 'centre', 'shareBeatsRandom', 'shareBeatsCentre'] as const) {
        expect(r[mode]![k]).toBeGreaterThanOrEqual(0);
        expect(r[mode]![k]).toBeLessThanOrEqual(1);
      }
    }
    expect(r.curves!.fractions).toHaveLength(9);
    expect(r.curves!.deletion.map).toHaveLength(9);
    expect(r.curves!.fractions[8]).toBe(1);

    // The mask figures, computed here from the stored factual maps and the garment masks (not
    // from either stored encoding): EPG, pointing game and IoU per image with a mask, averaged.
    const expected = { images: 0, epg: [] as number[], pointing: [] as boolean[], iou: [] as number[] };
    for (const p of pairs) {
      const row = ws.app.explain.repo.get(p.id, modelId, 'gradcam', 'conv4')!;
      for (const [imageId, blob] of [
        [p.image_a, row.a_factual],
        [p.image_b, row.b_factual],
      ] as const) {
        if (!masked.includes(imageId)) continue;
        expected.images++;
        const map: Grid = { data: decodeMap(blob!, 14, 14), h: 14, w: 14 };
        const mask: Grid = { data: garment(imageId), h: 28, w: 28 };
        const [epg, hit, iou] = [energyPointingGame(map, mask), pointingGame(map, mask), thresholdIoU(map, mask, { threshold: 0.5 })];
        if (epg !== null) expected.epg.push(epg);
        if (hit !== null) expected.pointing.push(hit);
        if (iou !== null) expected.iou.push(iou);
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(expected.epg.length).toBeGreaterThan(0);
    expect(r.masks!.images).toBe(expected.images);
    expect(r.masks!.epg).toBeCloseTo(mean(expected.epg), 10);
    expect(r.masks!.pointingGame).toBeCloseTo(expected.pointing.filter(Boolean).length / expected.pointing.length, 10);
    expect(r.masks!.iou).toBeCloseTo(mean(expected.iou), 10);
    // a map of the garment area scores well above chance on the garment (about half the image)
    expect(r.masks!.epg).toBeGreaterThan(mean(masked.map((id) => mean(Array.from(garment(id))))));

    // the same masks as COCO RLE (column-major runs starting with background), newer: the same figures
    for (const id of masked) insert.run(id, 'rle', Buffer.from(JSON.stringify({ counts: rleCounts(garment(id), 28, 28) })));
    const fromRle = await measure();
    expect(fromRle.masks).toEqual(r.masks);
    // same seed, same figures
    expect(fromRle.deletion).toEqual(r.deletion);
  });

  it('measures Score-CAM maps under the requested channel cap (stored with the cap), and refuses a cap for other methods', async () => {
    const pairIds = testPairs.slice(0, 2).map((p) => p.id);
    await expect(ws.app.call('explain.metrics', { modelId, pairIds, maxChannels: 3 })).rejects.toThrow(
      /args\.maxChannels: only for method "scorecam"/,
    );
    const job = await ws.app.jobs.wait(
      (await ws.app.call('explain.metrics', { modelId, pairIds, method: 'scorecam', maxChannels: 3, steps: 4 })).jobId,
    );
    expect(job.error).toBeNull();
    expect(job.params).toMatchObject({ method: 'scorecam', maxChannels: 3 });
    for (const pairId of pairIds) {
      const e = await ws.app.call('explain.pair', { pairId, modelId, method: 'scorecam', maxChannels: 3 });
      expect(e.cached).toBe(true); // measured and stored by the metrics job, under that cap
      expect(e.channels!.maxChannels).toBe(3);
      for (const used of e.channels!.used) expect(used).toBeLessThanOrEqual(3);
      expect(e.channels!.total).toBeGreaterThan(3); // the cap did bite
    }
  });

  it('randomising the model from the top changes the Grad-CAM maps (Adebayo et al.), without leaking tensors', async () => {
    const pair = testPairs.find((p) => p.label === 1)!;
    await ws.app.call('explain.pair', { pairId: pair.id, modelId });
    const before = tf.memory().numTensors;
    const s = await ws.app.call('explain.sanity', { pairId: pair.id, modelId, seed: 1 });
    expect(tf.memory().numTensors).toBe(before);
    expect(s.order).toEqual(['embedding', 'dense1', 'conv4', 'conv3', 'conv2', 'conv1']);
    expect(s.steps.map((x) => x.layersRandomized)).toEqual([1, 2, 3, 4, 5, 6]);
    const last = s.steps[s.steps.length - 1];
    const rhos = last.factual.filter((rho) => rho !== null);
    expect(rhos.length).toBeGreaterThan(0); // null only for a map without evidence
    for (const rho of rhos) expect(Math.abs(rho)).toBeLessThan(0.95);
    // the stored explanation of the original model is untouched
    const e = await ws.app.call('explain.pair', { pairId: pair.id, modelId });
    expect(e.cached).toBe(true);
  });
});
