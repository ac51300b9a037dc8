import {
  EXPLAIN_METHODS,
  FAITHFULNESS_BASELINES,
  type AucTripleDto,
  type FaithfulnessBaseline,
  type FaithfulnessSummaryDto,
} from '../../../shared/dto';
import type { SimLensApp } from '../../app';
import type { CliIo } from '../io';
import { SEED_MAX } from '../../../shared/limits';
import { parseIntOption, resultOf, table, waitForJob } from '../io';
import { usageError, type CliCommand } from '../types';
import { parseMethod, parseSplitName } from './explain';

const f = (x: number | null | undefined, d = 4) => (x === null || x === undefined ? 'n/a' : x.toFixed(d));
const pct = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${(100 * x).toFixed(1)}%`);

function row(name: string, t: AucTripleDto | null): (string | number)[] {
  return t
    ? [name, f(t.map), f(t.random), f(t.centre), pct(t.shareBeatsRandom), pct(t.shareBeatsCentre)]
    : [name, 'n/a', 'n/a', 'n/a', 'n/a', 'n/a'];
}

/** The faithfulness summary as a table: per method its score, then per baseline the map's deletion / insertion AUC and the share of pairs beating random and the centre prior. */
export function faithfulnessTable(r: FaithfulnessSummaryDto): string {
  const header = ['method', 'score'];
  for (const b of r.baselines) header.push(`${b} del`, `${b} ins`, `${b} >rand`, `${b} >centre`);
  const rows: (string | number)[][] = [header];
  for (const m of r.methods) {
    const row: (string | number)[] = [m.method + (m.method === r.defaultMethod ? ' *' : ''), f(m.score)];
    for (const b of r.baselines) {
      const x = m.byBaseline[b];
      row.push(f(x?.deletion?.map), f(x?.insertion?.map), pct(x?.pairShareBeatsRandom.deletion), pct(x?.pairShareBeatsCentre.deletion));
    }
    rows.push(row);
  }
  const refs: (string | number)[] = ['(random)', ''];
  const centre: (string | number)[] = ['(centre prior)', ''];
  for (const b of r.baselines) {
    const any = r.methods.find((m) => m.byBaseline[b]?.deletion)?.byBaseline[b];
    refs.push(f(any?.deletion?.random), f(any?.insertion?.random), '', '');
    centre.push(f(any?.deletion?.centre), f(any?.insertion?.centre), '', '');
  }
  rows.push(refs, centre);
  return table(rows);
}

async function allMethods(
  app: SimLensApp,
  io: CliIo,
  args: {
    modelId: number;
    split?: 'train' | 'val' | 'test';
    label?: 0 | 1;
    limit?: number;
    steps?: number;
    seed?: number;
    baselines?: FaithfulnessBaseline[];
  },
) {
  const { jobId } = await app.call('explain.faithfulness', args);
  const r = resultOf(await waitForJob(app, jobId, 'faithfulness', io), 'faithfulness');
  const lines = [
    `Model version ${r.modelId} · every method at ${r.layer} · ${r.split} split${r.label === null ? '' : r.label === 1 ? ' (same pairs)' : ' (different pairs)'} · ${r.pairs} pairs · ` +
      `${r.steps} steps · ${r.seconds.toFixed(1)} s`,
    '',
    faithfulnessTable(r),
    '',
    'del / ins: mean deletion (lower is better) and insertion (higher) AUC of the maps; >rand / >centre: share of pairs whose',
    "deletion beats the random map / the centre prior. score: mean over blur, mean and ROAD of (ins - del) minus the random map's.",
    `* default method of this version: ${r.defaultMethod} (mean colour ${r.channelMeans.map((c) => c.toFixed(3)).join(', ')})`,
  ];
  return { data: { jobId, ...r }, text: lines.join('\n') };
}

export const metricsCommand: CliCommand = {
  name: 'metrics',
  summary: "Measure a method's maps on a split: deletion / insertion AUC against random and centre-prior maps, and mask agreement",
  synopsis:
    'metrics --model ID (--split S [--method M] | --all-methods [--split S] [--baselines B,..]) [--layer NAME] [--limit N] [--label same|different] [--steps N] [--seed S] [--db FILE] [--json]',
  options: {
    model: { type: 'string', arg: 'ID', description: 'model version id' },
    split: { type: 'string', arg: 'S', description: "train, val or test (of the model's pair set)" },
    method: { type: 'string', arg: 'M', description: `${EXPLAIN_METHODS.join(', ')} (default gradcam)` },
    layer: { type: 'string', arg: 'NAME', description: "target layer (default: the model's last conv block)" },
    limit: { type: 'string', arg: 'N', description: 'at most N pairs (the first by id)' },
    label: { type: 'string', arg: 'L', description: 'only same or different pairs (default both)' },
    steps: { type: 'string', arg: 'N', description: 'deletion / insertion steps (default 32)' },
    seed: { type: 'string', arg: 'S', description: 'seed of the random reference maps (default 0)' },
    'all-methods': {
      type: 'boolean',
      description:
        "every method's faithfulness under every baseline (black, blur, mean, ROAD) on a seeded sample of pairs (default 64 same-class val pairs); stored with the version, sets its default method",
    },
    baselines: {
      type: 'string',
      arg: 'B,..',
      description: `with --all-methods: some of ${FAITHFULNESS_BASELINES.join(', ')} (default all)`,
    },
  },
  positionals: { min: 0, max: 0, names: '' },
  db: 'existing',
  details:
    'Deletion (Petsiuk et al. 2018): pixels of one image are replaced by black in the order of the\n' +
    'map, the pair re-scored at each step; the AUC of the score over the fraction removed (lower is\n' +
    'better). Insertion: pixels restored onto a blurred copy (higher is better). The same curves for a\n' +
    'seeded random map and a centre prior are the references. With masks (newest per image): energy\n' +
    'pointing game, pointing game, IoU of the map thresholded at half its max.',
  async run(ctx) {
    const v = ctx.values;
    if (v.model === undefined) throw usageError('missing --model ID');
    if (v.split === undefined && v['all-methods'] !== true) throw usageError('missing --split S');
    const modelId = parseIntOption('model', v.model as string, 1, Number.MAX_SAFE_INTEGER);
    const split = parseSplitName(v.split);
    const method = parseMethod(v.method) ?? 'gradcam';
    const limit = v.limit === undefined ? undefined : parseIntOption('limit', v.limit as string, 1, 100_000);
    const steps = v.steps === undefined ? undefined : parseIntOption('steps', v.steps as string, 2, 1000);
    const seed = v.seed === undefined ? undefined : parseIntOption('seed', v.seed as string, 0, SEED_MAX);
    let label: 0 | 1 | undefined;
    if (v.label !== undefined) {
      if (v.label !== 'same' && v.label !== 'different') throw usageError(`--label: expected same or different, got '${String(v.label)}'`);
      label = v.label === 'same' ? 1 : 0;
    }
    if (v['all-methods'] === true) {
      if (v.method !== undefined || v.layer !== undefined)
        throw usageError('--all-methods measures every method at the default layer: drop --method / --layer');
      const baselines = v.baselines === undefined ? undefined : parseBaselines(v.baselines as string);
      return allMethods(ctx.openApp(), ctx.io, {
        modelId,
        split,
        label: label ?? 1,
        limit,
        steps,
        seed,
        ...(baselines ? { baselines } : {}),
      });
    }
    if (v.baselines !== undefined) throw usageError('--baselines goes with --all-methods');
    const app = ctx.openApp();
    const { jobId } = await app.call('explain.metrics', {
      modelId,
      split,
      method,
      layer: v.layer as string | undefined,
      limit,
      steps,
      seed,
      label,
    });
    const r = resultOf(await waitForJob(app, jobId, 'metrics', ctx.io), 'metrics');
    const lines = [
      `Model version ${modelId} · ${r.method} at ${r.layer} · ${r.split} split${r.label === null ? '' : r.label === 1 ? ' (same pairs)' : ' (different pairs)'} · ${r.pairs} pairs, ` +
        `${r.images} images measured, ${r.noEvidence} without evidence · ${r.steps} steps · ${r.seconds.toFixed(1)} s`,
      '',
      table([
        ['curve', 'map AUC', 'random', 'centre', 'beats random', 'beats centre'],
        row('deletion (lower is better)', r.deletion),
        row('insertion (higher is better)', r.insertion),
      ]),
      '',
      `Pairs where the map beats the random map: deletion ${pct(r.pairShareDeletionBeatsRandom)}, insertion ${pct(r.pairShareInsertionBeatsRandom)}`,
    ];
    if (r.masks)
      lines.push(
        `Masks (${r.masks.images} images): EPG ${f(r.masks.epg, 3)}, pointing game ${pct(r.masks.pointingGame)}, IoU ${f(r.masks.iou, 3)}`,
      );
    else lines.push('Masks: none of these images has one');
    return { data: { jobId, ...r }, text: lines.join('\n') };
  },
};

function parseBaselines(value: string): FaithfulnessBaseline[] {
  const names = value.split(',').map((x) => x.trim());
  for (const n of names)
    if (!(FAITHFULNESS_BASELINES as readonly string[]).includes(n))
      throw usageError(`--baselines: expected some of ${FAITHFULNESS_BASELINES.join(', ')}, got '${n}'`);
  return names as FaithfulnessBaseline[];
}
