// The child of the mask-save crash case: the app saving a painter's strokes one after another,
// as the renderer does after each completed stroke (masks.save through the contract). It adds
// the canvas image (a dataset of one image row) to the workspace, says so on stdout, then saves
// the masks of strokeMasks() until it is killed, one stdout line per save once the call has
// returned (the row is committed): what the test must find after the restart.
// Usage: node --import tsx mask-saver.child.ts <db>
import { createHash } from 'node:crypto';
import { SimLensApp } from '../../src/main/app';
import { DatasetsRepo } from '../../src/main/store/datasets-repo';
import { ImagesRepo } from '../../src/main/store/images-repo';
import { encodeMaskString } from '../../src/shared/mask-rle';
import { CANVAS, PAINTER, STROKE_SEED, strokeMasks } from './mask-strokes';

async function main(): Promise<void> {
  const [dbPath] = process.argv.slice(2);
  if (!dbPath) throw new Error('usage: mask-saver.child.ts <db>');
  const { height, width } = CANVAS;
  const app = new SimLensApp({ dbPath, shell: 'cli', engine: 'in-process' });
  const imageId = app.db.transaction(() => {
    const datasetId = new DatasetsRepo(app.db).create({ name: 'mask canvas', sourceKind: 'folder', sourcePath: '/canvas' });
    const out = new ImagesRepo(app.db).insertUnlessDuplicate({
      datasetId,
      sha256: createHash('sha256').update('mask canvas').digest('hex'),
      sourcePath: '/canvas/canvas.png',
      classLabel: 'canvas',
      officialSplit: null,
      width,
      height,
      channels: 1,
      pixelEncoding: 'raw',
      pixels: Buffer.alloc(height * width),
      thumbnail: null,
    });
    if (!out.inserted) throw new Error(`the canvas image is already in ${dbPath} (image ${out.duplicateOf})`);
    return out.id;
  })();
  process.stdout.write(`${JSON.stringify({ canvas: imageId })}\n`);
  for (const mask of strokeMasks(height, width, STROKE_SEED)) {
    const counts = encodeMaskString(mask, height, width);
    const saved = await app.call('masks.save', { imageId, author: PAINTER, size: [height, width], counts, source: 'painted' });
    if (!saved.changed)
      throw new Error(`stroke mask ${saved.mask.id} was stored as unchanged: every stroke of the sequence changes the mask`);
    process.stdout.write(`${JSON.stringify({ id: saved.mask.id, uid: saved.mask.uid, counts: saved.mask.counts })}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
