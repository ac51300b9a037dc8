// How the models view writes model versions: architecture names, metric numbers, configuration rows.
import type { DatasetDto, ModelConfigDto, ModelVersionDto } from '../../../../shared/dto';
import { describeFrozenFeatures } from '../../../../shared/inference';

export const ARCH_LABEL: Record<string, string> = {
  small: 'Small CNN',
  resnet18: 'ResNet18',
  resnet50: 'ResNet50',
  mobilenetv2: 'MobileNetV2',
  pretrained: 'Pretrained backbone',
};

/** A metric with 3 (f3) or 4 (f4) decimals; a dash when there is none. */
export const f3 = (v: number | undefined | null) => (v === undefined || v === null || !Number.isFinite(v) ? '—' : v.toFixed(3));
export const f4 = (v: number | undefined | null) => (v === undefined || v === null || !Number.isFinite(v) ? '—' : v.toFixed(4));

/** A dataset's name by id: '—' for none, '#id' when it is not in the list. */
export function datasetNameOf(list: readonly DatasetDto[], id: number | null): string {
  if (id === null) return '—';
  return list.find((d) => d.id === id)?.name ?? `#${id}`;
}

/** A version's configuration, as [label, value] rows: architecture and training settings, backbone, backend and provenance. */
export function configRows(v: ModelVersionDto, datasetName: string): [string, string][] {
  const m = v.config.model;
  const t = v.config.train;
  return [
    ['Architecture', ARCH_LABEL[v.arch] ?? v.arch],
    ['Input', m.inputShape.join('×')],
    ['Embedding', String(m.embeddingSize)],
    ['Margin', String(t?.margin ?? m.margin)],
    ['Epochs', String(t?.epochs ?? '—')],
    ['Batch', String(t?.batchSize ?? '—')],
    ['Learning rate', String(t?.learningRate ?? '—')],
    ['Seed', String(v.seed ?? '—')],
    ['Augmentation', t && Object.values(t.augment).some((x) => x) ? 'on' : 'off'],
    ...backboneRows(m),
    ...frozenRows(v),
    ['Backend', v.backend ?? '—'],
    ['Dataset', datasetName],
    ['Pair set', v.pairSetId !== null ? `#${v.pairSetId}` : 'deleted'],
    ['Parent', v.parentId !== null ? `#${v.parentId}` : '—'],
    ...retrainRows(v),
  ];
}

/** A retrained version's loss, lambda and masks used. */
function retrainRows(v: ModelVersionDto): [string, string][] {
  const r = v.config.retrain;
  if (!r) return [];
  const loss = r.lossUsed === r.loss ? r.lossUsed : `${r.lossUsed} (asked ${r.loss}: ${r.fallback ?? 'fell back'})`;
  const authors = r.masks.authors.map((a) => `${a.author} ${a.masks}`).join(', ');
  return [
    ['Retrained with', r.lossUsed === 'augment' ? loss : `${loss}, λ ${r.lambda}`],
    ['Masks used', `${r.masks.count} on ${r.masks.trainImages} train images${authors ? ` (${authors})` : ''}`],
  ];
}

/** Where a pretrained version's frozen blocks ran in its training (ONNX Runtime, or tfjs and why). */
function frozenRows(v: ModelVersionDto): [string, string][] {
  const f = v.metrics?.training?.frozenFeatures;
  return f ? [['Frozen part', describeFrozenFeatures(f)]] : [];
}

/** A pretrained version's backbone folder, cut layer, frozen blocks; any version's input preprocessing. */
function backboneRows(m: ModelConfigDto): [string, string][] {
  const rows: [string, string][] = [];
  const b = m.backbone;
  if (b) {
    rows.push(['Backbone', b.dir]);
    rows.push(['Cut layer', b.cutLayer ?? 'default (last spatial layer)']);
    rows.push(['Frozen blocks', b.frozenBlocks === undefined ? 'default' : b.frozenBlocks === -1 ? 'all' : String(b.frozenBlocks)]);
  }
  if (m.preprocess !== undefined && m.preprocess !== 'none') rows.push(['Preprocessing', m.preprocess]);
  return rows;
}
