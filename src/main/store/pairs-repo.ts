import type { Split } from '../../shared/dto';
import type { Db } from './db';

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
    const insertSet = this.db.prepare(
      'INSERT INTO pair_sets (dataset_id, source, seed, ratios, pairs_per_anchor) VALUES (?, ?, ?, ?, ?)',
    );
    const insertSplit = this.db.prepare('INSERT INTO image_splits (pair_set_id, image_id, split) VALUES (?, ?, ?)');
    const insertPair = this.db.prepare('INSERT INTO pairs (pair_set_id, image_a, image_b, label, split) VALUES (?, ?, ?, ?, ?)');
    return this.db.transaction(() => {
      const id = Number(
        insertSet.run(set.datasetId, set.source, set.seed, set.ratios ? JSON.stringify(set.ratios) : null, set.pairsPerAnchor).lastInsertRowid,
      );
      for (const [imageId, split] of imageSplits) insertSplit.run(id, imageId, split);
      for (const p of pairs) insertPair.run(id, p.imageA, p.imageB, p.label, p.split);
      return id;
    })();
  }
}
