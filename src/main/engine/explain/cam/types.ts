// Shapes and options shared by every explanation method for a pair.
//
// Conventions (all methods):
// - maps are row-major Float32Array of length h*w (the target layer's grid for the CAM
//   family, the input grid for occlusion/RISE);
// - `factual` = what made the pair MORE similar (target s), `counterfactual` = what argued
//   against it (target 1 - s), each ReLU'd and normalised to [0, 1] by its own max;
// - an all-zero map (after ReLU) stays all-zero and is flagged `noEvidence` — it is NOT
//   divided by its (zero) max and never turned into noise;
// - `scale` is the max before normalisation, so magnitudes stay comparable across the
//   two images and the two directions (the normalised maps alone hide them).

export type GradientCamMethod = 'gradcam' | 'gradcampp' | 'xgradcam' | 'hirescam' | 'layercam';
export type PerturbationMethod = 'scorecam' | 'occlusion' | 'rise';
export type CamMethod = GradientCamMethod | PerturbationMethod;

export const GRADIENT_CAM_METHODS: readonly GradientCamMethod[] = ['gradcam', 'gradcampp', 'xgradcam', 'hirescam', 'layercam'];
export const CAM_METHODS: readonly CamMethod[] = [...GRADIENT_CAM_METHODS, 'scorecam', 'occlusion', 'rise'];

export interface ImageExplanation {
  /** [h*w] row-major, in [0, 1]. */
  factual: Float32Array;
  /** [h*w] row-major, in [0, 1]; null when the method defines no counterfactual. */
  counterfactual: Float32Array | null;
  h: number;
  w: number;
  /** True when the (ReLU'd) map is all zero: nothing in this image supports that direction. */
  noEvidence: { factual: boolean; counterfactual: boolean | null };
  /** Max of each ReLU'd map before normalisation (0 when noEvidence). */
  scale: { factual: number; counterfactual: number | null };
  /** Pre-ReLU, pre-normalisation maps (only with `keepRaw`). For Grad-CAM, XGrad-CAM,
   *  HiResCAM, Score-CAM and occlusion, raw.counterfactual = -raw.factual exactly. */
  raw?: { factual: Float32Array; counterfactual: Float32Array | null };
}

export interface PairExplanation {
  method: CamMethod;
  /** Target layer name (CamModel.layer); 'input' for input-space methods. */
  layer: string;
  /** s(x1, x2) of the unmodified pair. */
  score: number;
  images: [ImageExplanation, ImageExplanation];
  /** Whether this method defines a counterfactual map (the UI says so when not). */
  counterfactualDefined: boolean;
  /** Score-CAM only: channels masked per image (a, b) out of the layer's K, and the cap used. */
  channels?: ScoreCamChannels;
}

export interface ScoreCamChannels {
  /** channels whose masks were scored, per image (active channels, at most maxChannels) */
  used: [number, number];
  /** channels that vary spatially per image (a constant channel carries no mask) */
  active: [number, number];
  /** K, the channels of the target layer */
  total: number;
  /** the cap (null: none) */
  maxChannels: number | null;
}

export type ProgressFn = (fraction: number, message?: string) => void;

export interface ExplainOptions {
  /** Keep pre-ReLU maps in the result (tests, sanity checks, storage of signed maps). */
  keepRaw?: boolean;
  /** Cancels multi-forward methods between chunks (throws the signal's reason). */
  signal?: AbortSignal;
  /** Progress in [0, 1] for multi-forward methods. */
  onProgress?: ProgressFn;
  /** Images per forward in multi-forward methods (default 32). */
  batchSize?: number;
  /** Value of "removed" pixels for perturbation methods (default 0, the input range's black). */
  baselineValue?: number;
  // Score-CAM
  /** 'delta' (default): w_k = s(x∘H_k, x_other) - s(baseline, x_other), signed, so the
   *  counterfactual is the negative part; 'softmax': pytorch-grad-cam's softmax over the
   *  masked scores (factual) and over their negatives (counterfactual). */
  scoreCamWeighting?: 'delta' | 'softmax';
  /** Score the masks of at most this many channels per image: those with the largest mean
   *  |activation| on that image (default DEFAULT_SCORECAM_MAX_CHANNELS; Infinity: all). */
  maxChannels?: number;
  // Occlusion
  /** Square patch side in pixels (default max(1, round(min(H, W) / 7))). */
  patch?: number;
  /** Patch stride in pixels (default max(1, round(patch / 2))). */
  stride?: number;
  // RISE
  /** Number of random masks (default 1000). */
  masks?: number;
  /** Coarse mask grid cells per side (default 7). */
  grid?: number;
  /** Probability that a coarse cell is kept (default 0.5). */
  keepProb?: number;
  /** Seed of the masks (default 0). */
  seed?: number;
}

/**
 * Default Score-CAM channel cap. 256 keeps every channel of the small CNN's and ResNet18's
 * early blocks, halves ResNet18's last block (512) and cuts ResNet50's last block (2048)
 * 8-fold: 2 + 2 * 256 masked forwards per pair instead of up to 4098. With 'delta' weights
 * |w_k| <= 1 (s is in (0, 1]), so the channels left out change the raw map by at most the
 * sum of their activations: the top-k by mean activation drop the least of it.
 */
export const DEFAULT_SCORECAM_MAX_CHANNELS = 256;

export interface MethodInfo {
  label: string;
  kind: 'gradient' | 'perturbation';
  /** Forward passes per pair (for time estimates): symbolic text. */
  cost: string;
  counterfactual: { defined: boolean; how: string };
}

export const METHOD_INFO: Record<CamMethod, MethodInfo> = {
  gradcam: {
    label: 'Grad-CAM',
    kind: 'gradient',
    cost: '1 forward + 1 backward',
    counterfactual: { defined: true, how: 'negated channel weights (target 1 - s): C = ReLU(-sum_k alpha_k A_k)' },
  },
  gradcampp: {
    label: 'Grad-CAM++',
    kind: 'gradient',
    cost: '1 forward + 1 backward',
    counterfactual: {
      defined: true,
      how: 'the Grad-CAM++ weights computed from the gradient of 1 - s (i.e. -g); not an exact negative of the factual map',
    },
  },
  xgradcam: {
    label: 'XGrad-CAM',
    kind: 'gradient',
    cost: '1 forward + 1 backward',
    counterfactual: { defined: true, how: 'negated channel weights (target 1 - s)' },
  },
  hirescam: {
    label: 'HiResCAM',
    kind: 'gradient',
    cost: '1 forward + 1 backward',
    counterfactual: { defined: true, how: 'ReLU(-sum_k g_k A_k) (target 1 - s)' },
  },
  layercam: {
    label: 'LayerCAM',
    kind: 'gradient',
    cost: '1 forward + 1 backward',
    counterfactual: { defined: true, how: 'ReLU(-g) in place of ReLU(g) (target 1 - s)' },
  },
  scorecam: {
    label: 'Score-CAM',
    kind: 'perturbation',
    cost: '2 + (active channels of both images, at most maxChannels each) forwards',
    counterfactual: { defined: true, how: 'channels whose mask lowers s below the baseline score (negative change)' },
  },
  occlusion: {
    label: 'Occlusion',
    kind: 'perturbation',
    cost: '1 + patches per image forwards',
    counterfactual: { defined: true, how: 'regions whose occlusion raises s' },
  },
  rise: {
    label: 'RISE',
    kind: 'perturbation',
    cost: '1 + masks per image forwards',
    counterfactual: { defined: false, how: 'RISE estimates E[s | pixel kept]; it defines no counterfactual' },
  },
};

/** Throws the signal's reason (an AbortError by default) if it has been aborted. */
export function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) {
    throw signal.reason instanceof Error ? signal.reason : new DOMException('The explanation was cancelled', 'AbortError');
  }
}
