import { randomInt } from 'node:crypto';
import type { ArgsOf } from '../../shared/contract';
import { SPLITS, type JobDto, type PairPageDto, type PairsJobResult, type Split, type SplitCountsResult } from '../../shared/dto';
import { SEED_MAX } from '../../shared/limits';
import { AppError, invalid, notFound } from '../errors';
import { DEFAULT_PAIRS_PER_ANCHOR, generatePairSet, normaliseRatios } from '../pairs';
import type { Db } from '../store/db';
import { PairsRepo, type PairingImage } from '../store/pairs-repo';
import type { JobRunner } from './jobs';

export const DEFAULT_PAGE_LIMIT = 50;

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Pair generation and paging. Generation splits IMAGES first (stratified by class,
 * seeded; a dataset's official test split is kept), then draws balanced pairs inside
 * each split (src/main/pairs), and writes one new pair set in one transaction.
 */
export class PairService {
  private readonly repo: PairsRepo;

  constructor(
    private readonly db: Db,
    private readonly jobs: JobRunner,
  ) {
    this.repo = new PairsRepo(db);
  }

  /**
   * Checks the request at once (unknown dataset, no images, nothing to pair: an
   * AppError before any job exists), then runs the generation as a 'pairs' job.
   */
  startGenerate(args: ArgsOf<'pairs.generate'>): JobDto {
    const dataset = this.repo.datasetForPairing(args.datasetId);
    if (!dataset) throw notFound('Dataset', args.datasetId);
    if (args.ratios) {
      try {
        normaliseRatios(args.ratios);
      } catch (error) {
        throw invalid((error as Error).message);
      }
    }
    const images = this.repo.imagesForPairing(dataset.id);
    checkPairable(dataset.name, images);
    const seed = args.seed ?? randomInt(0, SEED_MAX);
    const pairsPerAnchor = args.pairsPerAnchor ?? DEFAULT_PAIRS_PER_ANCHOR;
    const useOfficialTest = dataset.hasOfficialTest || images.some((i) => i.officialSplit === 'test');
    const params = { datasetId: dataset.id, seed, ratios: args.ratios ?? null, pairsPerAnchor };

    return this.jobs.start('pairs', params, async (ctx) => {
      ctx.progress(0.05, `Splitting ${images.length} images`);
      await tick();
      ctx.throwIfCancelled();
      const generated = generatePairSet(images, { seed, ratios: args.ratios, pairsPerAnchor, useOfficialTest });
      if (generated.pairs.length === 0) {
        throw new Error(`No pairs could be drawn from dataset "${dataset.name}". ${generated.warnings.join(' ')}`.trim());
      }
      ctx.progress(0.5, `Writing ${generated.pairs.length} pairs`);
      await tick();
      ctx.throwIfCancelled();
      const pairSetId = this.repo.insertPairSet(
        { datasetId: dataset.id, source: 'generated', seed, ratios: generated.ratios, pairsPerAnchor },
        generated.assignment,
        generated.pairs,
      );
      const counts = {} as Record<Split, SplitCountsResult>;
      for (const split of SPLITS) {
        const s = generated.stats[split];
        counts[split] = {
          images: s.images,
          classes: s.classes,
          positive: s.positives,
          negative: s.negatives,
          anchorsWithoutPairs: s.anchorsWithoutPairs,
        };
      }
      const result: PairsJobResult = {
        pairSetId,
        datasetId: dataset.id,
        seed,
        protocol: generated.protocol,
        ratios: generated.ratios,
        pairsPerAnchor,
        pairCount: generated.pairs.length,
        counts,
        skippedUnlabelled: generated.unlabelled,
        warnings:
          generated.unlabelled > 0
            ? [
                `${generated.unlabelled} image(s) without a class label were left out: they cannot form labelled pairs.`,
                ...generated.warnings,
              ]
            : generated.warnings,
      };
      return result;
    });
  }

  /**
   * One page of pairs, keyset-paginated by id: forward from `afterId`, or back from `beforeId`
   * (rows still in id order); defaults to the dataset's newest pair set.
   */
  page(args: ArgsOf<'pairs.page'>): PairPageDto {
    const dataset = this.repo.datasetForPairing(args.datasetId);
    if (!dataset) throw notFound('Dataset', args.datasetId);
    let pairSetId = args.pairSetId;
    if (pairSetId !== undefined) {
      if (this.repo.pairSetDatasetId(pairSetId) !== dataset.id)
        throw new AppError('not_found', `Pair set ${pairSetId} does not exist in dataset ${dataset.id}`);
    } else {
      pairSetId = this.repo.latestPairSetId(dataset.id);
      if (pairSetId === undefined)
        return { rows: [], total: 0, nextAfterId: null, ...(args.beforeId !== undefined ? { prevBeforeId: null } : {}) };
    }
    const filter = { pairSetId, split: args.split, label: args.label };
    const limit = args.limit ?? DEFAULT_PAGE_LIMIT;
    if (args.beforeId !== undefined) {
      const { rows, more } = this.repo.pageBefore(filter, args.beforeId, limit);
      return { rows, total: this.repo.count(filter), nextAfterId: null, prevBeforeId: more ? rows[0].id : null };
    }
    const { rows, more } = this.repo.page(filter, args.afterId ?? 0, limit);
    return { rows, total: this.repo.count(filter), nextAfterId: more ? rows[rows.length - 1].id : null };
  }

  /** For the datasets view and the CLI: pair sets of a dataset, newest first. */
  listPairSets(datasetId: number) {
    return this.repo.listPairSets(datasetId);
  }
}

/** Throws invalid_argument when no labelled pair at all can come out of these images. */
function checkPairable(name: string, images: PairingImage[]): void {
  if (images.length === 0) throw invalid(`Dataset "${name}" has no images: import some before generating pairs.`);
  const classes = new Set<string>();
  for (const img of images) if (img.classLabel !== null && img.classLabel !== '') classes.add(img.classLabel);
  if (classes.size === 0) {
    throw invalid(
      `None of the ${images.length} images of dataset "${name}" has a class label, so no labelled pairs can be drawn (pairs need same/different classes).`,
    );
  }
  if (classes.size === 1) {
    throw invalid(
      `All labelled images of dataset "${name}" belong to one class (${[...classes][0]}): no negative (different-class) pair is possible. Pairs need at least two classes.`,
    );
  }
}
