// What a Siamese model is made of: saved next to its weights (siamese.json) and in
// model_versions.config, so a version can be rebuilt and explained later.
import { INPUT_PREPROCESS, type InputPreprocess } from '../../../shared/dto';

export { INPUT_PREPROCESS, type InputPreprocess };

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
  /**
   * Small CNN only: whether its convolutions have a bias (absent: true, as saved before it
   * existed). Without one, a conv block's output is exactly 0 where its receptive field sees only
   * black (0) pixels, so no channel stays active on a black background and no CAM can put
   * evidence there; with one, a channel whose bias keeps it active everywhere lights up the
   * background in every gradient map that weighs it.
   */
  convBias?: boolean;
  backbone?: PretrainedBackboneConfig;
  /**
   * Input preprocessing, applied inside the network as its first layer ('preprocess'), so
   * images stay in [0, 1] everywhere else (stored pixels, CAM overlays, deletion metrics)
   * and a saved model carries it. Pick what the pretrained backbone was trained with:
   *  - 'none' (default; absent in configs saved before it existed): x in [0, 1] as is;
   *  - 'tf': 2x - 1, in [-1, 1] (Keras MobileNet/MobileNetV2/Inception/Xception);
   *  - 'caffe': RGB -> BGR, 255x minus the ImageNet BGR means [103.939, 116.779, 123.68]
   *    (Keras ResNet50/101/152 v1, VGG16/19);
   *  - 'torch': (x - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225] per RGB channel
   *    (Keras DenseNet, PyTorch-trained models).
   * 'caffe' and 'torch' are per-RGB-channel and need a 3-channel network input; the
   * layer never changes the channel count. Grayscale images become 3 channels when the
   * input has 3 (a pretrained backbone's input always sets it; the image decoder
   * replicates the grey channel), so a 1-channel input with 'caffe'/'torch' is an error
   * (see checkPreprocess) rather than a silent guess at grey ImageNet statistics.
   */
  preprocess?: InputPreprocess;
}

/** The config's preprocessing ('none' when absent: configs saved before the field existed). */
export function preprocessOf(cfg: Pick<ModelConfig, 'preprocess'>): InputPreprocess {
  return cfg.preprocess ?? 'none';
}

/**
 * Why `preprocess` cannot be applied to an input of shape [H, W, C], or undefined if it can:
 * an unknown mode, or 'caffe'/'torch' (per-RGB-channel) on an input without 3 channels.
 * `what` names the input in the message.
 */
export function checkPreprocess(preprocess: string, inputShape: readonly number[], what = 'the network input'): string | undefined {
  if (!(INPUT_PREPROCESS as readonly string[]).includes(preprocess)) return `Unknown input preprocessing "${preprocess}"; choose one of: ${INPUT_PREPROCESS.join(', ')}`;
  const channels = inputShape[inputShape.length - 1];
  if ((preprocess === 'caffe' || preprocess === 'torch') && channels !== 3) {
    return (
      `Input preprocessing "${preprocess}" normalises the 3 RGB channels with ImageNet statistics, but ${what} [${inputShape.join(', ')}] ` +
      `has ${channels} channel${channels === 1 ? '' : 's'}; use "tf" or "none", or a backbone with a 3-channel input (grayscale images are then replicated to RGB)`
    );
  }
  return undefined;
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
    ...(partial.convBias !== undefined ? { convBias: partial.convBias } : {}),
    ...(partial.backbone ? { backbone: partial.backbone } : {}),
    ...(partial.preprocess ? { preprocess: partial.preprocess } : {}),
  };
}
