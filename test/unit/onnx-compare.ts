// For the ONNX exporter's tests: ONNX Runtime's outputs of an exported network against tfjs'
// (the embedding, and the activations of named layers), trained-like stand-ins for the weights
// whose initial values would hide errors, and the exported files kept for the reference checker.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { activationsOutput, exportToOnnx, ONNX_EMBEDDING, OnnxModelSession } from '../../src/main/engine/onnx';
import { checkOnnxFiles, findOnnxChecker } from './onnx-checker';

/**
 * Deterministic stand-ins for trained values in every rank-1 weight (biases, BN gamma/beta/mean/variance):
 * their initial values (zeros, ones) would hide a converter that mixes up gamma and beta, or drops a bias.
 */
export function randomizeVectorWeights(net: tf.LayersModel, seed: number): void {
  let n = seed;
  for (const layer of net.layers) {
    const weights = layer.getWeights();
    if (!weights.some((w) => w.rank === 1)) continue;
    const fresh = layer.weights.map((v, i) => {
      const w = weights[i];
      if (w.rank !== 1) return w.clone();
      // Variances must stay positive; everything else may take either sign.
      const [lo, hi] = v.originalName.endsWith('moving_variance') ? [0.5, 2] : v.originalName.endsWith('gamma') ? [0.5, 1.5] : [-0.5, 0.5];
      return tf.randomUniform(w.shape, lo, hi, 'float32', n++);
    });
    layer.setWeights(fresh);
    tf.dispose(fresh);
  }
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
/** max |a - b| (same lengths expected). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** A temporary folder for a test file's exported .onnx files, which its last test gives to the checker. */
export class ExportedFiles {
  readonly dir = mkdtempSync(join(tmpdir(), 'simlens-onnx-'));
  readonly paths: string[] = [];

  write(fileName: string, bytes: Uint8Array): string {
    const path = join(this.dir, fileName);
    writeFileSync(path, bytes);
    this.paths.push(path);
    return path;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Runs the reference checker over every file written (skipping the test, saying why, without it). */
  expectAllPassChecker(ctx: { skip: (note?: string) => void }, expectedCount: number): void {
    const checker = findOnnxChecker();
    if (checker.python === null) return ctx.skip(`ONNX checker unavailable: ${checker.reason}`);
    expect(this.paths.length).toBe(expectedCount);
    expect(checkOnnxFiles(checker.python, this.paths).filter((r) => r.error !== '')).toEqual([]);
  }
}

/**
 * Exports `net`, runs a batch of 3 images in [0, 1] through ONNX Runtime and tfjs, and compares the
 * embedding and the activations of `activationLayers` (NHWC, as tfjs gives them). Returns the
 * relative differences (max |onnx - tfjs| / max |tfjs|; for the activations the largest over the
 * layers); writes the file into `files` for the checker.
 */
export async function compareWithTfjs(
  net: tf.LayersModel,
  files: ExportedFiles,
  fileName: string,
  activationLayers: string | readonly string[] = [],
): Promise<{ embedding: number; activations?: number }> {
  const layers = typeof activationLayers === 'string' ? [activationLayers] : activationLayers;
  const before = tf.memory().numTensors;
  const exported = await exportToOnnx(net, { activationLayers: layers });
  expect(tf.memory().numTensors).toBe(before); // reading the weights leaks no tensor
  files.write(fileName, exported.bytes);

  const inputShape = net.inputs[0].shape.slice(1) as number[];
  expect(exported.inputShape).toEqual(inputShape);
  const x = tf.randomUniform([3, ...inputShape], 0, 1, 'float32', 11);
  const session = await OnnxModelSession.create(exported.bytes);
  try {
    const out = await session.run((await x.data()) as Float32Array, 3, [ONNX_EMBEDDING, ...layers.map(activationsOutput)]);
    const expected = [net.predict(x) as tf.Tensor];
    if (layers.length > 0) {
      const features = tf.model({ inputs: net.inputs, outputs: layers.map((l) => net.getLayer(l).getOutputAt(0) as tf.SymbolicTensor) });
      expected.push(...[features.predict(x)].flat());
    }
    const diffs: number[] = [];
    for (const [i, name] of [ONNX_EMBEDDING, ...layers.map(activationsOutput)].entries()) {
      const got = out.get(name)!;
      expect({ name, dims: got.dims }).toEqual({ name, dims: expected[i].shape });
      const want = await expected[i].data();
      diffs.push(maxAbsDiff(got.data, want) / maxAbs(want));
    }
    tf.dispose(expected);
    return { embedding: diffs[0], ...(layers.length > 0 ? { activations: Math.max(...diffs.slice(1)) } : {}) };
  } finally {
    x.dispose();
    await session.release();
  }
}

/** compareWithTfjs, expecting the embedding and every activation within `tolerance` (1e-4 of the magnitude). */
export async function expectSameAsTfjs(
  net: tf.LayersModel,
  files: ExportedFiles,
  fileName: string,
  activationLayers: string | readonly string[] = [],
  tolerance = 1e-4,
): Promise<void> {
  const diff = await compareWithTfjs(net, files, fileName, activationLayers);
  expect(diff.embedding).toBeLessThanOrEqual(tolerance);
  if (activationLayers.length > 0) expect(diff.activations).toBeLessThanOrEqual(tolerance);
}
