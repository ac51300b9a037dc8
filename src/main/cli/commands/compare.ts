// `simlens compare`: two versions side by side (models.compare): test accuracy and ROC AUC, mean
// energy-based pointing game and deletion AUC on the pairs whose images have masks, review tallies,
// and the pairs whose maps moved most.
import type { CompareDto, CompareVersionDto, Split } from '../../../shared/dto';
import { parseIntOption, resultOf, table, waitForJob } from '../io';
import { usageError, type CliCommand } from '../types';

const MAX_ID = Number.MAX_SAFE_INTEGER;
const f4 = (x: number | null | undefined) => (x === null || x === undefined ? '-' : x.toFixed(4));
const signed = (x: number | null) => (x === null ? '-' : `${x >= 0 ? '+' : ''}${x.toFixed(4)}`);

function compareText(c: CompareDto): string {
  const col = (v: CompareVersionDto) => [
    `${v.modelId}`,
    f4(v.test?.accuracy),
    f4(v.test?.auc),
    f4(v.masked.epg),
    f4(v.masked.deletionAuc),
    `${v.review.verdicts}`,
    v.review.heatmaps.share === null ? '-' : `${(100 * v.review.heatmaps.share).toFixed(1)}%`,
  ];
  const lines = [
    `Versions ${c.a.modelId} "${c.a.name}" and ${c.b.modelId} "${c.b.name}" on the ${c.split} split: ${c.pairs} pairs with both versions' ${c.a.method} maps, ` +
      `${c.maskedPairs} with a masked image (${c.a.masked.images} masked images).`,
    '',
    table([
      ['version', 'test acc', 'test AUC', 'EPG (masked)', `deletion AUC (${c.deletion.baseline})`, 'verdicts', 'heatmaps sensible'],
      col(c.a),
      col(c.b),
      ['b - a', signed(c.delta.testAccuracy), signed(c.delta.testAuc), signed(c.delta.epg), signed(c.delta.deletionAuc), '', ''],
    ]),
    '',
    'Pairs whose maps moved most (share of the evidence that moved, mean of both images):',
    table([
      ['pair', 'label', 'moved', 'score a', 'score b', 'EPG a -> b'],
      ...c.moved.slice(0, 10).map((p) => [
        `${p.pairId}`,
        p.label === 1 ? 'same' : 'different',
        p.movement.toFixed(3),
        f4(p.scoreA),
        f4(p.scoreB),
        p.images
          .filter((i) => i.hasMask)
          .map((i) => `${f4(i.epgA)} -> ${f4(i.epgB)}`)
          .join(', ') || '-',
      ]),
    ]),
  ];
  return lines.join('\n');
}

export const compareCommand: CliCommand = {
  name: 'compare',
  summary:
    'Compare two model versions: test accuracy and AUC, EPG and deletion on masked pairs, review tallies, the pairs whose maps moved most',
  synopsis: 'compare [--db FILE] --a ID --b ID [--split train|val|test] [--limit N] [--masked-limit N] [--steps N] [--json]',
  options: {
    a: { type: 'string', arg: 'ID', description: 'the first version (e.g. the parent)' },
    b: { type: 'string', arg: 'ID', description: 'the second version (e.g. the retrained one)' },
    split: { type: 'string', arg: 'S', description: "the split of a's pair set to compare on (default test)" },
    limit: { type: 'string', arg: 'N', description: 'pairs compared, a seeded sample when the split has more (default 1000)' },
    'masked-limit': { type: 'string', arg: 'N', description: 'masked pairs measured by deletion (default 200)' },
    steps: { type: 'string', arg: 'N', description: 'deletion steps, 2..256 (default 16)' },
  },
  positionals: { min: 0, max: 0, names: '' },
  db: 'existing',
  details:
    "Both versions' Grad-CAM maps of the compared pairs are computed where not stored, then stored (the\n" +
    'app shows them side by side). EPG and deletion are measured on the images that have a mask (the\n' +
    'newest of each); deletion uses the blur baseline. --json prints the full result with the 20 pairs\n' +
    'whose maps moved most.',
  async run(ctx) {
    const v = ctx.values;
    if (v.a === undefined || v.b === undefined) throw usageError('--a ID and --b ID are required');
    const a = parseIntOption('a', v.a as string, 1, MAX_ID);
    const b = parseIntOption('b', v.b as string, 1, MAX_ID);
    if (a === b) throw usageError('--a and --b: give two different versions');
    const split = v.split as string | undefined;
    if (split !== undefined && !['train', 'val', 'test'].includes(split))
      throw usageError(`--split: expected train, val or test, got '${split}'`);
    const int = (n: string, min: number, max: number) => (v[n] === undefined ? undefined : parseIntOption(n, v[n] as string, min, max));
    const app = ctx.openApp();
    const { jobId } = await app.call('models.compare', {
      a,
      b,
      ...(split !== undefined ? { split: split as Split } : {}),
      limit: int('limit', 1, 100_000),
      maskedLimit: int('masked-limit', 1, 10_000),
      steps: int('steps', 2, 256),
    });
    const result = resultOf(await waitForJob(app, jobId, 'compare', ctx.io), 'compare');
    return { data: { jobId, ...result }, text: compareText(result) };
  },
};
