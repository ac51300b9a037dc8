// A toy dataset written straight into a SimLens store, shared by the ModelService tests.
import { createRng } from '../../src/main/pairs/rng';
import type { SimLensApp } from '../../src/main/app';
import type { Db } from '../../src/main/store/db';
import type { JobDto } from '../../src/shared/dto';

/**
 * A toy dataset straight into the store: 8x8 grey 'raw' images, 4 classes (a bright
 * blob in quadrant c), 12 per class; images split 8/2/2 per class; all pairs inside val
 * and test, and some train pairs.
 */
export function seedToyDataset(db: Db): { datasetId: number; pairSetId: number; counts: Record<string, number> } {
  const rng = createRng(11);
  const datasetId = Number(
    db.prepare("INSERT INTO datasets (name, source_kind, source_path) VALUES ('toy', 'folder', '/toy')").run().lastInsertRowid,
  );
  const insertImage = db.prepare(
    "INSERT INTO images (dataset_id, sha256, source_path, class_label, width, height, channels, pixel_encoding, pixels) VALUES (?, ?, ?, ?, 8, 8, 1, 'raw', ?)",
  );
  const images: { id: number; cls: number; split: 'train' | 'val' | 'test' }[] = [];
  for (let i = 0; i < 48; i++) {
    const c = i % 4;
    const px = Buffer.alloc(64);
    for (let p = 0; p < 64; p++) px[p] = Math.floor(rng.next() * 70);
    const oy = c < 2 ? 1 : 4;
    const ox = c % 2 === 0 ? 1 : 4;
    for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) px[(oy + y) * 8 + ox + x] = 180 + Math.floor(rng.next() * 75);
    const id = Number(insertImage.run(datasetId, `sha-${i}`, `/toy/${i}.png`, `class${c}`, px).lastInsertRowid);
    const k = Math.floor(i / 4);
    images.push({ id, cls: c, split: k < 8 ? 'train' : k < 10 ? 'val' : 'test' });
  }
  const pairSetId = Number(
    db.prepare("INSERT INTO pair_sets (dataset_id, source, seed) VALUES (?, 'generated', 1)").run(datasetId).lastInsertRowid,
  );
  const insertSplit = db.prepare('INSERT INTO image_splits (pair_set_id, image_id, split) VALUES (?, ?, ?)');
  const insertPair = db.prepare('INSERT INTO pairs (pair_set_id, image_a, image_b, label, split) VALUES (?, ?, ?, ?, ?)');
  const counts: Record<string, number> = { train: 0, val: 0, test: 0 };
  for (const im of images) insertSplit.run(pairSetId, im.id, im.split);
  for (const split of ['train', 'val', 'test'] as const) {
    const inSplit = images.filter((im) => im.split === split);
    for (let i = 0; i < inSplit.length; i++)
      for (let j = i + 1; j < inSplit.length; j++) {
        if (split === 'train' && (i + j) % 7 !== 0) continue;
        insertPair.run(pairSetId, inSplit[i].id, inSplit[j].id, inSplit[i].cls === inSplit[j].cls ? 1 : 0, split);
        counts[split]++;
      }
  }
  return { datasetId, pairSetId, counts };
}

/**
 * Resolves on the training job's first 'epoch …' progress event (its steps are running), so a cancel
 * lands mid-training; rejects if the job ends before that (a cancel test must not pass by
 * cancelling a job that never trained). No time bound: the test's timeout is the bound.
 */
export function untilTraining(app: SimLensApp, jobId: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (j: JobDto) => {
      if (j.id !== jobId) return;
      if (j.status === 'running' && (j.message ?? '').startsWith('epoch')) {
        off();
        resolve();
      } else if (!['queued', 'running'].includes(j.status)) {
        off();
        reject(new Error(`training job ${jobId} ended (${j.status}: ${j.error ?? j.message ?? ''}) before its first epoch`));
      }
    };
    const off = app.events.on('job.updated', check);
    check(app.jobs.get(jobId));
  });
}
