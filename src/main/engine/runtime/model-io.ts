// Saving and loading tfjs LayersModels as plain folders (model.json + weight shards),
// the layout tensorflowjs_converter writes and tf.loadLayersModel('file://...') reads,
// without tfjs-node: a custom IOHandler over node:fs.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
// Registers SimLens' own layer classes (the input preprocessing), so that any model.json
// this module loads can contain them, whichever module imported model-io first.
import '../models/preprocess';

export const MODEL_JSON = 'model.json';
const SHARD_BYTES = 4 * 1024 * 1024;

/** IOHandler that writes model.json + group1-shardNofM.bin files (of at most `shardBytes`) into `dir` (created). */
export function fileSaveHandler(dir: string, shardBytes = SHARD_BYTES): tf.io.IOHandler {
  return {
    save: async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      mkdirSync(dir, { recursive: true });
      const data = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const nShards = Math.max(1, Math.ceil(data.byteLength / shardBytes));
      const paths: string[] = [];
      for (let i = 0; i < nShards; i++) {
        const name = `group1-shard${i + 1}of${nShards}.bin`;
        paths.push(name);
        writeFileSync(join(dir, name), new Uint8Array(data, i * shardBytes, Math.min(shardBytes, data.byteLength - i * shardBytes)));
      }
      const json: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as object,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths, weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
        ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
      };
      writeFileSync(join(dir, MODEL_JSON), JSON.stringify(json));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
  };
}

/** IOHandler that reads a model.json (+ the shards its manifest lists) from `dir`. */
export function fileLoadHandler(dir: string): tf.io.IOHandler {
  return {
    load: async (): Promise<tf.io.ModelArtifacts> => {
      const jsonPath = join(dir, MODEL_JSON);
      if (!existsSync(jsonPath)) throw new Error(`No ${MODEL_JSON} in ${dir}`);
      const json = JSON.parse(readFileSync(jsonPath, 'utf8')) as tf.io.ModelJSON;
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const p of group.paths) {
            const bytes = readFileSync(resolve(dir, p));
            buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
          }
        }
        return [specs, tf.io.concatenateArrayBuffers(buffers)];
      });
    },
  };
}

/**
 * Saves a model into `dir` atomically: written into a sibling temp folder, then
 * renamed, so a crash never leaves a half-written model folder under the final name.
 * `extraFiles` (name -> JSON value) are written alongside model.json.
 */
export async function saveLayersModel(model: tf.LayersModel, dir: string, extraFiles: Record<string, unknown> = {}): Promise<void> {
  const tmp = join(dirname(dir), `.tmp-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  try {
    await model.save(fileSaveHandler(tmp));
    for (const [name, value] of Object.entries(extraFiles)) writeFileSync(join(tmp, name), JSON.stringify(value, null, 2));
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
}

export async function loadLayersModel(dir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(fileLoadHandler(dir));
}

export function readJsonIfExists<T>(path: string): T | undefined {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : undefined;
}
