// Type-checked with the renderer (tsconfig.web.json). Where a version's frozen blocks ran in its
// training, as the models view's details, `simlens models show` and the training log say it
// (shared/inference.ts describeFrozenFeatures; the log's note is frozenNote).
import { describe, expect, it } from 'vitest';
import { configRows } from '../../src/renderer/src/components/models/display';
import type { FrozenFeaturesDto, ModelVersionDto } from '../../src/shared/dto';
import { describeFrozenFeatures } from '../../src/shared/inference';

const version = (frozenFeatures?: FrozenFeaturesDto): ModelVersionDto => ({
  id: 3,
  name: 'pretrained v3',
  datasetId: 1,
  pairSetId: 2,
  parentId: null,
  jobId: 9,
  arch: 'pretrained',
  config: {
    model: {
      arch: 'pretrained',
      inputShape: [32, 32, 3],
      embeddingSize: 16,
      margin: 1,
      tau: 0.25,
      seed: 1,
      width: 1,
      headUnits: 32,
      backbone: { dir: '/models/tiny', frozenBlocks: 1 },
    },
  },
  weightsPath: 'models/3',
  seed: 1,
  backend: 'wasm',
  metrics: {
    threshold: 0.5,
    thresholdSource: 'val',
    splits: {},
    training: {
      history: [],
      bestEpoch: 1,
      bestValAuc: 0.8,
      stoppedEarly: false,
      seconds: 2,
      ...(frozenFeatures ? { frozenFeatures } : {}),
    },
    evaluatedAt: '2026-12-03T00:00:00.000Z',
  },
  createdAt: '2026-12-03T00:00:00.000Z',
});

describe('describeFrozenFeatures', () => {
  it('names ONNX Runtime and the boundary, and whether the features were cached or why not', () => {
    expect(describeFrozenFeatures({ used: true, boundary: 'b2_out', cached: true, ortImages: 40 })).toBe(
      'ONNX Runtime up to "b2_out", features cached across epochs',
    );
    expect(
      describeFrozenFeatures({
        used: true,
        boundary: 'b2_out',
        cached: false,
        reason: 'augmentation changes the train images: their features are computed per batch',
        ortImages: 400,
      }),
    ).toBe(
      'ONNX Runtime up to "b2_out", features per batch (augmentation changes the train images: their features are computed per batch)',
    );
  });

  it('says tfjs and why when the frozen part did not run on ONNX Runtime', () => {
    expect(describeFrozenFeatures({ used: false, reason: 'the inference engine is tfjs', ortImages: 0 })).toBe(
      'tfjs: the inference engine is tfjs',
    );
    expect(describeFrozenFeatures({ used: false, ortImages: 0 })).toBe('tfjs: the frozen part could not run on ONNX Runtime');
  });
});

describe("the version's details", () => {
  const frozenRow = (v: ModelVersionDto) => configRows(v, 'demo').find(([label]) => label === 'Frozen part');

  it('show where the frozen part ran, after the backbone rows', () => {
    const v = version({ used: true, boundary: 'b2_out', cached: true, ortImages: 40 });
    const rows = configRows(v, 'demo');
    expect(frozenRow(v)).toEqual(['Frozen part', 'ONNX Runtime up to "b2_out", features cached across epochs']);
    const labels = rows.map(([label]) => label);
    expect(labels.indexOf('Frozen part')).toBe(labels.indexOf('Frozen blocks') + 1);
  });

  it('have no such row for a version trained without that record (older versions, other architectures)', () => {
    expect(frozenRow(version())).toBeUndefined();
    expect(frozenRow({ ...version(), metrics: null })).toBeUndefined();
  });
});
