// The review queue's filter "heatmap energy mostly outside the mask" (ReviewFiltersDto.maskOutside):
// a pair passes when an image of it has a mask (its newest, any author) and the stored factual map
// of that image for the version's default method puts more than half of its energy outside the
// mask: EPG, the share of the map's energy inside the mask, below 0.5, with the map upsampled to
// the mask's size exactly as the metrics job and the renderer's live agreement do
// (src/shared/mask-agreement.ts).
//
// The choice: measured on demand, with a cache. A factual map belongs to a pair (each image's map
// depends on the other image), so the share is per (version, method, pair, image), and it changes
// when either a mask or a map does. Rather than hooking every writer of masks and maps (saves,
// imports, bundles, batch jobs, single explanations), the queue measures before it counts: the
// pairs of the split with a masked image whose cache row (mask_energy, migration 0007) is missing
// or was measured on another map row, an older map or other masks are measured (decoding stored
// maps and masks: no tensor work), and the rest is read from the cache. When nothing changed that
// is one indexed query over the split. Pairs without a stored map of the default method are not
// measured (and do not pass): the filter reads what reviewers have been shown or a batch job has
// computed, it never computes maps.
//
// The map: the version's default method (explain.layers' defaultMethod: the faithfulness summary's
// most faithful method, Grad-CAM without one); of its stored rows of a pair, the one at the
// summary's layer (input-space methods: 'input'), else the most recently computed one.
import type { Split } from '../../shared/dto';
import { prepareMap, maskAgreement } from '../../shared/mask-agreement';
import { decodeCounts } from '../../shared/mask-rle';
import { decodeMap } from '../engine/explain';
import { storedMaskCounts } from '../images/mask';
import type { Db } from '../store/db';
import { FaithfulnessRepo } from '../store/faithfulness-repo';
import { MaskEnergyRepo, type EnergyRow, type StalePair } from '../store/mask-energy-repo';
import { MasksRepo } from '../store/masks-repo';
import { ModelsRepo } from '../store/models-repo';
import { INPUT_LAYER, INPUT_SPACE } from './explain';
import type { CamMethod } from '../engine/explain';

/** Below this share of the energy inside its mask, a map points mostly outside it. */
export const INSIDE_SHARE_THRESHOLD = 0.5;
/** Pairs measured between yields to the event loop (the UI process keeps answering). */
const CHUNK = 256;
const SPLITS: Split[] = ['train', 'val', 'test'];

interface DecodedMask {
  h: number;
  w: number;
  mask: Uint8Array;
}

export class MaskEnergyService {
  private readonly repo: MaskEnergyRepo;
  private readonly masks: MasksRepo;
  private readonly models: ModelsRepo;
  private readonly faithfulness: FaithfulnessRepo;
  /** refreshes under way, by version and split (a second caller waits for the first) */
  private readonly running = new Map<string, Promise<number>>();

  constructor(db: Db) {
    this.repo = new MaskEnergyRepo(db);
    this.masks = new MasksRepo(db);
    this.models = new ModelsRepo(db);
    this.faithfulness = new FaithfulnessRepo(db);
  }

  /** The method and preferred layer whose maps the filter reads for a version. */
  target(modelId: number): { method: CamMethod; layer: string | null } {
    const summary = this.faithfulness.get(modelId);
    const method = (summary?.defaultMethod ?? 'gradcam') as CamMethod;
    return { method, layer: INPUT_SPACE.has(method) ? INPUT_LAYER : (summary?.layer ?? null) };
  }

  /**
   * Measures what is missing or stale in the cache for a version's split (all splits when none is
   * given); returns how many pairs were measured. Unknown versions and versions without a pair set
   * are left to the review service's errors.
   */
  async refresh(modelId: number, split?: Split): Promise<number> {
    let total = 0;
    for (const s of split ? [split] : SPLITS) {
      const key = `${modelId}:${s}`;
      let run = this.running.get(key);
      if (!run) {
        run = this.refreshSplit(modelId, s).finally(() => this.running.delete(key));
        this.running.set(key, run);
      }
      total += await run;
    }
    return total;
  }

  private async refreshSplit(modelId: number, split: Split): Promise<number> {
    const version = this.models.get(modelId);
    if (!version || version.pair_set_id === null || !this.repo.anyMask()) return 0;
    const { method, layer } = this.target(modelId);
    const stale = this.repo.stale({ modelId, pairSetId: version.pair_set_id, split, method, layer });
    const masks = new Map<number, DecodedMask | null>();
    for (let i = 0; i < stale.length; i += CHUNK) {
      if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const rows: EnergyRow[] = [];
      for (const pair of stale.slice(i, i + CHUNK)) rows.push(await this.measure(modelId, method, pair, masks));
      this.repo.put(rows);
    }
    return stale.length;
  }

  private async mask(id: number | null, cache: Map<number, DecodedMask | null>): Promise<DecodedMask | null> {
    if (id === null) return null;
    if (!cache.has(id)) {
      const row = this.masks.get(id);
      let decoded: DecodedMask | null = null;
      if (row) {
        try {
          decoded = { h: row.height, w: row.width, mask: decodeCounts(await storedMaskCounts(row), row.height, row.width) };
        } catch {
          decoded = null; // a damaged mask (masks.get names it) is not measured
        }
      }
      cache.set(id, decoded);
    }
    return cache.get(id)!;
  }

  private async measure(modelId: number, method: string, pair: StalePair, cache: Map<number, DecodedMask | null>): Promise<EnergyRow> {
    const map = this.repo.mapRow(pair.explanation_id)!;
    const meta = map.meta === null ? {} : (JSON.parse(map.meta) as { noEvidence?: Record<'a' | 'b', { factual?: boolean }> });
    const inside = async (side: 'a' | 'b'): Promise<number | null> => {
      const mask = await this.mask(side === 'a' ? pair.mask_a : pair.mask_b, cache);
      const blob = side === 'a' ? map.a_factual : map.b_factual;
      if (!mask || !blob || meta.noEvidence?.[side]?.factual) return null;
      const grid = { data: decodeMap(blob, map.map_height, map.map_width), h: map.map_height, w: map.map_width };
      try {
        return maskAgreement(prepareMap(grid, mask.h, mask.w), mask.mask).epg;
      } catch {
        return null; // a map with negative or NaN values has no energy share
      }
    };
    const insideA = await inside('a');
    const insideB = await inside('b');
    const outside = [insideA, insideB].some((x) => x !== null && x < INSIDE_SHARE_THRESHOLD) ? 1 : 0;
    return {
      modelId,
      method,
      pairId: pair.pair_id,
      explanationId: pair.explanation_id,
      explanationAt: pair.explanation_at,
      maskA: pair.mask_a,
      maskB: pair.mask_b,
      insideA,
      insideB,
      outside,
    };
  }
}
