// The review queue on a hand-built set (review-fixture.ts): each filter alone and combined, the
// counts, the three orders, paging by cursor and by position, sessions that resume; the query
// plans; and the time of a page with counts on a few thousand pairs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArgsOf } from '../../src/shared/contract';
import type { ReviewFiltersDto, ReviewQueueDto } from '../../src/shared/dto';
import { shuffleKey } from '../../src/main/review/shuffle';
import { ReviewQueueRepo } from '../../src/main/store/review-queue-repo';
import { PairsRepo } from '../../src/main/store/pairs-repo';
import { ScoresRepo } from '../../src/main/store/scores-repo';
import { addVersion, handBuiltWorkspace, type HandBuilt } from './review-fixture';

let ws: HandBuilt;
/** pair names by id */
let nameOf: Map<number, string>;

function verdict(pair: string, reviewer: string, answers: Partial<ArgsOf<'review.verdict'>>) {
  return ws.app.call('review.verdict', {
    pairId: ws.pair[pair],
    modelId: ws.modelId,
    reviewer,
    method: 'gradcam',
    layer: 'conv_2',
    ...answers,
  });
}

async function queue(args: Partial<ArgsOf<'review.queue'>> = {}): Promise<ReviewQueueDto> {
  return ws.app.call('review.queue', { modelId: ws.modelId, split: 'test', order: 'pair', limit: 100, ...args });
}

const names = (q: ReviewQueueDto) => q.items.map((i) => nameOf.get(i.pairId));

beforeAll(async () => {
  ws = handBuiltWorkspace();
  nameOf = new Map(Object.entries(ws.pair).map(([name, id]) => [id, name]));
  await ws.app.call('review.setReviewer', { name: 'Ann' });
  // Ann: p1, p2, and p5 (judged twice: the first heatmap A "not sensible" is history)
  await verdict('p1', 'Ann', { similarity: 'correct', heatmapA: 'sensible', heatmapB: 'sensible', tags: ['texture'] });
  await verdict('p2', 'Ann', { similarity: 'wrong', heatmapA: 'sensible', heatmapB: 'unsure', tags: ['Background '] });
  await verdict('p5', 'Ann', { similarity: 'correct', heatmapA: 'not_sensible' });
  await verdict('p5', 'Ann', { similarity: 'correct', heatmapA: 'sensible' });
  // Bob: p1 (disagrees with Ann on heatmap A) and p3
  await verdict('p1', 'Bob', { similarity: 'correct', heatmapA: 'not_sensible', heatmapB: 'sensible' });
  await verdict('p3', 'Bob', { similarity: 'wrong' });
  // Cara: p6, a tag of her own on the validation pair
  await verdict('p6', 'Cara', { similarity: 'correct', tags: ['decoy'] });
  await ws.app.call('review.verdict', {
    pairId: ws.pair.v1,
    modelId: ws.modelId,
    reviewer: 'Cara',
    note: 'odd lighting',
    tags: ['lighting'],
  });
});
afterAll(() => ws.close());

describe('review queue filters', () => {
  it("counts every filter on the split's pairs", async () => {
    const q = await queue();
    expect(q.threshold).toBe(0.5);
    expect(q.total).toBe(8);
    expect(q.counts).toEqual({
      all: 8,
      scored: 7,
      unreviewedByMe: 5,
      unreviewedByAnyone: 3,
      falsePositive: 2,
      falseNegative: 1,
      nearThreshold: 2,
      heatmapNotSensible: 1,
      reviewersDisagree: 1,
      maskOutside: 0,
      classes: [
        { classLabel: 'cat', count: 5 },
        { classLabel: 'dog', count: 4 },
        { classLabel: 'fox', count: 3 },
      ],
      // the defaults, then tags in use anywhere (Cara's "lighting" is on a validation pair: 0 here)
      tags: [
        { tag: 'background', count: 1 },
        { tag: 'decoy', count: 1 },
        { tag: 'texture', count: 1 },
        { tag: 'lighting', count: 0 },
      ],
    });
  });

  it.each<[string, ReviewFiltersDto, string[]]>([
    ['unreviewed by me', { unreviewed: 'me' }, ['p3', 'p4', 'p6', 'p7', 'p8']],
    ['unreviewed by anyone', { unreviewed: 'anyone' }, ['p4', 'p7', 'p8']],
    ['false positives', { falsePositive: true }, ['p2', 'p8']],
    ['false negatives', { falseNegative: true }, ['p3']],
    ['near the threshold', { nearThreshold: true }, ['p5', 'p6']],
    ['near the threshold, band 0.25', { nearThreshold: true, nearBand: 0.25 }, ['p2', 'p3', 'p5', 'p6', 'p8']],
    ['heatmap judged not sensible (current verdicts only)', { heatmapNotSensible: true }, ['p1']],
    ['reviewers disagree', { reviewersDisagree: true }, ['p1']],
    ['class of either image', { classLabel: 'fox' }, ['p4', 'p5', 'p6']],
    ['class dog', { classLabel: 'dog' }, ['p2', 'p3', 'p6', 'p8']],
    ['tag (normalised on the way in)', { tag: 'BACKGROUND' }, ['p2']],
    ['an unused class', { classLabel: 'zebra' }, []],
    [
      'flags set to false are no filter',
      { falsePositive: false, reviewersDisagree: false },
      ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8'],
    ],
    ['unreviewed by me AND false positive', { unreviewed: 'me', falsePositive: true }, ['p8']],
    ['class fox AND near the threshold', { classLabel: 'fox', nearThreshold: true }, ['p5', 'p6']],
    ['tag AND disagreement', { tag: 'texture', reviewersDisagree: true }, ['p1']],
    ['false positive AND false negative', { falsePositive: true, falseNegative: true }, []],
  ])('%s', async (_label, filters, expected) => {
    const q = await queue({ filters });
    expect(names(q)).toEqual(expected);
    expect(q.total).toBe(expected.length);
  });

  it('sees the queue as the reviewer it is asked for', async () => {
    const bob = await queue({ reviewer: 'Bob', filters: { unreviewed: 'me' } });
    expect(bob.reviewer).toBe('Bob');
    expect(names(bob)).toEqual(['p2', 'p4', 'p5', 'p6', 'p7', 'p8']);
    expect(bob.counts.unreviewedByMe).toBe(6);
  });

  it("gives each item its images, score, the model's call and the reviewer's verdict", async () => {
    const q = await queue();
    const item = (name: string) => q.items.find((i) => i.pairId === ws.pair[name])!;
    expect(item('p2')).toMatchObject({
      split: 'test',
      label: 0,
      a: { id: ws.image.cat3, classLabel: 'cat', sourcePath: '/nowhere/cat/cat3.png' },
      b: { id: ws.image.dog1, classLabel: 'dog' },
      score: 0.7,
      decision: 1,
      modelRight: false,
      othersReviewed: 0,
      verdict: {
        reviewer: 'Ann',
        similarity: 'wrong',
        heatmapA: 'sensible',
        heatmapB: 'unsure',
        tags: ['background'],
        complete: true,
        current: true,
      },
    });
    expect(item('p1')).toMatchObject({ decision: 1, modelRight: true, othersReviewed: 1 });
    expect(item('p6')).toMatchObject({ verdict: null, othersReviewed: 1, decision: 0, modelRight: true });
    expect(item('p7')).toMatchObject({ score: null, decision: null, modelRight: null, verdict: null });
    expect(item('p5').verdict).toMatchObject({ heatmapA: 'sensible', complete: false });
  });
});

describe('review queue orders and paging', () => {
  const ALL = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8'];

  it('orders by uncertainty (|score - threshold|, unscored last), by pair id, or seeded random', async () => {
    expect(names(await queue({ order: 'uncertainty' }))).toEqual(['p5', 'p6', 'p8', 'p2', 'p3', 'p4', 'p1', 'p7']);
    expect(names(await queue({ order: 'pair' }))).toEqual(ALL);
    const seeded = names(await queue({ order: 'random', seed: 7 }));
    const expected = [...ALL].sort((a, b) => shuffleKey(7, ws.pair[a]) - shuffleKey(7, ws.pair[b]) || ws.pair[a] - ws.pair[b]);
    expect(seeded).toEqual(expected);
    expect(names(await queue({ order: 'random', seed: 7 }))).toEqual(seeded);
    const others = await Promise.all([1, 2, 3].map(async (seed) => names(await queue({ order: 'random', seed })).join()));
    expect(new Set([seeded.join(), ...others]).size).toBeGreaterThan(1);
  });

  it("pages by cursor and by position, with each item's position", async () => {
    const full = await queue({ order: 'uncertainty' });
    const walked: string[] = [];
    const positions: number[] = [];
    let after: number | undefined;
    for (let page = 0; page < 5; page++) {
      const q = await queue({ order: 'uncertainty', limit: 3, ...(after === undefined ? {} : { afterPairId: after }) });
      walked.push(...names(q).map(String));
      positions.push(...q.items.map((i) => i.position));
      expect(q.total).toBe(8);
      if (q.nextAfterPairId === null) break;
      after = q.nextAfterPairId;
    }
    expect(walked).toEqual(names(full));
    expect(positions).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const second = await queue({ order: 'uncertainty', offset: 3, limit: 3 });
    expect(second.offset).toBe(3);
    expect(names(second)).toEqual(['p2', 'p3', 'p4']);
    expect(second.items.map((i) => i.position)).toEqual([3, 4, 5]);
  });

  it('keeps a cursor valid when pairs leave the filtered queue', async () => {
    const other = handBuiltWorkspace();
    try {
      await other.app.call('review.setReviewer', { name: 'Dan' });
      const call = (args: Partial<ArgsOf<'review.queue'>>) =>
        other.app.call('review.queue', {
          modelId: other.modelId,
          split: 'test',
          order: 'uncertainty',
          filters: { unreviewed: 'me' },
          limit: 2,
          ...args,
        });
      const first = await call({});
      expect(first.items.map((i) => i.pairId)).toEqual([other.pair.p5, other.pair.p6]);
      // Dan judges both: they leave the queue; the page after p6 is still the right one, now at position 0
      for (const name of ['p5', 'p6'])
        await other.app.call('review.verdict', { pairId: other.pair[name], modelId: other.modelId, similarity: 'correct' });
      const next = await call({ afterPairId: first.nextAfterPairId! });
      expect(next.items.map((i) => i.pairId)).toEqual([other.pair.p8, other.pair.p2]);
      expect(next.offset).toBe(0);
      expect(next.total).toBe(6);
    } finally {
      await other.close();
    }
  });

  it('refuses a cursor outside the split, two cursors, an unknown version, and a workspace without a reviewer', async () => {
    await expect(queue({ afterPairId: ws.pair.v1 })).rejects.toThrow(/afterPairId: pair \d+ is not among the test pairs/);
    await expect(queue({ afterPairId: 99_999 })).rejects.toMatchObject({ code: 'not_found' });
    await expect(queue({ afterPairId: ws.pair.p1, offset: 2 })).rejects.toThrow(/give afterPairId or offset, not both/);
    await expect(queue({ modelId: 999 })).rejects.toMatchObject({ code: 'not_found', message: 'Model version 999 does not exist' });
    await expect(queue({ filters: { nearBand: 0 } })).rejects.toMatchObject({ code: 'invalid_argument' });
    const fresh = handBuiltWorkspace();
    try {
      await expect(fresh.app.call('review.queue', { modelId: fresh.modelId, split: 'test' })).rejects.toMatchObject({
        code: 'conflict',
        message: expect.stringMatching(/No reviewer is set/),
      });
    } finally {
      await fresh.close();
    }
  });
});

describe('review sessions', () => {
  it('stores a session per reviewer and version and resumes at the next pair the reviewer has not judged', async () => {
    expect(await ws.app.call('review.session', { modelId: ws.modelId, reviewer: 'Eve' })).toBeNull();
    // uncertainty order: p5 p6 p8 p2 p3 p4 p1 p7; Ann judged p1, p2, p5
    const saved = await ws.app.call('review.saveSession', {
      modelId: ws.modelId,
      split: 'test',
      order: 'uncertainty',
      pairId: ws.pair.p5,
      position: 0,
    });
    expect(saved).toMatchObject({
      reviewer: 'Ann',
      split: 'test',
      order: 'uncertainty',
      seed: 0,
      filters: {},
      pairId: ws.pair.p5,
      position: 0,
    });
    expect(saved.next).toEqual({ pairId: ws.pair.p6, position: 1 });
    // stopped at p4: p4 itself is not judged yet
    await ws.app.call('review.saveSession', { modelId: ws.modelId, split: 'test', order: 'uncertainty', pairId: ws.pair.p4, position: 5 });
    expect((await ws.app.call('review.session', {}))!.next).toEqual({ pairId: ws.pair.p4, position: 5 });
    // with a filter, positions are the filtered queue's
    const filtered = await ws.app.call('review.saveSession', {
      modelId: ws.modelId,
      split: 'test',
      order: 'pair',
      filters: { classLabel: 'cat', falsePositive: false },
      pairId: ws.pair.p4,
      position: 2,
    });
    expect(filtered.filters).toEqual({ classLabel: 'cat' });
    // cat pairs in id order: p1 p2 p4 p7 p8
    expect(filtered.next).toEqual({ pairId: ws.pair.p4, position: 2 });
    const resumed = await ws.app.call('review.session', { modelId: ws.modelId });
    expect(resumed).toMatchObject({
      order: 'pair',
      filters: { classLabel: 'cat' },
      pairId: ws.pair.p4,
      position: 2,
      next: { pairId: ws.pair.p4, position: 2 },
    });
    // Bob's session is his own; he stopped at p3, which he judged: p4 comes next
    await ws.app.call('review.saveSession', { modelId: ws.modelId, split: 'test', order: 'pair', reviewer: 'Bob', pairId: ws.pair.p3 });
    expect((await ws.app.call('review.session', { reviewer: 'Bob' }))!.next).toEqual({ pairId: ws.pair.p4, position: 3 });
    expect((await ws.app.call('review.session', { modelId: ws.modelId }))!.order).toBe('pair');
  });

  it('wraps to the start when nothing is left after the stopping point, and says when nothing is left at all', async () => {
    const other = handBuiltWorkspace();
    try {
      await other.app.call('review.setReviewer', { name: 'Fay' });
      const save = (pair: string) =>
        other.app.call('review.saveSession', {
          modelId: other.modelId,
          split: 'test',
          order: 'pair',
          filters: { classLabel: 'fox' },
          pairId: other.pair[pair],
        });
      // fox pairs: p4 p5 p6; Fay judges p5 and p6, stops at p6: p4 is next, from the start
      for (const name of ['p5', 'p6'])
        await other.app.call('review.verdict', { pairId: other.pair[name], modelId: other.modelId, similarity: 'correct' });
      expect((await save('p6')).next).toEqual({ pairId: other.pair.p4, position: 0 });
      await other.app.call('review.verdict', { pairId: other.pair.p4, modelId: other.modelId, similarity: 'wrong' });
      expect((await save('p6')).next).toBeNull();
      await expect(save('v1')).rejects.toThrow(/pairId: pair \d+ is not among the test pairs/);
    } finally {
      await other.close();
    }
  });
});

describe('review queue speed', () => {
  it('answers a page with every count on 5,000 pairs (times printed; the indexes are checked below)', async () => {
    const big = handBuiltWorkspace();
    try {
      // 5,000 more test pairs (random images of the set, seeded scores) in a new pair set and version
      const ids = Object.values(big.image);
      const rnd = (() => {
        let s = 12345;
        return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
      })();
      const pairs = Array.from({ length: 5000 }, () => ({
        imageA: ids[Math.floor(rnd() * ids.length)],
        imageB: ids[Math.floor(rnd() * ids.length)],
        label: (rnd() < 0.5 ? 1 : 0) as 0 | 1,
        split: 'test' as const,
      }));
      const setId = new PairsRepo(big.app.db).insertPairSet(
        { datasetId: big.datasetId, source: 'generated', seed: 2, ratios: null, pairsPerAnchor: 1 },
        new Map(),
        pairs,
      );
      const modelId = addVersion(big.app, big.dir, big.datasetId, setId, 'weights-big', 'big');
      const pairIds = (big.app.db.prepare('SELECT id FROM pairs WHERE pair_set_id = ? ORDER BY id').all(setId) as { id: number }[]).map(
        (r) => r.id,
      );
      new ScoresRepo(big.app.db).upsert(
        modelId,
        pairIds.map((pairId) => ({ pairId, score: rnd(), distance: 0 })),
      );
      // 1,500 verdicts by three reviewers
      const reviewers = ['Ann', 'Bob', 'Cara'];
      const answers = ['sensible', 'not_sensible', 'unsure'] as const;
      big.app.db.transaction(() => {
        for (let i = 0; i < 1500; i++) {
          big.app.review.verdicts.insert([
            {
              uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
              pairId: pairIds[Math.floor(rnd() * pairIds.length)],
              modelId,
              reviewer: reviewers[i % 3],
              similarity: rnd() < 0.5 ? 'correct' : 'wrong',
              heatmapA: answers[Math.floor(rnd() * 3)],
              heatmapB: answers[Math.floor(rnd() * 3)],
              method: 'gradcam',
              layer: 'conv',
              note: null,
              tags: rnd() < 0.2 ? ['texture'] : [],
              origin: 'local',
              createdAt: new Date(1_700_000_000_000 + i).toISOString(),
            },
          ]);
        }
      })();
      await big.app.call('review.setReviewer', { name: 'Ann' });
      const filters: ReviewFiltersDto = { unreviewed: 'me', nearThreshold: true, nearBand: 0.3, classLabel: 'cat' };
      const times: Record<string, number> = {};
      for (const order of ['uncertainty', 'random', 'pair'] as const) {
        const runs: number[] = [];
        let q: ReviewQueueDto | undefined;
        for (let i = 0; i < 7; i++) {
          const t0 = performance.now();
          q = await big.app.call('review.queue', {
            modelId,
            split: 'test',
            order,
            seed: 3,
            filters,
            limit: 50,
            ...(i % 2 ? { afterPairId: pairIds[100] } : {}),
          });
          runs.push(performance.now() - t0);
        }
        expect(q!.counts.all).toBe(5000);
        expect(q!.items.length).toBeGreaterThan(0);
        times[order] = runs.sort((a, b) => a - b)[3];
      }
      const t0 = performance.now();
      const stats = await big.app.call('review.stats', { modelId });
      times.stats = performance.now() - t0;
      expect(stats.verdicts.current + stats.verdicts.superseded).toBe(1500);
      console.log(
        `review.queue on 5,000 pairs, 1,500 verdicts (median of 7, ms): ${JSON.stringify(Object.fromEntries(Object.entries(times).map(([k, t]) => [k, Math.round(t * 10) / 10])))}`,
      );
      // the times are printed, not asserted (a lost index is caught by the query-plan test below)
    } finally {
      await big.close();
    }
  });

  it('reads pairs, scores and current verdicts through their indexes (no table scan)', () => {
    const filters: ReviewFiltersDto = {
      unreviewed: 'me',
      falsePositive: true,
      nearThreshold: true,
      heatmapNotSensible: true,
      reviewersDisagree: true,
      classLabel: 'cat',
      tag: 'decoy',
    };
    const params = {
      model: 1,
      set: 1,
      dataset: 1,
      split: 'test',
      me: 'a',
      threshold: 0.5,
      band: 0.05,
      seed: 0,
      tag: 'decoy',
      cls: 'cat',
      key: 0,
      after: 1,
      limit: 5,
      offset: 0,
    };
    // a scan of a derived table's rows (a co-routine) is fine; a scan of a stored table is not
    const tableScans = (p: string[]) => p.filter((d) => d.startsWith('SCAN') && !d.startsWith('SCAN (subquery'));
    const plan = (sql: string) => (ws.app.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((r) => r.detail);
    for (const order of ['uncertainty', 'random', 'pair'] as const) {
      for (const [sql, judged] of [
        [ReviewQueueRepo.countsSql(order, filters, true), true],
        [ReviewQueueRepo.pageSql(order, filters, 'after'), true],
        [ReviewQueueRepo.countsSql(order, { falsePositive: true }, false), false],
        [ReviewQueueRepo.pageSql(order, {}, 'none'), false],
      ] as const) {
        const p = plan(sql);
        expect(
          p.some((d) => d.startsWith('SEARCH p USING INDEX pairs_by_set_split (pair_set_id=? AND split=?')),
          p.join('\n'),
        ).toBe(true);
        expect(p).toContain('SEARCH s USING PRIMARY KEY (model_id=? AND pair_id=?) LEFT-JOIN');
        // the verdict summary is joined only when a filter looks at verdicts
        expect(p.includes('SEARCH v USING INDEX verdicts_current (model_id=?)')).toBe(judged);
        // "unreviewed by me" probes the current verdicts by (version, pair, reviewer)
        if (judged) expect(p).toContain('SEARCH v USING COVERING INDEX verdicts_current (model_id=? AND pair_id=? AND reviewer=?)');
        // the class filter reads the class's images once, by index
        if (judged) expect(p).toContain('SEARCH images USING COVERING INDEX images_by_dataset_class (dataset_id=? AND class_label=?)');
        expect(tableScans(p), p.join('\n')).toEqual([]);
      }
    }
    const judged = plan(ReviewQueueRepo.verdictCountsSql());
    expect(judged).toContain('SEARCH v USING INDEX verdicts_current (model_id=?)');
    expect(judged).toContain('SEARCH p USING INTEGER PRIMARY KEY (rowid=?)');
    expect(tableScans(judged), judged.join('\n')).toEqual([]);
  });
});
