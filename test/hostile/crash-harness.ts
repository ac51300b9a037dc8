// The kill harness of the crash-safety tests: a job runs in the built CLI (a child process)
// on a copy of a prepared workspace while this process, as the app would, records review
// verdicts on the same workspace; when the case says so the child gets SIGKILL (no cleanup,
// no finally, no exit handler). Then the workspace is opened again (a restart) and checked.
// A new kind of job is one more CrashCase: its CLI arguments, when to kill, and what it must
// find after the restart. Work that is not a CLI job (e.g. the app saving mask strokes) runs as
// any child process instead (`command`: e.g. ['node', '--import', 'tsx', 'script.ts', db]),
// says what it committed on stdout (one line each, read back in `after` from run.stdout) and
// sets `job: false` when it starts no job row.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import { SimLensApp } from '../../src/main/app';
import { encodeIdx, readIdx } from '../../src/main/images/idx';
import type { VerdictDto } from '../../src/shared/dto';
import { encodeMaskString } from '../../src/shared/mask-rle';
import { CLI, DEMO, ROOT } from '../integration/cli-harness';
import { scaled } from './slowdown';

/** What the engine runs on in the children: wasm, two workers (training is then data-parallel). */
export const CHILD_ENV = { SIMLENS_BACKEND: 'wasm', SIMLENS_WORKERS: '2' };

/** A prepared workspace: a small Fashion-MNIST dataset with pairs and one trained version. */
export interface Fixture {
  dir: string;
  modelId: number;
  /** the version's test pairs (verdicts are recorded on them) */
  pairIds: number[];
  /** train images with a mask (MASK_AUTHOR's centred box): what a retraining trains with */
  maskedTrainImages: number[];
}

/** The author of the fixture's masks. */
export const MASK_AUTHOR = 'fixture painter';

/** 20 train images per class and 5 test images per class of the bundled demo data: small, so an epoch takes seconds. */
async function smallIdx(to: string): Promise<void> {
  mkdirSync(to, { recursive: true });
  for (const [prefix, perClass] of [
    ['train', 20],
    ['t10k', 5],
  ] as const) {
    const images = await readIdx(join(DEMO, `${prefix}-images-idx3-ubyte.gz`));
    const labels = await readIdx(join(DEMO, `${prefix}-labels-idx1-ubyte.gz`));
    const keep: number[] = [];
    const seen = new Map<number, number>();
    labels.data.forEach((label, i) => {
      if ((seen.get(label) ?? 0) >= perClass) return;
      keep.push(i);
      seen.set(label, (seen.get(label) ?? 0) + 1);
    });
    const pixels = new Uint8Array(keep.length * 784);
    keep.forEach((i, k) => pixels.set(images.data.subarray(i * 784, (i + 1) * 784), k * 784));
    writeFileSync(join(to, `${prefix}-images-idx3-ubyte`), encodeIdx([keep.length, 28, 28], pixels, false));
    writeFileSync(
      join(to, `${prefix}-labels-idx1-ubyte`),
      encodeIdx([keep.length], Uint8Array.from(keep.map((i) => labels.data[i])), false),
    );
  }
}

/** Builds the prepared workspace in this process (in-process engine). */
export async function prepareFixture(root: string): Promise<Fixture> {
  const data = join(root, 'fashion-small');
  await smallIdx(data);
  const dir = join(root, 'base');
  const app = new SimLensApp({ dbPath: join(dir, 'simlens.db'), shell: 'cli' });
  try {
    const imported = await app.jobs.wait((await app.call('datasets.import', { path: data, kind: 'idx', name: 'fashion-small' })).jobId);
    const datasetId = (imported.result as { datasetId: number }).datasetId;
    await app.jobs.wait((await app.call('pairs.generate', { datasetId, seed: 1 })).jobId);
    const trained = await app.jobs.wait((await app.call('models.train', { datasetId, epochs: 1, batchSize: 64, seed: 2 })).jobId);
    if (trained.status !== 'done') throw new Error(`fixture training ${trained.status}: ${trained.error}`);
    const modelId = (trained.result as { modelId: number }).modelId;
    const pairSetId = app.models.get(modelId).pairSetId!;
    const pairIds = app.models.repo.pairs(pairSetId, 'test').map((p) => p.id);
    // a centred 14 x 14 box on 8 train images (28 x 28): enough for a retraining with masks
    const trainImages = [...new Set(app.models.repo.pairs(pairSetId, 'train').flatMap((p) => [p.image_a, p.image_b]))].sort(
      (a, b) => a - b,
    );
    const maskedTrainImages = trainImages.slice(0, 8);
    const box = Uint8Array.from({ length: 28 * 28 }, (_, i) =>
      Math.abs((i % 28) - 13.5) < 7 && Math.abs(Math.floor(i / 28) - 13.5) < 7 ? 1 : 0,
    );
    for (const imageId of maskedTrainImages)
      await app.call('masks.save', {
        imageId,
        author: MASK_AUTHOR,
        size: [28, 28],
        counts: encodeMaskString(box, 28, 28),
        source: 'painted',
      });
    return { dir, modelId, pairIds, maskedTrainImages };
  } finally {
    await app.close();
  }
}

/** A copy of the prepared workspace for one case. */
export function copyWorkspace(fixture: Fixture, root: string, name: string): string {
  const dir = join(root, name);
  cpSync(fixture.dir, dir, { recursive: true });
  return dir;
}

/** One kind of job to kill. */
export interface CrashCase {
  name: string;
  /** the CLI arguments that run the job on the workspace database `db` (the CLI gets --json too) */
  args(db: string, workspace: string): string[];
  /** instead of the CLI: the whole command of the child (executable first) */
  command?(db: string, workspace: string): string[];
  /** false: the child starts no job (nothing to find interrupted); the kill waits only for killWhen */
  job?: boolean;
  /** read-only look at the database while the job runs: true = kill now */
  killWhen(db: Database.Database): boolean;
  /** checks after the restart (the app opened again on the workspace), besides the common ones */
  after(app: SimLensApp, run: CrashRun): Promise<void>;
}

/** What a killed run left for the checks. */
export interface CrashRun {
  workspace: string;
  db: string;
  /** the child's job (the newest job when it was killed) */
  jobId: number;
  /** verdicts this process committed while the child ran (each returned by review.verdict) */
  verdicts: VerdictDto[];
  /** what the child wrote to stdout before the kill (what it says it committed) */
  stdout: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs a case: the child's job against the app's verdicts, SIGKILL when the case says so,
 * then the restart and the checks every case shares: integrity_check ok, no foreign key
 * broken, every verdict committed before the kill present and unchanged, the child's job
 * `interrupted`, no job left running, no staging folder of the dead job.
 */
export async function runCrashCase(fixture: Fixture, root: string, c: CrashCase): Promise<CrashRun> {
  const workspace = copyWorkspace(fixture, root, c.name.replace(/\W+/g, '-'));
  const db = join(workspace, 'simlens.db');
  const jobsBefore = new Database(db, { readonly: true });
  const lastJob = (jobsBefore.prepare('SELECT max(id) AS id FROM jobs').get() as { id: number }).id;
  jobsBefore.close();

  const [exe, ...argv] = c.command?.(db, workspace) ?? [process.execPath, CLI, ...c.args(db, workspace), '--json'];
  const child = spawn(exe, argv, {
    cwd: ROOT,
    env: { ...process.env, ...CHILD_ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));

  // the app, recording verdicts beside the job until the kill
  const app = new SimLensApp({ dbPath: db, shell: 'cli' });
  const verdicts: VerdictDto[] = [];
  const reader = new Database(db, { readonly: true });
  let killed = false;
  try {
    const deadline = Date.now() + scaled(120_000);
    let i = 0;
    while (!killed) {
      if (Date.now() > deadline) throw new Error(`${c.name}: the kill condition never came (child stderr: ${stderr})`);
      const pairId = fixture.pairIds[i % fixture.pairIds.length];
      const similarity = i % 2 === 0 ? 'correct' : 'wrong';
      const { verdict, changed } = await app.call('review.verdict', {
        pairId,
        modelId: fixture.modelId,
        similarity,
        reviewer: 'crash-test',
      });
      if (changed) verdicts.push(verdict);
      i++;
      const childJob = reader.prepare("SELECT id FROM jobs WHERE id > ? AND status = 'running'").get(lastJob);
      if ((childJob || c.job === false) && c.killWhen(reader)) {
        child.kill('SIGKILL');
        killed = true;
      } else await sleep(15);
      if (!killed && child.exitCode !== null)
        throw new Error(`${c.name}: the job ended before the kill (exit ${child.exitCode}): ${stderr}`);
    }
  } finally {
    reader.close();
    await app.close();
    if (!killed) child.kill('SIGKILL');
  }
  expect(await exited).toBe('SIGKILL');

  // the restart
  const restarted = new SimLensApp({ dbPath: db, shell: 'cli' });
  try {
    const jobId = (restarted.db.prepare('SELECT max(id) AS id FROM jobs WHERE id > ?').get(lastJob) as { id: number | null }).id ?? 0;
    expect(restarted.db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(restarted.db.pragma('foreign_key_check')).toEqual([]);
    if (c.job !== false)
      expect(restarted.jobs.get(jobId)).toMatchObject({ status: 'interrupted', error: expect.stringMatching(/process is gone/) });
    expect(restarted.db.prepare("SELECT count(*) AS n FROM jobs WHERE status IN ('queued', 'running')").get()).toEqual({ n: 0 });
    expect(verdicts.length).toBeGreaterThan(0);
    for (const v of verdicts) {
      const history = await restarted.call('review.history', { pairId: v.pairId, modelId: fixture.modelId, reviewer: 'crash-test' });
      expect(history.find((h) => h.uid === v.uid)).toEqual(v);
    }
    expect(readdirSync(join(workspace, 'models')).filter((n) => n === `.job-${jobId}`)).toEqual([]);
    const run = { workspace, db, jobId, verdicts, stdout };
    await c.after(restarted, run);
    return run;
  } finally {
    await restarted.close();
  }
}

export function tempRoot(): string {
  return mkdtempSync(join(tmpdir(), 'simlens-crash-'));
}

export function removeRoot(root: string): void {
  rmSync(root, { recursive: true, force: true });
}
