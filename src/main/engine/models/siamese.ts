// The Siamese wrapper: ONE embedding network with shared weights applied to both
// images of a pair, and the score s = exp(-d²/τ) (see ../score.ts).
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadLayersModel, readJsonIfExists, saveLayersModel } from '../runtime/model-io';
import { pairScore, squaredDistance, scoreFromSquaredDistance } from './score';
import { ARCHS, checkPreprocess, preprocessOf, type ModelConfig } from './config';
import { cutPointLayers, hasSpatialOutput, isConv, useKerasBatchNormSemantics } from './layers-util';
import { buildMobileNetV2 } from './mobilenetv2';
import { buildFromBackbone, loadBackbone } from './pretrained';
import { InputPreprocessing } from './preprocess';
import { buildResNet } from './resnet';
import { buildSmallCnn } from './small-cnn';

export const SIAMESE_JSON = 'siamese.json';

const NOT_CAM_TARGETS = new Set([
  'MaxPooling2D',
  'AveragePooling2D',
  'ZeroPadding2D',
  'Cropping2D',
  'InputLayer',
  'BatchNormalization',
  InputPreprocessing.className,
]);

/**
 * Models built by applying a network's own layers to new symbolic inputs (the Grad-CAM heads of
 * explain/split-model.ts and train/mask/split.ts). Each such symbolic apply adds a reference to
 * every layer it reuses, so net.dispose() alone leaves those layers' weights alive (tfjs-layers
 * disposes a layer's weights when its reference count reaches 0): they are disposed with the net.
 */
const derivedModels = new WeakMap<tf.LayersModel, tf.LayersModel[]>();

/** Registers `derived` (built on `net`'s layers) to be disposed when the SiameseModel of `net` is. */
export function disposeWithNet(net: tf.LayersModel, derived: tf.LayersModel): void {
  const list = derivedModels.get(net) ?? [];
  list.push(derived);
  derivedModels.set(net, list);
}

/**
 * A faster engine for the forwards of a SAVED version that need no weight gradient (ONNX
 * Runtime: engine/onnx/accelerator.ts), attached by loadForInference, never to a model being
 * trained (it runs a snapshot of the saved weights). Each call resolves to null when the engine
 * cannot run this model (the reason is kept in `fallbackReason`): the caller then uses tfjs.
 */
export interface AcceleratorCallOptions {
  /**
   * Threads for this call's operators (ONNX Runtime's intra-op threads), when not the thread's
   * default: a lone interactive pair on an idle pool uses every core in the worker that runs it.
   */
  threads?: number;
}

export interface InferenceAccelerator {
  readonly engine: string;
  /** Why this model runs on tfjs after all (set once a call resolved to null). */
  readonly fallbackReason: string | null;
  /**
   * Embeddings [batch, D] of images `shape` = [batch, H, W, C] (NHWC in [0, 1], row-major). Null
   * also when the images are not the model's input size: tfjs then reports that as it always has.
   */
  embed(images: Float32Array, shape: readonly number[], options?: AcceleratorCallOptions): Promise<Float32Array | null>;
  /** One forward: the embeddings [batch, D] and layer `layer`'s activations [batch, h, w, K] (NHWC as tfjs gives them). */
  forward(
    layer: string,
    images: Float32Array,
    shape: readonly number[],
    options?: AcceleratorCallOptions,
  ): Promise<{ embedding: Float32Array; activations: { data: Float32Array; dims: number[] } } | null>;
  release(): void;
}

export class SiameseModel {
  /** Set by loadForInference for a saved version's read-only use (see InferenceAccelerator). */
  accelerator: InferenceAccelerator | null = null;

  constructor(
    /** The shared embedding network: [b, H, W, C] -> [b, D]. */
    readonly net: tf.LayersModel,
    readonly config: ModelConfig,
  ) {
    // Frozen (trainable = false) BatchNorm layers normalise with their moving statistics, as in Keras.
    useKerasBatchNormSemantics(net);
  }

  get tau(): number {
    return this.config.tau;
  }

  /**
   * x [b, H, W, C] in [0, 1] -> e [b, D] (the network applies config.preprocess itself).
   * `training` switches trainable BatchNorm layers to batch statistics; frozen ones keep
   * their moving statistics.
   */
  embed(x: tf.Tensor4D, training = false): tf.Tensor2D {
    return this.net.apply(x, { training }) as tf.Tensor2D;
  }

  /** Scores and squared distances of pairs of image batches. */
  scorePairs(x1: tf.Tensor4D, x2: tf.Tensor4D): { score: tf.Tensor1D; d2: tf.Tensor1D } {
    return tf.tidy(() => {
      const d2 = squaredDistance(this.embed(x1), this.embed(x2));
      return { d2, score: scoreFromSquaredDistance(d2, this.tau) };
    });
  }

  score(e1: tf.Tensor2D, e2: tf.Tensor2D): tf.Tensor1D {
    return pairScore(e1, e2, this.tau);
  }

  /** Names of every convolution layer, input to output. */
  convLayers(): string[] {
    return this.net.layers.filter(isConv).map((l) => l.name);
  }

  /** Layers that can be the Grad-CAM target: 4-D outputs that every path goes through. */
  camLayers(): string[] {
    return cutPointLayers(this.net)
      .filter((l) => hasSpatialOutput(l) && !NOT_CAM_TARGETS.has(l.getClassName()))
      .map((l) => l.name);
  }

  /** The last convolutional block's output (small CNN: conv4; ResNet: the last block's *_out; MobileNetV2: out_relu). */
  defaultCamLayer(): string {
    const layers = this.camLayers();
    if (layers.length === 0) throw new Error('This model has no convolutional layer to explain');
    return layers[layers.length - 1];
  }

  trainableWeightCount(): number {
    return this.net.trainableWeights.reduce((n, w) => n + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
  }

  /** Frees the weights, also those the derived models (disposeWithNet) hold a reference to. */
  dispose(): void {
    const derived = derivedModels.get(this.net) ?? [];
    derivedModels.delete(this.net);
    for (const m of derived) m.dispose();
    this.net.dispose();
    this.accelerator?.release();
    this.accelerator = null;
  }
}

/** Builds a fresh (untrained) model; for 'pretrained' loads the backbone folder. */
export async function buildSiamese(config: ModelConfig): Promise<SiameseModel> {
  if (!ARCHS.includes(config.arch)) throw new Error(`Unknown architecture "${config.arch}"`);
  if (config.arch !== 'pretrained') {
    // (a backbone's input shape is only known once loaded: buildFromBackbone checks it there)
    const problem = checkPreprocess(preprocessOf(config), config.inputShape);
    if (problem) throw new Error(problem);
  }
  switch (config.arch) {
    case 'small':
      return new SiameseModel(buildSmallCnn(config), config);
    case 'resnet18':
      return new SiameseModel(buildResNet(config, 18), config);
    case 'resnet50':
      return new SiameseModel(buildResNet(config, 50), config);
    case 'mobilenetv2':
      return new SiameseModel(buildMobileNetV2(config), config);
    case 'pretrained': {
      if (!config.backbone) throw new Error('arch "pretrained" needs a backbone folder');
      const backbone = await loadBackbone(config.backbone.dir);
      const { net, config: resolved } = await buildFromBackbone(backbone, config);
      return new SiameseModel(net, resolved);
    }
  }
}

/** Saves into a version folder: model.json + shards (a plain tfjs LayersModel) and siamese.json (the config). */
export async function saveSiamese(model: SiameseModel, dir: string, extra: Record<string, unknown> = {}): Promise<void> {
  await saveLayersModel(model.net, dir, { [SIAMESE_JSON]: { format: 'simlens-siamese', version: 1, config: model.config, ...extra } });
}

/**
 * Loads a saved version. Configs saved before `preprocess` existed have none: their
 * model.json has no preprocessing layer either, so they load unchanged ('none').
 */
export async function loadSiamese(dir: string): Promise<SiameseModel> {
  const meta = readJsonIfExists<{ config: ModelConfig }>(join(dir, SIAMESE_JSON));
  if (!meta) throw new Error(`${dir} is not a SimLens model folder (no ${SIAMESE_JSON})`);
  const net = await loadLayersModel(dir);
  const inNet = net.layers.find((l): l is InputPreprocessing => l instanceof InputPreprocessing)?.mode ?? 'none';
  if (inNet !== preprocessOf(meta.config)) {
    net.dispose();
    throw new Error(`${dir}: ${SIAMESE_JSON} says input preprocessing "${preprocessOf(meta.config)}" but model.json applies "${inNet}"`);
  }
  return new SiameseModel(net, meta.config);
}
