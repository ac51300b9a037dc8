// Helpers shared by the architecture builders: seeded initialisers and graph
// inspection (which layers are convolutions, which are cut points of the graph).
import * as tf from '@tensorflow/tfjs';

/** Hands out a fresh seed per layer, so the whole network is determined by one seed. */
export class SeedSequence {
  private n = 0;
  constructor(private readonly seed: number) {}
  next(): number {
    this.n++;
    // Keep seeds in a range tfjs' seedrandom accepts as integers.
    return (Math.imul(this.seed + 1, 1000003) + this.n * 7919) >>> 0;
  }
  heNormal(): ReturnType<typeof tf.initializers.heNormal> {
    return tf.initializers.heNormal({ seed: this.next() });
  }
  glorotUniform(): ReturnType<typeof tf.initializers.glorotUniform> {
    return tf.initializers.glorotUniform({ seed: this.next() });
  }
}

export type ST = tf.SymbolicTensor;
export const apply = (layer: tf.layers.Layer, x: ST | ST[]): ST => layer.apply(x) as ST;

const CONV_CLASSES = new Set(['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'Conv2DTranspose']);

/** The layers that feed layer `l` in the graph it was built in (node 0). */
export function inboundLayers(l: tf.layers.Layer): tf.layers.Layer[] {
  const nodes = (l as unknown as { inboundNodes: { inboundLayers: tf.layers.Layer[] }[] }).inboundNodes;
  return nodes.length > 0 ? nodes[0].inboundLayers : [];
}

/** True if the layer's output is 4-D (a spatial feature map). */
export function hasSpatialOutput(l: tf.layers.Layer): boolean {
  try {
    const shape = l.outputShape as (number | null)[] | (number | null)[][];
    return Array.isArray(shape) && !Array.isArray(shape[0]) && shape.length === 4;
  } catch {
    return false;
  }
}

export function isConv(l: tf.layers.Layer): boolean {
  return CONV_CLASSES.has(l.getClassName());
}

/**
 * Layers whose output alone determines the model output: every path from the input
 * to the output passes through them (articulation points of the DAG). Only these can
 * split the model into features -> head for Grad-CAM. Returned in topological order.
 */
export function cutPointLayers(model: tf.LayersModel): tf.layers.Layer[] {
  const layers = model.layers; // topological order for functional models
  const index = new Map(layers.map((l, i) => [l, i]));
  const lastUse = layers.map(() => -1);
  layers.forEach((l, i) => {
    for (const p of inboundLayers(l)) {
      const j = index.get(p);
      if (j !== undefined) lastUse[j] = Math.max(lastUse[j], i);
    }
  });
  const outputLayers = new Set(model.outputLayers);
  const cuts: tf.layers.Layer[] = [];
  const live = new Set<number>();
  layers.forEach((l, i) => {
    live.add(i);
    for (const j of [...live]) if (lastUse[j] <= i && !outputLayers.has(layers[j])) live.delete(j);
    if (live.size === 1 && live.has(i) && l.getClassName() !== 'InputLayer') cuts.push(l);
  });
  return cuts;
}

const KERAS_BN = Symbol('simlens.kerasBatchNorm');
type CallArgs = Parameters<tf.layers.Layer['call']>;

/**
 * Gives every BatchNormalization layer of `model` (nested models included) the Keras (TF2)
 * semantics of freezing: a BN layer with trainable = false runs in inference mode (its
 * moving mean/variance, which it then never updates) even when called with training = true.
 * tfjs BN looks only at the `training` kwarg, so a frozen block would otherwise normalise
 * with the statistics of each batch and overwrite its pretrained moving statistics. The
 * check reads `trainable` at call time, so unfreezing a layer later takes effect; trainable
 * BN layers keep batch statistics in training. Per instance (no global patch of tfjs) and
 * idempotent; SiameseModel applies it to every network it wraps, built or loaded, and
 * model.json keeps `trainable`, so the semantics survive save/load.
 */
export function useKerasBatchNormSemantics(model: tf.LayersModel): void {
  for (const layer of model.layers) {
    if (layer instanceof tf.LayersModel) {
      useKerasBatchNormSemantics(layer);
      continue;
    }
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const marked = layer as tf.layers.Layer & { [KERAS_BN]?: true };
    if (marked[KERAS_BN]) continue;
    const call = layer.call.bind(layer);
    layer.call = (inputs: CallArgs[0], kwargs: CallArgs[1]) => call(inputs, layer.trainable ? kwargs : { ...kwargs, training: false });
    marked[KERAS_BN] = true;
  }
}
