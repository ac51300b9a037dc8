// Shared helpers of the engine benchmarks (scripts/bench-engine/*.ts).
import { cpus, loadavg } from 'node:os';

export type Figures = Record<string, number | string | boolean>;

export const round = (x: number, digits = 1) => Number(x.toFixed(digits));

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Machine facts worth printing next to timings (the load average matters on a shared 2-core box). */
export function machine(): Figures {
  return { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, loadavg1: round(loadavg()[0], 2) };
}

export function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v)) throw new Error(`--${name} needs a number`);
  return v;
}

export function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

/** The values of environment variables `keys` now, for restoreEnv. */
export const saveEnv = (...keys: string[]): Record<string, string | undefined> => Object.fromEntries(keys.map((k) => [k, process.env[k]]));

/** Puts back what saveEnv saw (unset where it was unset). */
export function restoreEnv(saved: Record<string, string | undefined>): void {
  for (const [key, value] of Object.entries(saved))
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
}

export function report(section: string, figures: Figures): void {
  const width = Math.max(...Object.keys(figures).map((k) => k.length));
  console.log(`\n== ${section}`);
  for (const [k, v] of Object.entries(figures)) console.log(`  ${k.padEnd(width)}  ${v}`);
  console.log(JSON.stringify({ section, ...figures }));
}
