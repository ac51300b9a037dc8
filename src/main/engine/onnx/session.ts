// Inference on ONNX Runtime (onnxruntime-node, CPU execution provider) for a model exported by
// export.ts: images in, embeddings (and any exposed activations) out, as plain Float32Arrays so
// the caller decides whether they become tfjs tensors.
//
// onnxruntime-node (a native module) is loaded on the first session, not on import
// (runtime/inference.ts): a process whose ONNX Runtime is missing or fails to load still imports
// this capability and stays on tfjs.
import type * as Ort from 'onnxruntime-node';
import { inferenceInfo, loadOnnxRuntime, ortThreads } from '../runtime/inference';
import { uninterrupted } from '../runtime/pool/native-gate';
import { ONNX_EMBEDDING, ONNX_INPUT } from './export';

export interface OnnxSessionOptions {
  /**
   * Threads for one operator (ONNX Runtime's intra-op pool). 1 for a session per worker thread,
   * more for one session using several cores; default: runtime/inference.ts' ortThreads().
   */
  intraOpThreads?: number;
  /** Execution providers, best first; default: those initInference found working, else ['cpu']. */
  providers?: readonly string[];
}

/** An output of a run: row-major data and its shape (batch first). */
export interface OnnxOutput {
  data: Float32Array;
  dims: number[];
}

export class OnnxModelSession {
  private constructor(
    private readonly ort: typeof Ort,
    private readonly session: Ort.InferenceSession,
    /** [H, W, C] of one image, from the model's input. */
    readonly inputShape: readonly number[],
  ) {}

  /** Loads an exported model from its bytes or a .onnx file path. */
  static async create(model: Uint8Array | string, options: OnnxSessionOptions = {}): Promise<OnnxModelSession> {
    const ort = await loadOnnxRuntime();
    const sessionOptions: Ort.InferenceSession.SessionOptions = {
      executionProviders: [...(options.providers ?? inferenceInfo()?.providers ?? ['cpu'])],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: options.intraOpThreads ?? ortThreads(),
      interOpNumThreads: 1,
      executionMode: 'sequential',
    };
    // native calls: a pool worker is never terminated inside one (runtime/pool/native-gate.ts)
    const session = await uninterrupted(() =>
      typeof model === 'string' ? ort.InferenceSession.create(model, sessionOptions) : ort.InferenceSession.create(model, sessionOptions),
    );
    const meta = session.inputMetadata.find((m) => m.name === ONNX_INPUT);
    const dims = meta && meta.isTensor ? meta.shape.slice(1) : [];
    if (!meta || dims.length !== 3 || dims.some((d) => typeof d !== 'number') || !session.outputNames.includes(ONNX_EMBEDDING)) {
      await session.release();
      throw new Error(
        `Not a SimLens ONNX embedding model: expected an input "${ONNX_INPUT}" [batch, H, W, C] and an output "${ONNX_EMBEDDING}"`,
      );
    }
    return new OnnxModelSession(ort, session, dims as number[]);
  }

  /** The outputs the model has: 'embedding' and any 'activations:<layer>'. */
  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /**
   * Runs images [batch, H, W, C] (NHWC, in [0, 1], row-major as a tfjs tensor's data) and returns
   * the outputs asked for (default: the embedding [batch, D]).
   */
  async run(images: Float32Array, batch: number, outputs: readonly string[] = [ONNX_EMBEDDING]): Promise<Map<string, OnnxOutput>> {
    const [h, w, c] = this.inputShape;
    if (images.length !== batch * h * w * c)
      throw new Error(`ONNX Runtime input: ${images.length} values are not ${batch} images of ${h}x${w}x${c}`);
    for (const name of outputs)
      if (!this.session.outputNames.includes(name))
        throw new Error(`The ONNX model has no output "${name}" (it has: ${this.session.outputNames.join(', ')})`);
    const feeds = { [ONNX_INPUT]: new this.ort.Tensor('float32', images, [batch, h, w, c]) };
    const results = await uninterrupted(() => this.session.run(feeds, [...outputs]));
    const out = new Map<string, OnnxOutput>();
    for (const name of outputs) {
      const t = results[name];
      out.set(name, { data: t.data as Float32Array, dims: [...t.dims] });
    }
    return out;
  }

  /** Embeddings [batch, D] of images [batch, H, W, C]. */
  async embed(images: Float32Array, batch: number): Promise<OnnxOutput> {
    return (await this.run(images, batch)).get(ONNX_EMBEDDING)!;
  }

  async release(): Promise<void> {
    await uninterrupted(() => this.session.release());
  }
}
