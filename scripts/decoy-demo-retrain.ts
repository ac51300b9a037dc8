// The decoy demo's loop without a painter: adds the demo to a throw-away workspace, masks a share
// of its train images the way the decoy benchmark does (each garment's own pixels, dilated by 1 px,
// the patch left out), retrains the decoy model with the defaults, and prints the test AUC and
// accuracy before and after and the time: the figures the README's decoy story quotes.
//
//   npx tsx scripts/decoy-demo-retrain.ts [--share 0.1] [--epochs 3]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DILATE, dilate, GARMENT_LEVEL, PATCH, SIDE } from '../src/main/bench/decoy-data';
import { SimLensApp } from '../src/main/app';
import { addDecoyDemo } from '../src/main/demo';
import { workspacePaths } from '../src/main/paths';
import { jobResult } from '../src/shared/job-result';
import { encodeMaskString } from '../src/shared/mask-rle';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

/** The garment of a decoy image: pixels above GARMENT_LEVEL dilated, minus any 4x4 white square (the patch). */
function garmentMask(grey: Uint8Array): Uint8Array {
  const patchFree = Uint8Array.from(grey);
  for (let y = 0; y + PATCH <= SIDE; y++)
    for (let x = 0; x + PATCH <= SIDE; x++) {
      let white = true;
      for (let dy = 0; dy < PATCH && white; dy++)
        for (let dx = 0; dx < PATCH && white; dx++) white = grey[(y + dy) * SIDE + x + dx] === 255;
      const border = y === 0 || x === 0 || y + PATCH === SIDE || x + PATCH === SIDE || y === 12;
      if (white && border) for (let dy = 0; dy < PATCH; dy++) for (let dx = 0; dx < PATCH; dx++) patchFree[(y + dy) * SIDE + x + dx] = 0;
    }
  const m = dilate(patchFree, GARMENT_LEVEL, DILATE);
  return m.map((v) => (v ? 1 : 0));
}

async function main(): Promise<void> {
  const share = arg('share', 0.1);
  const epochs = arg('epochs', 3);
  const dir = mkdtempSync(join(tmpdir(), 'simlens-decoy-story-'));
  const app = new SimLensApp({ dbPath: workspacePaths(dir).db, shell: 'cli' });
  try {
    const demo = await addDecoyDemo(app);
    for (const id of demo.backgroundJobIds) await app.call('jobs.cancel', { id });
    const trainImages = [...new Set(app.models.repo.pairs(demo.pairSetId, 'train').flatMap((p) => [p.image_a, p.image_b]))].sort(
      (a, b) => a - b,
    );
    const masked = trainImages.filter((_, i) => i % Math.round(1 / share) === 0);
    for (const imageId of masked) {
      const px = await app.call('images.pixels', { id: imageId });
      const grey = new Uint8Array(Buffer.from(px.data, 'base64'));
      await app.call('masks.save', {
        imageId,
        author: 'script',
        size: [SIDE, SIDE],
        counts: encodeMaskString(garmentMask(grey), SIDE, SIDE),
        source: 'painted',
      });
    }
    const before = (await app.call('models.get', { id: demo.modelId })).metrics!.splits.test!;
    const t0 = Date.now();
    const job = await app.jobs.wait((await app.call('models.retrain', { id: demo.modelId, epochs })).jobId);
    const seconds = (Date.now() - t0) / 1000;
    const r = jobResult(job, 'retrain');
    if (!r) throw new Error(`retraining ${job.status}: ${job.error}`);
    const after = (await app.call('models.get', { id: r.modelId })).metrics!.splits.test!;
    console.log(
      `${masked.length} of ${trainImages.length} train images masked; ${r.retrain.lossUsed}, lambda ${r.retrain.lambda}, ${epochs} epochs in ${seconds.toFixed(1)} s\n` +
        `test ROC AUC ${before.auc.toFixed(4)} -> ${after.auc.toFixed(4)}, accuracy ${before.accuracy.toFixed(4)} -> ${after.accuracy.toFixed(4)}`,
    );
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
