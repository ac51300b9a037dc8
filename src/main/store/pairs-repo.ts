import type { ImageDto, PairDto, PairSetDto, Split } from '../../shared/dto';
import type { Db } from './db';

/** What pair generation needs to know of an image (never its pixels). */
export interface PairingImage {
  id: number;
  classLabel: string | null;
  officialSplit: 'train' | 'test' | null;
}

/** Which way a keyset page walks from its cursor: to higher ids or to lower ones. */
export type PageDirection = 'forward' | 'backward';

export interface PairFilter {
  pairSetId: number;
  split?: Split;
  label?: 0 | 1;
}

interface PairSetRow {
  id: number;
  dataset_id: number;
  source: 'generated' | 'csv';
  seed: number | null;
  ratios: string | null;
  pairs_per_anchor: number | null;
  created_at: string;
}

/** A page row: the pair's columns, then a_* and b_* columns for both images (see imageColumns). */
type PairPageRow = { id: number; pair_set_id: number; split: Split; label: 0 | 1 } & Record<string, unknown>;

const imageColumns = (alias: string) =>
  ['id', 'dataset_id', 'sha256', 'source_path', 'class_label', 'width', 'height', 'channels']
    .map((c) => `${alias}.${c} AS ${alias}_${c}`)
    .join(', ');

function imageFrom(r: PairPageRow, side: 'a' | 'b'): ImageDto {
  return {
    id: r[`${side}_id`] as number,
    datasetId: r[`${side}_dataset_id`] as number,
    sha256: r[`${side}_sha256`] as string,
    sourcePath: r[`${side}_source_path`] as string,
    classLabel: r[`${side}_class_label`] as string | null,
    width: r[`${side}_width`] as number,
    height: r[`${side}_height`] as number,
    channels: r[`${side}_channels`] as number,
  };
}

/** WHERE clause and parameters for a pair filter; the column order matches the pairs_by_set* indexes. */
function filterSql(filter: PairFilter): { where: string; params: (string | number)[] } {
  const clauses = ['p.pair_set_id = ?'];
  const params: (string | number)[] = [filter.pairSetId];
  if (filter.split !== undefined) {
    clauses.push('p.split = ?');
    params.push(filter.split);
  }
  if (filter.label !== undefined) {
    clauses.push('p.label = ?');
    params.push(filter.label);
  }
  return { where: clauses.join(' AND '), params };
}

export interface NewPairSet {
  datasetId: number;
  source: 'generated' | 'csv';
  seed: number | null;
  ratios: [number, number, number] | null;
  pairsPerAnchor: number | null;
}

export interface NewPair {
  imageA: number;
  imageB: number;
  /** 1 = same, 0 = different */
  label: 0 | 1;
  split: Split;
}

/** All SQL for pair_sets, image_splits and pairs. */
export class PairsRepo {
  constructor(private readonly db: Db) {}

  /**
   * Writes a whole pair set (the image split and its pairs) in one transaction, so a
   * crash or an error leaves either the complete set or nothing. Returns its id.
   */
  insertPairSet(set: NewPairSet, imageSplits: Map<number, Split>, pairs: NewPair[]): number {
    const insertSet = this.db.prepare('INSERT INTO pair_sets (dataset_id, source, seed, ratios, pairs_per_anchor) VALUES (?, ?, ?, ?, ?)');
    const insertSplit = this.db.prepare('INSERT INTO image_splits (pair_set_id, image_id, split) VALUES (?, ?, ?)');
    const insertPair = this.db.prepare('INSERT INTO pairs (pair_set_id, image_a, image_b, label, split) VALUES (?, ?, ?, ?, ?)');
    return this.db.transaction(() => {
      const id = Number(
        insertSet.run(set.datasetId, set.source, set.seed, set.ratios ? JSON.stringify(set.ratios) : null, set.pairsPerAnchor)
          .lastInsertRowid,
      );
      for (const [imageId, split] of imageSplits) insertSplit.run(id, imageId, split);
      for (const p of pairs) insertPair.run(id, p.imageA, p.imageB, p.label, p.split);
      return id;
    })();
  }
  /** The dataset's flag for an official test split, or undefined when the dataset does not exist. */
  datasetForPairing(datasetId: number): { id: number; name: string; hasOfficialTest: boolean } | undefined {
    const row = this.db.prepare('SELECT id, name, has_official_test FROM datasets WHERE id = ?').get(datasetId) as
      { id: number; name: string; has_official_test: number } | undefined;
    return row && { id: row.id, name: row.name, hasOfficialTest: row.has_official_test === 1 };
  }

  /** All images of a dataset, by id, with only what splitting needs. */
  imagesForPairing(datasetId: number): PairingImage[] {
    return this.db
      .prepare('SELECT id, class_label AS classLabel, official_split AS officialSplit FROM images WHERE dataset_id = ? ORDER BY id')
      .all(datasetId) as PairingImage[];
  }

  /** The dataset's newest pair set (highest id), if any. */
  latestPairSetId(datasetId: number): number | undefined {
    const row = this.db.prepare('SELECT max(id) AS id FROM pair_sets WHERE dataset_id = ?').get(datasetId) as { id: number | null };
    return row.id ?? undefined;
  }

  pairSetDatasetId(pairSetId: number): number | undefined {
    const row = this.db.prepare('SELECT dataset_id FROM pair_sets WHERE id = ?').get(pairSetId) as { dataset_id: number } | undefined;
    return row?.dataset_id;
  }

  /** Pair sets of a dataset, newest first, each with its pair counts per split and label. */
  listPairSets(datasetId: number): PairSetDto[] {
    const sets = this.db.prepare('SELECT * FROM pair_sets WHERE dataset_id = ? ORDER BY id DESC').all(datasetId) as PairSetRow[];
    const countsStmt = this.db.prepare(
      'SELECT split, label, count(*) AS count FROM pairs WHERE pair_set_id = ? GROUP BY split, label ORDER BY split, label',
    );
    return sets.map((r) => {
      const counts = countsStmt.all(r.id) as { split: Split; label: 0 | 1; count: number }[];
      return {
        id: r.id,
        datasetId: r.dataset_id,
        source: r.source,
        seed: r.seed,
        ratios: r.ratios === null ? null : (JSON.parse(r.ratios) as [number, number, number]),
        pairsPerAnchor: r.pairs_per_anchor,
        createdAt: r.created_at,
        pairCount: counts.reduce((n, c) => n + c.count, 0),
        counts,
      };
    });
  }

  /** Image split of a pair set: image id → split (e.g. to redraw train pairs each epoch with drawPairs). */
  imageSplits(pairSetId: number): Map<number, Split> {
    const rows = this.db.prepare('SELECT image_id, split FROM image_splits WHERE pair_set_id = ?').all(pairSetId) as {
      image_id: number;
      split: Split;
    }[];
    return new Map(rows.map((r) => [r.image_id, r.split]));
  }

  /**
   * SQL of one page (static for the query-plan test). The index is named: for the
   * newest set SQLite would otherwise often pick a rowid range scan over the whole
   * table's tail, which reads every later set's rows when a filter matches little.
   * Each index ends (implicitly) with the rowid, so `id > ?` (forward) or `id < ?`
   * (backward) is a range inside it, read in id order (backward: from its far end)
   * without a sort.
   */
  static pageSql(filter: PairFilter, direction: PageDirection = 'forward'): { sql: string; params: (string | number)[] } {
    const { where, params } = filterSql(filter);
    const index =
      filter.split !== undefined
        ? filter.label !== undefined
          ? 'pairs_by_set_split_label'
          : 'pairs_by_set_split'
        : filter.label !== undefined
          ? 'pairs_by_set_label'
          : 'pairs_by_set';
    const [cursor, order] = direction === 'forward' ? ['>', 'ASC'] : ['<', 'DESC'];
    return {
      sql: `SELECT p.id, p.pair_set_id, p.split, p.label, ${imageColumns('a')}, ${imageColumns('b')}
              FROM pairs p INDEXED BY ${index}
              JOIN images a ON a.id = p.image_a
              JOIN images b ON b.id = p.image_b
             WHERE ${where} AND p.id ${cursor} ?
             ORDER BY p.id ${order}
             LIMIT ?`,
      params,
    };
  }

  /** Keyset page: up to `limit` pairs with id > afterId, in id order; `more` says whether others follow. */
  page(filter: PairFilter, afterId: number, limit: number): { rows: PairDto[]; more: boolean } {
    return this.readPage(filter, 'forward', afterId, limit);
  }

  /** Keyset page backwards: the last `limit` pairs with id < beforeId, in id order; `more` says whether others precede. */
  pageBefore(filter: PairFilter, beforeId: number, limit: number): { rows: PairDto[]; more: boolean } {
    const { rows, more } = this.readPage(filter, 'backward', beforeId, limit);
    return { rows: rows.reverse(), more };
  }

  /** Up to `limit` pairs from the cursor on in the walk's direction (one more is read to tell whether others follow). */
  private readPage(filter: PairFilter, direction: PageDirection, cursor: number, limit: number): { rows: PairDto[]; more: boolean } {
    const { sql, params } = PairsRepo.pageSql(filter, direction);
    const raw = this.db.prepare(sql).all(...params, cursor, limit + 1) as PairPageRow[];
    const more = raw.length > limit;
    const rows = raw.slice(0, limit).map((r) => ({
      id: r.id,
      pairSetId: r.pair_set_id,
      split: r.split,
      label: r.label,
      a: imageFrom(r, 'a'),
      b: imageFrom(r, 'b'),
    }));
    return { rows, more };
  }

  /** Number of pairs matching a filter (an index-only count). */
  count(filter: PairFilter): number {
    const { where, params } = filterSql(filter);
    return (this.db.prepare(`SELECT count(*) AS n FROM pairs p WHERE ${where}`).get(...params) as { n: number }).n;
  }
}
