// The review workbench on the bundled demo data (real images, a real evaluated model version):
// the queue's model decisions against the version's own metrics, verdicts on the heatmap the
// reviewer was shown, a CSV export read back, and two experts in two workspaces (a copy of the
// first) merging their verdicts through bundles, with their agreement.
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimLensApp } from '../../src/main/app';
import { parseCsv } from '../../src/main/review/csv';
import type { ReviewQueueItemDto } from '../../src/shared/dto';
import { demoWorkspace, fixedModel, type Workspace } from './explain-fixture';

let ws: Workspace;
let modelId: number;
let layer: string;
let copyDir: string;
let copy: SimLensApp;

beforeAll(async () => {
  ws = await demoWorkspace('simlens-review-demo-');
  modelId = await fixedModel(ws);
  const evaluated = await ws.app.jobs.wait((await ws.app.call('models.evaluate', { id: modelId })).jobId);
  if (evaluated.status !== 'done') throw new Error(`evaluation failed: ${evaluated.error}`);
  layer = (await ws.app.call('explain.layers', { modelId })).default;
  await ws.app.call('review.setReviewer', { name: 'Ann' });
}, 120_000);
afterAll(async () => {
  await copy?.close();
  if (copyDir) rmSync(copyDir, { recursive: true, force: true });
  await ws?.close();
});

describe('reviewing the demo data', () => {
  it("shows the model's decisions on the test split as its own metrics count them", async () => {
    const model = await ws.app.call('models.get', { id: modelId });
    const test = model.metrics!.splits.test!;
    const q = await ws.app.call('review.queue', { modelId, split: 'test', limit: 500 });
    expect(q.threshold).toBe(model.metrics!.threshold);
    expect(q.counts.all).toBe(test.pairs);
    expect(q.counts.scored).toBe(test.pairs);
    expect(q.counts.falsePositive).toBe(test.fp);
    expect(q.counts.falseNegative).toBe(test.fn);
    expect(q.counts.unreviewedByMe).toBe(test.pairs);
    // ten classes; every pair counts for its images' classes
    expect(q.counts.classes).toHaveLength(10);
    // uncertainty order: |score - threshold| never decreases
    const margins = q.items.map((i) => Math.abs(i.score! - q.threshold!));
    for (let i = 1; i < margins.length; i++) expect(margins[i]).toBeGreaterThanOrEqual(margins[i - 1]);
    for (const item of q.items) {
      expect(item.decision).toBe(item.score! >= q.threshold! ? 1 : 0);
      expect(item.modelRight).toBe(item.decision === item.label);
    }
    const fp = await ws.app.call('review.queue', { modelId, split: 'test', filters: { falsePositive: true }, limit: 500 });
    expect(fp.items.every((i) => i.label === 0 && i.decision === 1)).toBe(true);
    expect(fp.items).toHaveLength(test.fp);
  });

  it('records verdicts on the maps shown, exports them as CSV, and two experts in two workspaces merge theirs', async () => {
    const q = await ws.app.call('review.queue', { modelId, split: 'test', order: 'random', seed: 5, limit: 6 });
    const items: ReviewQueueItemDto[] = q.items;
    expect(items).toHaveLength(6);
    // Ann sees pair 0's maps, then judges six pairs
    const shown = await ws.app.call('explain.pair', { pairId: items[0].pairId, modelId });
    expect(shown.layer).toBe(layer);
    const answers = ['sensible', 'not_sensible', 'unsure'] as const;
    for (const [i, item] of items.entries()) {
      await ws.app.call('review.verdict', {
        pairId: item.pairId,
        modelId,
        similarity: item.modelRight ? 'correct' : 'wrong',
        heatmapA: answers[i % 3],
        heatmapB: 'sensible',
        method: shown.method,
        layer: shown.layer,
        ...(i === 0 ? { note: 'collar, "not" the sleeve,\nsee left', tags: ['texture', 'Collar'] } : {}),
      });
    }
    await ws.app.call('review.saveSession', { modelId, split: 'test', order: 'random', seed: 5, pairId: items[5].pairId, position: 5 });
    expect((await ws.app.call('review.session', {}))!.next!.position).toBe(6);

    // CSV: a header and one row per current verdict, with the pair's images read back
    const csvPath = join(ws.dir, 'verdicts.csv');
    expect(await ws.app.call('review.export', { path: csvPath, format: 'csv', modelId })).toMatchObject({ rows: 6, history: false });
    const [header, ...rows] = parseCsv(readFileSync(csvPath, 'utf8'));
    expect(header.slice(0, 4)).toEqual(['pair_id', 'split', 'label', 'image_a_id']);
    const at = (r: string[], col: string) => r[header.indexOf(col)];
    const first = rows.find((r) => Number(at(r, 'pair_id')) === items[0].pairId)!;
    expect(at(first, 'image_a_path')).toBe(items[0].a.sourcePath);
    expect(at(first, 'image_b_class')).toBe(items[0].b.classLabel);
    expect(at(first, 'note')).toBe('collar, "not" the sleeve,\nsee left');
    expect(at(first, 'tags')).toBe('collar;texture');
    expect(at(first, 'method')).toBe('gradcam');
    expect(at(first, 'layer')).toBe(layer);
    expect(rows.map((r) => at(r, 'reviewer'))).toEqual(Array(6).fill('Ann'));

    // Bob works in a copy of the workspace (the database and the model folder)
    ws.app.db.pragma('wal_checkpoint(TRUNCATE)');
    copyDir = mkdtempSync(join(tmpdir(), 'simlens-review-copy-'));
    copyFileSync(ws.dbPath, join(copyDir, 'simlens.db'));
    cpSync(join(ws.dir, 'models'), join(copyDir, 'models'), { recursive: true });
    copy = new SimLensApp({ dbPath: join(copyDir, 'simlens.db'), shell: 'cli' });
    await copy.call('review.setReviewer', { name: 'Bob' });
    // Bob agrees on similarity, and on heatmap A except on the second pair
    for (const [i, item] of items.entries()) {
      await copy.call('review.verdict', {
        pairId: item.pairId,
        modelId,
        similarity: item.modelRight ? 'correct' : 'wrong',
        heatmapA: i === 1 ? 'sensible' : answers[i % 3],
        method: 'gradcam',
        layer,
      });
    }
    const bundle = join(copyDir, 'bob.json');
    await copy.call('review.exportBundle', { path: bundle, modelId, reviewer: 'Bob' });
    const report = await ws.app.call('review.importBundle', { path: bundle });
    expect(report).toMatchObject({ datasetId: ws.datasetId, imported: 6, alreadyPresent: 0, unmatched: 0 });
    expect((await ws.app.call('review.importBundle', { path: bundle })).imported).toBe(0);

    const stats = await ws.app.call('review.stats', { modelId });
    expect(stats.verdicts).toMatchObject({ current: 12, pairs: 6 });
    expect(stats.reviewers.map((r) => r.reviewer)).toEqual(['Ann', 'Bob']);
    const [similarity, heatmapA, heatmapB] = stats.agreement;
    expect(similarity.overall).toMatchObject({ method: 'cohen', pairs: 6, observed: 1 });
    // heatmap A: 5 of 6 agree; Ann's answers s n u s n u, Bob's s s u s n u:
    // pe = (2/6)(3/6) + (2/6)(1/6) + (2/6)(2/6) = 12/36; kappa = (5/6 - 1/3) / (2/3) = 0.75
    expect(heatmapA.overall).toMatchObject({ method: 'cohen', pairs: 6 });
    expect(heatmapA.overall!.kappa).toBeCloseTo(0.75, 12);
    // Bob gave no heatmap B answer: no pair in common
    expect(heatmapB.overall).toMatchObject({ pairs: 0, kappa: null });
    const disagree = await ws.app.call('review.queue', { modelId, split: 'test', filters: { reviewersDisagree: true } });
    expect(disagree.items.map((i) => i.pairId)).toEqual([items[1].pairId]);
    expect(disagree.counts.reviewersDisagree).toBe(1);
  });
});
