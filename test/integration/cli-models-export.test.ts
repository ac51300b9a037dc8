// `simlens models export`: the built CLI (out/main/cli.js) on a version trained on the bundled demo
// data. --format onnx writes model.onnx + simlens-onnx.json, and a program with nothing but ONNX
// Runtime and that JSON reproduces the scores SimLens stored for the version's test pairs.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, type ImageRow } from '../../src/main/engine/data/dataset';
import { loadSiamese, saveSiamese, SiameseModel } from '../../src/main/engine/models';
import { OnnxModelSession, type OnnxBundleInfo } from '../../src/main/engine/onnx';
import type { ModelExportDto, ModelVersionDto } from '../../src/shared/dto';
import { checkOnnxFile, findOnnxChecker } from '../unit/onnx-checker';
import { DEMO, ensureBuiltCli, runCli, runCliJson, type CliRun } from './cli-harness';

const env = () => ({ SIMLENS_WORKSPACE: work, SIMLENS_BACKEND: 'wasm' });
const simlens = (args: string[]): Promise<CliRun> => runCli(args, { env: env() });
const json = <T>(args: string[]): Promise<T> => runCliJson<T>(args, env());

let work: string;
let db: string;
let modelId: number;
beforeAll(async () => {
  ensureBuiltCli();
  await tf.setBackend('cpu');
  work = mkdtempSync(join(tmpdir(), 'simlens-cli-export-'));
  db = join(work, 'demo.db');
  await json(['import', DEMO, '--db', db, '--kind', 'idx']);
  await json(['pairs', '--db', db, '--seed', '1']);
  modelId = (await json<{ modelId: number }>(['train', '--db', db, '--epochs', '1', '--batch', '32', '--seed', '3'])).modelId;
}, 300_000);
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

interface ScoredPair {
  a: ImageRow;
  b: ImageRow;
  score: number;
}

/** The version's stored test-pair scores, with both images' rows. */
function storedTestScores(limit: number): ScoredPair[] {
  const sqlite = new Database(db, { readonly: true, fileMustExist: true });
  try {
    const image = sqlite.prepare('SELECT width, height, channels, pixel_encoding, pixels FROM images WHERE id = ?');
    const rows = sqlite
      .prepare(
        "SELECT p.image_a AS a, p.image_b AS b, s.score AS score FROM scores s JOIN pairs p ON p.id = s.pair_id WHERE s.model_id = ? AND p.split = 'test' ORDER BY p.id LIMIT ?",
      )
      .all(modelId, limit) as { a: number; b: number; score: number }[];
    return rows.map((r) => ({ a: image.get(r.a) as ImageRow, b: image.get(r.b) as ImageRow, score: r.score }));
  } finally {
    sqlite.close();
  }
}

describe('simlens models export', () => {
  it('--format onnx: model.onnx + simlens-onnx.json reproduce the stored scores with ONNX Runtime alone', async () => {
    const out = join(work, 'onnx');
    const written = await json<ModelExportDto>([
      'models',
      'export',
      '--db',
      db,
      '--model',
      String(modelId),
      '--format',
      'onnx',
      '--out',
      out,
    ]);
    expect(written).toEqual({ path: out, format: 'onnx', files: ['model.onnx', 'simlens-onnx.json'] });
    expect(readdirSync(out).sort()).toEqual(['model.onnx', 'simlens-onnx.json']);

    const version = await json<ModelVersionDto>(['models', '--db', db, '--model', String(modelId)]);
    const info = JSON.parse(readFileSync(join(out, 'simlens-onnx.json'), 'utf8')) as OnnxBundleInfo;
    expect(info).toMatchObject({
      format: 'simlens-onnx',
      model: 'model.onnx',
      modelVersion: { id: modelId, name: version.name, arch: 'small' },
      opset: 13,
      input: { name: 'input', shape: ['batch', 28, 28, 1], range: [0, 1], channels: 'grey' },
      preprocessingInGraph: 'none',
      output: { name: 'embedding', shape: ['batch', version.config.model.embeddingSize] },
      score: { tau: version.config.model.tau, threshold: version.metrics!.threshold, same: 'score >= threshold' },
    });
    expect(info.checked.maxRelativeDifference).toBeLessThanOrEqual(1e-4);

    // What a user's program does: decode, resize to the input size, [0, 1], embed, score with tau.
    const pairs = storedTestScores(40);
    expect(pairs).toHaveLength(40);
    const [h, w, c] = [info.input.shape[1], info.input.shape[2], info.input.shape[3]];
    const images = new Float32Array(2 * pairs.length * h * w * c);
    for (let i = 0; i < pairs.length; i++) {
      images.set(await decodeImage(pairs[i].a, [h, w, c]), 2 * i * h * w * c);
      images.set(await decodeImage(pairs[i].b, [h, w, c]), (2 * i + 1) * h * w * c);
    }
    const session = await OnnxModelSession.create(join(out, 'model.onnx'));
    let embeddings: Float32Array;
    try {
      embeddings = (await session.embed(images, 2 * pairs.length)).data;
    } finally {
      await session.release();
    }
    const d = info.output.shape[1];
    pairs.forEach((p, i) => {
      let d2 = 0;
      for (let k = 0; k < d; k++) d2 += (embeddings[2 * i * d + k] - embeddings[(2 * i + 1) * d + k]) ** 2;
      expect(Math.abs(Math.exp(-d2 / info.score.tau) - p.score), `pair ${i}`).toBeLessThan(1e-4);
    });

    // and the embeddings equal those of the version's tfjs folder
    const model = await loadSiamese(join(dirname(db), version.weightsPath!));
    try {
      const x = tf.tensor4d(images, [2 * pairs.length, h, w, c]);
      const e = model.embed(x);
      const expected = await e.data();
      tf.dispose([x, e]);
      let diff = 0;
      let magnitude = 0;
      expected.forEach((v, i) => {
        diff = Math.max(diff, Math.abs(v - embeddings[i]));
        magnitude = Math.max(magnitude, Math.abs(v));
      });
      expect(diff).toBeLessThanOrEqual(1e-4 * magnitude);
    } finally {
      model.dispose();
    }
  });

  it('the exported model.onnx passes the reference ONNX checker', (ctx) => {
    const checker = findOnnxChecker();
    if (checker.python === null) return ctx.skip(`ONNX checker unavailable: ${checker.reason}`);
    const path = join(work, 'onnx', 'model.onnx');
    expect(existsSync(path)).toBe(true);
    expect(checkOnnxFile(checker.python, path)).toBe('');
  });

  it('--format tfjs (the default) copies the model folder; the text output lists the files', async () => {
    const out = join(work, 'tfjs');
    const run = await simlens(['models', 'export', '--db', db, '--model', String(modelId), '--out', out]);
    expect(run.stderr, run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Exported model version ${modelId} as a tfjs model folder to ${out}:`);
    expect(run.stdout).toMatch(/^ {2}model\.json$/m);
    expect(run.stdout).toMatch(/^ {2}siamese\.json$/m);
    expect(readdirSync(out)).toEqual(expect.arrayContaining(['model.json', 'siamese.json']));
  });

  it('bad arguments: a one-line reason and exit code 2', async () => {
    const m = String(modelId);
    const usage: [string[], string][] = [
      [['models', 'export', '--db', db, '--out', join(work, 'x')], '--model ID is required'],
      [['models', 'export', '--db', db, '--model', m], '--out DIR is required'],
      [
        ['models', 'export', '--db', db, '--model', m, '--out', join(work, 'x'), '--format', 'tflite'],
        "--format: expected tfjs or onnx, got 'tflite'",
      ],
      [['models', 'frobnicate', '--db', db], "unknown models subcommand 'frobnicate' (expected export)"],
      [['models', '--db', db, '--format', 'onnx'], '--format and --out are options of models export'],
    ];
    for (const [args, message] of usage) {
      const run = await simlens(args);
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      expect(run.stderr).toContain(message);
    }
    const full = join(work, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'keep.txt'), 'x');
    const refused = await simlens(['models', 'export', '--db', db, '--model', m, '--format', 'onnx', '--out', full]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${full} exists and is not empty`);
    expect(readdirSync(full)).toEqual(['keep.txt']);
  });

  // Last: it replaces the version's network.
  it('a network with a layer the exporter does not convert: exit code 1, the layer and its class named, nothing written', async () => {
    const version = await json<ModelVersionDto>(['models', '--db', db, '--model', String(modelId)]);
    const folder = join(dirname(db), version.weightsPath!);
    const config = version.config.model;
    // The same interface ([b, 28, 28, 1] -> [b, D]) through an UpSampling2D.
    const input = tf.input({ shape: config.inputShape, name: 'input' });
    const up = tf.layers.upSampling2d({ name: 'upsample', size: [2, 2] }).apply(input) as tf.SymbolicTensor;
    const flat = tf.layers.flatten({ name: 'flatten' }).apply(up) as tf.SymbolicTensor;
    const embedding = tf.layers.dense({ name: 'embedding', units: config.embeddingSize }).apply(flat) as tf.SymbolicTensor;
    const net = new SiameseModel(tf.model({ inputs: input, outputs: embedding }), config);
    await saveSiamese(net, folder);
    net.dispose();

    const out = join(work, 'refused');
    const run = await simlens(['models', 'export', '--db', db, '--model', String(modelId), '--format', 'onnx', '--out', out]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `Model version ${modelId} cannot be exported to ONNX: ONNX export: layer "upsample" (class UpSampling2D) is not supported by the ONNX exporter`,
    );
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
  });
});
