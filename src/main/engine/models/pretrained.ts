// A pretrained backbone from a local folder (a tfjs LayersModel: model.json + shards,
// e.g. a Keras ResNet50 converted with tensorflowjs_converter), cut at a chosen layer,
// with the first N blocks frozen, topped by the paper's embedding head, and the input
// preprocessing the backbone was trained with as the network's first layer.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadLayersModel } from '../runtime/model-io';
import { checkPreprocess, preprocessOf, type InputPreprocess, type ModelConfig } from './config';
import { embeddingHead } from './head';
import { cutPointLayers, hasSpatialOutput, isConv, SeedSequence, type ST } from './layers-util';
import { preprocessInput } from './preprocess';

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

interface NodeLike {
  inputTensors: ST[];
  callArgs?: Record<string, unknown>;
}

/**
 * The backbone from its input to `cut`, with the input preprocessing as its first op, as a
 * fresh model of its own. The backbone's layers are first re-applied on a new input
 * (preprocessed), then that graph is saved and reloaded in memory, the model.json path
 * loadSiamese takes too: the result has new layers, each with a single inbound node (the
 * structure a saved and reloaded version has), its own copy of the weights (no random
 * initialisation first), and none of the backbone's layers, so the caller can dispose the
 * backbone, classifier top included.
 */
async function backboneUpTo(backbone: tf.LayersModel, cut: tf.layers.Layer, preprocess: InputPreprocess): Promise<tf.LayersModel> {
  if (backbone.inputs.length !== 1) throw new Error(`The backbone must have one input, it has ${backbone.inputs.length}`);
  const source = backbone.inputs[0];
  const input = tf.input({ shape: source.shape.slice(1) as number[], name: source.sourceLayer.name, dtype: source.dtype });
  const nodes = new Map<string, ST[]>([[`${source.sourceLayer.name}#${source.nodeIndex}`, [preprocessInput(input, preprocess)]]]);
  const rebuild = (t: ST): ST => {
    const key = `${t.sourceLayer.name}#${t.nodeIndex}`;
    let outs = nodes.get(key);
    if (!outs) {
      const layer = t.sourceLayer;
      if (layer.getClassName() === 'InputLayer') throw new Error(`The backbone has a second input "${layer.name}"`);
      const node = (layer as unknown as { inboundNodes: NodeLike[] }).inboundNodes[t.nodeIndex];
      const inputs = node.inputTensors.map(rebuild);
      const out = layer.apply(inputs.length === 1 ? inputs[0] : inputs, node.callArgs ?? {}) as ST | ST[];
      outs = Array.isArray(out) ? out : [out];
      nodes.set(key, outs);
    }
    return outs[t.tensorIndex];
  };
  const graph = tf.model({ inputs: input, outputs: rebuild(cut.getOutputAt(0) as ST), name: `${backbone.name}_to_${cut.name}` });
  try {
    let artifacts: tf.io.ModelArtifacts | undefined;
    await graph.save(
      tf.io.withSaveHandler(async (saved) => {
        artifacts = saved;
        return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(saved) };
      }),
    );
    return await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
  } finally {
    graph.dispose();
  }
}

/**
 * Builds the embedding network on a loaded backbone (and disposes the backbone: the
 * network has its own copy of the weights up to the cut). Returns the network and the
 * config completed with the backbone's input shape and the resolved cut layer.
 * Input preprocessing (config.preprocess) becomes the network's first layer; frozen
 * blocks are trainable = false, so their BatchNorm layers keep their moving statistics
 * in training (useKerasBatchNormSemantics, applied by SiameseModel).
 */
export async function buildFromBackbone(backbone: tf.LayersModel, cfg: ModelConfig): Promise<{ net: tf.LayersModel; config: ModelConfig }> {
  try {
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
    const inputShape = backbone.inputs[0].shape.slice(1) as number[];
    if (inputShape.length !== 3 || inputShape.some((d) => d == null || d <= 0)) {
      throw new Error(`The backbone input must have a fixed [H, W, C] shape, got [${inputShape.join(', ')}]`);
    }
    const preprocess = preprocessOf(cfg);
    const problem = checkPreprocess(preprocess, inputShape, "the backbone's input");
    if (problem) throw new Error(problem);
    const blocks = backboneBlocks(backbone, backbone.layers.indexOf(cutLayer));
    const frozen = cfg.backbone.frozenBlocks ?? 0;
    const nFrozen = frozen < 0 ? blocks.length : Math.min(frozen, blocks.length);
    const config: ModelConfig = {
      ...cfg,
      inputShape: inputShape as [number, number, number],
      backbone: { ...cfg.backbone, cutLayer: cutName, frozenBlocks: frozen },
    };
    const part = await backboneUpTo(backbone, cutLayer, preprocess);
    for (let b = 0; b < blocks.length; b++) for (const l of blocks[b]) part.getLayer(l.name).trainable = b >= nFrozen;
    const out = embeddingHead(part.outputs[0], config, new SeedSequence(cfg.seed));
    const net = tf.model({ inputs: part.inputs, outputs: out, name: 'pretrained_siamese' });
    return { net, config };
  } finally {
    backbone.dispose();
  }
}

/**
 * The [H, W, C] input of a saved LayersModel, read from its model.json alone (no
 * weights, no backend): what the images must be resized to before training.
 */
export function savedModelInputShape(dir: string): [number, number, number] {
  const file = join(dir, 'model.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no model.json there'
        : code === 'EACCES'
          ? 'model.json is not readable'
          : code === 'ENOTDIR'
            ? 'not a folder'
            : String((error as Error).message);
    throw new Error(`Backbone folder ${dir}: ${why} (expected a tfjs LayersModel folder: model.json + weight shards)`);
  }
  let json: { modelTopology?: Record<string, unknown> };
  try {
    json = JSON.parse(text) as { modelTopology?: Record<string, unknown> };
  } catch {
    throw new Error(`Backbone folder ${dir}: model.json is not valid JSON`);
  }
  type Layers = { config?: { batch_input_shape?: (number | null)[]; batch_shape?: (number | null)[] } }[];
  // tensorflowjs_converter writes {model_config: {config: {layers}}}; tfjs's own save() writes {config: {layers}}.
  const topo = (json.modelTopology ?? {}) as { model_config?: { config?: { layers?: Layers } }; config?: { layers?: Layers } };
  const layers = topo.model_config?.config?.layers ?? topo.config?.layers ?? [];
  for (const l of layers) {
    const shape = l.config?.batch_input_shape ?? l.config?.batch_shape; // batch_shape: Keras 3
    if (shape && shape.length === 4 && shape.slice(1).every((d) => typeof d === 'number' && d > 0))
      return shape.slice(1) as [number, number, number];
  }
  throw new Error(`Cannot read a fixed [H, W, C] input shape from ${join(dir, 'model.json')}`);
}
