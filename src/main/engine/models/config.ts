// What a Siamese model is made of: saved next to its weights (siamese.json) and in
// model_versions.config, so a version can be rebuilt and explained later.
import {
  INPUT_PREPROCESS,
  MODEL_ARCHS,
  type InputPreprocess,
  type ModelArch,
  type ModelConfigDto,
  type PretrainedBackboneDto,
  type SmallCnnHead,
} from '../../../shared/dto';

export { INPUT_PREPROCESS, type InputPreprocess };

// The shapes are the shared DTOs (src/shared/dto.ts, where their fields are described): the
// stored config is what the contract returns as ModelVersionDto.config.model.
export type Arch = ModelArch;
export const ARCHS: readonly Arch[] = MODEL_ARCHS;

/** What the small CNN puts after its last conv block (see SmallCnnHead). */
export type SmallHead = SmallCnnHead;
export const SMALL_HEADS: readonly SmallHead[] = ['flatten', 'gap'];

export type PretrainedBackboneConfig = PretrainedBackboneDto;

export type ModelConfig = ModelConfigDto;

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
  if (!(INPUT_PREPROCESS as readonly string[]).includes(preprocess))
    return `Unknown input preprocessing "${preprocess}"; choose one of: ${INPUT_PREPROCESS.join(', ')}`;
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
