// The ONNX export a user takes away (`simlens models export --format onnx`): model.onnx (the
// embedding network) and simlens-onnx.json (what a program needs to use it without SimLens: the
// input size and range, the preprocessing the graph already applies, the score's tau and the
// decision threshold). Before anything is written, ONNX Runtime's embedding of a few images is
// checked against tfjs', so a conversion error never leaves the machine as a wrong model.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadSiamese, preprocessOf, type InputPreprocess, type SiameseModel } from '../models';
import { OnnxExportError } from './errors';
import { exportToOnnx, ONNX_EMBEDDING, ONNX_INPUT } from './export';
import { ONNX_OPSET } from './graph-builder';
import { OnnxModelSession } from './session';

export const ONNX_MODEL_FILE = 'model.onnx';
export const ONNX_INFO_FILE = 'simlens-onnx.json';

/** Largest accepted max |onnx - tfjs| / max |tfjs| over the check images. */
export const ONNX_AGREEMENT_TOLERANCE = 1e-4;
const CHECK_IMAGES = 4;

/** simlens-onnx.json. */
export interface OnnxBundleInfo {
  format: 'simlens-onnx';
  version: 1;
  model: string;
  modelVersion: { id: number; name: string; arch: string };
  opset: number;
  input: {
    name: string;
    /** [batch, H, W, C]: NHWC, float32. */
    shape: ['batch', number, number, number];
    range: [0, 1];
    /** How SimLens makes an image this size: the whole image resized to W x H (aspect not kept), bilinear. */
    resize: 'fill, bilinear';
    channels: 'grey' | 'rgb';
  };
  /** Applied inside the graph: feed [0, 1] pixels, whatever the mode. */
  preprocessingInGraph: InputPreprocess;
  output: { name: string; shape: ['batch', number] };
  score: { formula: string; tau: number; threshold: number | null; same: string };
  /** The check made before writing: ONNX Runtime against tfjs on random images. */
  checked: { images: number; maxRelativeDifference: number; tolerance: number };
}

export interface OnnxBundleRequest {
  /** The version's tfjs folder (model.json + siamese.json). */
  modelDir: string;
  /** Created if missing; must be empty. */
  outDir: string;
  modelVersion: { id: number; name: string; arch: string };
  /** The version's decision threshold on the score (null: not evaluated). */
  threshold: number | null;
  producerVersion?: string;
}

/** max |onnx - tfjs| / max |tfjs| of the embeddings of `count` seeded random images. */
async function compareWithTfjs(model: SiameseModel, bytes: Uint8Array, count: number): Promise<number> {
  const x = tf.randomUniform([count, ...model.config.inputShape], 0, 1, 'float32', 1234) as tf.Tensor4D;
  const e = model.embed(x);
  const [images, expected] = await Promise.all([x.data(), e.data()]);
  tf.dispose([x, e]);
  const session = await OnnxModelSession.create(bytes);
  try {
    const got = (await session.embed(images as Float32Array, count)).data;
    let diff = 0;
    let magnitude = 0;
    for (let i = 0; i < expected.length; i++) {
      diff = Math.max(diff, Math.abs(got[i] - expected[i]));
      magnitude = Math.max(magnitude, Math.abs(expected[i]));
    }
    return magnitude === 0 ? diff : diff / magnitude;
  } finally {
    await session.release();
  }
}

/**
 * Exports a saved version to `outDir`; returns the files written and simlens-onnx.json's content.
 * Runs on the thread's current tfjs backend (a pool worker's, or the in-process engine's).
 */
export async function writeOnnxBundle(req: OnnxBundleRequest): Promise<{ files: string[]; info: OnnxBundleInfo }> {
  if (existsSync(req.outDir) && readdirSync(req.outDir).length > 0) throw new Error(`${req.outDir} exists and is not empty`);
  const model = await loadSiamese(req.modelDir);
  try {
    const cfg = model.config;
    const exported = await exportToOnnx(model.net, {
      producerVersion: req.producerVersion,
      metadata: { 'simlens.tau': String(cfg.tau), 'simlens.threshold': String(req.threshold), 'simlens.arch': cfg.arch },
    });
    const difference = await compareWithTfjs(model, exported.bytes, CHECK_IMAGES);
    if (!(difference <= ONNX_AGREEMENT_TOLERANCE))
      throw new OnnxExportError(
        `ONNX export: ONNX Runtime's embedding differs from tfjs' by ${difference.toExponential(2)} of its magnitude (tolerance ${ONNX_AGREEMENT_TOLERANCE}); nothing was written`,
      );
    const [h, w, c] = cfg.inputShape;
    const info: OnnxBundleInfo = {
      format: 'simlens-onnx',
      version: 1,
      model: ONNX_MODEL_FILE,
      modelVersion: req.modelVersion,
      opset: ONNX_OPSET,
      input: { name: ONNX_INPUT, shape: ['batch', h, w, c], range: [0, 1], resize: 'fill, bilinear', channels: c === 1 ? 'grey' : 'rgb' },
      preprocessingInGraph: preprocessOf(cfg),
      output: { name: ONNX_EMBEDDING, shape: ['batch', exported.outputs[0].shape[0]] },
      score: {
        formula: 'score = exp(-||e1 - e2||^2 / tau)',
        tau: cfg.tau,
        threshold: req.threshold,
        same: 'score >= threshold',
      },
      checked: { images: CHECK_IMAGES, maxRelativeDifference: difference, tolerance: ONNX_AGREEMENT_TOLERANCE },
    };
    mkdirSync(req.outDir, { recursive: true });
    writeFileSync(join(req.outDir, ONNX_MODEL_FILE), exported.bytes);
    writeFileSync(join(req.outDir, ONNX_INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
    return { files: [ONNX_MODEL_FILE, ONNX_INFO_FILE], info };
  } finally {
    model.dispose();
  }
}
