// Type-checked with the renderer (tsconfig.web.json). The explain store's pair cursor
// (stores/explain/pair-cursor.ts) against the real backend through the renderer's own HTTP
// transport (renderer-http.ts): a SimLensApp behind the real browser-mode server, whose pair set 7
// has sparse pair ids (a few near the start, a gap of 500,000, then 3,000 more). Next and previous
// under the filters the pair was opened with, each one pairs.page call (afterId / beforeId,
// limit 1), however far back the previous pair lies; the ends; go to an id; one move at a time.
import { createPinia, setActivePinia } from 'pinia';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { reactive } from 'vue';
import { setTransport } from '../../src/renderer/src/api';
import { useAppStore } from '../../src/renderer/src/stores/app';
import { usePairCursor, type PairContext } from '../../src/renderer/src/stores/explain/pair-cursor';
import type { PairDto, PairPageDto } from '../../src/shared/dto';
import { realTransport, startBackend, type Backend, type RecordingTransport } from './renderer-http';

// Sparse ids. Splits: train/val/test by id % 3; labels: same (1) for odd ids.
const IDS = [3, 5, 8, 13, 21, ...Array.from({ length: 3000 }, (_, i) => 500_000 + i * 7)];
let backend: Backend;
let transport: RecordingTransport;

beforeAll(async () => {
  backend = await startBackend({ pairIds: IDS });
}, 60_000);
afterAll(async () => {
  await backend?.close();
});

/** The stored pair with this id, as the server gives it. */
async function pairAt(id: number): Promise<PairDto> {
  const page = await transport.direct<PairPageDto>('pairs.page', { datasetId: 1, pairSetId: 7, afterId: id - 1, limit: 1 });
  expect(page.rows[0]?.id).toBe(id);
  return page.rows[0];
}
/** Pair ids of set 7 in id order, under the filters (from the workspace's database). */
const idsWhere = (where = '') =>
  (backend.all(`SELECT id FROM pairs WHERE pair_set_id = 7 ${where} ORDER BY id`) as { id: number }[]).map((r) => r.id);

let arrived: number[];
/** A cursor (its refs unwrapped, as the store exposes them) that records where it arrived. */
const newCursor = () => reactive(usePairCursor((p) => arrived.push(p.id)));
async function cursorAt(id: number, ctx: PairContext) {
  const cursor = newCursor();
  cursor.open(await pairAt(id), ctx);
  return cursor;
}
const pageCalls = () => transport.calls.filter((c) => c.name === 'pairs.page').map((c) => c.args);
const all: PairContext = { datasetId: 1, pairSetId: 7, split: null, label: null };

beforeEach(() => {
  arrived = [];
  transport = realTransport(backend);
  setTransport(transport);
  setActivePinia(createPinia());
});
afterEach(() => transport.close());

describe('usePairCursor', () => {
  it('moves to the previous pair with one call for the page of one before it, however far back it lies', async () => {
    // the previous pair is 500,000 ids back
    const cursor = await cursorAt(500_000, all);
    await cursor.step(-1);
    expect(cursor.pair?.id).toBe(21);
    expect(pageCalls()).toEqual([{ datasetId: 1, pairSetId: 7, beforeId: 500_000, limit: 1 }]);
    expect(arrived).toEqual([21]);
    expect(cursor.atStart).toBe(false);
    expect(cursor.moving).toBe(false);
  });

  it('moves to the next pair with one call for the page of one after it', async () => {
    const cursor = await cursorAt(21, all);
    await cursor.step(1);
    expect(cursor.pair?.id).toBe(500_000);
    expect(pageCalls()).toEqual([{ datasetId: 1, pairSetId: 7, afterId: 21, limit: 1 }]);
    expect(arrived).toEqual([500_000]);
  });

  it('keeps to the filters the pair was opened with, both ways', async () => {
    const testSame = idsWhere("AND split = 'test' AND label = 1");
    expect(testSame.length).toBeGreaterThan(10);
    const ctx: PairContext = { datasetId: 1, pairSetId: null, split: 'test', label: 1 };
    const cursor = await cursorAt(testSame[10], ctx);
    for (let i = 9; i >= 5; i--) {
      await cursor.step(-1);
      expect(cursor.pair?.id).toBe(testSame[i]);
    }
    await cursor.step(1);
    expect(cursor.pair?.id).toBe(testSame[6]);
    expect(pageCalls()).toHaveLength(6);
    expect(pageCalls()[0]).toEqual({ datasetId: 1, split: 'test', label: 1, beforeId: testSame[10], limit: 1 });
    expect(pageCalls().at(-1)).toEqual({ datasetId: 1, split: 'test', label: 1, afterId: testSame[5], limit: 1 });
  });

  it('says when there is nothing before or after, and stays on the pair', async () => {
    const cursor = await cursorAt(3, all);
    await cursor.step(-1);
    expect(cursor.pair?.id).toBe(3);
    expect(cursor.atStart).toBe(true);
    expect(arrived).toEqual([]);
    await cursor.goTo(IDS.at(-1)!);
    expect(cursor.pair?.id).toBe(IDS.at(-1));
    await cursor.step(1);
    expect(cursor.pair?.id).toBe(IDS.at(-1));
    expect(cursor.atEnd).toBe(true);
    // opening another pair forgets the ends
    cursor.open(await pairAt(8), all);
    expect([cursor.atStart, cursor.atEnd]).toEqual([false, false]);
  });

  it('goes to the first pair at or after an id, and to the first pair of a context', async () => {
    const cursor = await cursorAt(3, all);
    await cursor.goTo(100);
    expect(cursor.pair?.id).toBe(500_000);
    expect(pageCalls().at(-1)).toEqual({ datasetId: 1, pairSetId: 7, afterId: 99, limit: 1 });
    await cursor.first({ datasetId: 1, pairSetId: 7, split: 'val', label: null });
    expect(cursor.pair).toEqual(await pairAt(idsWhere("AND split = 'val'")[0]));
    expect(cursor.context?.split).toBe('val');
  });

  it('makes one move at a time, does nothing without a context, and turns a failed call into a notice', async () => {
    const idle = newCursor();
    await idle.step(1);
    expect(transport.calls).toEqual([]);

    const cursor = await cursorAt(13, all);
    const a = cursor.step(-1);
    const b = cursor.step(-1);
    await Promise.all([a, b]);
    expect(pageCalls()).toHaveLength(1);
    expect(cursor.pair?.id).toBe(8);

    transport.failNext('database is locked'); // the transport answers one failure
    await cursor.step(-1);
    expect(cursor.pair?.id).toBe(8);
    expect(cursor.moving).toBe(false);
    expect(useAppStore().notices.map((n) => n.text)).toEqual(['database is locked']);
  });
});
