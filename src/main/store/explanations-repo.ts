// All SQL for explanations: per (pair, model version, method, layer) the four maps
// (image a/b x factual/counterfactual) as little-endian float32 blobs of
// [map_height, map_width] (before upsampling), the pair's score and a JSON meta
// (no-evidence flags, scales, whether the method defines a counterfactual, timings), parsed
// here: rows come out with their meta as an object.
// Plus the reads explanation jobs need: a pair with its two images, the newest mask of
// an image.
import type { ScoreCamChannelsDto, Split } from '../../shared/dto';
import type { Db } from './db';

export interface ExplanationRow {
  id: number;
  pair_id: number;
  model_id: number;
  method: string;
  layer: string;
  map_height: number;
  map_width: number;
  a_factual: Buffer | null;
  a_counterfactual: Buffer | null;
  b_factual: Buffer | null;
  b_counterfactual: Buffer | null;
  score: number | null;
  /** parsed; older rows may lack fields, a row without meta has none ({}) */
  meta: Partial<ExplanationMeta>;
  created_at: string;
}

/** The row as stored: meta as JSON text. */
type StoredRow = Omit<ExplanationRow, 'meta'> & { meta: string | null };

const parsed = (r: StoredRow): ExplanationRow => ({ ...r, meta: r.meta === null ? {} : (JSON.parse(r.meta) as Partial<ExplanationMeta>) });

/** What `meta` holds (JSON). */
export interface ExplanationMeta {
  counterfactualDefined: boolean;
  /** per image: the ReLU'd map is all zero (nothing supports that direction) */
  noEvidence: { a: { factual: boolean; counterfactual: boolean | null }; b: { factual: boolean; counterfactual: boolean | null } };
  /** per image: max of the ReLU'd map before normalisation */
  scale: { a: { factual: number; counterfactual: number | null }; b: { factual: number; counterfactual: number | null } };
  /** wall time of the computation (ms; for a batch: the chunk's time / its pairs) and where it ran */
  timings: { explainMs: number; backend?: string | null; batched?: number };
  /** the model's input shape the maps were computed at */
  inputShape?: [number, number, number];
  /** Score-CAM: the channels masked per image (and the cap they were computed under) */
  channels?: ScoreCamChannelsDto;
}

export interface NewExplanation {
  pairId: number;
  modelId: number;
  method: string;
  layer: string;
  mapHeight: number;
  mapWidth: number;
  aFactual: Buffer;
  aCounterfactual: Buffer | null;
  bFactual: Buffer;
  bCounterfactual: Buffer | null;
  score: number;
  meta: ExplanationMeta;
}

/** An image with its stored pixels. */
export interface ImageWithPixels {
  id: number;
  width: number;
  height: number;
  channels: number;
  pixel_encoding: 'raw' | 'png';
  pixels: Buffer;
}

export interface PairWithImages {
  id: number;
  pairSetId: number;
  split: Split;
  label: 0 | 1;
  a: ImageWithPixels;
  b: ImageWithPixels;
}

export interface MaskRow {
  id: number;
  image_id: number;
  author: string;
  encoding: 'rle' | 'png';
  width: number;
  height: number;
  data: Buffer;
}

export class ExplanationsRepo {
  private readonly upsertStmt;
  private readonly getStmt;

  constructor(private readonly db: Db) {
    this.upsertStmt = db.prepare(
      `INSERT INTO explanations (pair_id, model_id, method, layer, map_height, map_width, a_factual, a_counterfactual, b_factual, b_counterfactual, score, meta)
       VALUES (@pairId, @modelId, @method, @layer, @mapHeight, @mapWidth, @aFactual, @aCounterfactual, @bFactual, @bCounterfactual, @score, @meta)
       ON CONFLICT (pair_id, model_id, method, layer) DO UPDATE SET
         map_height = excluded.map_height, map_width = excluded.map_width,
         a_factual = excluded.a_factual, a_counterfactual = excluded.a_counterfactual,
         b_factual = excluded.b_factual, b_counterfactual = excluded.b_counterfactual,
         score = excluded.score, meta = excluded.meta,
         created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
       RETURNING id`,
    );
    this.getStmt = db.prepare('SELECT * FROM explanations WHERE pair_id = ? AND model_id = ? AND method = ? AND layer = ?');
  }

  /** Inserts or replaces the explanation of (pair, model, method, layer); returns its id. */
  upsert(e: NewExplanation): number {
    const row = this.upsertStmt.get({ ...e, meta: JSON.stringify(e.meta) }) as { id: number };
    return row.id;
  }

  /** Upserts many in one transaction (all or nothing). */
  upsertMany(rows: NewExplanation[]): number[] {
    return this.db.transaction(() => rows.map((r) => this.upsert(r)))();
  }

  get(pairId: number, modelId: number, method: string, layer: string): ExplanationRow | undefined {
    const row = this.getStmt.get(pairId, modelId, method, layer) as StoredRow | undefined;
    return row && parsed(row);
  }

  /** The pair ids among `pairIds` that already have an explanation of (model, method, layer). */
  existing(modelId: number, method: string, layer: string, pairIds: number[]): Set<number> {
    const stmt = this.db.prepare('SELECT 1 FROM explanations WHERE pair_id = ? AND model_id = ? AND method = ? AND layer = ?');
    return new Set(pairIds.filter((id) => stmt.get(id, modelId, method, layer) !== undefined));
  }

  count(modelId: number, method?: string, layer?: string): number {
    const clauses = ['model_id = ?'];
    const params: (string | number)[] = [modelId];
    if (method !== undefined) {
      clauses.push('method = ?');
      params.push(method);
    }
    if (layer !== undefined) {
      clauses.push('layer = ?');
      params.push(layer);
    }
    return (this.db.prepare(`SELECT count(*) AS n FROM explanations WHERE ${clauses.join(' AND ')}`).get(...params) as { n: number }).n;
  }

  listForModel(modelId: number, method: string, layer: string): ExplanationRow[] {
    const rows = this.db
      .prepare('SELECT * FROM explanations WHERE model_id = ? AND method = ? AND layer = ? ORDER BY pair_id')
      .all(modelId, method, layer) as StoredRow[];
    return rows.map(parsed);
  }

  // ---- reads for explanation jobs ----

  /** A pair with both images' pixels, or undefined. */
  pairWithImages(pairId: number): PairWithImages | undefined {
    const p = this.db.prepare('SELECT id, pair_set_id, split, label, image_a, image_b FROM pairs WHERE id = ?').get(pairId) as
      { id: number; pair_set_id: number; split: Split; label: 0 | 1; image_a: number; image_b: number } | undefined;
    if (!p) return undefined;
    const a = this.image(p.image_a);
    const b = this.image(p.image_b);
    if (!a || !b) return undefined;
    return { id: p.id, pairSetId: p.pair_set_id, split: p.split, label: p.label, a, b };
  }

  image(id: number): ImageWithPixels | undefined {
    return this.db.prepare('SELECT id, width, height, channels, pixel_encoding, pixels FROM images WHERE id = ?').get(id) as
      ImageWithPixels | undefined;
  }

  /** Pairs by id (those that exist), in the given order: id, images, label, split, pair set. */
  pairsByIds(ids: number[]): { id: number; pair_set_id: number; image_a: number; image_b: number; label: 0 | 1; split: Split }[] {
    const stmt = this.db.prepare('SELECT id, pair_set_id, image_a, image_b, label, split FROM pairs WHERE id = ?');
    const out: { id: number; pair_set_id: number; image_a: number; image_b: number; label: 0 | 1; split: Split }[] = [];
    for (const id of ids) {
      const row = stmt.get(id) as (typeof out)[number] | undefined;
      if (row) out.push(row);
    }
    return out;
  }

  /** The newest mask of each image that has one (any author; newest row wins: by time, then id, as store/masks-repo.ts). */
  newestMasks(imageIds: number[]): Map<number, MaskRow> {
    const stmt = this.db.prepare(
      'SELECT id, image_id, author, encoding, width, height, data FROM masks WHERE image_id = ? ORDER BY created_at DESC, id DESC LIMIT 1',
    );
    const out = new Map<number, MaskRow>();
    for (const id of new Set(imageIds)) {
      const row = stmt.get(id) as MaskRow | undefined;
      if (row) out.set(id, row);
    }
    return out;
  }
}
