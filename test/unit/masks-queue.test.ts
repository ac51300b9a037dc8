// The review queue's filter "heatmap energy mostly outside the mask" (services/mask-energy.ts) on a
// hand-built set: masks and stored maps written directly, so which pairs pass is known. Checks
// the count and the filter, that the measured shares equal the metrics job's EPG, that a newer
// mask or a recomputed map is measured again (and nothing else is), the default method and the
// layer it reads, and the queries' indexes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { energyPointingGame } from '../../src/main/engine/explain/metrics/localization';
import { encodeMap } from '../../src/main/engine/explain';
import { ExplanationsRepo } from '../../src/main/store/explanations-repo';
import { FaithfulnessRepo } from '../../src/main/store/faithfulness-repo';
import { MaskEnergyRepo } from '../../src/main/store/mask-energy-repo';
import { PairsRepo } from '../../src/main/store/pairs-repo';
import { ReviewQueueRepo } from '../../src/main/store/review-queue-repo';
import type { FaithfulnessSummaryDto, ReviewQueueDto, Split } from '../../src/shared/dto';
import { maskWorkspace, rect, rle, type MaskWorkspace } from './masks-fixture';
import { addVersion } from './review-fixture';

let ws: MaskWorkspace;
let modelId: number;
let pairSetId: number;
const pair: Record<string, number> = {};
let explanations: ExplanationsRepo;

/** [name, image A, image B] of the test split */
const PAIRS: [string, string, string][] = [
  ['q1', 'shirt1', 'shirt2'],
  ['q2', 'dress1', 'shirt1'],
  ['q3', 'dress1', 'wide'],
  ['q4', 'idx', 'shirt2'],
  ['q5', 'odd', 'shirt1'],
  ['q6', 'shirt2', 'idx'],
];

/** A 4 x 4 map with all its energy in one cell (row, col). */
const cell = (row: number, col: number) => {
  const m = new Float32Array(16);
  m[row * 4 + col] = 1;
  return m;
};
/** A 4 x 4 map: 0.4 of the energy top-left, 0.6 bottom-right. */
const split46 = () => {
  const m = new Float32Array(16);
  m[0] = 0.4;
  m[15] = 0.6;
  return m;
};

function putMaps(
  name: string,
  a: Float32Array,
  b: Float32Array,
  opts: { method?: string; layer?: string; noEvidenceA?: boolean } = {},
): void {
  const flags = (x: boolean) => ({ factual: x, counterfactual: false });
  explanations.upsert({
    pairId: pair[name],
    modelId,
    method: opts.method ?? 'gradcam',
    layer: opts.layer ?? 'conv_2',
    mapHeight: 4,
    mapWidth: 4,
    aFactual: encodeMap(a),
    aCounterfactual: null,
    bFactual: encodeMap(b),
    bCounterfactual: null,
    score: 0.5,
    meta: {
      counterfactualDefined: false,
      noEvidence: { a: flags(opts.noEvidenceA ?? false), b: flags(false) },
      scale: { a: { factual: 1, counterfactual: null }, b: { factual: 1, counterfactual: null } },
      timings: { explainMs: 1 },
    },
  });
}

const saveMask = (name: string, mask: Uint8Array, author = 'Ann') =>
  ws.app.call('masks.save', { imageId: ws.image[name], author, size: ws.size[name], counts: rle(mask, ws.size[name]), source: 'painted' });

const queue = (maskOutside = true, split: Split = 'test'): Promise<ReviewQueueDto> =>
  ws.app.call('review.queue', { modelId, split, order: 'pair', reviewer: 'Ann', filters: { maskOutside } });
const names = (q: ReviewQueueDto) => q.items.map((i) => Object.entries(pair).find(([, id]) => id === i.pairId)![0]);
const cached = (name: string, method = 'gradcam') => new MaskEnergyRepo(ws.app.db).get(modelId, method, pair[name]);

// the masks: shirt1's top-left quarter, idx's top-left quarter
const TOP_LEFT = rect(28, 28, 0, 0, 14, 14);

beforeAll(async () => {
  ws = maskWorkspace();
  explanations = new ExplanationsRepo(ws.app.db);
  const splits = new Map(Object.values(ws.image).map((id) => [id, 'test' as Split]));
  pairSetId = new PairsRepo(ws.app.db).insertPairSet(
    { datasetId: ws.datasetId, source: 'generated', seed: 1, ratios: [80, 10, 10], pairsPerAnchor: 1 },
    splits,
    PAIRS.map(([, a, b]) => ({ imageA: ws.image[a], imageB: ws.image[b], label: 1, split: 'test' as Split })),
  );
  const ids = ws.app.db.prepare('SELECT id FROM pairs WHERE pair_set_id = ? ORDER BY id').all(pairSetId) as { id: number }[];
  PAIRS.forEach(([name], i) => (pair[name] = ids[i].id));
  modelId = addVersion(ws.app, ws.dir, ws.datasetId, pairSetId, 'w');
  await saveMask('shirt1', TOP_LEFT);
  await saveMask('idx', TOP_LEFT);
  putMaps('q1', cell(0, 0), cell(3, 3)); // shirt1's energy top-left: inside its mask; shirt2 has none
  putMaps('q2', cell(0, 0), cell(3, 3)); // shirt1 (B) bottom-right: outside
  putMaps('q3', cell(3, 3), cell(3, 3)); // no masks
  putMaps('q4', cell(3, 3), cell(0, 0), { noEvidenceA: true }); // idx's map has no evidence
  putMaps('q5', cell(0, 0), split46()); // shirt1 (B): 0.4 inside
  // q6: no stored map
});
afterAll(() => ws.close());

describe('the maskOutside filter', () => {
  it('counts and keeps the pairs whose map puts most of its energy outside an image mask', async () => {
    const all = await queue(false);
    expect(all.counts.maskOutside).toBe(2);
    expect(all.total).toBe(6);
    const q = await queue();
    expect(names(q)).toEqual(['q2', 'q5']);
    expect(q.total).toBe(2);
    expect(q.filters).toEqual({ maskOutside: true });
    // another split: none
    expect((await queue(true, 'val')).counts.maskOutside).toBe(0);
  });

  it('measures as the metrics job does (EPG on the map upsampled to the mask), only the pairs with a masked image and a map', async () => {
    const decode = (m: Float32Array) => ({ data: m, h: 4, w: 4 });
    const mask = { data: TOP_LEFT, h: 28, w: 28 };
    expect(cached('q1')).toMatchObject({ inside_a: energyPointingGame(decode(cell(0, 0)), mask), inside_b: null, outside: 0 });
    expect(cached('q1')!.inside_a).toBe(1);
    expect(cached('q2')).toMatchObject({ inside_a: null, inside_b: 0, outside: 1 });
    const q5 = cached('q5')!;
    expect(q5.inside_b).toBe(energyPointingGame(decode(split46()), mask));
    expect(q5.inside_b as number).toBeGreaterThan(0.3);
    expect(q5.inside_b as number).toBeLessThan(0.5);
    expect(cached('q4')).toMatchObject({ inside_a: null, inside_b: null, outside: 0 });
    expect(cached('q3')).toBeUndefined(); // no mask on either image
    expect(cached('q6')).toBeUndefined(); // no stored map
  });

  it('measures again what a newer mask or a recomputed map changed, and nothing else', async () => {
    const energy = ws.app.maskEnergy;
    expect(await energy.refresh(modelId, 'test')).toBe(0);
    // Bob paints shirt1's bottom-right: shirt1's newest mask (any author) flips q1, q2 and q5
    await saveMask('shirt1', rect(28, 28, 14, 14, 28, 28), 'Bob');
    expect(names(await queue())).toEqual(['q1']);
    expect(cached('q1')).toMatchObject({ inside_a: 0, outside: 1 });
    expect(cached('q2')).toMatchObject({ inside_b: 1, outside: 0 });
    // q5's map of shirt1, 0.6 bottom-right, is now mostly inside
    expect(cached('q5')!.outside).toBe(0);
    expect(cached('q5')!.inside_b as number).toBeGreaterThan(0.5);
    // the map of q1 recomputed: its energy now bottom-right, inside Bob's mask
    await new Promise((r) => setTimeout(r, 5)); // a later created_at
    putMaps('q1', cell(3, 3), cell(3, 3));
    expect(await energy.refresh(modelId, 'test')).toBe(1);
    expect((await queue()).total).toBe(0);
    expect(await energy.refresh(modelId, 'test')).toBe(0);
  });

  it("reads the version's default method, at the faithfulness summary's layer", async () => {
    // Grad-CAM++ becomes the default (a faithfulness summary): its maps are measured, at the summary's layer
    const summary = {
      modelId,
      defaultMethod: 'gradcampp',
      layer: 'conv_1',
      createdAt: new Date().toISOString(),
    } as unknown as FaithfulnessSummaryDto;
    new FaithfulnessRepo(ws.app.db).put(modelId, null, summary);
    expect(ws.app.review.maskMethodOf(modelId)).toBe('gradcampp');
    putMaps('q2', cell(0, 0), cell(0, 0), { method: 'gradcampp', layer: 'conv_1' }); // shirt1 top-left: outside Bob's mask
    await new Promise((r) => setTimeout(r, 5));
    putMaps('q2', cell(3, 3), cell(3, 3), { method: 'gradcampp', layer: 'conv_2' }); // newer, but not at the summary's layer
    const q = await queue();
    expect(names(q)).toEqual(['q2']);
    expect(q.counts.maskOutside).toBe(1);
    expect(cached('q2', 'gradcampp')).toMatchObject({ inside_b: 0, outside: 1 });
  });

  it('reads masks, maps and the cache through their indexes', () => {
    const params = { model: 1, set: 1, split: 'test', method: 'gradcam', layer: 'conv_2', maskMethod: 'gradcam' };
    const plan = (sql: string) => (ws.app.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((r) => r.detail);
    // a scan of a derived table's rows (a CTE) is fine; a scan of a stored table is not
    const tableScans = (p: string[]) => p.filter((d) => d.startsWith('SCAN') && !/^SCAN (w|masked|\(subquery)/.test(d));
    const stale = plan(MaskEnergyRepo.staleSql());
    expect(
      stale.some((d) => d.startsWith('SEARCH p USING INDEX pairs_by_set_split (pair_set_id=? AND split=?)')),
      stale.join('\n'),
    ).toBe(true);
    expect(
      stale.some((d) => /SEARCH m USING (COVERING )?INDEX masks_by_image_time \(image_id=\?\)/.test(d)),
      stale.join('\n'),
    ).toBe(true);
    expect(
      stale.some((d) => d.startsWith('SEARCH x USING INDEX sqlite_autoindex_explanations_1 (pair_id=? AND model_id=? AND method=?)')),
      stale.join('\n'),
    ).toBe(true);
    expect(stale).toContain('SEARCH e USING PRIMARY KEY (model_id=? AND method=? AND pair_id=?) LEFT-JOIN');
    expect(tableScans(stale), stale.join('\n')).toEqual([]);
    const count = plan(ReviewQueueRepo.maskOutsideCountSql());
    expect(
      count.some((d) => d.startsWith('SEARCH e USING PRIMARY KEY (model_id=? AND method=?)')),
      count.join('\n'),
    ).toBe(true);
    expect(tableScans(count), count.join('\n')).toEqual([]);
  });
});
