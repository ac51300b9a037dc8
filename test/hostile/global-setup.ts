// Runs once before the hostile suite's files (vitest globalSetup): builds out/ (the CLI the
// crash, backup and two-process cases run, the preload and page the Electron checklist reads)
// when the sources are newer, so that two files starting at once never build it side by side.
import { ensureBuiltCli } from '../integration/cli-harness';

export default function buildOnce(): void {
  ensureBuiltCli();
}
