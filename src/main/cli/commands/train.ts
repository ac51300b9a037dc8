import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ArgsOf } from '../../../shared/contract';
import { INPUT_PREPROCESS, type EpochDto, type InputPreprocess, type ModelArch } from '../../../shared/dto';
import { SEED_MAX } from '../../../shared/limits';
import type { SimLensApp } from '../../app';
import { parseIntOption, parseNumberOption, resultOf, waitForJob } from '../io';
import { CliError, usageError, type CliCommand } from '../types';
import { metricsSummary, metricsTable } from './eval';
import { pickDataset } from './pairs';

const ARCHS: readonly ModelArch[] = ['small', 'resnet18', 'resnet50', 'mobilenetv2'];
const MAX_ID = Number.MAX_SAFE_INTEGER;

/** --dataset / --pair-set: the given ones, else the only dataset and its newest pair set. */
export async function pickPairSet(
  app: SimLensApp,
  dataset: string | undefined,
  pairSet: string | undefined,
): Promise<{ datasetId: number; pairSetId: number }> {
  if (pairSet !== undefined) {
    const pairSetId = parseIntOption('pair-set', pairSet, 1, MAX_ID);
    const datasetId = dataset === undefined ? undefined : parseIntOption('dataset', dataset, 1, MAX_ID);
    const found = app.models.repo.pairSet(pairSetId);
    if (!found) throw new CliError(`Pair set ${pairSetId} does not exist`);
    if (datasetId !== undefined && found.datasetId !== datasetId)
      throw usageError(`Pair set ${pairSetId} belongs to dataset ${found.datasetId}, not ${datasetId}`);
    return { datasetId: found.datasetId, pairSetId };
  }
  const datasetId = await pickDataset(app, dataset);
  const detail = await app.call('datasets.get', { id: datasetId });
  if (detail.pairSets.length === 0)
    throw new CliError(`Dataset ${datasetId} has no pairs yet: generate them first (simlens pairs --dataset ${datasetId})`);
  return { datasetId, pairSetId: Math.max(...detail.pairSets.map((s) => s.id)) };
}

type TrainArgs = Omit<ArgsOf<'models.train'>, 'datasetId' | 'pairSetId'>;

/** The training arguments from the flags (before the database is opened: bad flags fail fast). */
function trainArgs(v: Record<string, string | boolean | undefined>): TrainArgs {
  const int = (name: string, min: number, max: number) =>
    v[name] === undefined ? undefined : parseIntOption(name, v[name] as string, min, max);
  const num = (name: string, min: number, max: number) =>
    v[name] === undefined ? undefined : parseNumberOption(name, v[name] as string, min, max);
  const arch = v.arch as string | undefined;
  if (arch !== undefined && !(ARCHS as readonly string[]).includes(arch))
    throw usageError(`--arch: expected one of ${ARCHS.join(', ')}, got '${arch}'`);
  let backbone: TrainArgs['backbone'];
  if (v.backbone !== undefined) {
    if (arch !== undefined) throw usageError('--arch and --backbone exclude each other (a backbone sets the architecture)');
    const dir = resolve(v.backbone as string);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError(`--backbone: no such folder ${dir}`);
    if (!existsSync(resolve(dir, 'model.json')))
      throw new CliError(`--backbone: ${dir} has no model.json (expected a tfjs LayersModel folder)`);
    backbone = { dir, cutLayer: v['cut-layer'] as string | undefined, frozenBlocks: int('frozen-blocks', -1, 1000) };
  } else if (v['cut-layer'] !== undefined || v['frozen-blocks'] !== undefined) {
    throw usageError('--cut-layer and --frozen-blocks need --backbone DIR');
  }
  const name = v.name as string | undefined;
  if (name !== undefined && (name.trim() === '' || name.length > 200)) throw usageError('--name: expected 1 to 200 characters');
  const head = v.head as string | undefined;
  if (head !== undefined && head !== 'flatten' && head !== 'gap') throw usageError(`--head: expected flatten or gap, got '${head}'`);
  const convBias = v['conv-bias'] as string | undefined;
  if (convBias !== undefined && convBias !== 'yes' && convBias !== 'no')
    throw usageError(`--conv-bias: expected yes or no, got '${convBias}'`);
  const preprocess = v.preprocess as string | undefined;
  if (preprocess !== undefined && !(INPUT_PREPROCESS as readonly string[]).includes(preprocess)) {
    throw usageError(`--preprocess: expected one of ${INPUT_PREPROCESS.join(', ')}, got '${preprocess}'`);
  }
  return {
    arch: backbone ? 'pretrained' : (arch as ModelArch | undefined),
    name,
    parentId: int('parent', 1, MAX_ID),
    epochs: int('epochs', 1, 1000),
    batchSize: int('batch', 2, 4096),
    learningRate: num('lr', 1e-9, 1),
    margin: num('margin', 0.01, 100),
    embeddingSize: int('embedding', 2, 4096),
    seed: int('seed', 0, SEED_MAX),
    augment: v.augment === true ? true : undefined,
    ...(backbone ? { backbone } : {}),
    ...(head !== undefined ? { head: head as 'flatten' | 'gap' } : {}),
    ...(convBias !== undefined ? { convBias: convBias === 'yes' } : {}),
    ...(preprocess !== undefined ? { preprocess: preprocess as InputPreprocess } : {}),
  };
}

export const trainCommand: CliCommand = {
  name: 'train',
  summary: 'Train a Siamese model on a pair set; prints the new version id and its val/test metrics',
  synopsis:
    'train [--db FILE] [--dataset ID] [--pair-set ID] [--arch small|resnet18|resnet50|mobilenetv2] [--epochs N] [--batch B] [--lr X] [--margin M] ' +
    '[--embedding N] [--seed S] [--augment] [--head flatten|gap] [--conv-bias yes|no] [--name N] [--parent ID] [--backbone DIR [--cut-layer NAME] [--frozen-blocks K]] [--preprocess none|tf|caffe|torch] [--json]',
  options: {
    dataset: { type: 'string', arg: 'ID', description: 'dataset id (default: the only dataset)' },
    'pair-set': { type: 'string', arg: 'ID', description: "pair set id (default: the dataset's newest)" },
    arch: { type: 'string', arg: 'A', description: `${ARCHS.join(', ')} (default: small for images up to 64 px, else resnet18)` },
    epochs: { type: 'string', arg: 'N', description: 'epochs, 1..1000 (default 10; early stopping may end sooner)' },
    batch: { type: 'string', arg: 'B', description: 'pairs per step, 2..4096 (default 128)' },
    lr: { type: 'string', arg: 'X', description: 'Adam learning rate, 1e-9..1 (default 1e-3; 1e-4 with --parent)' },
    margin: { type: 'string', arg: 'M', description: 'contrastive loss margin, 0.01..100 (default 2)' },
    embedding: { type: 'string', arg: 'N', description: 'embedding size, 2..4096 (default 64)' },
    seed: { type: 'string', arg: 'S', description: 'seed of weights, pair draws and augmentation (default 0)' },
    augment: { type: 'boolean', description: 'augment training images (flips, small shifts, brightness)' },
    head: { type: 'string', arg: 'H', description: 'small CNN: flatten or gap (global average pooling) after the last conv block' },
    'conv-bias': { type: 'string', arg: 'yes|no', description: 'small CNN: biases in the convolutions (default no)' },
    name: { type: 'string', arg: 'N', description: 'name of the new version (default: architecture and time)' },
    parent: { type: 'string', arg: 'ID', description: 'fine-tune this version (same architecture) instead of fresh weights' },
    backbone: { type: 'string', arg: 'DIR', description: 'pretrained backbone: a tfjs LayersModel folder (model.json + shards)' },
    'cut-layer': {
      type: 'string',
      arg: 'NAME',
      description: 'with --backbone: the layer to cut at (default: the last layer with a 4-D output)',
    },
    'frozen-blocks': { type: 'string', arg: 'K', description: 'with --backbone: blocks kept frozen from the input, -1 = all (default 0)' },
    resume: {
      type: 'string',
      arg: 'JOB',
      description: 'continue the interrupted training job JOB from its last epoch checkpoint; no other training option',
    },
    preprocess: {
      type: 'string',
      arg: 'P',
      description:
        'input preprocessing inside the network, as the backbone was trained: none (default), tf ([-1, 1]: MobileNetV2), ' +
        'caffe (BGR 0-255 minus ImageNet means: Keras ResNet50, VGG), torch (ImageNet mean/std); caffe and torch need a 3-channel input',
    },
  },
  positionals: { min: 0, max: 0, names: '' },
  db: 'existing',
  details:
    'Training pairs are redrawn each epoch from the train split (seeded); the validation ROC AUC is\n' +
    'measured after each epoch and the best epoch kept. The decision threshold is chosen on val, then\n' +
    'val and test are evaluated. On a terminal, progress (epoch, loss, val AUC, ETA) goes to stderr;\n' +
    'Ctrl-C cancels the job and stores no model. Every finished epoch is checkpointed (weights, optimizer,\n' +
    'epoch, random streams): --resume JOB continues an interrupted job (killed, or the app closed) from its last\n' +
    'epoch and ends with the metrics an uninterrupted run with the same seed has.',
  async run(ctx) {
    const resume = ctx.values.resume as string | undefined;
    let jobId: number;
    let app: SimLensApp;
    if (resume !== undefined) {
      const others = Object.keys(ctx.values).filter((k) => ctx.values[k] !== undefined && !['resume', 'db', 'json'].includes(k));
      if (others.length > 0) throw usageError(`--resume continues a job with its own settings: drop --${others.join(', --')}`);
      const resumed = parseIntOption('resume', resume, 1, MAX_ID);
      app = ctx.openApp();
      jobId = (await app.call('models.resumeTrain', { jobId: resumed })).jobId;
    } else {
      const args = trainArgs(ctx.values);
      app = ctx.openApp();
      const { datasetId, pairSetId } = await pickPairSet(
        app,
        ctx.values.dataset as string | undefined,
        ctx.values['pair-set'] as string | undefined,
      );
      jobId = (await app.call('models.train', { ...args, datasetId, pairSetId })).jobId;
    }
    const { modelId } = resultOf(await waitForJob(app, jobId, 'train', ctx.io), 'train');
    const model = await app.call('models.get', { id: modelId });
    const { datasetId, pairSetId } = { datasetId: model.datasetId!, pairSetId: model.pairSetId! };
    const metrics = metricsSummary(model.metrics!);
    const training = model.metrics!.training;
    const history: EpochDto[] = training?.history ?? [];
    const { inputShape } = model.config.model;
    const data = {
      jobId,
      modelId,
      name: model.name,
      arch: model.arch,
      datasetId,
      pairSetId,
      seed: model.seed,
      backend: model.backend,
      inputShape,
      training: training
        ? {
            epochs: history.length,
            bestEpoch: training.bestEpoch,
            bestValAuc: training.bestValAuc,
            stoppedEarly: training.stoppedEarly,
            seconds: training.seconds,
          }
        : null,
      metrics,
      history,
    };
    const lines = [
      `Model version ${modelId} "${model.name}" (${model.arch}, input ${inputShape.join('x')}, backend ${model.backend ?? '?'}) from pair set ${pairSetId} of dataset ${datasetId}.`,
    ];
    if (training) {
      lines.push(
        `Trained ${history.length} epoch${history.length === 1 ? '' : 's'} in ${training.seconds.toFixed(1)} s${training.stoppedEarly ? ' (stopped early)' : ''}; ` +
          `best epoch ${training.bestEpoch}, val AUC ${training.bestValAuc.toFixed(4)}.`,
      );
    }
    lines.push(`Threshold ${metrics.threshold.toFixed(4)} (chosen on val).`, '', metricsTable(metrics));
    return { data, text: lines.join('\n') };
  },
};
