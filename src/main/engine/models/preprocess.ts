// The network's input preprocessing as a layer (see ModelConfig.preprocess): images are
// fed in [0, 1] and the network itself maps them to what its (pretrained) backbone was
// trained on, so every consumer (training, CAM features, deletion metrics) sees the same
// transform and a saved model.json carries it. No weights: nothing to train, freeze or
// randomise (the sanity check skips it), and it is never a Grad-CAM target.
import * as tf from '@tensorflow/tfjs';
import { checkPreprocess, type InputPreprocess } from './config';
import type { ST } from './layers-util';

/** ImageNet statistics in [0, 1] RGB (torchvision) and the Caffe BGR means in 0-255 (Keras imagenet_utils). */
export const IMAGENET_MEAN_RGB = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD_RGB = [0.229, 0.224, 0.225] as const;
export const CAFFE_MEAN_BGR = [103.939, 116.779, 123.68] as const;

export const PREPROCESS_LAYER = 'preprocess';

interface PreprocessArgs {
  name?: string;
  trainable?: boolean;
  mode: InputPreprocess;
}

/** x in [0, 1] (NHWC) -> the backbone's input range; see ModelConfig.preprocess for the modes. */
export class InputPreprocessing extends tf.layers.Layer {
  static className = 'SimLensInputPreprocessing';
  readonly mode: InputPreprocess;

  constructor(args: PreprocessArgs) {
    super({ name: args.name, trainable: args.trainable });
    if (args.mode !== 'tf' && args.mode !== 'caffe' && args.mode !== 'torch')
      throw new Error(`Unknown input preprocessing "${String(args.mode)}"`);
    this.mode = args.mode;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      switch (this.mode) {
        case 'tf':
          return tf.sub(tf.mul(x, 2), 1);
        case 'torch':
          return tf.div(tf.sub(x, tf.tensor1d([...IMAGENET_MEAN_RGB])), tf.tensor1d([...IMAGENET_STD_RGB]));
        case 'caffe':
          return tf.sub(tf.mul(tf.reverse(x, -1), 255), tf.tensor1d([...CAFFE_MEAN_BGR]));
        default:
          throw new Error(`Unknown input preprocessing "${String(this.mode)}"`);
      }
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), mode: this.mode };
  }
}
// Registered on import: loading a saved model.json that contains the layer needs it.
tf.serialization.registerClass(InputPreprocessing);

/**
 * The network's first op on `input`: the input itself for 'none', else the
 * preprocessing layer. Throws if the mode does not fit the input's channels.
 */
export function preprocessInput(input: ST, mode: InputPreprocess): ST {
  const problem = checkPreprocess(mode, input.shape.slice(1) as number[]);
  if (problem) throw new Error(problem);
  if (mode === 'none') return input;
  return new InputPreprocessing({ name: PREPROCESS_LAYER, mode }).apply(input) as ST;
}
