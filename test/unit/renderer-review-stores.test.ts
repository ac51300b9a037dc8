// Type-checked with the renderer (tsconfig.web.json). The review stores against a fake main
// (an in-memory review service behind a transport whose answers come back out of order): the
// reviewer is asked once, a session resumes, each verdict key is written at once and in order
// with the maps shown, a complete verdict advances to a prefetched pair without asking main
// again, a correction stays, undo goes back, a failed write can be retried, a heatmap cannot
// be judged before its maps arrive, skip passes complete verdicts.
import { createPinia, setActivePinia, type Pinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { setTransport, type Transport } from '../../src/renderer/src/api';
import { useReviewStore } from '../../src/renderer/src/stores/review';
import { useReviewMapsStore } from '../../src/renderer/src/stores/review/maps';
import { PREFETCH_AHEAD } from '../../src/renderer/src/stores/review/prefetch';
import { useReviewQueueStore } from '../../src/renderer/src/stores/review/queue';
import { useReviewerStore } from '../../src/renderer/src/stores/review/reviewer';
import { useReviewVerdictsStore } from '../../src/renderer/src/stores/review/verdicts';
import type { Envelope } from '../../src/shared/bridge';
import type { MethodName } from '../../src/shared/contract';
import type { ExplanationDto, ModelVersionDto, ReviewQueueItemDto, ReviewSessionDto, VerdictDto } from '../../src/shared/dto';

const PAIRS = Array.from({ length: 120 }, (_, i) => 101 + i);
const MODEL = {
  id: 1,
  name: 'demo',
  datasetId: 1,
  pairSetId: 1,
  weightsPath: 'models/1',
  metrics: { threshold: 0.5 },
} as unknown as ModelVersionDto;

interface Fake {
  reviewer: string | null;
  rows: VerdictDto[];
  session: Omit<ReviewSessionDto, 'next' | 'updatedAt' | 'reviewer'> | null;
  calls: { name: MethodName; args: Record<string, unknown> }[];
  /** verdict writes in the order main received them */
  received: Record<string, unknown>[];
  /** pairs whose explain.pair never answers */
  hang: Set<number>;
  failVerdicts: number;
  inFlight: Record<string, number>;
  maxInFlight: Record<string, number>;
  nextId: number;
}
let fake: Fake;

const current = (pairId: number) =>
  fake.rows.filter((r) => r.pairId === pairId && r.reviewer === fake.reviewer).sort((a, b) => b.id - a.id)[0] ?? null;

function item(pairId: number, position: number): ReviewQueueItemDto {
  const i = pairId - 101;
  return {
    pairId,
    position,
    split: 'test',
    label: (i % 2) as 0 | 1,
    a: { id: pairId * 2, classLabel: 'Shirt', sourcePath: `/x/${pairId * 2}`, width: 28, height: 28 },
    b: { id: pairId * 2 + 1, classLabel: 'Coat', sourcePath: `/x/${pairId * 2 + 1}`, width: 28, height: 28 },
    score: 0.5 + ((i % 7) - 3) / 10,
    decision: i % 3 === 0 ? 1 : 0,
    modelRight: (i % 3 === 0 ? 1 : 0) === i % 2,
    verdict: current(pairId),
    othersReviewed: 0,
  };
}

function queue(args: Record<string, unknown>) {
  const filters = (args.filters ?? {}) as Record<string, unknown>;
  const ids = PAIRS.filter((p) => (filters.unreviewed === 'me' ? !current(p) : true) && (filters.falsePositive ? p % 5 === 0 : true));
  const limit = (args.limit as number) ?? 50;
  const from = args.afterPairId !== undefined ? ids.indexOf(args.afterPairId as number) + 1 : ((args.offset as number) ?? 0);
  const page = ids.slice(from, from + limit);
  return {
    modelId: 1,
    pairSetId: 1,
    split: 'test',
    reviewer: fake.reviewer,
    filters,
    order: args.order ?? 'uncertainty',
    seed: 0,
    threshold: 0.5,
    items: page.map((p, i) => item(p, from + i)),
    total: ids.length,
    offset: from,
    nextAfterPairId: from + limit < ids.length ? page.at(-1)! : null,
    counts: {
      all: PAIRS.length,
      scored: PAIRS.length,
      unreviewedByMe: PAIRS.filter((p) => !current(p)).length,
      unreviewedByAnyone: PAIRS.filter((p) => !current(p)).length,
      falsePositive: 24,
      falseNegative: 3,
      nearThreshold: 9,
      heatmapNotSensible: 0,
      reviewersDisagree: 0,
      classes: [],
      tags: [],
    },
  };
}

function explanation(pairId: number, method: string, layer: string): ExplanationDto {
  const map = { noEvidence: false, scale: 1, peak: [1, 1] as [number, number], areaAbove50: 0.2 };
  return {
    pairId,
    modelId: 1,
    method: method as ExplanationDto['method'],
    layer,
    mapHeight: 7,
    mapWidth: 7,
    score: 0.6,
    counterfactualDefined: true,
    a: { imageId: pairId * 2, factual: map, counterfactual: map },
    b: { imageId: pairId * 2 + 1, factual: map, counterfactual: map },
    cached: true,
    explainMs: 1,
    createdAt: 't',
  };
}

function answer(name: MethodName, args: Record<string, unknown>): unknown {
  switch (name) {
    case 'review.reviewer':
      return { name: fake.reviewer, known: [] };
    case 'review.setReviewer':
      fake.reviewer = args.name as string;
      return { name: fake.reviewer, known: [] };
    case 'models.list':
      return [MODEL];
    case 'explain.layers':
      return {
        modelId: 1,
        layers: ['conv3', 'conv4'],
        default: 'conv4',
        inputShape: [28, 28, 1],
        defaultMethod: 'gradcam',
        defaultMethodFrom: 'none',
        methods: ['gradcam', 'layercam', 'rise'].map((id) => ({
          id,
          label: id,
          kind: 'gradient',
          counterfactualDefined: id !== 'rise',
          counterfactualHow: '',
          usesLayer: id !== 'rise',
        })),
      };
    case 'review.session': {
      const s = fake.session;
      if (!s) return null;
      const from = s.pairId === null ? 0 : PAIRS.indexOf(s.pairId);
      const next = PAIRS.slice(from).find((p) => !current(p)) ?? null;
      return { ...s, reviewer: fake.reviewer, updatedAt: '', next: next === null ? null : { pairId: next, position: PAIRS.indexOf(next) } };
    }
    case 'review.saveSession':
      fake.session = {
        modelId: 1,
        split: 'test',
        filters: (args.filters ?? {}) as ReviewSessionDto['filters'],
        order: (args.order ?? 'uncertainty') as ReviewSessionDto['order'],
        seed: 0,
        pairId: (args.pairId as number) ?? null,
        position: (args.position as number) ?? 0,
      };
      return { ...fake.session, reviewer: fake.reviewer, updatedAt: '', next: null };
    case 'review.queue':
      return queue(args);
    case 'review.tags':
      return [
        { tag: 'background', count: 0, builtin: true },
        { tag: 'decoy', count: 0, builtin: true },
      ];
    case 'review.stats':
      return { modelId: 1, reviewers: [], agreement: [] };
    case 'images.thumbnails':
      return Object.fromEntries((args.ids as number[]).map((id) => [id, `data:image/png;base64,${id}`]));
    case 'explain.pair':
      return explanation(args.pairId as number, args.method as string, (args.layer as string) ?? 'input');
    case 'explain.overlay':
      return { dataUrl: `data:image/png;base64,${args.pairId}${args.image}${args.kind}`, width: 28, height: 28, noEvidence: false };
    case 'explain.reliability':
      return { pairId: args.pairId, modelId: 1, method: args.method, layer: args.layer, baseline: 'road', steps: 16, a: null, b: null };
    case 'review.verdict': {
      fake.received.push(args);
      const before = current(args.pairId as number);
      const row: VerdictDto = {
        id: fake.nextId++,
        uid: `u${fake.nextId}`,
        pairId: args.pairId as number,
        modelId: 1,
        reviewer: fake.reviewer!,
        similarity: (args.similarity as VerdictDto['similarity']) ?? null,
        heatmapA: (args.heatmapA as VerdictDto['heatmapA']) ?? null,
        heatmapB: (args.heatmapB as VerdictDto['heatmapB']) ?? null,
        method: (args.method as VerdictDto['method']) ?? null,
        layer: (args.layer as string) ?? null,
        note: (args.note as string) ?? null,
        tags: (args.tags as string[]) ?? [],
        complete: !!(args.similarity && args.heatmapA && args.heatmapB),
        current: true,
        origin: 'local',
        createdAt: `2026-01-01T00:00:${String(fake.nextId).padStart(2, '0')}Z`,
      };
      fake.rows.push(row);
      return { verdict: row, changed: true, previous: before };
    }
    case 'review.undo': {
      const pairId = (args.pairId as number) ?? fake.rows.at(-1)?.pairId;
      const newest = pairId === undefined ? null : current(pairId);
      if (!newest) return { undone: null, current: null };
      fake.rows = fake.rows.filter((r) => r !== newest);
      return { undone: newest, current: current(pairId!) };
    }
    case 'review.history':
      return fake.rows.filter((r) => r.pairId === args.pairId).reverse();
    default:
      throw new Error(`unexpected call ${name}`);
  }
}

/** Answers after a delay that shrinks with each call: a later call often overtakes an earlier one. */
let tick = 0;
function transport(): Transport {
  const mine = fake;
  return {
    kind: 'http',
    call(name, rawArgs): Promise<Envelope> {
      // a store of an earlier test still finishing its work: never answered, never counted
      if (fake !== mine) return new Promise(() => {});
      const args = rawArgs as Record<string, unknown>;
      mine.calls.push({ name, args });
      mine.inFlight[name] = (mine.inFlight[name] ?? 0) + 1;
      mine.maxInFlight[name] = Math.max(mine.maxInFlight[name] ?? 0, mine.inFlight[name]);
      if (name === 'explain.pair' && mine.hang.has(args.pairId as number)) return new Promise(() => {});
      const delay = 8 - (tick++ % 8);
      return new Promise((resolve) =>
        setTimeout(() => {
          mine.inFlight[name]--;
          if (fake !== mine) return; // the test is over
          if (name === 'review.verdict' && fake.failVerdicts > 0) {
            fake.failVerdicts--;
            resolve({ ok: false, error: { code: 'failed', message: 'database is locked' } });
            return;
          }
          try {
            resolve({ ok: true, value: answer(name, args) as never });
          } catch (error) {
            resolve({ ok: false, error: { code: 'failed', message: (error as Error).message } });
          }
        }, delay),
      );
    },
    on: () => () => {},
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await sleep(5);
  }
  throw new Error(`timed out waiting for ${what}`);
}
const callsOf = (name: MethodName) => fake.calls.filter((c) => c.name === name);

/**
 * This test's Pinia, passed to every store hook: an action of an earlier test's store that is
 * still finishing (a prefetch answer, the dwell timer) makes its own Pinia the active one again,
 * and a hook called without one would then return that test's store (seen under load: the
 * failed-write test got the undo test's verdicts, whose write chain waited on a never-answered call).
 */
let pinia: Pinia;

beforeEach(() => {
  fake = {
    reviewer: 'Alice',
    rows: [],
    session: null,
    calls: [],
    received: [],
    hang: new Set(),
    failVerdicts: 0,
    inFlight: {},
    maxInFlight: {},
    nextId: 1,
  };
  setTransport(transport());
  pinia = createPinia();
  setActivePinia(pinia);
});

async function opened() {
  const review = useReviewStore(pinia);
  const maps = useReviewMapsStore(pinia);
  const verdicts = useReviewVerdictsStore(pinia);
  const q = useReviewQueueStore(pinia);
  await review.init();
  await until(() => q.current !== null && maps.explanation?.pairId === q.current.pairId, 'the first pair explained');
  return { review, maps, verdicts, q };
}

describe('review stores', () => {
  it('asks the reviewer once, then opens the newest version’s test pairs at the start', async () => {
    fake.reviewer = null;
    const review = useReviewStore(pinia);
    const reviewer = useReviewerStore(pinia);
    await review.init();
    expect(reviewer.asking).toBe(true);
    expect(callsOf('review.queue')).toHaveLength(0);
    expect(await reviewer.set('   ')).toBe(false);
    expect(reviewer.error).toMatch(/must not be empty/);
    expect(callsOf('review.setReviewer')).toHaveLength(0);
    expect(await review.setReviewer(' Alice ')).toBe(true);
    expect(callsOf('review.setReviewer')[0].args).toEqual({ name: 'Alice' });
    const q = useReviewQueueStore(pinia);
    await until(() => q.current !== null, 'the queue');
    expect(q.current?.pairId).toBe(101);
    expect(q.settings).toMatchObject({ modelId: 1, split: 'test', order: 'uncertainty', filters: {} });
  });

  it('resumes a stored session at the next pair without a verdict', async () => {
    fake.session = { modelId: 1, split: 'test', filters: {}, order: 'uncertainty', seed: 0, pairId: 140, position: 39 };
    answer('review.verdict', { pairId: 140, similarity: 'correct' }); // stored before the view opens
    fake.received = [];
    const { q } = await opened();
    expect(q.current?.pairId).toBe(141);
    // a few pairs before it are loaded, so "previous" needs no request
    expect(q.index).toBeGreaterThan(0);
  });

  it('writes each verdict key at once and in order, with the maps shown, and advances to a prefetched pair after a complete verdict', async () => {
    const { review, maps, verdicts, q } = await opened();
    await until(() => callsOf('explain.pair').length >= 1 + PREFETCH_AHEAD, 'the prefetch');
    await until(() => Object.values(fake.inFlight).every((n) => n === 0), 'quiet');
    // the pair shown first, alone; then the next ones, together
    expect(callsOf('explain.pair').map((c) => c.args.pairId)).toEqual([101, 102, 103, 104]);
    expect(fake.maxInFlight['explain.pair']).toBe(PREFETCH_AHEAD);
    const order = fake.calls.map((c) => `${c.name}:${c.args.pairId ?? ''}`);
    expect(order.indexOf('explain.pair:102')).toBeGreaterThan(order.lastIndexOf('explain.overlay:101'));
    const explained = callsOf('explain.pair').length;

    review.answer({ similarity: 'correct' });
    review.answer({ heatmapA: 'sensible' });
    review.answer({ heatmapB: 'unsure' });
    // moved on at once: not waiting for main
    expect(q.current?.pairId).toBe(102);
    expect(verdicts.of(1, 101).state).toBe('saving');
    await until(() => verdicts.of(1, 101).state === 'saved', 'saved');
    expect(fake.received).toEqual([
      { pairId: 101, modelId: 1, similarity: 'correct', tags: [] },
      { pairId: 101, modelId: 1, similarity: 'correct', heatmapA: 'sensible', method: 'gradcam', layer: 'conv4', tags: [] },
      {
        pairId: 101,
        modelId: 1,
        similarity: 'correct',
        heatmapA: 'sensible',
        heatmapB: 'unsure',
        method: 'gradcam',
        layer: 'conv4',
        tags: [],
      },
    ]);
    // the next pair came from the prefetch: no new explain.pair for it
    expect(maps.explanation?.pairId).toBe(102);
    expect(
      callsOf('explain.pair')
        .slice(explained)
        .map((c) => c.args.pairId),
    ).not.toContain(102);
    expect(maps.panel('a', 'factual')).toMatchObject({ state: 'ready' });
  });

  it('a correction of a complete verdict stays on the pair; undo takes back the last verdict and goes back to its pair', async () => {
    const { review, verdicts, q } = await opened();
    review.answer({ similarity: 'correct' });
    review.answer({ heatmapA: 'sensible' });
    review.answer({ heatmapB: 'sensible' });
    expect(q.current?.pairId).toBe(102);
    await until(() => verdicts.writing === 0, 'writes done');
    await review.prev();
    expect(q.current?.pairId).toBe(101);
    review.answer({ similarity: 'wrong' });
    expect(q.current?.pairId).toBe(101);
    await until(() => verdicts.writing === 0, 'writes done');
    expect(fake.rows.filter((r) => r.pairId === 101)).toHaveLength(4);

    await review.next();
    expect(q.current?.pairId).toBe(102);
    await review.undo();
    expect(q.current?.pairId).toBe(101);
    expect(verdicts.of(1, 101).answers).toMatchObject({ similarity: 'correct', heatmapA: 'sensible', heatmapB: 'sensible' });
    expect(callsOf('review.undo').at(-1)?.args).toEqual({ modelId: 1, pairId: 101 });
    expect(review.flash?.text).toMatch(/Undid your last verdict on pair #101/);
  });

  it('shows a failed write and resends the full state on retry', async () => {
    const { review, verdicts } = await opened();
    fake.failVerdicts = 1;
    review.answer({ similarity: 'wrong' });
    await until(() => verdicts.of(1, 101).state === 'error', 'the error');
    expect(verdicts.of(1, 101).error).toMatch(/database is locked/);
    expect(verdicts.of(1, 101).answers.similarity).toBe('wrong'); // nothing lost on screen
    review.retrySave();
    await until(() => verdicts.of(1, 101).state === 'saved', 'saved on retry');
    expect(fake.received.at(-1)).toMatchObject({ pairId: 101, similarity: 'wrong' });
  });

  it('refuses a heatmap answer before the maps are on screen, but takes the similarity', async () => {
    fake.hang.add(102);
    const { review, q } = await opened();
    await review.next();
    expect(q.current?.pairId).toBe(102);
    review.answer({ heatmapA: 'sensible' });
    expect(review.flash?.kind).toBe('warn');
    expect(review.flash?.text).toMatch(/not on screen yet/);
    review.answer({ similarity: 'correct' });
    await until(() => fake.received.length === 1, 'the similarity written');
    expect(fake.received[0]).toEqual({ pairId: 102, modelId: 1, similarity: 'correct', tags: [] });
  });

  it('skip passes the pairs that have a complete verdict; moving and filters are remembered as the session', async () => {
    for (const p of [102, 103]) answer('review.verdict', { pairId: p, similarity: 'correct', heatmapA: 'sensible', heatmapB: 'sensible' });
    const { review, q } = await opened();
    await review.skip();
    expect(q.current?.pairId).toBe(104);
    await until(() => fake.session?.pairId === 104, 'the session saved');
    await review.configure({ filters: { falsePositive: true, unreviewed: undefined } });
    expect(q.current?.pairId).toBe(105);
    await until(() => fake.session?.pairId === 105, 'the session saved');
    expect(fake.session?.filters).toEqual({ falsePositive: true });
  });
});
