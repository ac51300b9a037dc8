// Crash safety for every kind of job (issue #13): each case SIGKILLs the CLI while its job
// runs beside the app's verdicts, restarts, and finds the database intact, every verdict
// committed before the kill present, the job `interrupted` (crash-harness.ts checks these for
// every case), plus what the kind of job must leave: an import's committed batches complete,
// a training that resumes from its last epoch checkpoint to the metrics of an uninterrupted
// run, a batch explanation's stored maps whole, a mask history with every returned save and at
// most the one in flight besides, each row a whole stroke; a retraining with masks leaves no
// version, snapshot or folder of its own, and retraining again completes.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuiltCli, runCli } from '../integration/cli-harness';
import {
  CHILD_ENV,
  copyWorkspace,
  MASK_AUTHOR,
  prepareFixture,
  removeRoot,
  runCrashCase,
  tempRoot,
  type CrashCase,
  type Fixture,
} from './crash-harness';
import { noise, write } from './hostile-helpers';
import { CANVAS, PAINTER, STROKE_SEED, strokeMasks } from './mask-strokes';
import { scaled } from './slowdown';
import { decodeMaskString, encodeMaskString } from '../../src/shared/mask-rle';

let root: string;
let fixture: Fixture;
let images: string;
const IMAGES = 240;
/** kills survived with nothing lost, for the report at the end */
const survived: string[] = [];
/** the painter's saves the mask case waits for before the kill */
const MASK_SAVES_BEFORE_KILL = 20;
/** saves whose call returned before the kill, for the report */
const maskSavesBeforeKill: number[] = [];

beforeAll(async () => {
  ensureBuiltCli();
  root = tempRoot();
  fixture = await prepareFixture(root);
  images = join(root, 'photos');
  await Promise.all(
    Array.from({ length: IMAGES }, async (_, i) => write(join(images, `k${i % 3}`, `${i}.png`), await noise(200 + (i % 9), 150, 'png'))),
  );
}, scaled(180_000));
afterAll(() => {
  console.log(
    `crash cases survived: ${survived.length} (${survived.join(', ')}); mask saves committed before the kill: ${maskSavesBeforeKill.join(', ')}`,
  );
  removeRoot(root);
});

const running = (db: Database.Database, kind: string) =>
  db.prepare("SELECT id, checkpoint FROM jobs WHERE kind = ? AND status = 'running' ORDER BY id DESC").get(kind) as
    { id: number; checkpoint: string | null } | undefined;
const count = (db: Database.Database, sql: string, ...params: unknown[]) => (db.prepare(sql).get(...params) as { n: number }).n;

const TRAIN_ARGS = ['--epochs', '2', '--batch', '64', '--seed', '4'];

/** The numbers two runs of one training must share (not times, not ids). */
function outcome(json: string) {
  const out = JSON.parse(json) as {
    metrics: { splits: Record<string, Record<string, number>>; threshold: number };
    history: { epoch: number; loss: number; valAuc: number; learningRate: number; improved: boolean }[];
    training: { bestEpoch: number; bestValAuc: number };
  };
  return {
    threshold: out.metrics.threshold,
    splits: out.metrics.splits,
    bestEpoch: out.training.bestEpoch,
    bestValAuc: out.training.bestValAuc,
    history: out.history.map(({ epoch, loss, valAuc, learningRate, improved }) => ({ epoch, loss, valAuc, learningRate, improved })),
  };
}

const cases: CrashCase[] = [
  {
    name: 'import',
    args: (db) => ['import', images, '--db', db, '--name', 'photos'],
    // killed once at least one batch of 32 files is committed
    killWhen: (db) =>
      count(db, "SELECT count(*) AS n FROM import_reports r JOIN jobs j ON j.id = r.job_id WHERE j.status = 'running'") >= 32,
    async after(app, run) {
      const dataset = app.datasets.list().find((d) => d.name === 'photos')!;
      const reported = count(app.db, "SELECT count(*) AS n FROM import_reports WHERE job_id = ? AND status = 'imported'", run.jobId);
      // every committed batch is whole: each image with its report row, nothing half-written
      expect(dataset.imageCount).toBe(reported);
      expect(reported % 32).toBe(0);
      expect(reported).toBeLessThan(IMAGES);
      // importing again into the dataset completes it: what was committed counts as duplicates
      const again = await app.jobs.wait((await app.call('datasets.import', { path: images, datasetId: dataset.id })).jobId);
      expect(again.result).toMatchObject({ totals: { imported: IMAGES - reported, duplicate: reported, error: 0 } });
    },
  },
  {
    name: 'training',
    args: (db) => ['train', '--db', db, ...TRAIN_ARGS],
    // killed once epoch 1's checkpoint is on disk, during epoch 2
    killWhen: (db) => {
      const job = running(db, 'train');
      return Boolean(job?.checkpoint && (JSON.parse(job.checkpoint) as { resume: { epoch: number } | null }).resume?.epoch === 1);
    },
    async after(app, run) {
      const saved = app.jobs.checkpoint(run.jobId) as { resume: { epoch: number } };
      expect(saved.resume.epoch).toBe(1);
      // the app is closed before the CLI resumes (one process at a time is enough here)
      await app.close();
      const env = CHILD_ENV;
      const [resumed, whole] = await Promise.all([
        runCli(['train', '--db', run.db, '--resume', String(run.jobId), '--json'], { env }),
        runCli(['train', '--db', join(copyWorkspace(fixture, root, 'training-whole'), 'simlens.db'), ...TRAIN_ARGS, '--json'], { env }),
      ]);
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(whole.code, whole.stderr).toBe(0);
      expect(outcome(resumed.stdout).history).toHaveLength(2);
      expect(outcome(resumed.stdout)).toEqual(outcome(whole.stdout));
    },
  },
  {
    name: 'batch explanation',
    args: (db, workspace) => [
      'explain',
      '--db',
      db,
      '--model',
      String(fixture.modelId),
      '--split',
      'train',
      '--out',
      join(workspace, 'maps'),
    ],
    // pairs are explained and stored in groups of 64 (two workers): killed once the first group is stored
    killWhen: (db) => count(db, 'SELECT count(*) AS n FROM explanations') >= 64 && running(db, 'explain') !== undefined,
    async after(app) {
      const rows = app.db.prepare('SELECT map_height AS h, map_width AS w, a_factual, b_factual FROM explanations').all() as {
        h: number;
        w: number;
        a_factual: Buffer;
        b_factual: Buffer;
      }[];
      expect(rows.length % 64).toBe(0);
      expect(rows.length).toBeGreaterThanOrEqual(64);
      for (const r of rows) {
        expect(r.a_factual.length).toBe(r.h * r.w * 4);
        expect(r.b_factual.length).toBe(r.h * r.w * 4);
      }
    },
  },
  {
    // not a CLI job: the app saving a painter's strokes (mask-saver.child.ts); killed mid-loop,
    // so the kill lands anywhere in a save (validation, encoding, the INSERT, its commit)
    name: 'mask save',
    args: () => [],
    command: (db) => [process.execPath, '--import', 'tsx', join(__dirname, 'mask-saver.child.ts'), db],
    job: false,
    killWhen: (db) => count(db, 'SELECT count(*) AS n FROM masks WHERE author = ?', PAINTER) >= MASK_SAVES_BEFORE_KILL,
    async after(app, run) {
      const { height, width } = CANVAS;
      // only whole lines: the kill may cut the line of the save in flight
      const lines = run.stdout
        .split('\n')
        .slice(0, -1)
        .map((l) => JSON.parse(l) as { canvas?: number; id: number; uid: string; counts: string });
      const imageId = lines[0]!.canvas!;
      const saved = lines.slice(1);
      expect(saved.length).toBeGreaterThanOrEqual(MASK_SAVES_BEFORE_KILL - 1);
      // the painter's rows oldest first, each read and decoded by the service (a torn row would throw)
      const history = (await app.call('masks.history', { imageId, author: PAINTER })).reverse();
      // every save whose call returned is there; at most the one in flight was committed besides
      expect(history.length === saved.length || history.length === saved.length + 1).toBe(true);
      expect(history.slice(0, saved.length).map((m) => ({ id: m.id, uid: m.uid, counts: m.counts }))).toEqual(saved);
      // and each row is the stroke it should be, whole: the k-th row is the k-th mask of the sequence
      const strokes = strokeMasks(height, width, STROKE_SEED);
      for (const row of history) {
        const expected = strokes.next().value as Uint8Array;
        expect(row.size).toEqual([height, width]);
        expect(row.counts).toBe(encodeMaskString(expected, height, width));
        const decoded = decodeMaskString(row.counts, height, width);
        expect(decoded.length).toBe(height * width);
        expect(row.area).toBe(expected.reduce((a, b) => a + b, 0));
      }
      // the painter's mask after the restart is the newest row: the last stroke committed
      expect((await app.call('masks.get', { imageId, author: PAINTER }))?.uid).toBe(history.at(-1)!.uid);
      maskSavesBeforeKill.push(saved.length);
    },
  },
  {
    // the fixture's version retrained with the fixture painter's masks (energy loss, the default)
    name: 'retraining',
    args: (db) => ['retrain', '--db', db, '--from', String(fixture.modelId), '--epochs', '3', '--seed', '4'],
    // killed once epoch 1's weights are checkpointed, during epoch 2
    killWhen: (db) => {
      const job = running(db, 'retrain');
      return Boolean(job?.checkpoint && (JSON.parse(job.checkpoint) as { epoch?: number }).epoch === 1);
    },
    async after(app, run) {
      // no version half made: no child of the version, no mask snapshot, no folder of its own
      expect(app.models.list().filter((m) => m.parentId === fixture.modelId)).toEqual([]);
      expect(count(app.db, 'SELECT count(*) AS n FROM model_version_masks')).toBe(0);
      const folders = readdirSync(join(run.workspace, 'models'));
      expect(folders.filter((f) => f.startsWith('.job-'))).toEqual([]); // staging and epoch checkpoints removed at restart
      expect(folders.filter((f) => /^\d+$/.test(f)).map(Number)).toEqual(
        app.models
          .list()
          .map((m) => m.id)
          .sort((a, b) => a - b),
      );
      // retraining again completes, with the whole snapshot of the masks
      const job = await app.jobs.wait((await app.call('models.retrain', { id: fixture.modelId, epochs: 1, seed: 4 })).jobId);
      expect(job.status, job.error ?? '').toBe('done');
      const snapshot = await app.call('models.maskSnapshot', { id: (job.result as { modelId: number }).modelId });
      expect(snapshot.rows.map((r) => r.imageId)).toEqual(fixture.maskedTrainImages);
      expect(new Set(snapshot.rows.map((r) => r.author))).toEqual(new Set([MASK_AUTHOR]));
    },
  },
];

describe('SIGKILL during a job, then a restart', () => {
  for (const c of cases) {
    it(
      `${c.name}: nothing committed is lost${c.job === false ? '' : ', the job is interrupted'}`,
      async () => {
        await runCrashCase(fixture, root, c);
        survived.push(c.name);
      },
      scaled(300_000),
    ); // a hang guard (slowdown.ts)
  }
});
