// The images of pairs decoded into one pair batch at a model's input shape: what the explain and
// compare jobs hand the explain engine.
import { buildImageSet, type Shape3 } from '../engine/data';
import type { PairBatch } from '../engine/explain';
import { AppError } from '../errors';
import type { ModelsRepo } from '../store/models-repo';

interface PairOfImages {
  image_a: number;
  image_b: number;
}

/**
 * The distinct images of `pairs`, first images then second ones: for pairs without a shared
 * image, the order in which the gradient CAMs forward them, so that ONNX Runtime takes the
 * decoded set as it is (no copy).
 */
export function pairImageIds(pairs: readonly PairOfImages[]): number[] {
  return [...new Set([...pairs.map((p) => p.image_a), ...pairs.map((p) => p.image_b)])];
}

/** Decodes the images of `pairs` at `shape` into one pair batch; `imageIds` are its images' ids, by index. */
export async function decodePairBatch(
  versions: ModelsRepo,
  pairs: readonly PairOfImages[],
  shape: Shape3,
): Promise<{ batch: PairBatch; imageIds: number[] }> {
  const ids = pairImageIds(pairs);
  const rows = versions.imagesById(ids);
  if (rows.length !== ids.length) throw new AppError('failed', 'an image of these pairs was deleted meanwhile');
  const set = await buildImageSet(rows, shape);
  const index = new Map(rows.map((r, i) => [r.id, i]));
  return {
    batch: {
      shape,
      pixels: set.pixels,
      a: Int32Array.from(pairs, (p) => index.get(p.image_a)!),
      b: Int32Array.from(pairs, (p) => index.get(p.image_b)!),
    },
    imageIds: rows.map((r) => r.id),
  };
}
