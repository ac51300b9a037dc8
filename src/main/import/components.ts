// Split assignment for CSV pairs that come without splits: the pair graph's connected
// components (union-find) are dealt to train/val/test, so no image can be in two
// splits and no pair crosses splits. Seeded; aims at the ratios by pair count.
import { SPLITS, type Split } from '../../shared/dto';
import { createRng, shuffleInPlace } from '../pairs/rng';

export class UnionFind {
  private readonly parent = new Map<number, number>();

  find(x: number): number {
    let root = this.parent.get(x) ?? x;
    if (!this.parent.has(x)) this.parent.set(x, x);
    while (root !== (this.parent.get(root) ?? root)) root = this.parent.get(root)!;
    // path compression
    let node = x;
    while (node !== root) {
      const next = this.parent.get(node)!;
      this.parent.set(node, root);
      node = next;
    }
    return root;
  }

  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(Math.max(ra, rb), Math.min(ra, rb));
  }
}

export interface ComponentSplit {
  imageSplits: Map<number, Split>;
  components: number;
  /** pairs per split */
  pairCounts: Record<Split, number>;
}

/**
 * Assigns every image of `pairs` to a split by connected component. Components are
 * visited in a seeded random order and each goes to the split furthest below its
 * target share of pairs. One giant component necessarily lands in one split.
 */
export function splitByComponents(pairs: { a: number; b: number }[], ratios: [number, number, number], seed: number): ComponentSplit {
  const uf = new UnionFind();
  for (const p of pairs) uf.union(p.a, p.b);
  const byRoot = new Map<number, { images: Set<number>; pairs: number }>();
  for (const p of pairs) {
    const root = uf.find(p.a);
    let c = byRoot.get(root);
    if (!c) byRoot.set(root, (c = { images: new Set(), pairs: 0 }));
    c.images.add(p.a).add(p.b);
    c.pairs++;
  }
  // Deterministic order before the seeded shuffle: by smallest root id.
  const comps = shuffleInPlace(
    [...byRoot.entries()].sort((x, y) => x[0] - y[0]).map(([, c]) => c),
    createRng(seed, 0x5eed),
  );
  const sum = ratios[0] + ratios[1] + ratios[2];
  const target = ratios.map((r) => r / sum);
  const counts: Record<Split, number> = { train: 0, val: 0, test: 0 };
  const imageSplits = new Map<number, Split>();
  let assigned = 0;
  for (const c of comps) {
    const after = assigned + c.pairs;
    let best = 0;
    let bestDeficit = -Infinity;
    SPLITS.forEach((s, i) => {
      if (target[i] === 0) return;
      const deficit = target[i] * after - counts[s];
      if (deficit > bestDeficit) {
        bestDeficit = deficit;
        best = i;
      }
    });
    const split = SPLITS[best];
    counts[split] += c.pairs;
    assigned = after;
    for (const id of c.images) imageSplits.set(id, split);
  }
  return { imageSplits, components: comps.length, pairCounts: counts };
}
