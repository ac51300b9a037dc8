import type { JobDto, JobKind, JobResultOf } from '../../shared/dto';
import { jobResult } from '../../shared/job-result';
import type { SimLensApp } from '../app';
import { CliError } from './types';

/** Where the CLI writes; swapped in tests. Progress goes to stderr, and only on a terminal. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  stderrIsTTY: boolean;
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  stderrIsTTY: Boolean(process.stderr.isTTY),
};

/**
 * Waits for a job, drawing a one-line progress bar on a terminal's stderr. Ctrl-C
 * cancels the job (a second Ctrl-C exits at once). Resolves with the finished job
 * when it is done; throws CliError when it failed or was cancelled.
 */
export async function waitForJob(app: SimLensApp, jobId: number, label: string, io: CliIo): Promise<JobDto> {
  let drawn = false;
  const off = app.events.on('job.updated', (job) => {
    if (job.id !== jobId || !io.stderrIsTTY) return;
    const pct = Math.round(job.progress * 100);
    const width = 24;
    const filled = Math.round(job.progress * width);
    io.err(
      `\r\x1b[K${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(pct).padStart(3)}%${job.message ? `  ${job.message}` : ''}`,
    );
    drawn = true;
  });
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    io.err(`\n${label}: cancelling (Ctrl-C again to quit at once)\n`);
    try {
      app.jobs.cancel(jobId);
    } catch {
      // already finished
    }
  };
  process.on('SIGINT', onSigint);
  try {
    const job = await app.jobs.wait(jobId);
    if (drawn) io.err('\n');
    if (job.status === 'cancelled') throw new CliError(`${label} cancelled`, 130);
    if (job.status !== 'done') throw new CliError(`${label} failed: ${job.error ?? job.status}`);
    return job;
  } finally {
    off();
    process.off('SIGINT', onSigint);
  }
}

/** The result of a job waitForJob returned (done), narrowed to its kind; a CliError if it is another kind or has none. */
export function resultOf<K extends JobKind>(job: JobDto, kind: K): JobResultOf<K> {
  const result = jobResult(job, kind);
  if (!result) throw new CliError(`Job ${job.id} (${job.kind}) has no ${kind} result`);
  return result;
}

/** Left-aligned text table (first row = header). */
export function table(rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map(String));
  const widths = cells[0].map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Strict integer parsing for option values ("12", not "12abc" or "1.5"). */
export function parseIntOption(name: string, value: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(value.trim())) throw new CliError(`--${name}: expected an integer, got '${value}'`, 2, true);
  const n = Number(value);
  if (n < min || n > max) throw new CliError(`--${name}: expected an integer in [${min}, ${max}], got ${n}`, 2, true);
  return n;
}

/** Strict decimal parsing for option values ("0.001", "1e-3"; not "", "abc" or "1x"), within [min, max]. */
export function parseNumberOption(name: string, value: string, min: number, max: number): number {
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n)) throw new CliError(`--${name}: expected a number, got '${value}'`, 2, true);
  if (n < min || n > max) throw new CliError(`--${name}: expected a number in [${min}, ${max}], got ${n}`, 2, true);
  return n;
}
