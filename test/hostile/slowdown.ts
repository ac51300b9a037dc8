// Timeouts that scale with the machine's load. The hostile suite runs child processes, trainings
// and 10,000 HTTP calls on a 2-core machine that other work shares (and under `nice`): the same
// CPU work can take several times longer in wall time. Every wall-clock bound of the suite (the
// tests' timeouts, a call that counts as hung, a condition waited for) is a hang guard, never a
// speed requirement, and is multiplied by the slowdown measured when the suite starts.
import { cpus, loadavg } from 'node:os';

/** The environment variable that carries the slowdown to the test processes (or sets it by hand). */
export const SLOWDOWN_ENV = 'SIMLENS_TEST_SLOWDOWN';
/** A bound no load stretches further: past it, a hang is a hang. */
const MAX_SLOWDOWN = 20;

/**
 * How many times longer than on an idle machine CPU work takes now, at least 1: the wall time a
 * busy loop of 100 ms of this process's CPU time needs (what the scheduler grants this process
 * beside the others), and the load average per core, whichever is larger.
 */
export function measureSlowdown(): number {
  const cpuMs = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  };
  const wall0 = performance.now();
  const cpu0 = cpuMs();
  let spin = 0;
  while (cpuMs() - cpu0 < 100) spin++;
  const granted = (performance.now() - wall0) / (cpuMs() - cpu0);
  const perCore = loadavg()[0]! / Math.max(1, cpus().length);
  void spin;
  return Math.min(MAX_SLOWDOWN, Math.max(1, granted, perCore));
}

/** The suite's slowdown: the one the config measured (SIMLENS_TEST_SLOWDOWN), else measured here once. */
export function slowdown(): number {
  const given = Number(process.env[SLOWDOWN_ENV]);
  if (Number.isFinite(given) && given >= 1) return Math.min(MAX_SLOWDOWN, given);
  const measured = measureSlowdown();
  process.env[SLOWDOWN_ENV] = measured.toFixed(2);
  return measured;
}

/** A wall-clock hang guard of `ms` on an idle machine, stretched by the slowdown. */
export const scaled = (ms: number): number => Math.round(ms * slowdown());
