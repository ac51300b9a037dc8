// ONNX Runtime as the engine of a saved version's forwards without weight gradient (issue #12):
// the embedding for evaluation and scoring, and the forward to a CAM target layer (its
// activations as an extra output, so the part above the layer and its gradient stay in tfjs).
//
// Each ONNX model is exported once per version and target layer and cached beside the version's
// tfjs files (<version>/.onnx-cache/v<N>/, written atomically; a version folder is never
// changed, and a replaced folder takes its cache with it). Before a file is cached, ONNX
// Runtime's outputs on two seeded random images are compared with tfjs' (max |diff| <= 1e-4 of
// the magnitude): a conversion error can never give a wrong map. A model the exporter cannot
// convert (a layer it does not know, a mismatch) runs on tfjs, with the reason kept in
// fallback.json so that app.info shows it and no later load tries again.
//
// One export per file even when several threads or processes load a version at once (the pool's
// workers all load it for their first chunk of an evaluation or of explanations): the exporter
// holds <file>.lock (created exclusively) while it exports and verifies; the others wait for its
// file, or its recorded fallback, and open that. The exporter touches its lock every
// EXPORT_LOCK_BEAT_MS; a lock left by an exporter that died (its process is gone, or a worker
// thread terminated: the lock is not touched for EXPORT_LOCK_STALE_MS) is taken over. At worst
// (an exporter stalled that long) a model is exported twice, as without the lock: the files are
// the same and replace each other atomically.
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadSiamese, type AcceleratorCallOptions, type InferenceAccelerator, type SiameseModel } from '../models/siamese';
import type { ST } from '../models/layers-util';
import { initInference, ortThreads } from '../runtime/inference';
import { OnnxExportError } from './errors';
import { activationsOutput, exportToOnnx, ONNX_EMBEDDING } from './export';
import { OnnxModelSession } from './session';
import { adoptSession, openSession, type SessionHandle } from './session-cache';
import { ONNX_EXPORTER_REVISION, ONNX_FALLBACK_FILE, onnxCacheDir, readOnnxFallback, type OnnxFallback } from './cache-files';

export { ONNX_CACHE_DIR, ONNX_FALLBACK_FILE, onnxCacheDir, readOnnxFallback } from './cache-files';

/** Writes `bytes` to `file` through a temporary name, so a reader never sees half a file. */
function writeAtomic(file: string, bytes: Uint8Array | string): void {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, file);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

/** Largest accepted max |onnx - tfjs| / max |tfjs| of a cached model's outputs. */
export const ONNX_CACHE_TOLERANCE = 1e-4;
const CHECK_IMAGES = 2;
/** A lock not touched for this long is taken over (its exporter died). */
export const EXPORT_LOCK_STALE_MS = 30_000;
const EXPORT_LOCK_BEAT_MS = 1_000;
const EXPORT_LOCK_POLL_MS = 50;
/** Images per ONNX Runtime run: at most this many floats of input (ResNet50 at 224: 55 images). */
const MAX_RUN_FLOATS = 8 * 1024 * 1024;

/** Whether the lock `lock` was left by an exporter that died: its process is gone, or it was not touched for EXPORT_LOCK_STALE_MS. */
function staleLock(lock: string): boolean {
  try {
    if (Date.now() - statSync(lock).mtimeMs > EXPORT_LOCK_STALE_MS) return true;
    const pid = Number(readFileSync(lock, 'utf8'));
    // this process's (another thread), or its pid not written yet: only its heartbeat tells
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
    try {
      process.kill(pid, 0);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ESRCH';
    }
  } catch {
    return false; // gone meanwhile: the next attempt takes it
  }
}

/**
 * Takes the export lock of `file` (see the file's comment), or waits until `done()` (another
 * exporter's file or fallback is there). Resolves with its release, a no-op when not taken.
 */
async function exportLock(file: string, done: () => boolean): Promise<() => void> {
  const lock = `${file}.lock`;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      try {
        writeSync(fd, String(process.pid));
      } finally {
        closeSync(fd);
      }
      const beat = setInterval(() => {
        try {
          const now = new Date();
          utimesSync(lock, now, now);
        } catch {
          // taken over meanwhile: nothing to keep alive
        }
      }, EXPORT_LOCK_BEAT_MS);
      beat.unref();
      return () => {
        clearInterval(beat);
        rmSync(lock, { force: true });
      };
    } catch (error) {
      // a read-only folder or another failure: export without the lock, as before it
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return () => undefined;
    }
    if (done()) return () => undefined;
    if (staleLock(lock)) rmSync(lock, { force: true });
    else await new Promise((resolve) => setTimeout(resolve, EXPORT_LOCK_POLL_MS));
  }
}

const fileName = (layer: string | null) => (layer === null ? 'embedding.onnx' : `layer-${encodeURIComponent(layer)}.onnx`);

interface ForwardResult {
  /** [batch, D] */
  embedding: Float32Array;
  activations?: { data: Float32Array; dims: number[] };
}

/** max |got - want| / max |want|. */
export function relativeDifference(got: Float32Array, want: Float32Array): number {
  let diff = 0;
  let magnitude = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    magnitude = Math.max(magnitude, Math.abs(want[i]));
  }
  return got.length !== want.length ? Infinity : magnitude === 0 ? diff : diff / magnitude;
}

export class OnnxAccelerator implements InferenceAccelerator {
  readonly engine = 'ort';
  private reason: string | null;
  /** Sessions by target layer ('' for the embedding alone). */
  private readonly sessions = new Map<string, Promise<SessionHandle | null>>();
  private released = false;

  constructor(
    private readonly model: SiameseModel,
    private readonly modelDir: string,
  ) {
    this.reason = readOnnxFallback(modelDir)?.reason ?? null;
  }

  get fallbackReason(): string | null {
    return this.reason;
  }

  async embed(images: Float32Array, shape: readonly number[], options: AcceleratorCallOptions = {}): Promise<Float32Array | null> {
    if (!this.fits(shape)) return null;
    const threads = options.threads ?? ortThreads();
    // any session gives the embedding: reuse a target layer's rather than load a second model
    const open = [...this.sessions.keys()].filter((k) => k.endsWith(`|${threads}`)).map((k) => k.slice(0, k.lastIndexOf('|')));
    const layer = open.length === 0 || open.includes('') ? '' : open[0];
    const out = await this.run(layer === '' ? null : layer, threads, images, shape[0], false);
    return out?.embedding ?? null;
  }

  async forward(
    layer: string,
    images: Float32Array,
    shape: readonly number[],
    options: AcceleratorCallOptions = {},
  ): Promise<Required<ForwardResult> | null> {
    if (!this.fits(shape)) return null;
    return (await this.run(layer, options.threads ?? ortThreads(), images, shape[0], true)) as Required<ForwardResult> | null;
  }

  /** Whether `shape` is a batch of the model's input; tfjs reports any other shape (it names the layer). */
  private fits(shape: readonly number[]): boolean {
    const input = this.model.config.inputShape;
    return shape.length === 4 && input.every((d, i) => shape[i + 1] === d);
  }

  release(): void {
    this.released = true;
    // back to the thread's session cache (session-cache.ts), which keeps a few open for the next load
    for (const s of this.sessions.values()) void s.then((h) => h?.close()).catch(() => undefined);
    this.sessions.clear();
  }

  /** Runs images [batch, H, W, C] in runs of at most MAX_RUN_FLOATS input floats. */
  private async run(
    layer: string | null,
    threads: number,
    images: Float32Array,
    batch: number,
    withActivations: boolean,
  ): Promise<ForwardResult | null> {
    const session = (await this.session(layer, threads))?.session;
    if (!session) return null;
    const size = images.length / batch;
    const step = Math.max(1, Math.floor(MAX_RUN_FLOATS / size));
    const names = withActivations && layer !== null ? [ONNX_EMBEDDING, activationsOutput(layer)] : [ONNX_EMBEDDING];
    const parts: Map<string, { data: Float32Array; dims: number[] }>[] = [];
    for (let start = 0; start < batch; start += step) {
      const n = Math.min(step, batch - start);
      parts.push(await session.run(images.subarray(start * size, (start + n) * size), n, names));
    }
    const joined = (name: string) => {
      if (parts.length === 1) return parts[0].get(name)!;
      const dims = [batch, ...parts[0].get(name)!.dims.slice(1)];
      const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
      let offset = 0;
      for (const p of parts) {
        data.set(p.get(name)!.data, offset);
        offset += p.get(name)!.data.length;
      }
      return { data, dims };
    };
    return {
      embedding: joined(ONNX_EMBEDDING).data,
      ...(names.length > 1 ? { activations: joined(names[1]) } : {}),
    };
  }

  private session(layer: string | null, threads: number): Promise<SessionHandle | null> {
    if (this.reason !== null || this.released) return Promise.resolve(null);
    const key = `${layer ?? ''}|${threads}`;
    let s = this.sessions.get(key);
    if (!s) {
      s = this.open(layer, threads).catch((error: unknown) => {
        this.fallBack(error);
        return null;
      });
      this.sessions.set(key, s);
    }
    return s;
  }

  private async open(layer: string | null, threads: number): Promise<SessionHandle> {
    const dir = onnxCacheDir(this.modelDir);
    const file = join(dir, fileName(layer));
    if (existsSync(file)) return openSession(file, threads);
    mkdirSync(dir, { recursive: true });
    const release = await exportLock(file, () => existsSync(file) || readOnnxFallback(this.modelDir) !== null);
    try {
      // another exporter may have finished (or given up) while this one waited
      if (existsSync(file)) return await openSession(file, threads);
      const recorded = readOnnxFallback(this.modelDir);
      if (recorded) throw new OnnxExportError(recorded.reason);
      const exported = await exportToOnnx(this.model.net, { activationLayers: layer === null ? [] : [layer] });
      const session = await OnnxModelSession.create(exported.bytes, { intraOpThreads: threads });
      try {
        await this.check(session, layer);
        writeAtomic(file, exported.bytes);
      } catch (error) {
        await session.release();
        throw error;
      }
      return adoptSession(file, session, threads);
    } catch (error) {
      // recorded before the lock is released, so that a waiting loader reads the reason instead of exporting again
      if (error instanceof OnnxExportError) this.fallBack(error);
      throw error;
    } finally {
      release();
    }
  }

  /** ONNX Runtime's embedding (and activations) against tfjs' on seeded random images. */
  private async check(session: OnnxModelSession, layer: string | null): Promise<void> {
    const net = this.model.net;
    const x = tf.randomUniform([CHECK_IMAGES, ...this.model.config.inputShape], 0, 1, 'float32', 4321) as tf.Tensor4D;
    const features =
      layer === null
        ? null
        : tf.model({ inputs: net.inputs, outputs: net.getLayer(layer).getOutputAt(0) as ST, name: `${net.name}_onnx_check` });
    const [e, a] = tf.tidy(() => [this.model.embed(x), ...(features ? [features.apply(x, { training: false }) as tf.Tensor] : [])]);
    try {
      const images = (await x.data()) as Float32Array;
      const got = await session.run(images, CHECK_IMAGES, layer === null ? [ONNX_EMBEDDING] : [ONNX_EMBEDDING, activationsOutput(layer)]);
      const checks: [string, Float32Array, Float32Array][] = [
        ['embedding', got.get(ONNX_EMBEDDING)!.data, (await e.data()) as Float32Array],
      ];
      if (layer !== null && a) checks.push([`layer "${layer}"`, got.get(activationsOutput(layer))!.data, (await a.data()) as Float32Array]);
      for (const [what, g, w] of checks) {
        const d = relativeDifference(g, w);
        if (!(d <= ONNX_CACHE_TOLERANCE))
          throw new OnnxExportError(
            `ONNX Runtime's ${what} differs from tfjs' by ${d.toExponential(2)} of its magnitude (tolerance ${ONNX_CACHE_TOLERANCE})`,
          );
      }
    } finally {
      tf.dispose([x, e, ...(a ? [a] : [])]);
    }
  }

  /** Stays on tfjs from now on; a conversion failure is recorded for app.info and later loads. */
  private fallBack(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.reason ??= message;
    if (!(error instanceof OnnxExportError)) return; // e.g. a session that failed to start: not recorded, tried again next load
    try {
      const dir = onnxCacheDir(this.modelDir);
      mkdirSync(dir, { recursive: true });
      const record: OnnxFallback = { reason: message, exporterRevision: ONNX_EXPORTER_REVISION, at: new Date().toISOString() };
      writeAtomic(join(dir, ONNX_FALLBACK_FILE), `${JSON.stringify(record, null, 2)}\n`);
    } catch {
      // a read-only folder: the reason is still in this accelerator's fallbackReason
    }
  }
}

/**
 * Loads a saved version for read-only use (explanations, evaluation): with an ONNX Runtime
 * accelerator when this thread's inference engine is 'ort' (runtime/inference.ts). Never for
 * training: the accelerator runs the weights as saved.
 */
export async function loadForInference(modelDir: string): Promise<SiameseModel> {
  const [model, inference] = await Promise.all([loadSiamese(modelDir), initInference()]);
  if (inference.name === 'ort') model.accelerator = new OnnxAccelerator(model, modelDir);
  return model;
}
