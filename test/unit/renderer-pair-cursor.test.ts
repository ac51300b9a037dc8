// Type-checked with the renderer (tsconfig.web.json). The explain store's pair cursor
// (stores/explain/pair-cursor.ts): next and previous under the filters the pair was opened
// with, each one pairs.page call (afterId / beforeId, limit 1), however far back the
// previous pair lies; the ends; go to an id; one move at a time.
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { reactive } from 'vue';
import { setTransport, type Transport } from '../../src/renderer/src/api';
import { useAppStore } from '../../src/renderer/src/stores/app';
import { usePairCursor, type PairContext } from '../../src/renderer/src/stores/explain/pair-cursor';
import type { Envelope } from '../../src/shared/bridge';
import type { Events, MethodName } from '../../src/shared/contract';
import type { ImageDto, PairDto, Split } from '../../src/shared/dto';

const image = (id: number): ImageDto => ({
  id,
  datasetId: 1,
  sha256: String(id),
  sourcePath: `/x/${id}.png`,
  classLabel: 'c',
  width: 28,
  height: 28,
  channels: 1,
});
// Sparse ids: a few near the start, a long gap, then many. Test pairs are every third id, same pairs every other.
const IDS = [3, 5, 8, 13, 21, ...Array.from({ length: 3000 }, (_, i) => 500_000 + i * 7)];
const SPLITS: Split[] = ['train', 'val', 'test'];
const pairAt = (id: number): PairDto => ({
  id,
  pairSetId: 7,
  split: SPLITS[id % 3],
  label: (id % 2) as 0 | 1,
  a: image(id * 2),
  b: image(id * 2 + 1),
});
const PAIRS = IDS.map(pairAt);

let calls: { name: MethodName; args: Record<string, unknown> }[];
let failNext: boolean;

function transport(): Transport {
  return {
    kind: 'http',
    async call(name, rawArgs): Promise<Envelope> {
      const args = rawArgs as Record<string, unknown>;
      calls.push({ name, args });
      if (name !== 'pairs.page') return { ok: false, error: { code: 'unknown_method', message: name } };
      if (failNext) {
        failNext = false;
        return { ok: false, error: { code: 'failed', message: 'database is locked' } };
      }
      const limit = args.limit as number;
      const match = PAIRS.filter(
        (p) => (args.split === undefined || p.split === args.split) && (args.label === undefined || p.label === args.label),
      );
      if (args.beforeId !== undefined) {
        const before = match.filter((p) => p.id < (args.beforeId as number));
        const rows = before.slice(-limit);
        return {
          ok: true,
          value: { rows, total: match.length, nextAfterId: null, prevBeforeId: rows.length < before.length ? rows[0].id : null },
        };
      }
      const after = match.filter((p) => p.id > ((args.afterId as number | undefined) ?? 0));
      const rows = after.slice(0, limit);
      return { ok: true, value: { rows, total: match.length, nextAfterId: rows.length < after.length ? rows.at(-1)!.id : null } };
    },
    on:
      <E extends keyof Events>(_event: E, _listener: (payload: Events[E]) => void) =>
      () => {},
  };
}

let arrived: number[];
/** A cursor (its refs unwrapped, as the store exposes them) that records where it arrived. */
const newCursor = () => reactive(usePairCursor((p) => arrived.push(p.id)));
function cursorAt(id: number, ctx: PairContext) {
  const cursor = newCursor();
  cursor.open(pairAt(id), ctx);
  return cursor;
}
const pageCalls = () => calls.filter((c) => c.name === 'pairs.page').map((c) => c.args);
const all: PairContext = { datasetId: 1, pairSetId: 7, split: null, label: null };

beforeEach(() => {
  calls = [];
  arrived = [];
  failNext = false;
  setTransport(transport());
  setActivePinia(createPinia());
});

describe('usePairCursor', () => {
  it('moves to the previous pair with one call for the page of one before it, however far back it lies', async () => {
    // the previous pair is 500,000 ids back
    const cursor = cursorAt(500_000, all);
    await cursor.step(-1);
    expect(cursor.pair?.id).toBe(21);
    expect(pageCalls()).toEqual([{ datasetId: 1, pairSetId: 7, beforeId: 500_000, limit: 1 }]);
    expect(arrived).toEqual([21]);
    expect(cursor.atStart).toBe(false);
    expect(cursor.moving).toBe(false);
  });

  it('moves to the next pair with one call for the page of one after it', async () => {
    const cursor = cursorAt(21, all);
    await cursor.step(1);
    expect(cursor.pair?.id).toBe(500_000);
    expect(pageCalls()).toEqual([{ datasetId: 1, pairSetId: 7, afterId: 21, limit: 1 }]);
    expect(arrived).toEqual([500_000]);
  });

  it('keeps to the filters the pair was opened with, both ways', async () => {
    const testSame = PAIRS.filter((p) => p.split === 'test' && p.label === 1).map((p) => p.id);
    const ctx: PairContext = { datasetId: 1, pairSetId: null, split: 'test', label: 1 };
    const cursor = cursorAt(testSame[10], ctx);
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
    const cursor = cursorAt(3, all);
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
    cursor.open(pairAt(8), all);
    expect([cursor.atStart, cursor.atEnd]).toEqual([false, false]);
  });

  it('goes to the first pair at or after an id, and to the first pair of a context', async () => {
    const cursor = cursorAt(3, all);
    await cursor.goTo(100);
    expect(cursor.pair?.id).toBe(500_000);
    expect(pageCalls().at(-1)).toEqual({ datasetId: 1, pairSetId: 7, afterId: 99, limit: 1 });
    await cursor.first({ datasetId: 1, pairSetId: 7, split: 'val', label: null });
    expect(cursor.pair).toEqual(PAIRS.find((p) => p.split === 'val'));
    expect(cursor.context?.split).toBe('val');
  });

  it('makes one move at a time, does nothing without a context, and turns a failed call into a notice', async () => {
    const idle = newCursor();
    await idle.step(1);
    expect(calls).toEqual([]);

    const cursor = cursorAt(13, all);
    const a = cursor.step(-1);
    const b = cursor.step(-1);
    await Promise.all([a, b]);
    expect(pageCalls()).toHaveLength(1);
    expect(cursor.pair?.id).toBe(8);

    failNext = true;
    await cursor.step(-1);
    expect(cursor.pair?.id).toBe(8);
    expect(cursor.moving).toBe(false);
    expect(useAppStore().notices.map((n) => n.text)).toEqual(['database is locked']);
  });
});
