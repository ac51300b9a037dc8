// A pretrained backbone from a local folder (a tfjs LayersModel: model.json + shards,
// e.g. a Keras ResNet50 converted with tensorflowjs_converter), cut at a chosen layer,
// with the first N blocks frozen, topped by the paper's embedding head.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadLayersModel } from '../model-io';
import type { ModelConfig } from './config';
import { embeddingHead } from './head';
import { cutPointLayers, hasSpatialOutput, isConv, SeedSequence, type ST } from './layers-util';

export async function loadBackbone(dir: string): Promise<tf.LayersModel> {
  try {
    return await loadLayersModel(dir);
  } catch (error) {
    throw new Error(`Could not load a tfjs LayersModel from ${dir}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * The backbone's blocks up to (and including) layer index `end`, in order: stretches
 * between consecutive cut points, where a stretch without a convolution (pooling,
 * activation, padding...) is merged into the block before it.
 */
export function backboneBlocks(backbone: tf.LayersModel, end = backbone.layers.length - 1): tf.layers.Layer[][] {
  const cuts = new Set(cutPointLayers(backbone));
  const segments: tf.layers.Layer[][] = [];
  let current: tf.layers.Layer[] = [];
  for (let i = 0; i <= end; i++) {
    const layer = backbone.layers[i];
    if (layer.getClassName() === 'InputLayer') continue;
    current.push(layer);
    if (cuts.has(layer) || i === end) {
      segments.push(current);
      current = [];
    }
  }
  const blocks: tf.layers.Layer[][] = [];
  let lead: tf.layers.Layer[] = [];
  for (const seg of segments) {
    if (seg.some(isConv)) {
      blocks.push([...lead, ...seg]);
      lead = [];
    } else if (blocks.length > 0) blocks[blocks.length - 1].push(...seg);
    else lead.push(...seg);
  }
  if (lead.length > 0) blocks.push(lead);
  return blocks;
}

/** Default cut: the last layer with a 4-D output that is a cut point of the graph. */
export function defaultCutLayer(backbone: tf.LayersModel): string {
  const cuts = cutPointLayers(backbone).filter(hasSpatialOutput);
  if (cuts.length === 0) throw new Error('The backbone has no layer with a spatial (4-D) output to cut at');
  return cuts[cuts.length - 1].name;
}

/**
 * Builds the embedding network on a loaded backbone. Returns the network and the
 * config completed with the backbone's input shape and the resolved cut layer.
 */
export function buildFromBackbone(backbone: tf.LayersModel, cfg: ModelConfig): { net: tf.LayersModel; config: ModelConfig } {
  if (!cfg.backbone) throw new Error('arch "pretrained" needs backbone settings');
  const cutName = cfg.backbone.cutLayer ?? defaultCutLayer(backbone);
  let cutLayer: tf.layers.Layer;
  try {
    cutLayer = backbone.getLayer(cutName);
  } catch {
    throw new Error(`The backbone has no layer "${cutName}"`);
  }
  if (!hasSpatialOutput(cutLayer)) throw new Error(`Cut layer "${cutName}" does not output a 4-D feature map`);
  if (!cutPointLayers(backbone).includes(cutLayer)) {
    throw new Error(`Cannot cut at "${cutName}": other paths (e.g. a residual shortcut) bypass it; cut at a block output`);
  }
  const end = backbone.layers.indexOf(cutLayer);
  const blocks = backboneBlocks(backbone, end);
  const frozen = cfg.backbone.frozenBlocks ?? 0;
  const nFrozen = frozen < 0 ? blocks.length : Math.min(frozen, blocks.length);
  for (let b = 0; b < blocks.length; b++) for (const l of blocks[b]) l.trainable = b >= nFrozen;
  const inputShape = backbone.inputs[0].shape.slice(1) as number[];
  if (inputShape.length !== 3 || inputShape.some((d) => d == null || d <= 0)) {
    throw new Error(`The backbone input must have a fixed [H, W, C] shape, got [${inputShape.join(', ')}]`);
  }
  const config: ModelConfig = {
    ...cfg,
    inputShape: inputShape as [number, number, number],
    backbone: { ...cfg.backbone, cutLayer: cutName, frozenBlocks: frozen },
  };
  const features = cutLayer.getOutputAt(0) as ST;
  const out = embeddingHead(features, config, new SeedSequence(cfg.seed));
  const net = tf.model({ inputs: backbone.inputs, outputs: out, name: 'pretrained_siamese' });
  return { net, config };
}

/**
 * The [H, W, C] input of a saved LayersModel, read from its model.json alone (no
 * weights, no backend): what the images must be resized to before training.
 */
export function savedModelInputShape(dir: string): [number, number, number] {
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { modelTopology?: Record<string, unknown> };
  type Layers = { config?: { batch_input_shape?: (number | null)[]; batch_shape?: (number | null)[] } }[];
  // tensorflowjs_converter writes {model_config: {config: {layers}}}; tfjs's own save() writes {config: {layers}}.
  const topo = (json.modelTopology ?? {}) as { model_config?: { config?: { layers?: Layers } }; config?: { layers?: Layers } };
  const layers = topo.model_config?.config?.layers ?? topo.config?.layers ?? [];
  for (const l of layers) {
    const shape = l.config?.batch_input_shape ?? l.config?.batch_shape; // batch_shape: Keras 3
    if (shape && shape.length === 4 && shape.slice(1).every((d) => typeof d === 'number' && d > 0)) return shape.slice(1) as [number, number, number];
  }
  throw new Error(`Cannot read a fixed [H, W, C] input shape from ${join(dir, 'model.json')}`);
}
