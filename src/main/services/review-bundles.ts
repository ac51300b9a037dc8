// Verdicts travelling between workspaces as review bundles (review/bundle.ts: images by content
// hash, versions by weights fingerprint, verdicts by uid). An import is all or nothing, overwrites
// nothing, and skips the verdicts a workspace already knows, so importing a bundle twice changes
// nothing. Exports for people and tools (CSV / JSON): review-export.ts.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { ArgsOf } from '../../shared/contract';
import type { BundleMaskReportDto, BundleVerdictReportDto, ReviewBundleExportDto, ReviewImportDto } from '../../shared/dto';
import { countsToString, normaliseCounts, stringToCounts } from '../../shared/mask-rle';
import { AppError, invalid, notFound } from '../errors';
import {
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  readBundleText,
  writeBundleText,
  type BundleBody,
  type BundleImage,
  type BundleMask,
  type BundleModel,
  type BundleVerdict,
} from '../review/bundle';
import { folderFingerprint } from '../review/fingerprint';
import type { Db } from '../store/db';
import { DatasetsRepo } from '../store/datasets-repo';
import { ModelsRepo } from '../store/models-repo';
import { ReviewBundlesRepo, type BundleSourceRow } from '../store/review-bundles-repo';
import { VerdictsRepo, type NewVerdict } from '../store/verdicts-repo';
import { MaskService, type MaskToAdd } from './masks';
import type { ModelService } from './models';
import { writeFileAtomic } from './review-export';

/** Largest bundle file read (a bundle of a million verdicts is ~500 MB). */
const MAX_BUNDLE_BYTES = 1024 ** 3;

export class ReviewBundleService {
  private readonly verdicts: VerdictsRepo;
  private readonly bundles: ReviewBundlesRepo;
  private readonly datasets: DatasetsRepo;
  private readonly modelsRepo: ModelsRepo;

  /** masks per image and author (bundles carry them from version 2) */
  private readonly masks: MaskService;

  constructor(
    private readonly db: Db,
    private readonly models: ModelService,
    private readonly appVersion: string,
  ) {
    this.masks = new MaskService(db);
    this.verdicts = new VerdictsRepo(db);
    this.bundles = new ReviewBundlesRepo(db);
    this.datasets = new DatasetsRepo(db);
    this.modelsRepo = new ModelsRepo(db);
  }

  /** The version's fingerprint (computed once, then kept); null when its weights folder is gone. */
  fingerprintOf(modelId: number): string | null {
    const known = this.bundles.fingerprint(modelId);
    if (known) return known;
    const row = this.modelsRepo.get(modelId);
    if (!row?.weights_path) return null;
    const dir = this.models.weightsDir(modelId);
    if (!existsSync(dir)) return null;
    const fingerprint = folderFingerprint(dir);
    this.bundles.putFingerprint(modelId, fingerprint);
    return fingerprint;
  }

  /** The dataset a bundle export covers and the versions whose verdicts it carries. */
  private exportScope(args: ArgsOf<'review.exportBundle'>): { datasetId: number; modelIds: number[] } {
    // masks: a workspace whose only dataset with verdicts or masks has masks alone exports them too
    if (args.modelId === undefined && args.datasetId === undefined && (args.masks ?? 'history') !== 'none') {
      const withVerdicts = this.bundles.modelsWithVerdicts();
      const datasets = new Set([
        ...withVerdicts.map((id) => this.modelsRepo.get(id)!.dataset_id).filter((d): d is number => d !== null),
        ...this.masks.repo.datasetsWithMasks(),
      ]);
      if (datasets.size === 1) {
        const [datasetId] = datasets;
        return { datasetId, modelIds: withVerdicts.filter((id) => this.modelsRepo.get(id)!.dataset_id === datasetId) };
      }
      if (datasets.size > 1)
        throw invalid(
          `The verdicts and masks here are on datasets ${[...datasets].sort((x, y) => x - y).join(', ')}: a bundle holds one; give datasetId or modelId`,
        );
    }
    if (args.modelId !== undefined) {
      const row = this.modelsRepo.get(args.modelId);
      if (!row) throw notFound('Model version', args.modelId);
      if (row.dataset_id === null)
        throw new AppError('conflict', `Model version ${args.modelId} has no dataset any more: its verdicts went with it`);
      if (args.datasetId !== undefined && args.datasetId !== row.dataset_id) {
        throw invalid(`Model version ${args.modelId} belongs to dataset ${row.dataset_id}, not ${args.datasetId}`);
      }
      return { datasetId: row.dataset_id, modelIds: [row.id] };
    }
    if (args.datasetId !== undefined) {
      if (!this.datasets.exists(args.datasetId)) throw notFound('Dataset', args.datasetId);
      return { datasetId: args.datasetId, modelIds: this.bundles.modelsWithVerdicts(args.datasetId) };
    }
    const modelIds = this.bundles.modelsWithVerdicts();
    const datasetIds = [...new Set(modelIds.map((id) => this.modelsRepo.get(id)!.dataset_id).filter((d): d is number => d !== null))];
    if (datasetIds.length === 0) throw invalid('There are no verdicts in this workspace to export');
    if (datasetIds.length > 1)
      throw invalid(`The verdicts here are on datasets ${datasetIds.join(', ')}: a bundle holds one; give datasetId or modelId`);
    return { datasetId: datasetIds[0], modelIds: modelIds.filter((id) => this.modelsRepo.get(id)!.dataset_id === datasetIds[0]) };
  }

  async exportBundle(args: ArgsOf<'review.exportBundle'>): Promise<ReviewBundleExportDto> {
    const { datasetId, modelIds } = this.exportScope(args);
    const dataset = this.datasets.get(datasetId)!;
    const hashes = this.bundles.imageHashes(datasetId);
    const models: (BundleModel & { id: number })[] = [];
    const skipped: ReviewBundleExportDto['skipped'] = [];
    const images = new Map<string, BundleImage>();
    const verdicts: BundleVerdict[] = [];
    for (const id of modelIds) {
      const fingerprint = this.fingerprintOf(id);
      if (fingerprint === null) {
        skipped.push({ modelId: id, reason: `the weights folder of model version ${id} is missing, so it has no fingerprint` });
        continue;
      }
      const row = this.modelsRepo.get(id)!;
      const key = `m${models.length + 1}`;
      models.push({ id, key, name: row.name, arch: row.arch, fingerprint });
      for (const r of this.bundles.verdictRows(id, args.reviewer)) {
        images.set(r.a_sha256, { sha256: r.a_sha256, classLabel: r.a_class, sourcePath: r.a_path });
        images.set(r.b_sha256, { sha256: r.b_sha256, classLabel: r.b_class, sourcePath: r.b_path });
        verdicts.push(bundleVerdict(key, r));
      }
    }
    const masks = await this.bundleMasks(datasetId, args, images);
    const body: BundleBody = {
      format: BUNDLE_FORMAT,
      version: BUNDLE_VERSION,
      createdAt: new Date().toISOString(),
      app: this.appVersion,
      dataset: { name: dataset.name, images: hashes.length, fingerprint: createHash('sha256').update(hashes.join('\n')).digest('hex') },
      models: models.map(({ key, name, arch, fingerprint }) => ({ key, name, arch, fingerprint })),
      images: [...images.values()].sort((a, b) => (a.sha256 < b.sha256 ? -1 : 1)),
      verdicts,
      masks,
    };
    const path = resolve(args.path);
    writeFileAtomic(path, writeBundleText(body));
    return {
      path,
      dataset: { id: datasetId, name: dataset.name },
      models: models.map(({ id, name, fingerprint }) => ({ id, name, fingerprint })),
      verdicts: verdicts.length,
      masks: masks.length,
      images: images.size,
      skipped,
    };
  }

  /** The dataset's mask rows a bundle carries (of `reviewer` only, when given); their images join the bundle's. */
  private async bundleMasks(
    datasetId: number,
    args: ArgsOf<'review.exportBundle'>,
    images: Map<string, BundleImage>,
  ): Promise<BundleMask[]> {
    const which = args.masks ?? 'history';
    if (which === 'none') return [];
    const out: BundleMask[] = [];
    for (const row of this.masks.repo.exportRows(datasetId, { author: args.reviewer, history: which === 'history' })) {
      images.set(row.sha256, { sha256: row.sha256, classLabel: row.class_label, sourcePath: row.source_path });
      out.push({
        uid: row.uid,
        image: row.sha256,
        author: row.author,
        source: row.source,
        size: [row.height, row.width],
        counts: countsToString(await this.masks.countsOf(row)),
        createdAt: row.created_at,
      });
    }
    return out;
  }

  importBundle(args: ArgsOf<'review.importBundle'>): ReviewImportDto {
    const path = resolve(args.path);
    const name = basename(path);
    if (!existsSync(path) || !statSync(path).isFile()) throw new AppError('not_found', `No bundle file at ${path}`);
    if (statSync(path).size > MAX_BUNDLE_BYTES)
      throw invalid(`${name} is larger than ${MAX_BUNDLE_BYTES} bytes: not a review bundle this version reads`);
    const body = readBundleText(readFileSync(path, 'utf8'), name);
    const bundleMasks = body.masks ?? [];
    if (body.verdicts.length === 0 && bundleMasks.length === 0) throw invalid(`${name} holds no verdicts: nothing to import`);
    const datasetId = this.matchDataset(body, name);
    // a bundle with masks is imported for them even when none of its versions is here
    const candidates = body.verdicts.length > 0 ? this.matchModels(body, name, bundleMasks.length > 0) : new Map<string, number[]>();

    const entries: BundleVerdictReportDto[] = [];
    const toInsert: NewVerdict[] = [];
    for (const x of body.verdicts) {
      const report = (
        status: BundleVerdictReportDto['status'],
        reason: string | null,
        pairId: number | null = null,
        modelId: number | null = null,
      ) => entries.push({ uid: x.uid, reviewer: x.reviewer, status, reason, pairId, modelId });
      if (this.verdicts.isTombstoned(x.uid)) {
        report('already_present', 'it was undone in this workspace');
        continue;
      }
      const known = this.verdicts.byUid(x.uid);
      if (known) {
        report('already_present', null, known.pairId, known.modelId);
        continue;
      }
      const match = this.matchPair(x, candidates.get(x.model)!, body);
      if ('reason' in match) {
        report('unmatched', match.reason);
        continue;
      }
      toInsert.push({
        uid: x.uid,
        pairId: match.pairId,
        modelId: match.modelId,
        reviewer: x.reviewer,
        similarity: x.similarity,
        // the pair is stored the other way round here: image A's answer is about our image B
        heatmapA: match.swapped ? x.heatmapB : x.heatmapA,
        heatmapB: match.swapped ? x.heatmapA : x.heatmapB,
        method: x.method,
        layer: x.layer,
        note: x.note,
        tags: x.tags,
        origin: 'imported',
        createdAt: x.createdAt,
      });
      report('imported', null, match.pairId, match.modelId);
    }
    const masks = this.matchMasks(bundleMasks, datasetId);
    if (!args.dryRun)
      this.db.transaction(() => {
        this.verdicts.insert(toInsert);
        this.masks.add(masks.toAdd);
      })();
    const count = (s: BundleVerdictReportDto['status']) => entries.filter((e) => e.status === s).length;
    const maskCount = (s: BundleMaskReportDto['status']) => masks.entries.filter((e) => e.status === s).length;
    return {
      path,
      datasetId,
      bundle: { dataset: body.dataset.name, createdAt: body.createdAt, verdicts: body.verdicts.length },
      imported: count('imported'),
      alreadyPresent: count('already_present'),
      unmatched: count('unmatched'),
      dryRun: args.dryRun ?? false,
      entries,
      masks: {
        imported: maskCount('imported'),
        alreadyPresent: maskCount('already_present'),
        unmatched: maskCount('unmatched'),
        entries: masks.entries,
      },
    };
  }

  /** The workspace dataset holding most of the bundle's images; a clear error when none holds any. */
  private matchDataset(body: BundleBody, name: string): number {
    let best: { id: number; matched: number } | undefined;
    for (const id of this.bundles.datasetIds()) {
      const matched = body.images.filter((img) => this.bundles.imageId(id, img.sha256) !== undefined).length;
      if (matched > 0 && (!best || matched > best.matched)) best = { id, matched };
    }
    if (!best) {
      throw invalid(
        `${name} comes from a dataset this workspace does not hold: none of its ${body.images.length} images (of dataset "${body.dataset.name}", ` +
          `${body.dataset.images} images) is here. Import that dataset first.`,
      );
    }
    return best.id;
  }

  /**
   * The bundle's masks here: uids already known are skipped, the others land on the dataset's image
   * with their content hash (at its size), keeping their uid, author, source and time.
   */
  private matchMasks(masks: BundleMask[], datasetId: number): { toAdd: MaskToAdd[]; entries: BundleMaskReportDto[] } {
    const toAdd: MaskToAdd[] = [];
    const entries: BundleMaskReportDto[] = [];
    for (const m of masks) {
      const report = (status: BundleMaskReportDto['status'], reason: string | null, imageId: number | null) =>
        entries.push({ uid: m.uid, author: m.author, image: m.image, status, reason, imageId });
      const known = this.masks.repo.byUid(m.uid);
      if (known) {
        report('already_present', null, known.image_id);
        continue;
      }
      const image = this.masks.repo.imageByHash(datasetId, m.image);
      if (!image) {
        report('unmatched', `image ${m.image.slice(0, 12)} is not in dataset ${datasetId}`, null);
        continue;
      }
      const [h, w] = m.size;
      if (h !== image.height || w !== image.width) {
        report('unmatched', `image ${image.id} is ${image.height} x ${image.width} here, the mask ${h} x ${w}`, image.id);
        continue;
      }
      const counts = normaliseCounts(stringToCounts(m.counts));
      toAdd.push({
        imageId: image.id,
        author: m.author,
        counts,
        h,
        w,
        source: m.source,
        origin: 'imported',
        uid: m.uid,
        createdAt: m.createdAt,
      });
      report('imported', null, image.id);
    }
    return { toAdd, entries };
  }

  /**
   * For each bundle model key, the versions here with its fingerprint (by id); a clear error when
   * no key has any (unless `lenient`: the bundle's masks are imported, its verdicts reported unmatched).
   */
  private matchModels(body: BundleBody, name: string, lenient = false): Map<string, number[]> {
    const local = new Map<string, number[]>();
    for (const row of this.modelsRepo.list().reverse()) {
      const fingerprint = this.fingerprintOf(row.id);
      if (fingerprint !== null) local.set(fingerprint, [...(local.get(fingerprint) ?? []), row.id]);
    }
    const out = new Map(body.models.map((m) => [m.key, local.get(m.fingerprint) ?? []]));
    if (!lenient && [...out.values()].every((ids) => ids.length === 0)) {
      throw invalid(
        `${name}: none of its model versions (${body.models.map((m) => `"${m.name}"`).join(', ')}) is in this workspace: ` +
          'no version here has the same weights (fingerprint). Bring the version over first (a copy of its workspace folder, or its exported model).',
      );
    }
    return out;
  }

  /** The pair and version a bundle verdict lands on here, or why it cannot. */
  private matchPair(
    x: BundleVerdict,
    versions: number[],
    body: BundleBody,
  ): { pairId: number; modelId: number; swapped: boolean } | { reason: string } {
    const model = body.models.find((m) => m.key === x.model)!;
    if (versions.length === 0)
      return { reason: `model version "${model.name}" (fingerprint ${model.fingerprint.slice(0, 12)}) is not in this workspace` };
    let reason = '';
    for (const modelId of versions) {
      const row = this.modelsRepo.get(modelId)!;
      if (row.pair_set_id === null || row.dataset_id === null) {
        reason = `model version ${modelId} has no pair set any more`;
        continue;
      }
      const a = this.bundles.imageId(row.dataset_id, x.imageA);
      const b = this.bundles.imageId(row.dataset_id, x.imageB);
      if (a === undefined || b === undefined) {
        reason = `image ${a === undefined ? 'A' : 'B'} (${(a === undefined ? x.imageA : x.imageB).slice(0, 12)}) is not in dataset ${row.dataset_id}`;
        continue;
      }
      const pair = this.bundles.findPair(row.pair_set_id, a, b);
      if (!pair) {
        reason = `no pair of images ${a} and ${b} in pair set ${row.pair_set_id} of model version ${modelId}`;
        continue;
      }
      return { pairId: pair.id, modelId, swapped: pair.swapped };
    }
    return { reason };
  }
}

function bundleVerdict(model: string, r: BundleSourceRow): BundleVerdict {
  return {
    uid: r.uid,
    model,
    imageA: r.a_sha256,
    imageB: r.b_sha256,
    split: r.split,
    label: r.label,
    reviewer: r.reviewer,
    similarity: r.similarity,
    heatmapA: r.heatmap_a,
    heatmapB: r.heatmap_b,
    method: r.method,
    layer: r.layer,
    note: r.note,
    tags: r.tags === null ? [] : r.tags.split(';').sort(),
    createdAt: r.created_at,
  };
}
