// The training form: its fields, defaults, own checks, and the contract arguments it makes (pure).
import type { ArgsOf } from '../../../../shared/contract';
import type { InputPreprocess, ModelArch } from '../../../../shared/dto';

/** The input preprocessing options with a one-line hint each (what the backbone was trained on). */
export const PREPROCESS_OPTIONS: readonly { id: InputPreprocess; label: string; hint: string }[] = [
  { id: 'none', label: 'none', hint: 'Pixels in [0, 1] as stored (a backbone trained on [0, 1] inputs).' },
  { id: 'tf', label: 'tf: [-1, 1]', hint: 'Scales pixels to [-1, 1]: Keras MobileNetV2, Inception, Xception.' },
  { id: 'caffe', label: 'caffe: BGR, 0-255 minus means', hint: 'RGB to BGR, 0-255 minus the ImageNet means: Keras ResNet50, VGG16/19.' },
  {
    id: 'torch',
    label: 'torch: ImageNet mean/std',
    hint: 'Subtracts the ImageNet mean and divides by its std per channel: PyTorch-style models (3 channels).',
  },
];

export interface TrainForm {
  datasetId: number | null;
  pairSetId: number | null;
  name: string;
  arch: ModelArch;
  epochs: number;
  batchSize: number;
  learningRate: number;
  margin: number;
  embeddingSize: number;
  seed: number;
  augment: boolean;
  /** arch 'pretrained': the tfjs LayersModel folder (model.json + shards) */
  backboneDir: string;
  /** arch 'pretrained': the layer to cut at ('' = the backbone's last spatial layer) */
  cutLayer: string;
  /** arch 'pretrained': the first blocks kept frozen, as typed ('' = the default, -1 = all) */
  frozenBlocks: string;
  /** arch 'pretrained': input preprocessing inside the network */
  preprocess: InputPreprocess;
}

export const defaultTrainForm = (): TrainForm => ({
  datasetId: null,
  pairSetId: null,
  name: '',
  arch: 'small',
  epochs: 10,
  batchSize: 128,
  learningRate: 0.001,
  margin: 2,
  embeddingSize: 64,
  seed: 0,
  augment: false,
  backboneDir: '',
  cutLayer: '',
  frozenBlocks: '',
  preprocess: 'none',
});

export type TrainFormField = 'backboneDir' | 'cutLayer' | 'frozenBlocks';

/** The form's own checks (main validates again): field -> message; empty when it can be sent. */
export function validateTrainForm(f: TrainForm): Partial<Record<TrainFormField, string>> {
  const errors: Partial<Record<TrainFormField, string>> = {};
  if (f.arch !== 'pretrained') return errors;
  const dir = f.backboneDir.trim();
  if (!dir) errors.backboneDir = 'Enter the folder of a tfjs LayersModel (the one holding model.json).';
  else if (dir.length > 4096) errors.backboneDir = 'The path is too long (at most 4096 characters).';
  if (f.cutLayer.trim().length > 200) errors.cutLayer = 'A layer name has at most 200 characters.';
  const frozen = f.frozenBlocks.trim();
  if (frozen && !(/^-?\d+$/.test(frozen) && Number(frozen) >= -1 && Number(frozen) <= 1000)) {
    errors.frozenBlocks = 'A whole number from -1 (all blocks) to 1000, or empty for the default.';
  }
  return errors;
}

/** Contract arguments from the form (validated again in main). */
export function trainArgs(f: TrainForm): ArgsOf<'models.train'> {
  if (f.datasetId === null) throw new Error('Choose a dataset');
  const pretrained = f.arch === 'pretrained';
  const errors = validateTrainForm(f);
  const first = Object.values(errors)[0];
  if (first) throw new Error(first);
  const cut = f.cutLayer.trim();
  const frozen = f.frozenBlocks.trim();
  return {
    datasetId: f.datasetId,
    ...(f.pairSetId !== null ? { pairSetId: f.pairSetId } : {}),
    ...(f.name.trim() ? { name: f.name.trim() } : {}),
    arch: f.arch,
    epochs: f.epochs,
    batchSize: f.batchSize,
    learningRate: f.learningRate,
    margin: f.margin,
    embeddingSize: f.embeddingSize,
    seed: f.seed,
    augment: f.augment,
    ...(pretrained
      ? {
          backbone: { dir: f.backboneDir.trim(), ...(cut ? { cutLayer: cut } : {}), ...(frozen ? { frozenBlocks: Number(frozen) } : {}) },
          ...(f.preprocess !== 'none' ? { preprocess: f.preprocess } : {}),
        }
      : {}),
  };
}
