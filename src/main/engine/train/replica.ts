// The worker side of data-parallel training (data-parallel.ts is the coordinator): one replica
// of the model per engine worker, with its own Adam. Per step every worker computes the gradients
// of its share of the batch (gradients()), the coordinator averages them, and every worker applies
// the same average (apply()), so the replicas stay identical. Weights travel as ONE flat
// Float32Array in the order of net.getWeights() (trainable and not), gradients in the order of
// net.trainableWeights.
import * as tf from '@tensorflow/tfjs';
import { contrastiveLoss } from './loss';
import type { ModelConfig } from '../models/config';
import { buildSiamese, loadSiamese, saveSiamese, type SiameseModel } from '../models/siamese';
import { checkSecondDerivative, type SecondDerivativeCheck } from './mask/check';
import { maskTrainVariables, type MaskTrainOptions } from './mask/runner';
import { mapSplit, type MapSplit } from './mask/split';
import { pairStepGradients, type MaskBatch, type StepParts } from './mask/step';
import { readAdamState, writeAdamState, type AdamState } from './checkpoint';
import { buildHead } from '../explain/split-model';
import { disposeWithNet } from '../models/siamese';
import { frozenMapSplit, frozenPart, runChunked, type FeatureEngine } from './frozen-features';

export interface ReplicaInit {
  model: ModelConfig;
  /** Start from this saved version instead of fresh (seeded) weights. */
  initFromDir?: string;
  learningRate: number;
  margin: number;
  /** mask-guided retraining: batches are explicit pairs, some with masks (mask/step.ts) */
  mask?: MaskTrainOptions;
}

export interface ShareGradients {
  /** mean contrastive loss of the share's pairs */
  loss: number;
  /** [trainable parameters] d loss / d w, flat */
  grads: Float32Array;
  /** BatchNorm moving statistics after this share's forward pass (flat), when the model has BatchNorm */
  state?: Float32Array;
  /** mask-guided retraining: the share's contrastive and (scaled) mask parts of `loss` */
  parts?: StepParts;
}

/** FNV-1a over the bytes of a Float32Array: equal weights, equal checksum. */
export function checksum(values: Float32Array): string {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `${values.length}:${h.toString(16)}`;
}

/** Flattens tensors into one Float32Array (one readback). */
function flatten(tensors: tf.Tensor[]): Float32Array {
  if (tensors.length === 0) return new Float32Array(0);
  const flat = tf.tidy(() => tf.concat(tensors.map((t) => tf.reshape(t, [-1]))));
  const out = flat.dataSync() as Float32Array;
  flat.dispose();
  return out;
}

export class Replica {
  private readonly optimizer: tf.AdamOptimizer;
  private readonly vars: tf.Variable[];
  /** BatchNorm moving mean/variance: updated by each share's forward pass, averaged by the coordinator. */
  private readonly stateVars: tf.LayerVariable[];

  /** the split at the map layer, for mask-guided retraining */
  private readonly split: MapSplit | null;

  /** Frozen features (frozen-features.ts): the frozen part on ONNX Runtime in this worker, the part above it (the head) in tfjs. */
  private frozen: {
    boundary: string;
    head: tf.LayersModel;
    featureShape: number[];
    featureSize: number;
    engine: FeatureEngine;
    /** mask-guided retraining: the map split whose features() take the frozen part's output */
    maskSplit: MapSplit | null;
  } | null = null;

  private constructor(
    readonly model: SiameseModel,
    learningRate: number,
    private readonly margin: number,
    private readonly mask?: MaskTrainOptions,
  ) {
    this.optimizer = tf.train.adam(learningRate);
    this.split = mask ? mapSplit(model, mask.layer) : null;
    this.vars = mask ? maskTrainVariables(model, mask) : model.net.trainableWeights.map((w) => w.read() as tf.Variable);
    // Only BatchNorm layers that train update statistics (frozen ones run in inference mode, see
    // useKerasBatchNormSemantics); a frozen layer's non-trainable weights also hold its gamma and
    // beta, which averaging identical copies over 3 workers could change in the last bit.
    this.stateVars = model.net.layers
      .filter((l) => l.getClassName() === 'BatchNormalization' && l.trainable)
      .flatMap((l) => l.nonTrainableWeights);
  }

  static async create(init: ReplicaInit): Promise<Replica> {
    const model = init.initFromDir ? await loadSiamese(init.initFromDir) : await buildSiamese(init.model);
    return new Replica(model, init.learningRate, init.margin, init.mask);
  }

  get parameterCount(): number {
    return this.vars.reduce((n, v) => n + v.size, 0);
  }

  /**
   * Frozen-feature training: the frozen part on ONNX Runtime in this worker and the head above its
   * boundary; resolves with the boundary and its output shape, or why it cannot apply.
   */
  async enableFrozen(): Promise<{ boundary: string; featureShape: number[] } | { reason: string }> {
    if (!this.frozen) {
      const part = await frozenPart(this.model);
      if ('reason' in part) return part;
      // mask-guided retraining: the mask loss needs the map layer's activations, from the features on
      const maskSplit = this.split ? frozenMapSplit(this.model, part.boundary, this.split) : null;
      if (maskSplit && 'reason' in maskSplit) {
        await part.engine.release();
        return maskSplit;
      }
      const head = buildHead(this.model.net, part.boundary);
      disposeWithNet(this.model.net, head);
      const featureSize = part.featureShape.reduce((a, b) => a * b, 1);
      this.frozen = { boundary: part.boundary.name, head, featureShape: part.featureShape, featureSize, engine: part.engine, maskSplit };
    }
    return { boundary: this.frozen.boundary, featureShape: this.frozen.featureShape };
  }

  /** The frozen part's features [count, featureSize] of rows [count, H, W, C] (after enableFrozen). */
  features(rows: Float32Array, count: number): Promise<Float32Array> {
    if (!this.frozen) throw new Error('This replica has no frozen part on ONNX Runtime');
    return runChunked(this.frozen.engine, rows, count, this.frozen.featureSize);
  }

  /** The network's input of `count` rows and its forward: images through the whole network, or features through the head. */
  private forward(rows: Float32Array, count: number, features: boolean, training: boolean): tf.Tensor2D {
    if (!features) return this.model.embed(tf.tensor4d(rows, [count, ...this.model.config.inputShape]), training);
    if (!this.frozen) throw new Error('This replica has no frozen part on ONNX Runtime');
    return this.frozen.head.apply(tf.tensor(rows, [count, ...this.frozen.featureShape]), { training }) as tf.Tensor2D;
  }

  /**
   * Gradients of the mean loss of a share: rows [count, H, W, C] = anchors(k); reps blocks of k
   * partners; labels [reps * k] (`features`: rows are the frozen part's features, enableFrozen).
   * BatchNorm statistics are put back as they were (the coordinator applies their average), so
   * which worker computes which share does not matter.
   */
  gradients(rows: Float32Array, count: number, anchors: number, labels: Float32Array, mask?: MaskBatch, features = false): ShareGradients {
    if (this.mask) return this.maskGradients(rows, count, labels, mask, features);
    if (mask) throw new Error('This replica was not built for mask-guided training');
    const dim = this.model.config.embeddingSize;
    const k = anchors;
    const nPairs = labels.length;
    const reps = nPairs / k;
    const before = this.stateVars.map((v) => v.read().clone());
    try {
      const { value, grads } = tf.variableGrads(() => {
        const y = tf.tensor1d(labels, 'float32');
        const e = this.forward(rows, count, features, true); // [k + nPairs, D]
        const a = tf.slice(e, [0, 0], [k, dim]) as tf.Tensor2D;
        const partners = tf.slice(e, [k, 0], [nPairs, dim]) as tf.Tensor2D;
        const left =
          reps === 1
            ? a
            : (tf.concat(
                Array.from({ length: reps }, () => a),
                0,
              ) as tf.Tensor2D);
        return contrastiveLoss(left, partners, y, this.margin);
      }, this.vars);
      const ordered = this.vars.map((v) => grads[v.name] ?? tf.zerosLike(v));
      const flat = flatten(ordered);
      const loss = value.dataSync()[0];
      tf.dispose([value, ...Object.values(grads), ...ordered]);
      let state: Float32Array | undefined;
      if (this.stateVars.length > 0) {
        state = flatten(this.stateVars.map((v) => v.read()));
        this.stateVars.forEach((v, i) => v.write(before[i]));
      }
      return { loss, grads: flat, ...(state ? { state } : {}) };
    } finally {
      tf.dispose(before);
    }
  }

  /** gradients() of a mask-guided retraining: explicit pairs, the mask term of the share's masked images (`features`: rows are frozen features). */
  private maskGradients(
    rows: Float32Array,
    count: number,
    labels: Float32Array,
    mask: MaskBatch | undefined,
    features: boolean,
  ): ShareGradients {
    if (features && !this.frozen?.maskSplit) throw new Error('This replica has no frozen part on ONNX Runtime');
    const before = this.stateVars.map((v) => v.read().clone());
    try {
      const out = pairStepGradients(
        this.model,
        features ? this.frozen!.maskSplit! : this.split!,
        this.vars,
        { images: rows, count, labels, mask },
        {
          kind: this.mask!.kind,
          maps: this.mask!.maps ?? 'factual',
          margin: this.margin,
        },
        features ? { data: rows, shape: [count, ...this.frozen!.featureShape] } : undefined,
      );
      const flat = flatten(out.grads);
      tf.dispose(out.grads);
      let state: Float32Array | undefined;
      if (this.stateVars.length > 0) {
        state = flatten(this.stateVars.map((v) => v.read()));
        this.stateVars.forEach((v, i) => v.write(before[i]));
      }
      return { loss: out.loss, grads: flat, parts: out.parts, ...(state ? { state } : {}) };
    } finally {
      tf.dispose(before);
    }
  }

  /** The second-derivative check of the mask loss on this replica's backend (mask/check.ts). */
  checkMask(images: Float32Array, count: number, mask: MaskBatch, seed = 0): SecondDerivativeCheck {
    if (!this.mask || !this.split) throw new Error('This replica was not built for mask-guided training');
    return checkSecondDerivative(
      this.model,
      this.split,
      { images, count, mask },
      { kind: this.mask.kind, maps: this.mask.maps ?? 'factual' },
      seed,
    );
  }

  /** Adam step with the averaged gradients at learning rate `lr`; then the averaged BatchNorm state. */
  apply(grads: Float32Array, lr: number, state?: Float32Array): void {
    if (grads.length !== this.parameterCount) throw new Error(`apply: ${grads.length} gradients for ${this.parameterCount} parameters`);
    (this.optimizer as unknown as { learningRate: number }).learningRate = lr;
    let o = 0;
    const named = this.vars.map((v) => {
      const tensor = tf.tensor(grads.subarray(o, o + v.size), v.shape);
      o += v.size;
      return { name: v.name, tensor };
    });
    this.optimizer.applyGradients(named);
    tf.dispose(named.map((n) => n.tensor));
    if (state && this.stateVars.length > 0) this.writeFlat(this.stateVars, state);
  }

  /** Embeddings [count, D] of rows [count, H, W, C] (inference mode); `features`: rows are frozen features (enableFrozen). */
  embed(rows: Float32Array, count: number, features = false): Float32Array {
    const e = tf.tidy(() => this.forward(rows, count, features, false));
    const out = e.dataSync() as Float32Array;
    e.dispose();
    return out;
  }

  /** All weights (net.getWeights() order), flat. */
  getWeights(): Float32Array {
    return flatten(this.model.net.getWeights());
  }

  setWeights(flat: Float32Array): void {
    const shapes = this.model.net.weights.map((w) => w.shape as number[]);
    const total = shapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
    if (flat.length !== total) throw new Error(`setWeights: ${flat.length} values for ${total} weights`);
    let o = 0;
    const tensors = shapes.map((s) => {
      const size = s.reduce((a, b) => a * b, 1);
      const t = tf.tensor(flat.subarray(o, o + size), s);
      o += size;
      return t;
    });
    this.model.net.setWeights(tensors);
    tf.dispose(tensors);
  }

  /** Adam's state (for a checkpoint; every replica holds the same). */
  adamState(): AdamState {
    return readAdamState(this.optimizer, this.vars);
  }

  setAdamState(state: AdamState): void {
    writeAdamState(this.optimizer, this.vars, state);
  }

  save(dir: string, extra: Record<string, unknown>): Promise<void> {
    return saveSiamese(this.model, dir, extra);
  }

  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
    void this.frozen?.engine.release().catch(() => undefined);
    this.frozen = null;
  }

  private writeFlat(vars: tf.LayerVariable[], flat: Float32Array): void {
    let o = 0;
    for (const v of vars) {
      const size = (v.shape as number[]).reduce((a, b) => a * b, 1);
      const t = tf.tensor(flat.subarray(o, o + size), v.shape as number[]);
      v.write(t);
      t.dispose();
      o += size;
    }
  }
}
