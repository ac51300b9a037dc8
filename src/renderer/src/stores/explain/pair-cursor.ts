// Part of the explain store (runs inside its setup): the pair shown and where prev/next
// move, under the filters the pair was opened with. Each move is one indexed pairs.page
// call: the page of one after the pair (afterId) or before it (beforeId).
import { ref } from 'vue';
import type { PairDto, Split } from '../../../../shared/dto';
import { useApi } from '../../api';
import { useAppStore } from '../app';

/** Where prev/next pair move: the pair set and the filters the pair was opened with. */
export interface PairContext {
  datasetId: number;
  pairSetId: number | null;
  split: Split | null;
  label: 0 | 1 | null;
}

/** `onArrive` runs when a move found a pair (it is `pair` by then). */
export function usePairCursor(onArrive: (pair: PairDto) => void) {
  const api = useApi();
  const app = useAppStore();

  const context = ref<PairContext | null>(null);
  const pair = ref<PairDto | null>(null);
  const moving = ref(false);
  /** the last move forward (backward) found nothing */
  const atEnd = ref(false);
  const atStart = ref(false);

  /** Shows this pair; prev/next follow `ctx`. */
  function open(p: PairDto, ctx: PairContext): void {
    context.value = ctx;
    pair.value = p;
    atEnd.value = false;
    atStart.value = false;
  }

  /** Moves to the first pair under `ctx`. */
  async function first(ctx: PairContext): Promise<void> {
    pair.value = null;
    context.value = ctx;
    await step(1, 0);
  }

  function filterArgs(ctx: PairContext) {
    return {
      datasetId: ctx.datasetId,
      ...(ctx.pairSetId !== null ? { pairSetId: ctx.pairSetId } : {}),
      ...(ctx.split ? { split: ctx.split } : {}),
      ...(ctx.label !== null ? { label: ctx.label } : {}),
    };
  }

  /** The pair next to id `current` under the filters, in the direction of `delta` (null: none). */
  async function neighbour(ctx: PairContext, current: number, delta: 1 | -1): Promise<PairDto | null> {
    if (delta === -1 && current <= 1) return null; // no pair id is below 1
    const cursor = delta === 1 ? { afterId: current } : { beforeId: current };
    const page = await api['pairs.page']({ ...filterArgs(ctx), ...cursor, limit: 1 });
    return page.rows[0] ?? null;
  }

  /** Moves to the next (+1) or previous (-1) pair under the context's filters; `from` overrides the current id. */
  async function step(delta: 1 | -1, from?: number): Promise<void> {
    if (!context.value || moving.value) return;
    const current = from ?? pair.value?.id ?? 0;
    moving.value = true;
    try {
      const found = await neighbour(context.value, current, delta);
      if (delta === 1) atEnd.value = !found;
      else atStart.value = !found;
      if (found) {
        pair.value = found;
        onArrive(found);
      }
    } catch (error) {
      app.notify(error);
    } finally {
      moving.value = false;
    }
  }

  /** Jumps to a pair by id (the first pair with an id >= it under the filters). */
  async function goTo(id: number): Promise<void> {
    await step(1, Math.max(0, id - 1));
  }

  return { context, pair, moving, atEnd, atStart, open, first, step, goTo };
}
