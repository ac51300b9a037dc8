// Type-checked with the renderer (tsconfig.web.json). The training form's pretrained-backbone
// fields (checks, contract arguments, a refusal from main kept next to the form), Score-CAM's
// channel counts and cap in the explanation store, and "N / M pairs" from job data.
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { setTransport, type Transport } from '../../src/renderer/src/api';
import { useAppStore } from '../../src/renderer/src/stores/app';
import { useExplainStore } from '../../src/renderer/src/stores/explain';
import { parseChannelCap, scoreCamChannelsText } from '../../src/renderer/src/stores/explain/scorecam';
import { jobStatusText, pairsProgressText } from '../../src/renderer/src/stores/jobs';
import { useModelsStore } from '../../src/renderer/src/stores/models';
import { defaultTrainForm, trainArgs, validateTrainForm, type TrainForm } from '../../src/renderer/src/stores/models/train-form';
import type { Envelope } from '../../src/shared/bridge';
import { checkArgs, SCORECAM_CAP_RANGE, type Events, type MethodName } from '../../src/shared/contract';
import type {
  ExplainLayersDto,
  ExplanationDto,
  ImageDto,
  JobDto,
  JobOf,
  MapSummaryDto,
  ModelVersionDto,
  PairDto,
} from '../../src/shared/dto';

const flush = () => new Promise((r) => setTimeout(r, 0));
const pretrained = (patch: Partial<TrainForm> = {}): TrainForm => ({
  ...defaultTrainForm(),
  datasetId: 1,
  pairSetId: 7,
  arch: 'pretrained',
  backboneDir: '/models/resnet',
  ...patch,
});

describe('validateTrainForm and trainArgs: the pretrained backbone', () => {
  it('needs the folder and a whole number >= -1 of frozen blocks, for pretrained only', () => {
    expect(validateTrainForm({ ...defaultTrainForm(), frozenBlocks: 'x' })).toEqual({});
    expect(validateTrainForm(pretrained())).toEqual({});
    expect(validateTrainForm(pretrained({ backboneDir: '   ' }))).toHaveProperty('backboneDir');
    for (const ok of ['', '-1', '0', ' 3 ', '1000']) expect(validateTrainForm(pretrained({ frozenBlocks: ok })), ok).toEqual({});
    for (const bad of ['-2', '1.5', 'abc', '1e2', '1001'])
      expect(validateTrainForm(pretrained({ frozenBlocks: bad })), bad).toHaveProperty('frozenBlocks');
    expect(validateTrainForm(pretrained({ cutLayer: 'x'.repeat(201) }))).toHaveProperty('cutLayer');
  });

  it('sends backbone { dir, cutLayer?, frozenBlocks? } and preprocess (not "none") for pretrained; nothing of it otherwise', () => {
    expect(
      trainArgs(pretrained({ backboneDir: ' /m/r50 ', cutLayer: ' conv4_block6_out ', frozenBlocks: '-1', preprocess: 'caffe' })),
    ).toMatchObject({
      arch: 'pretrained',
      backbone: { dir: '/m/r50', cutLayer: 'conv4_block6_out', frozenBlocks: -1 },
      preprocess: 'caffe',
    });
    const minimal = trainArgs(pretrained());
    expect(minimal.backbone).toEqual({ dir: '/models/resnet' });
    expect(minimal).not.toHaveProperty('preprocess');
    const small = trainArgs({ ...pretrained({ preprocess: 'tf' }), arch: 'small' });
    expect(small).not.toHaveProperty('backbone');
    expect(small).not.toHaveProperty('preprocess');
    expect(() => trainArgs(pretrained({ backboneDir: '' }))).toThrow(/folder/);
  });
});

// ---- fake transport ----

let calls: { name: MethodName; args: Record<string, unknown> }[];
let listeners: ((job: JobDto) => void)[];
let trainReply: Envelope;
let stamp = 0;

const image = (id: number): ImageDto => ({
  id,
  datasetId: 1,
  sha256: String(id),
  sourcePath: `/x/${id}.png`,
  classLabel: 'c',
  width: 28,
  height: 28,
  channels: 1,
});
const pairAt = (id: number): PairDto => ({ id, pairSetId: 7, split: 'test', label: 1, a: image(id * 2), b: image(id * 2 + 1) });
const version: ModelVersionDto = {
  id: 3,
  name: 'v3',
  datasetId: 1,
  pairSetId: 7,
  parentId: null,
  jobId: 1,
  arch: 'small',
  config: { model: { arch: 'small', inputShape: [28, 28, 1], embeddingSize: 64, margin: 2, tau: 1, seed: 0, width: 1, headUnits: 256 } },
  weightsPath: 'models/3',
  seed: 0,
  backend: 'wasm',
  metrics: { threshold: 0.5, thresholdSource: 'val', splits: {}, evaluatedAt: '' },
  createdAt: '',
};
const summary: MapSummaryDto = { noEvidence: false, scale: 1, peak: [0, 0], areaAbove50: 0.1 };
const layers: ExplainLayersDto = {
  modelId: 3,
  layers: ['conv1', 'conv2'],
  default: 'conv2',
  inputShape: [28, 28, 1],
  defaultMethod: 'gradcam',
  defaultMethodFrom: 'none',
  methods: [
    {
      id: 'gradcam',
      label: 'Grad-CAM',
      kind: 'gradient',
      counterfactualDefined: true,
      counterfactualHow: 'negated weights',
      usesLayer: true,
    },
    { id: 'scorecam', label: 'Score-CAM', kind: 'perturbation', counterfactualDefined: true, counterfactualHow: '1 - s', usesLayer: true },
  ],
};

function explanation(args: Record<string, unknown>): ExplanationDto {
  const scorecam = args.method === 'scorecam';
  const cap = (args.maxChannels as number | undefined) ?? 256;
  return {
    pairId: args.pairId as number,
    modelId: args.modelId as number,
    method: args.method as ExplanationDto['method'],
    layer: 'conv2',
    mapHeight: 7,
    mapWidth: 7,
    score: 0.8,
    counterfactualDefined: true,
    a: { imageId: 1, factual: summary, counterfactual: summary },
    b: { imageId: 2, factual: summary, counterfactual: summary },
    ...(scorecam ? { channels: { used: [Math.min(cap, 60), Math.min(cap, 64)], active: [60, 64], total: 64, maxChannels: cap } } : {}),
    // each computation is a new stored row
    cached: false,
    explainMs: 5,
    createdAt: `2026-11-26T10:00:00.${String(++stamp).padStart(3, '0')}Z`,
  };
}

function fakeTransport(): Transport {
  return {
    kind: 'http',
    async call(name, rawArgs): Promise<Envelope> {
      const args = rawArgs as Record<string, unknown>;
      calls.push({ name, args });
      switch (name) {
        case 'models.list':
          return { ok: true, value: [version] };
        case 'models.train':
          return trainReply;
        case 'jobs.get':
          return {
            ok: true,
            value: {
              id: 5,
              kind: 'train',
              status: 'queued',
              progress: 0,
              message: null,
              error: null,
              params: {},
              result: null,
              createdAt: '',
              startedAt: null,
              finishedAt: null,
            },
          };
        case 'datasets.get':
          return { ok: true, value: { id: 1, pairSets: [{ id: 7 }] } };
        case 'images.thumbnails':
          return { ok: true, value: {} };
        case 'explain.layers':
          return { ok: true, value: layers };
        case 'explain.pair':
          return { ok: true, value: explanation(args) };
        case 'explain.overlay':
          return { ok: true, value: { dataUrl: 'data:image/png;base64,x', width: 28, height: 28, noEvidence: false } };
        case 'explain.batch':
        case 'explain.metrics':
          return { ok: true, value: { jobId: 9 } };
        default:
          return { ok: false, error: { code: 'unknown_method', message: name } };
      }
    },
    on: <E extends keyof Events>(_event: E, listener: (payload: Events[E]) => void) => {
      listeners.push(listener as (job: JobDto) => void);
      return () => {};
    },
  };
}

beforeEach(() => {
  calls = [];
  listeners = [];
  trainReply = { ok: true, value: { jobId: 5 } };
  setTransport(fakeTransport());
  setActivePinia(createPinia());
});

describe('useModelsStore.startTrain with a pretrained backbone', () => {
  it('does not call main while the form has errors; shows them from then on', async () => {
    const models = useModelsStore();
    await models.setFormDataset(1);
    models.form.arch = 'pretrained';
    expect(models.attempted).toBe(false);
    await models.startTrain();
    expect(calls.some((c) => c.name === 'models.train')).toBe(false);
    expect(models.attempted).toBe(true);
    expect(models.formErrors.backboneDir).toMatch(/folder/);
  });

  it("keeps main's refusal next to the form (not as a notice) and the form as typed; a later start clears it", async () => {
    const models = useModelsStore();
    const app = useAppStore();
    await models.setFormDataset(1);
    Object.assign(models.form, { arch: 'pretrained', backboneDir: '/nowhere', cutLayer: 'conv5', frozenBlocks: '2', preprocess: 'tf' });
    trainReply = { ok: false, error: { code: 'invalid_argument', message: 'args.backbone.dir: /nowhere has no model.json' } };
    await models.startTrain();
    expect(calls.find((c) => c.name === 'models.train')?.args).toMatchObject({
      arch: 'pretrained',
      backbone: { dir: '/nowhere', cutLayer: 'conv5', frozenBlocks: 2 },
      preprocess: 'tf',
    });
    expect(models.trainError).toBe('args.backbone.dir: /nowhere has no model.json');
    expect(app.notices).toEqual([]);
    expect(models.form).toMatchObject({
      arch: 'pretrained',
      backboneDir: '/nowhere',
      cutLayer: 'conv5',
      frozenBlocks: '2',
      preprocess: 'tf',
    });
    expect(models.trainJob).toBeNull();

    trainReply = { ok: true, value: { jobId: 5 } };
    models.form.backboneDir = '/models/tiny';
    await models.startTrain();
    expect(models.trainError).toBeNull();
    expect(models.attempted).toBe(false);
    expect(models.trainJob?.id).toBe(5);
  });
});

describe('Score-CAM channels', () => {
  it('says how many channels were masked of how many, under which cap, and why fewer', () => {
    expect(scoreCamChannelsText({ used: [256, 256], active: [2000, 2048], total: 2048, maxChannels: 256 })).toBe(
      'Score-CAM: 256 of 2048 channels (cap 256)',
    );
    expect(scoreCamChannelsText({ used: [40, 40], active: [40, 40], total: 64, maxChannels: 256 })).toBe(
      'Score-CAM: 40 of 64 channels (cap 256; the other 24 are constant)',
    );
    expect(scoreCamChannelsText({ used: [60, 64], active: [60, 64], total: 64, maxChannels: 256 })).toBe(
      'Score-CAM: A 60, B 64 of 64 channels (cap 256; the others are constant)',
    );
    expect(scoreCamChannelsText({ used: [64, 64], active: [64, 64], total: 64, maxChannels: null })).toBe(
      'Score-CAM: 64 of 64 channels (no cap)',
    );
  });

  it('parses a typed cap: whole numbers 1..8192 only', () => {
    expect(parseChannelCap(64)).toBe(64);
    expect(parseChannelCap('128')).toBe(128);
    for (const bad of [0, -1, 1.5, 8193, '', 'x', null, undefined]) expect(parseChannelCap(bad)).toBeNull();
  });

  it('accepts a typed cap exactly where the contract does (one shared range)', () => {
    const contractTakes = (n: number) => {
      try {
        checkArgs('explain.pair', { pairId: 1, modelId: 1, method: 'scorecam', maxChannels: n });
        return true;
      } catch {
        return false;
      }
    };
    const { min, max } = SCORECAM_CAP_RANGE;
    for (const n of [min - 1, min, min + 1, 256, max - 1, max, max + 1])
      expect(parseChannelCap(n) !== null, String(n)).toBe(contractTakes(n));
  });

  it('sends the cap for Score-CAM only, re-requests the map under a new cap and refetches its overlays', async () => {
    const ex = useExplainStore();
    await ex.openPair(pairAt(50), { datasetId: 1, pairSetId: 7, split: 'test', label: null });
    await flush();
    await flush();
    // a cap chosen under Grad-CAM is kept but not sent (main refuses it there)
    expect(ex.setMaxChannels(32)).toBe(true);
    await flush();
    expect(calls.filter((c) => c.name === 'explain.pair')).toHaveLength(1);
    expect(calls.find((c) => c.name === 'explain.pair')?.args).not.toHaveProperty('maxChannels');

    ex.setMethod('scorecam');
    await flush();
    await flush();
    expect(calls.filter((c) => c.name === 'explain.pair').at(-1)?.args).toMatchObject({ method: 'scorecam', maxChannels: 32 });
    expect(ex.explanation?.channels).toMatchObject({ used: [32, 32], total: 64, maxChannels: 32 });
    const overlaysBefore = calls.filter((c) => c.name === 'explain.overlay').length;
    expect(overlaysBefore).toBeGreaterThan(0);

    // the same cap again: nothing to do; invalid: refused
    expect(ex.setMaxChannels('32')).toBe(true);
    expect(ex.setMaxChannels(0)).toBe(false);
    await flush();
    expect(calls.filter((c) => c.name === 'explain.pair')).toHaveLength(2);

    // a new cap: the map is recomputed and its overlays fetched anew (a new stored row)
    ex.setMaxChannels(256);
    await flush();
    await flush();
    await flush();
    expect(calls.filter((c) => c.name === 'explain.pair').at(-1)?.args).toMatchObject({ method: 'scorecam', maxChannels: 256 });
    expect(ex.explanation?.channels).toMatchObject({ used: [60, 64], maxChannels: 256 });
    expect(calls.filter((c) => c.name === 'explain.overlay').length).toBe(overlaysBefore + 4);
    expect(ex.panel('a', 'factual')).toMatchObject({ state: 'ready' });

    // a batch explanation of a split under Score-CAM carries the cap too
    await ex.runBatch('test', 5);
    expect(calls.find((c) => c.name === 'explain.batch')?.args).toMatchObject({ method: 'scorecam', maxChannels: 256, limit: 5 });
    // and so do its faithfulness metrics
    await ex.runMetrics('split', { split: 'test', limit: 5 });
    expect(calls.find((c) => c.name === 'explain.metrics')?.args).toMatchObject({ method: 'scorecam', maxChannels: 256, limit: 5 });
  });
});

describe('job status text', () => {
  const job = (patch: Partial<JobOf<'explain'>>): JobDto => ({
    id: 9,
    kind: 'explain',
    status: 'running',
    progress: 0.4,
    message: 'explained 12/30 pairs',
    error: null,
    params: {},
    result: null,
    createdAt: '',
    startedAt: null,
    finishedAt: null,
    ...patch,
  });
  it('uses the pairs data while running, the message without it, the error or summary at the end', () => {
    expect(pairsProgressText(job({ data: { kind: 'pairs', done: 12, total: 1500 } }))).toBe('12 / 1,500 pairs');
    expect(
      pairsProgressText(
        job({
          data: { kind: 'train.epoch', record: { epoch: 1, loss: 1, valAuc: 0.5, learningRate: 1, seconds: 1, improved: true }, epochs: 2 },
        }),
      ),
    ).toBeNull();
    expect(jobStatusText(job({ data: { kind: 'pairs', done: 12, total: 30 } }))).toBe('12 / 30 pairs');
    expect(jobStatusText(job({}))).toBe('explained 12/30 pairs');
    expect(jobStatusText(job({ status: 'failed', error: 'boom', data: { kind: 'pairs', done: 1, total: 30 } }))).toBe('boom');
    expect(jobStatusText(job({ status: 'done', data: { kind: 'pairs', done: 30, total: 30 } }), '30 explained')).toBe('30 explained');
    expect(jobStatusText(job({ status: 'cancelled', message: 'cancelled', data: { kind: 'pairs', done: 3, total: 30 } }))).toBe(
      'cancelled',
    );
  });
});
