// Type-checked with the renderer (tsconfig.web.json). The models and explanation stores
// against a fake transport, and their pure helpers: training progress data (the live
// chart), keyboard shortcuts, chart scales.
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { setTransport, type Transport } from '../../src/renderer/src/api';
import { extent, linear, niceTicks, pathOf } from '../../src/renderer/src/components/charts/scale';
import { useExplainStore } from '../../src/renderer/src/stores/explain';
import { overlayKey } from '../../src/renderer/src/stores/explain/overlays';
import { clampOpacity, keyAction } from '../../src/renderer/src/stores/explain/shortcuts';
import { useAppStore } from '../../src/renderer/src/stores/app';
import { useModelsStore } from '../../src/renderer/src/stores/models';
import { defaultTrainForm, trainArgs } from '../../src/renderer/src/stores/models/train-form';
import { emptyLive, foldTrainData, trainProgressOf } from '../../src/renderer/src/stores/models/train-progress';
import type { Envelope } from '../../src/shared/bridge';
import type { Events, MethodName } from '../../src/shared/contract';
import type {
  ExplainLayersDto,
  ExplanationDto,
  ImageDto,
  JobDto,
  JobOf,
  JobProgressData,
  MapSummaryDto,
  ModelVersionDto,
  PairDto,
} from '../../src/shared/dto';

const flush = () => new Promise((r) => setTimeout(r, 0));

/** A 'train.step' update: epoch e/epochs, step s/steps, loss; `last`: the latest finished epoch's [val AUC, epoch]. */
const stepData = (
  e: number,
  epochs: number,
  s: number,
  steps: number,
  loss: number,
  etaSeconds: number,
  last?: [number, number],
): JobProgressData => ({
  kind: 'train.step',
  epoch: e,
  epochs,
  step: s,
  steps,
  loss,
  learningRate: 1e-3,
  etaSeconds,
  valAuc: last?.[0] ?? null,
  valAucEpoch: last?.[1] ?? null,
});
/** A 'train.epoch' update: the epoch's record (mean loss, val AUC). */
const epochData = (e: number, loss: number, valAuc: number, epochs: number | null = null): JobProgressData => ({
  kind: 'train.epoch',
  record: { epoch: e, loss, valAuc, learningRate: 1e-3, seconds: 1, improved: true },
  epochs,
});

describe('trainProgressOf', () => {
  it('reads step data with and without the last val AUC', () => {
    expect(trainProgressOf(stepData(1, 10, 3, 47, 0.8123, 41))).toEqual({
      kind: 'step',
      epoch: 1,
      epochs: 10,
      step: 3,
      steps: 47,
      loss: 0.8123,
      valAuc: null,
      valAucEpoch: null,
      etaSeconds: 41,
    });
    expect(trainProgressOf(stepData(3, 10, 47, 47, 0.2, 0, [0.9731, 2]))).toMatchObject({
      kind: 'step',
      epoch: 3,
      step: 47,
      loss: 0.2,
      valAuc: 0.9731,
      valAucEpoch: 2,
    });
  });
  it('reads epoch records and ignores the rest', () => {
    expect(trainProgressOf(epochData(2, 0.3982, 0.9411))).toMatchObject({
      kind: 'epoch',
      epoch: 2,
      loss: 0.3982,
      valAuc: 0.9411,
      valAucEpoch: 2,
    });
    // the phases ("loading images", "decoding images 3/600", "evaluating") send no data
    expect(trainProgressOf(undefined)).toBeNull();
    expect(trainProgressOf({ kind: 'pairs', done: 3, total: 600 })).toBeNull();
    expect(trainProgressOf(null)).toBeNull();
  });
});

describe('foldTrainData', () => {
  it('builds per-step and per-epoch series; an epoch record makes the loss exact; a later step carries a missed val AUC', () => {
    let live = emptyLive();
    live = foldTrainData(live, stepData(1, 3, 1, 4, 1.2, 9));
    live = foldTrainData(live, stepData(1, 3, 2, 4, 1.0, 8));
    expect(live.epochs).toBe(3);
    expect(live.steps).toEqual([
      { x: 0.25, loss: 1.2 },
      { x: 0.5, loss: 1 },
    ]);
    expect(live.perEpoch).toEqual([{ epoch: 1, loss: 1, lossExact: false, valAuc: null }]);
    live = foldTrainData(live, epochData(1, 0.9, 0.8));
    expect(live.perEpoch[0]).toEqual({ epoch: 1, loss: 0.9, lossExact: true, valAuc: 0.8 });
    // epoch 2's own record is missed (e.g. a poll of the row saw only the steps around it); epoch 3's steps carry its val AUC
    live = foldTrainData(live, stepData(2, 3, 4, 4, 0.7, 3, [0.8, 1]));
    live = foldTrainData(live, stepData(3, 3, 1, 4, 0.6, 2, [0.85, 2]));
    expect(live.perEpoch.map((e) => [e.epoch, e.loss, e.valAuc])).toEqual([
      [1, 0.9, 0.8],
      [2, 0.7, 0.85],
      [3, 0.6, null],
    ]);
    // a repeated (out of order) update does not step back
    const again = foldTrainData(live, stepData(1, 3, 2, 4, 1.0, 8));
    expect(again.steps.length).toBe(live.steps.length);
    expect(again.perEpoch[0].loss).toBe(0.9);
  });
});

describe('trainArgs', () => {
  it('maps the form to the contract arguments', () => {
    expect(() => trainArgs(defaultTrainForm())).toThrow(/dataset/);
    const args = trainArgs({ ...defaultTrainForm(), datasetId: 4, pairSetId: 9, name: '  ', epochs: 1, augment: true });
    expect(args).toEqual({
      datasetId: 4,
      pairSetId: 9,
      arch: 'small',
      epochs: 1,
      batchSize: 128,
      learningRate: 0.001,
      margin: 2,
      embeddingSize: 64,
      seed: 0,
      augment: true,
    });
  });
});

describe('keyAction and opacity', () => {
  it('maps the shortcuts', () => {
    expect(keyAction('1')).toEqual({ kind: 'method', index: 0 });
    expect(keyAction('7')).toEqual({ kind: 'method', index: 6 });
    expect(keyAction('f')).toEqual({ kind: 'show', mode: 'factual' });
    expect(keyAction('c')).toEqual({ kind: 'show', mode: 'counterfactual' });
    expect(keyAction(']')).toEqual({ kind: 'opacity', delta: 0.1 });
    expect(keyAction('[')).toEqual({ kind: 'opacity', delta: -0.1 });
    expect(keyAction('ArrowLeft')).toEqual({ kind: 'pair', delta: -1 });
    expect(keyAction('ArrowRight')).toEqual({ kind: 'pair', delta: 1 });
    expect(keyAction('x')).toBeNull();
    expect(keyAction('0')).toBeNull();
  });
  it('clamps and rounds the opacity', () => {
    expect(clampOpacity(0.5 + 0.1)).toBe(0.6);
    expect(clampOpacity(1.05)).toBe(1);
    expect(clampOpacity(-0.1)).toBe(0);
  });
});

describe('chart scales', () => {
  it('makes round ticks and linear maps', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0.93, 0.98, 5).every((t) => t >= 0.93 - 1e-9 && t <= 0.98 + 1e-9)).toBe(true);
    expect(linear(0, 1, 10, 110)(0.5)).toBe(60);
    expect(extent([3])).toEqual([2.7, 3.3]);
    expect(extent([])).toEqual([0, 1]);
    const id = (v: number) => v;
    expect(
      pathOf(
        [
          [0, 0],
          [1, Number.NaN],
          [2, 2],
          [3, 3],
        ],
        id,
        id,
      ),
    ).toBe('M0.0 0.0M2.0 2.0L3.0 3.0');
  });
});

// ---- stores against a fake transport ----

let calls: { name: MethodName; args: Record<string, unknown> }[];
let jobListeners: ((job: JobDto) => void)[];
let modelsList: ModelVersionDto[];
let jobState: JobDto;

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
// test pairs have ids 10, 20, ..., 200
const PAIR_IDS = Array.from({ length: 20 }, (_, i) => (i + 1) * 10);
const version = (id: number): ModelVersionDto => ({
  id,
  name: `v${id}`,
  datasetId: 1,
  pairSetId: 7,
  parentId: null,
  jobId: 1,
  arch: 'small',
  config: { model: { arch: 'small', inputShape: [28, 28, 1], embeddingSize: 64, margin: 2, tau: 1, seed: 0, width: 1, headUnits: 256 } },
  weightsPath: `models/${id}`,
  seed: 0,
  backend: 'wasm',
  metrics: { threshold: 0.5, thresholdSource: 'val', splits: {}, evaluatedAt: '' },
  createdAt: '',
});
const job = (patch: Partial<JobOf<'train'>>): JobDto => ({
  id: 5,
  kind: 'train',
  status: 'running',
  progress: 0,
  message: null,
  error: null,
  params: {},
  result: null,
  createdAt: '',
  startedAt: null,
  finishedAt: null,
  ...patch,
});
const summary = (noEvidence: boolean): MapSummaryDto => ({
  noEvidence,
  scale: noEvidence ? 0 : 1,
  peak: noEvidence ? null : [0, 0],
  areaAbove50: 0.1,
});
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
    {
      id: 'rise',
      label: 'RISE',
      kind: 'perturbation',
      counterfactualDefined: false,
      counterfactualHow: 'RISE defines none',
      usesLayer: false,
    },
    {
      id: 'occlusion',
      label: 'Occlusion',
      kind: 'perturbation',
      counterfactualDefined: true,
      counterfactualHow: 'raises s',
      usesLayer: false,
    },
  ],
};

function explanation(args: Record<string, unknown>): ExplanationDto {
  const rise = args.method === 'rise';
  const input = args.method !== 'gradcam';
  return {
    pairId: args.pairId as number,
    modelId: args.modelId as number,
    method: (args.method as ExplanationDto['method']) ?? 'gradcam',
    layer: input ? 'input' : ((args.layer as string) ?? 'conv2'),
    mapHeight: 7,
    mapWidth: 7,
    score: 0.8,
    counterfactualDefined: !rise,
    a: { imageId: 1, factual: summary(false), counterfactual: rise ? null : summary(true) },
    b: { imageId: 2, factual: summary(false), counterfactual: rise ? null : summary(false) },
    cached: false,
    explainMs: 5,
    createdAt: '',
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
          return { ok: true, value: modelsList };
        case 'models.train':
          return { ok: true, value: { jobId: 5 } };
        case 'models.export':
          return {
            ok: true,
            value: {
              path: args.path,
              format: args.format,
              files: args.format === 'onnx' ? ['model.onnx', 'simlens-onnx.json'] : ['model.json', 'siamese.json'],
            },
          };
        case 'jobs.get':
          return { ok: true, value: jobState };
        case 'jobs.cancel':
          return { ok: true, value: { ...jobState, status: 'cancelled' } };
        case 'app.info':
          return {
            ok: true,
            value: {
              version: '0',
              shell: 'browser',
              dbPath: '',
              schemaVersion: 1,
              backend: { name: 'wasm', notes: ['tfjs-node is not installed'] },
            },
          };
        case 'datasets.get':
          return { ok: true, value: { id: 1, pairSets: [{ id: 7 }, { id: 6 }] } };
        case 'images.thumbnails':
          return { ok: true, value: {} };
        case 'explain.layers':
          return { ok: true, value: { ...layers, modelId: args.modelId } };
        case 'explain.pair':
          return { ok: true, value: explanation(args) };
        case 'explain.overlay':
          return {
            ok: true,
            value: { dataUrl: `data:image/png;base64,${args.image}${args.kind}${args.colormap}`, width: 28, height: 28, noEvidence: false },
          };
        case 'pairs.page': {
          if (args.beforeId !== undefined) {
            const before = PAIR_IDS.filter((id) => id < (args.beforeId as number));
            const rows = before.slice(-(args.limit as number)).map(pairAt);
            return {
              ok: true,
              value: { rows, total: PAIR_IDS.length, nextAfterId: null, prevBeforeId: rows.length < before.length ? rows[0].id : null },
            };
          }
          const after = args.afterId as number;
          const rows = PAIR_IDS.filter((id) => id > after)
            .slice(0, args.limit as number)
            .map(pairAt);
          const last = rows.at(-1);
          return { ok: true, value: { rows, total: PAIR_IDS.length, nextAfterId: last && last.id < PAIR_IDS.at(-1)! ? last.id : null } };
        }
        default:
          return { ok: false, error: { code: 'unknown_method', message: name } };
      }
    },
    on: <E extends keyof Events>(_event: E, listener: (payload: Events[E]) => void) => {
      jobListeners.push(listener as (job: JobDto) => void);
      return () => {};
    },
  };
}

beforeEach(() => {
  calls = [];
  jobListeners = [];
  modelsList = [];
  jobState = job({ status: 'queued' });
  setTransport(fakeTransport());
  setActivePinia(createPinia());
});

const emit = (j: JobDto) => jobListeners.forEach((l) => l(j));

describe('useModelsStore', () => {
  it('starts training from the form, folds job progress data into the live series, and selects the new version when done', async () => {
    const models = useModelsStore();
    await models.setFormDataset(1);
    expect(models.form.pairSetId).toBe(7);
    expect(models.pairSets.map((p) => p.id)).toEqual([6, 7]);
    models.form.epochs = 2;
    await models.startTrain();
    expect(calls.find((c) => c.name === 'models.train')?.args).toMatchObject({ datasetId: 1, pairSetId: 7, epochs: 2, arch: 'small' });
    await flush();
    emit(
      job({
        status: 'running',
        progress: 0.3,
        message: 'epoch 1/2 · step 5/10 · loss 0.9000 · ETA 5 s',
        data: stepData(1, 2, 5, 10, 0.9, 5),
      }),
    );
    await flush();
    expect(models.training).toBe(true);
    emit(
      job({
        status: 'running',
        progress: 0.6,
        message: 'epoch 2/2 · step 1/10 · loss 0.7000 · val AUC 0.9100 (epoch 1) · ETA 3 s',
        data: stepData(2, 2, 1, 10, 0.7, 3, [0.91, 1]),
      }),
    );
    await flush();
    expect(models.live.perEpoch.map((e) => [e.epoch, e.valAuc])).toEqual([
      [1, 0.91],
      [2, null],
    ]);
    modelsList = [version(3)];
    const history = [
      { epoch: 1, loss: 0.8, valAuc: 0.91, learningRate: 0.001, seconds: 1, improved: true },
      { epoch: 2, loss: 0.6, valAuc: 0.93, learningRate: 0.001, seconds: 1, improved: true },
    ];
    emit(job({ status: 'done', progress: 1, message: 'saving', result: { modelId: 3, threshold: 0.5, bestEpoch: 2, epochs: 2, history } }));
    await flush();
    await flush();
    expect(models.training).toBe(false);
    expect(models.live.perEpoch.map((e) => [e.epoch, e.loss, e.valAuc])).toEqual([
      [1, 0.8, 0.91],
      [2, 0.6, 0.93],
    ]);
    expect(models.versions.map((v) => v.id)).toEqual([3]);
    expect(models.selectedId).toBe(3);
    expect(calls.some((c) => c.name === 'app.info')).toBe(true);
  });

  it('exports a version as a tfjs folder (default) or as ONNX, and says what it wrote', async () => {
    const models = useModelsStore();
    const app = useAppStore();
    await models.exportTo(3, '/exports/tfjs');
    await models.exportTo(3, '/exports/onnx', 'onnx');
    expect(calls.filter((c) => c.name === 'models.export').map((c) => c.args)).toEqual([
      { id: 3, path: '/exports/tfjs', format: 'tfjs' },
      { id: 3, path: '/exports/onnx', format: 'onnx' },
    ]);
    expect(models.lastExport).toBe('/exports/onnx');
    expect(app.notices.map((n) => [n.kind, n.text])).toEqual([
      ['info', 'Exported model version 3 to /exports/tfjs (model.json, siamese.json)'],
      ['info', 'Exported model version 3 as ONNX to /exports/onnx (model.onnx, simlens-onnx.json)'],
    ]);
  });

  it('cancels the running training job', async () => {
    const models = useModelsStore();
    await models.setFormDataset(1);
    await models.startTrain();
    jobState = job({ status: 'running' });
    await models.cancelTrain();
    expect(calls.filter((c) => c.name === 'jobs.cancel').map((c) => c.args)).toEqual([{ id: 5 }]);
    expect(models.trainJob?.status).toBe('cancelled');
  });
});

describe('useExplainStore', () => {
  const ctx = { datasetId: 1, pairSetId: 7, split: 'test' as const, label: null };

  it('opens a pair with the newest model, explains it and fetches the coloured maps (opacity 1; blended in the page)', async () => {
    modelsList = [version(3), version(2)];
    const ex = useExplainStore();
    await ex.openPair(pairAt(50), ctx);
    await flush();
    await flush();
    expect(ex.modelId).toBe(3);
    expect(calls.find((c) => c.name === 'explain.pair')?.args).toEqual({ pairId: 50, modelId: 3, method: 'gradcam', layer: 'conv2' });
    const overlays = calls.filter((c) => c.name === 'explain.overlay').map((c) => `${c.args.image}/${c.args.kind}/${c.args.opacity}`);
    // a's counterfactual has no evidence: not fetched
    expect(overlays.sort()).toEqual(['a/factual/1', 'b/counterfactual/1', 'b/factual/1']);
    expect(ex.panel('a', 'factual')).toMatchObject({ state: 'ready', url: 'data:image/png;base64,afactualjet' });
    expect(ex.panel('a', 'counterfactual')).toEqual({ state: 'no-evidence' });

    // a method without a counterfactual: the panels say so; no layer is sent
    ex.setMethod('rise');
    expect(ex.explanation).toBeNull(); // the old maps are not shown under the new method
    await flush();
    await flush();
    expect(calls.filter((c) => c.name === 'explain.pair').at(-1)?.args).toEqual({ pairId: 50, modelId: 3, method: 'rise' });
    expect(ex.panel('b', 'counterfactual')).toEqual({ state: 'undefined', why: 'RISE defines none' });

    // colormap: new overlays, cached per key
    ex.setMethodIndex(0);
    await flush();
    await flush();
    ex.setColormap('viridis');
    await flush();
    expect(ex.panel('b', 'factual')).toMatchObject({ state: 'ready', url: 'data:image/png;base64,bfactualviridis' });
    const n = calls.filter((c) => c.name === 'explain.overlay').length;
    ex.setColormap('jet');
    await flush();
    expect(calls.filter((c) => c.name === 'explain.overlay').length).toBe(n);
    expect(overlayKey({ modelId: 1, pairId: 2, method: 'gradcam', layer: 'l', image: 'a', kind: 'factual', colormap: 'jet' })).toBe(
      '1/2/gradcam/l/a/factual/jet',
    );
  });

  it('moves to the next and previous pair under the filters', async () => {
    modelsList = [version(3)];
    const ex = useExplainStore();
    await ex.openPair(pairAt(50), ctx);
    await ex.step(1);
    expect(ex.pair?.id).toBe(60);
    expect(calls.filter((c) => c.name === 'pairs.page').at(-1)?.args).toEqual({
      datasetId: 1,
      pairSetId: 7,
      split: 'test',
      afterId: 50,
      limit: 1,
    });
    await ex.step(-1);
    expect(ex.pair?.id).toBe(50);
    await ex.goTo(200);
    expect(ex.pair?.id).toBe(200);
    await ex.step(1);
    expect(ex.pair?.id).toBe(200);
    expect(ex.atEnd).toBe(true);
    await ex.goTo(10);
    await ex.step(-1);
    expect(ex.pair?.id).toBe(10);
    expect(ex.atStart).toBe(true);
  });

  it("starts on the newest model's first test pair when nothing was opened", async () => {
    modelsList = [version(4)];
    const ex = useExplainStore();
    await ex.init();
    expect(ex.modelId).toBe(4);
    expect(ex.pair?.id).toBe(10);
    expect(ex.layersInfo?.default).toBe('conv2');
  });
});

describe('useExplainStore.useVersion', () => {
  it('switches to a version and its own test pairs, even while the view initialises', async () => {
    modelsList = [version(4), { ...version(3), datasetId: 1 }];
    const ex = useExplainStore();
    const a = ex.useVersion(3);
    const b = ex.init();
    await Promise.all([a, b]);
    expect(ex.modelId).toBe(3);
    expect(ex.pair?.id).toBe(10);
    expect(ex.context).toEqual({ datasetId: 1, pairSetId: 7, split: 'test', label: null });
  });
});
