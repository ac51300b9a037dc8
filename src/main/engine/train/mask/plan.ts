// The epochs of a mask-guided retraining: EXPLICIT pairs (every image of a batch belongs to one
// pair, so its map is its own pair's), redrawn each epoch from the train images as the plain
// trainer does (each anchor once, alternately with a same-class and an other-class partner), or
// the stored train pairs reshuffled when there are no class labels. A batch carries the masks of
// its images that have one (loss mode), or those images come augmented (augment mode); pairs
// whose images have no mask are plain contrastive pairs either way.
import { createRng, shuffleInPlace, type Rng } from '../../../pairs/rng';
import { imageSize, type PairList } from '../../data/dataset';
import { epochStreams, type EpochPlan, type EpochPlanner, type StepBatch, type TrainConfig, type TrainData } from '../trainer';
import { maskAugmentInto, type MaskAugmentConfig } from './augment';

/** Masks of some images of an ImageSet, at its size. */
export interface MaskData {
  /** [m] image index (into the ImageSet) of each mask */
  images: Int32Array;
  /** [m, H, W] 0..255 (255 = inside the relevant region) */
  masks: Uint8Array;
}

export type MaskPlanMode = { kind: 'loss'; lambda: number } | { kind: 'augment'; augment: MaskAugmentConfig };

export interface MaskPlanOptions {
  mode: MaskPlanMode;
  /** each masked train image is an anchor this many times per epoch (default 1: like every image) */
  maskedRepeat?: number;
}

interface PairDraw {
  a: number[];
  b: number[];
  label: number[];
  /** positions of self pairs (an image and its augmented copy) */
  self?: number[];
}

/** The draw with a self pair (image, augmented copy; label 1) per masked train image (x repeat), shuffled in. */
function withSelfPairs(draw: PairDraw, masks: MaskData, train: Int32Array, repeat: number, rng: Rng): PairDraw {
  const inTrain = new Set(train);
  const selfImages: number[] = [];
  for (const img of masks.images) if (inTrain.has(img)) for (let r = 0; r < repeat; r++) selfImages.push(img);
  const all = [
    ...draw.a.map((a, i) => ({ a, b: draw.b[i], label: draw.label[i], self: false })),
    ...selfImages.map((img) => ({ a: img, b: img, label: 1, self: true })),
  ];
  shuffleInPlace(all, rng);
  return {
    a: all.map((p) => p.a),
    b: all.map((p) => p.b),
    label: all.map((p) => p.label),
    self: all.flatMap((p, i) => (p.self ? [i] : [])),
  };
}

/** One partner per anchor, alternately same-class and other-class (balanced), anchors shuffled. */
export function drawExplicitPairs(
  train: { indices: Int32Array; classes: Int32Array },
  rng: Rng,
  extraAnchors: { img: number; cls: number }[] = [],
): PairDraw {
  const byClass = new Map<number, number[]>();
  train.indices.forEach((img, i) => {
    const list = byClass.get(train.classes[i]) ?? [];
    list.push(img);
    byClass.set(train.classes[i], list);
  });
  if (byClass.size < 2) throw new Error('Training needs at least two classes in the train split');
  const anchors: { img: number; cls: number }[] = [];
  train.indices.forEach((img, i) => {
    if (byClass.get(train.classes[i])!.length >= 2) anchors.push({ img, cls: train.classes[i] });
  });
  anchors.push(...extraAnchors.filter((x) => byClass.get(x.cls)!.length >= 2));
  if (anchors.length === 0) throw new Error('No class in the train split has two images: no positive pairs can be drawn');
  shuffleInPlace(anchors, rng);
  const n = train.indices.length;
  const out: PairDraw = { a: [], b: [], label: [] };
  anchors.forEach((x, i) => {
    const same = i % 2 === 0;
    let partner: number;
    if (same) {
      const list = byClass.get(x.cls)!;
      partner = list[rng.int(list.length)];
      while (partner === x.img) partner = list[rng.int(list.length)];
    } else {
      let q = rng.int(n);
      while (train.classes[q] === x.cls) q = rng.int(n);
      partner = train.indices[q];
    }
    out.a.push(x.img);
    out.b.push(partner);
    out.label.push(same ? 1 : 0);
  });
  return out;
}

function shuffledPairs(pairs: PairList, rng: Rng): PairDraw {
  const order = shuffleInPlace(
    Array.from({ length: pairs.a.length }, (_, i) => i),
    rng,
  );
  return { a: order.map((i) => pairs.a[i]), b: order.map((i) => pairs.b[i]), label: order.map((i) => pairs.label[i]) };
}

/**
 * The planner of a mask-guided retraining over `data` with the masks `masks`: explicit-pair batches
 * of cfg.batchSize pairs; seeded per epoch (trainer.ts epochStreams: the pairs' and the augmentation's
 * streams), so any step runner gets the same batches.
 */
export function maskEpochPlanner(data: TrainData, masks: MaskData, options: MaskPlanOptions): EpochPlanner {
  const images = data.images;
  const [H, W] = images.shape;
  const size = imageSize(images.shape);
  const slotOf = new Map<number, number>();
  masks.images.forEach((img, i) => slotOf.set(img, i));
  if (masks.masks.length !== masks.images.length * H * W)
    throw new Error(`masks: ${masks.masks.length} values for ${masks.images.length} masks of ${H}x${W}`);
  const repeat = Math.max(1, Math.floor(options.maskedRepeat ?? 1));
  const extra: { img: number; cls: number }[] = [];
  if (data.train && repeat > 1) {
    data.train.indices.forEach((img, i) => {
      if (slotOf.has(img)) for (let r = 1; r < repeat; r++) extra.push({ img, cls: data.train!.classes[i] });
    });
  }
  const donors = data.train ? data.train.indices : Int32Array.from(new Set([...(data.trainPairs?.a ?? []), ...(data.trainPairs?.b ?? [])]));
  return (epoch: number, cfg: TrainConfig): EpochPlan => {
    const streams = epochStreams(epoch);
    const rng = createRng(cfg.seed, streams.pairStream);
    const augRng = createRng(cfg.seed, streams.augmentStream);
    const drawn = data.train ? drawExplicitPairs(data.train, rng, extra) : shuffledPairs(data.trainPairs!, rng);
    // augment mode: each masked train image also meets an augmented copy of itself as a SAME pair
    // (slot b always augmented): what lies outside its mask must not matter to the similarity
    const draw =
      options.mode.kind === 'augment' && options.mode.augment.selfPairs ? withSelfPairs(drawn, masks, donors, repeat, rng) : drawn;
    const selfSlots = new Set<number>(draw.self ?? []);
    const per = Math.max(1, Math.floor(cfg.batchSize));
    const steps = Math.ceil(draw.a.length / per);
    return {
      steps,
      batch(step: number): StepBatch {
        const from = step * per;
        const a = draw.a.slice(from, from + per);
        const b = draw.b.slice(from, from + per);
        const k = a.length;
        const slots = [...a, ...b];
        const pixels = new Float32Array(2 * k * size); // [2k, H, W, C]
        const index: number[] = [];
        const maskSlots: number[] = [];
        slots.forEach((img, s) => {
          const m = slotOf.get(img);
          if (m !== undefined && options.mode.kind === 'augment') {
            const always = s >= k && selfSlots.has(from + s - k); // the copy of a self pair
            maskAugmentInto(
              images.pixels,
              img * size,
              masks.masks,
              m * H * W,
              pixels,
              s * size,
              images.shape,
              always ? { ...options.mode.augment, probability: 1 } : options.mode.augment,
              augRng,
              () => ({
                pixels: images.pixels,
                offset: donors[augRng.int(donors.length)] * size,
              }),
            );
            return;
          }
          pixels.set(images.pixels.subarray(img * size, (img + 1) * size), s * size);
          if (m !== undefined) {
            index.push(s);
            maskSlots.push(m);
          }
        });
        const batch: StepBatch = {
          images: pixels,
          count: 2 * k,
          anchors: k,
          labels: Float32Array.from(draw.label.slice(from, from + per)),
          // loss mode: every row is its train image unchanged (frozen features may come from a cache)
          ...(options.mode.kind === 'loss' ? { imageIds: Int32Array.from(slots) } : {}),
        };
        if (options.mode.kind === 'loss' && index.length > 0) {
          const mm = new Uint8Array(index.length * H * W);
          maskSlots.forEach((m, i) => mm.set(masks.masks.subarray(m * H * W, (m + 1) * H * W), i * H * W));
          batch.mask = { index: Int32Array.from(index), masks: mm, scale: options.mode.lambda / index.length };
        }
        return batch;
      },
    };
  };
}

/** Masked train images and all train images (for reports). */
export function maskCoverage(data: TrainData, masks: MaskData): { trainImages: number; maskedTrainImages: number } {
  const train = new Set<number>(data.train ? data.train.indices : [...(data.trainPairs?.a ?? []), ...(data.trainPairs?.b ?? [])]);
  let masked = 0;
  for (const img of masks.images) if (train.has(img)) masked++;
  return { trainImages: train.size, maskedTrainImages: masked };
}
