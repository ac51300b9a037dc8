// `simlens retrain`: a version retrained with the experts' masks (models.retrain): prints the new
// version id and its metrics like `train`, and how the masks were used.
import { RETRAIN_LOSS_NAMES, type EpochDto, type RetrainLossName } from '../../../shared/dto';
import { SEED_MAX } from '../../../shared/limits';
import { parseIntOption, parseNumberOption, resultOf, waitForJob } from '../io';
import { usageError, type CliCommand } from '../types';
import { metricsSummary, metricsTable } from './eval';

const MAX_ID = Number.MAX_SAFE_INTEGER;

export const retrainCommand: CliCommand = {
  name: 'retrain',
  summary:
    "Retrain a version with the experts' masks (mask loss on the Grad-CAM maps, or mask-guided augmentation); prints the new version id and its metrics",
  synopsis:
    'retrain [--db FILE] --from ID [--loss rrr|energy|hint|augment] [--lambda X] [--epochs N] [--author A] [--batch B] [--lr X] [--seed S] ' +
    '[--maps factual|both] [--freeze-below] [--masked-repeat K] [--name N] [--json]',
  options: {
    from: { type: 'string', arg: 'ID', description: 'the version to retrain (the new one records it as its parent)' },
    loss: {
      type: 'string',
      arg: 'L',
      description:
        'rrr (evidence outside the mask), energy (1 - energy-based pointing game, default), hint (MSE between the normalised map and the mask), ' +
        'or augment (outside the mask replaced by other backgrounds, noise or blur; crops around it)',
    },
    lambda: { type: 'string', arg: 'X', description: 'weight of the mask loss, 0..1e6 (default 30 for rrr, 5 for energy, 10 for hint)' },
    epochs: { type: 'string', arg: 'N', description: 'epochs, 1..1000 (default 3; the last epoch is kept)' },
    author: { type: 'string', arg: 'A', description: "only this author's masks (default: the newest mask of each image, anyone's)" },
    batch: { type: 'string', arg: 'B', description: 'pairs per step, 2..4096 (default 64)' },
    lr: { type: 'string', arg: 'X', description: 'Adam learning rate, 1e-9..1 (default 1e-3)' },
    seed: { type: 'string', arg: 'S', description: 'seed of the pair draws and augmentation (default 0)' },
    maps: { type: 'string', arg: 'M', description: 'the maps the loss looks at: factual, or both (factual and counterfactual; default)' },
    'freeze-below': { type: 'boolean', description: 'train only the layers above the map layer (cheaper)' },
    'masked-repeat': {
      type: 'string',
      arg: 'K',
      description: 'each masked train image is an anchor K times per epoch, 1..100 (default 4)',
    },
    name: { type: 'string', arg: 'N', description: 'name of the new version' },
  },
  positionals: { min: 0, max: 0, names: '' },
  db: 'existing',
  details:
    "Masks on TRAIN images teach (the newest per image, or --author's); masks on val and test images only\n" +
    'measure (simlens compare). Pairs whose images have no mask keep the contrastive loss only. Before a\n' +
    'mask loss is used, its second derivative is checked against finite differences on the backend in\n' +
    'use; if the backend cannot compute it, the run says why and falls back to the augmentation. The new\n' +
    'version records its parent, the loss, lambda and the masks used (ids and authors).\n' +
    'On a terminal, progress goes to stderr; Ctrl-C cancels the job and stores nothing.',
  async run(ctx) {
    const v = ctx.values;
    if (v.from === undefined) throw usageError('--from ID is required');
    const id = parseIntOption('from', v.from as string, 1, MAX_ID);
    const loss = v.loss as string | undefined;
    if (loss !== undefined && !(RETRAIN_LOSS_NAMES as readonly string[]).includes(loss))
      throw usageError(`--loss: expected one of ${RETRAIN_LOSS_NAMES.join(', ')}, got '${loss}'`);
    const maps = v.maps as string | undefined;
    if (maps !== undefined && maps !== 'factual' && maps !== 'both') throw usageError(`--maps: expected factual or both, got '${maps}'`);
    const author = v.author as string | undefined;
    if (author !== undefined && (author.trim() === '' || author.length > 100)) throw usageError('--author: expected 1 to 100 characters');
    const name = v.name as string | undefined;
    if (name !== undefined && (name.trim() === '' || name.length > 200)) throw usageError('--name: expected 1 to 200 characters');
    const int = (n: string, min: number, max: number) => (v[n] === undefined ? undefined : parseIntOption(n, v[n] as string, min, max));
    const num = (n: string, min: number, max: number) => (v[n] === undefined ? undefined : parseNumberOption(n, v[n] as string, min, max));
    const args = {
      id,
      ...(loss !== undefined ? { loss: loss as RetrainLossName } : {}),
      lambda: num('lambda', 0, 1e6),
      epochs: int('epochs', 1, 1000),
      author,
      name,
      batchSize: int('batch', 2, 4096),
      learningRate: num('lr', 1e-9, 1),
      seed: int('seed', 0, SEED_MAX),
      ...(maps !== undefined ? { maps: maps as 'factual' | 'both' } : {}),
      ...(v['freeze-below'] === true ? { freezeBelow: true } : {}),
      maskedRepeat: int('masked-repeat', 1, 100),
    };
    const app = ctx.openApp();
    const { jobId } = await app.call('models.retrain', args);
    const result = resultOf(await waitForJob(app, jobId, 'retrain', ctx.io), 'retrain');
    const model = await app.call('models.get', { id: result.modelId });
    const metrics = metricsSummary(model.metrics!);
    const training = model.metrics!.training;
    const history: EpochDto[] = training?.history ?? [];
    const r = result.retrain;
    const data = {
      jobId,
      modelId: result.modelId,
      parentId: r.parentId,
      name: model.name,
      arch: model.arch,
      datasetId: model.datasetId,
      pairSetId: model.pairSetId,
      backend: model.backend,
      retrain: r,
      training: training
        ? { epochs: history.length, keptEpoch: training.bestEpoch, valAuc: training.bestValAuc, seconds: training.seconds }
        : null,
      metrics,
      history,
    };
    const check = r.check;
    const lines = [
      `Model version ${result.modelId} "${model.name}" retrained from version ${r.parentId} (${model.arch}, backend ${model.backend ?? '?'}).`,
      `Loss ${r.lossUsed}${r.lossUsed === 'augment' ? '' : ` (lambda ${r.lambda}, ${r.maps} maps at ${r.layer}, differentiated at ${r.gradLayer})`}` +
        ` with ${r.masks.count} mask(s) on ${r.masks.count} of ${r.masks.trainImages} train images` +
        ` by ${r.masks.authors.map((a) => `${a.author} (${a.masks})`).join(', ')}.`,
    ];
    if (r.fallback) lines.push(`Asked for ${r.loss}: ${r.fallback}.`);
    if (check)
      lines.push(
        `Second derivative on ${check.backend}: ${check.ok ? 'agrees' : 'DISAGREES'} with finite differences ` +
          `(${check.analytic?.toExponential(4) ?? '-'} vs ${check.numeric?.toExponential(4) ?? '-'}, relative error ${check.relativeError?.toExponential(2) ?? '-'}).`,
      );
    if (training)
      lines.push(
        `Trained ${history.length} epoch(s) in ${training.seconds.toFixed(1)} s; the last epoch kept (val AUC ${training.bestValAuc.toFixed(4)}).`,
      );
    lines.push(`Threshold ${metrics.threshold.toFixed(4)} (chosen on val).`, '', metricsTable(metrics));
    return { data, text: lines.join('\n') };
  },
};
