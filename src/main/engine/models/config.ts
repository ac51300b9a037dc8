// What a Siamese model is made of: saved next to its weights (siamese.json) and in
// model_versions.config, so a version can be rebuilt and explained later.

export type Arch = 'small' | 'resnet18' | 'resnet50' | 'mobilenetv2' | 'pretrained';
export const ARCHS: readonly Arch[] = ['small', 'resnet18', 'resnet50', 'mobilenetv2', 'pretrained'];

/**
 * What the small CNN puts after its last conv block (conv4):
 *  - 'flatten' (the recipe): pool2 -> flatten -> dense1 -> embedding;
 *  - 'gap': global average pooling of conv4 -> dense1 -> embedding. ds/dA at conv4 is then
 *    the same at every position, so Grad-CAM's averaged weights lose nothing (Grad-CAM =
 *    HiResCAM = CAM up to the head's non-linearity; Draelos 2020).
 */
export type SmallHead = 'flatten' | 'gap';
export const SMALL_HEADS: readonly SmallHead[] = ['flatten', 'gap'];

export interface PretrainedBackboneConfig {
  /** Folder with a tfjs LayersModel (model.json + weight shards). */
  dir: string;
  /** Name of the layer whose output feeds the head; default: the last layer with a 4-D output. */
  cutLayer?: string;
  /**
   * How many of the backbone's blocks stay frozen, counted from the input. A block
   * is the stretch of layers between two consecutive cut points of the graph (for a
   * ResNet: the stem, then each residual block; for a plain CNN: each conv layer and
   * what follows it up to the next one). -1 freezes the whole backbone.
   */
  frozenBlocks?: number;
}

export interface ModelConfig {
  arch: Arch;
  /** [height, width, channels] of the network input; images are resized to it. */
  inputShape: [number, number, number];
  /** Size of the embedding e (default 64). */
  embeddingSize: number;
  /** Contrastive margin m (default 2.0). */
  margin: number;
  /** Score temperature τ in s = exp(-d²/τ); default (m/2)². */
  tau: number;
  /** Seed of the weight initialisers. */
  seed: number;
  /**
   * Width scale: the small CNN's filters are [32, 64]·width and dense 128·width;
   * ResNets start at 64·width filters; MobileNetV2's alpha. Default 1. Tests use
   * fractions to get tiny networks.
   */
  width: number;
  /** Units of the hidden dense layer before the embedding (resnet/mobilenet/pretrained head; paper: 256). */
  headUnits: number;
  /** Small CNN only: the head after conv4 (default 'flatten'; absent in configs saved before it existed). */
  head?: SmallHead;
  backbone?: PretrainedBackboneConfig;
}

export function defaultModelConfig(partial: Partial<ModelConfig> & Pick<ModelConfig, 'inputShape'>): ModelConfig {
  const margin = partial.margin ?? 2.0;
  const maxSide = Math.max(partial.inputShape[0], partial.inputShape[1]);
  return {
    arch: partial.arch ?? (maxSide <= 64 ? 'small' : 'resnet18'),
    inputShape: partial.inputShape,
    embeddingSize: partial.embeddingSize ?? 64,
    margin,
    tau: partial.tau ?? (margin / 2) ** 2,
    seed: partial.seed ?? 0,
    width: partial.width ?? 1,
    headUnits: partial.headUnits ?? 256,
    ...(partial.head ? { head: partial.head } : {}),
    ...(partial.backbone ? { backbone: partial.backbone } : {}),
  };
}
