// Waiting for a condition in tests that follow events (a worker busy, a job running, a file
// written): the deadline only bounds a wait that would otherwise hang, it is never a measured time.

/** Resolves once `condition()` holds (checked every few ms); throws after `boundMs` (default 30 s). */
export async function until(condition: () => boolean, what: string, boundMs = 30_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
