// Hand-built review workspaces for the review tests: a real SQLite file with a small dataset
// (named images whose content hash is a hash of the name, so two workspaces built alike share
// them), one pair set whose test pairs are listed below with their scores, and one model version
// (threshold 0.5) with a weights folder of fixed content (so the same fingerprint everywhere).
import { defaultModelConfig } from '../../src/main/engine/models';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimLensApp } from '../../src/main/app';
import { DatasetsRepo } from '../../src/main/store/datasets-repo';
import { ImagesRepo } from '../../src/main/store/images-repo';
import { PairsRepo, type NewPair } from '../../src/main/store/pairs-repo';
import { ScoresRepo } from '../../src/main/store/scores-repo';
import type { Split } from '../../src/shared/dto';

export const THRESHOLD = 0.5;

/**
 * The test pairs: [name, image A, image B, label, score]. With threshold 0.5: p1 right (same), p2
 * false positive, p3 false negative, p4 right (different), p5 and p6 near the threshold
 * (|s - 0.5| <= 0.05), p7 without a score, p8 false positive. Uncertainty order (|s - 0.5|):
 * p5 .02, p6 .03, p8 .1, p2 .2, p3 .25, p4 .4, p1 .45, then p7 (no score).
 */
export const TEST_PAIRS: [string, string, string, 0 | 1, number | null][] = [
  ['p1', 'cat1', 'cat2', 1, 0.95],
  ['p2', 'cat3', 'dog1', 0, 0.7],
  ['p3', 'dog2', 'dog3', 1, 0.25],
  ['p4', 'fox1', 'cat4', 0, 0.1],
  ['p5', 'fox2', 'fox3', 1, 0.52],
  ['p6', 'dog1', 'fox1', 0, 0.47],
  ['p7', 'cat1', 'cat3', 1, null],
  ['p8', 'dog2', 'cat2', 0, 0.6],
];
/** A validation pair (another split: never in a test-split queue). */
export const VAL_PAIRS: [string, string, string, 0 | 1, number | null][] = [['v1', 'cat5', 'cat6', 1, 0.9]];

const IMAGES = ['cat1', 'cat2', 'cat3', 'cat4', 'cat5', 'cat6', 'dog1', 'dog2', 'dog3', 'fox1', 'fox2', 'fox3'];

export const imageHash = (name: string) => createHash('sha256').update(`image:${name}`).digest('hex');

export interface HandBuilt {
  app: SimLensApp;
  dir: string;
  datasetId: number;
  pairSetId: number;
  modelId: number;
  /** pair ids by name (p1.., v1) */
  pair: Record<string, number>;
  /** image ids by name */
  image: Record<string, number>;
  close(): Promise<void>;
}

export interface HandBuiltOptions {
  /** store the pairs with A and B swapped (as another workspace might) */
  swapped?: boolean;
  /** the weights file's content (the version's fingerprint follows from it) */
  weights?: string;
  /** the image names to leave out of the dataset (with their pairs) */
  without?: string[];
}

/** Adds a model version with a fixed weights folder and the given metrics threshold; returns its id. */
export function addVersion(
  app: SimLensApp,
  dir: string,
  datasetId: number,
  pairSetId: number,
  weights: string,
  name = 'hand-built',
): number {
  const repo = app.models.repo;
  const id = repo.insert({
    name,
    datasetId,
    pairSetId,
    parentId: null,
    jobId: null,
    arch: 'small',
    config: { model: defaultModelConfig({ arch: 'small', inputShape: [28, 28, 1] }) },
    weightsPath: null,
    seed: 1,
    backend: 'wasm',
    metrics: { threshold: THRESHOLD, thresholdSource: 'val', splits: {}, evaluatedAt: '2025-01-01T00:00:00.000Z' },
  });
  const rel = `models/${id}`;
  mkdirSync(join(dir, rel), { recursive: true });
  writeFileSync(join(dir, rel, 'model.json'), JSON.stringify({ weights }));
  writeFileSync(join(dir, rel, 'weights.bin'), Buffer.from(weights));
  repo.setWeightsPath(id, rel);
  return id;
}

export function handBuiltWorkspace(options: HandBuiltOptions = {}): HandBuilt {
  const dir = mkdtempSync(join(tmpdir(), 'simlens-review-'));
  const app = new SimLensApp({ dbPath: join(dir, 'simlens.db'), shell: 'cli' });
  const without = new Set(options.without ?? []);
  const datasetId = new DatasetsRepo(app.db).create({ name: 'Hand-built', sourceKind: 'folder', sourcePath: '/nowhere' });
  const images = new ImagesRepo(app.db);
  const image: Record<string, number> = {};
  for (const name of IMAGES.filter((n) => !without.has(n))) {
    const out = images.insertUnlessDuplicate({
      datasetId,
      sha256: imageHash(name),
      sourcePath: `/nowhere/${name.replace(/\d+$/, '')}/${name}.png`,
      classLabel: name.replace(/\d+$/, ''),
      officialSplit: null,
      width: 1,
      height: 1,
      channels: 1,
      pixelEncoding: 'raw',
      pixels: Buffer.from([IMAGES.indexOf(name)]),
      thumbnail: null,
    });
    if (!out.inserted) throw new Error('duplicate image');
    image[name] = out.id;
  }
  const listed = [...TEST_PAIRS.map((p) => [...p, 'test'] as const), ...VAL_PAIRS.map((p) => [...p, 'val'] as const)].filter(
    ([, a, b]) => !without.has(a) && !without.has(b),
  );
  const pairs: NewPair[] = listed.map(([, a, b, label, , split]) => ({
    imageA: options.swapped ? image[b] : image[a],
    imageB: options.swapped ? image[a] : image[b],
    label,
    split: split as Split,
  }));
  const splits = new Map(Object.values(image).map((id) => [id, 'test' as Split]));
  const pairSetId = new PairsRepo(app.db).insertPairSet(
    { datasetId, source: 'generated', seed: 1, ratios: [80, 10, 10], pairsPerAnchor: 1 },
    splits,
    pairs,
  );
  const ids = app.db.prepare('SELECT id FROM pairs WHERE pair_set_id = ? ORDER BY id').all(pairSetId) as { id: number }[];
  const pair: Record<string, number> = Object.fromEntries(listed.map(([name], i) => [name, ids[i].id]));
  const modelId = addVersion(app, dir, datasetId, pairSetId, options.weights ?? 'weights-v1');
  new ScoresRepo(app.db).upsert(
    modelId,
    listed
      .filter(([, , , , score]) => score !== null)
      .map(([name, , , , score]) => ({ pairId: pair[name], score: score!, distance: 1 - score! })),
  );
  let closed = false;
  return {
    app,
    dir,
    datasetId,
    pairSetId,
    modelId,
    pair,
    image,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
