// review.stats on a hand-built set: every tally worked out by hand from the verdicts below.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArgsOf } from '../../src/shared/contract';
import { handBuiltWorkspace, type HandBuilt } from './review-fixture';

let ws: HandBuilt;
const verdict = (pair: string, reviewer: string, answers: Partial<ArgsOf<'review.verdict'>>) =>
  ws.app.call('review.verdict', { pairId: ws.pair[pair], modelId: ws.modelId, reviewer, ...answers });

beforeAll(async () => {
  ws = handBuiltWorkspace();
  const gradcam = { method: 'gradcam', layer: 'conv_2' } as const;
  // p1 cat/cat (model right), p2 cat/dog (false positive), p3 dog/dog (false negative), p7 no score, p8 dog/cat (false positive)
  await verdict('p1', 'Ann', { similarity: 'correct', heatmapA: 'sensible', heatmapB: 'sensible', ...gradcam, tags: ['texture'] });
  await verdict('p1', 'Bob', { similarity: 'correct', heatmapA: 'not_sensible', heatmapB: 'sensible', ...gradcam });
  await verdict('p2', 'Ann', {
    similarity: 'wrong',
    heatmapA: 'sensible',
    heatmapB: 'unsure',
    method: 'scorecam',
    layer: 'conv_2',
    tags: ['background'],
  });
  await verdict('p3', 'Ann', { similarity: 'correct' }); // superseded by the next
  await verdict('p3', 'Ann', { similarity: 'wrong', heatmapA: 'unsure', heatmapB: 'not_sensible', ...gradcam });
  await verdict('p3', 'Bob', { similarity: 'wrong' });
  await verdict('p7', 'Ann', { similarity: 'correct' });
  await verdict('p8', 'Bob', { similarity: 'correct' });
});
afterAll(() => ws.close());

describe('review.stats', () => {
  it("tallies a version's current verdicts", async () => {
    const s = await ws.app.call('review.stats', { modelId: ws.modelId });
    expect(s.modelId).toBe(ws.modelId);
    expect(s.threshold).toBe(0.5);
    expect(s.verdicts).toEqual({ current: 7, superseded: 1, complete: 4, pairs: 5 });
    expect(s.reviewers).toEqual([
      { reviewer: 'Ann', current: 4, complete: 3 },
      { reviewer: 'Bob', current: 3, complete: 1 },
    ]);
  });

  it('gives the share of heatmaps judged sensible, overall, per class of the judged image and per method shown', async () => {
    const { heatmaps } = await ws.app.call('review.stats', { modelId: ws.modelId });
    expect(heatmaps.overall).toEqual({ sensible: 4, notSensible: 2, unsure: 2, total: 8, share: 0.5 });
    expect(heatmaps.byClass).toEqual([
      { classLabel: 'cat', sensible: 4, notSensible: 1, unsure: 0, total: 5, share: 0.8 },
      { classLabel: 'dog', sensible: 0, notSensible: 1, unsure: 2, total: 3, share: 0 },
    ]);
    expect(heatmaps.byMethod).toEqual([
      { method: 'gradcam', sensible: 3, notSensible: 2, unsure: 1, total: 6, share: 0.5 },
      { method: 'scorecam', sensible: 1, notSensible: 0, unsure: 1, total: 2, share: 0.5 },
    ]);
  });

  it("sets similarity verdicts against the model's own error, counts tags, and measures agreement", async () => {
    const s = await ws.app.call('review.stats', { modelId: ws.modelId });
    // Ann p1 + Bob p1: correct & right; Bob p8: correct & wrong; Ann p2, Ann p3, Bob p3: wrong & wrong; Ann p7: no decision
    expect(s.similarity).toEqual({ correctModelRight: 2, correctModelWrong: 1, wrongModelRight: 0, wrongModelWrong: 3, undecided: 1 });
    expect(s.tags).toEqual([
      { tag: 'background', count: 1 },
      { tag: 'texture', count: 1 },
      { tag: 'decoy', count: 0 },
    ]);
    const [similarity, heatmapA, heatmapB] = s.agreement;
    // both answered p1 (correct/correct) and p3 (wrong/wrong): po = 1, pe = 1/2
    expect(similarity.overall).toEqual({ method: 'cohen', raters: ['Ann', 'Bob'], pairs: 2, kappa: 1, observed: 1, expected: 0.5 });
    // heatmap A on p1 only: sensible vs not sensible
    expect(heatmapA.overall).toEqual({ method: 'cohen', raters: ['Ann', 'Bob'], pairs: 1, kappa: 0, observed: 0, expected: 0 });
    // heatmap B on p1 only, both "sensible": chance agreement 1, kappa undefined
    expect(heatmapB.overall).toEqual({ method: 'cohen', raters: ['Ann', 'Bob'], pairs: 1, kappa: null, observed: 1, expected: 1 });
  });

  it('answers for a version without verdicts, and refuses an unknown one', async () => {
    const empty = handBuiltWorkspace();
    try {
      const s = await empty.app.call('review.stats', { modelId: empty.modelId });
      expect(s.verdicts).toEqual({ current: 0, superseded: 0, complete: 0, pairs: 0 });
      expect(s.heatmaps.overall.share).toBeNull();
      expect(s.agreement.map((a) => a.overall)).toEqual([null, null, null]);
      await expect(empty.app.call('review.stats', { modelId: 77 })).rejects.toMatchObject({ code: 'not_found' });
    } finally {
      await empty.close();
    }
  });
});
