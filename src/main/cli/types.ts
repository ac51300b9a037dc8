// The shape every `simlens` command has: one module per command in ./commands,
// listed once in ./commands/index.ts. The runner (./run.ts) parses the arguments
// against `options`, opens the workspace database, calls `run`, and prints either
// `text` (humans) or `data` as JSON (--json); commands never write to stdout.
import type { SimLensApp } from '../app';
import type { CliIo } from './io';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** e.g. 'N' for "--name N"; absent for boolean flags. */
  arg?: string;
  description: string;
}

export interface CommandContext {
  /** Parsed option values (strings or booleans), by option name. */
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  json: boolean;
  io: CliIo;
  /** Opens the workspace database (once); `create: false` refuses a file that does not exist. */
  openApp(): SimLensApp;
}

export interface CommandOutput {
  /** The --json result: a plain JSON value. */
  data: unknown;
  /** Human-readable lines for stdout without --json. */
  text: string;
}

export interface CliCommand {
  name: string;
  summary: string;
  /** The synopsis after "simlens", e.g. "import <path> [--name N]". */
  synopsis: string;
  /** Command-specific options (the runner adds --db, --json, --help). */
  options: Record<string, OptionSpec>;
  positionals: { min: number; max: number; names: string };
  /** Does the command need a database, and may it create one? */
  db: 'create' | 'existing' | 'none';
  /** Extra paragraphs for `simlens help <command>`. */
  details?: string;
  run(ctx: CommandContext): Promise<CommandOutput>;
}

/** A failure with a one-line message for stderr and an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    /** Print the command's usage after the message (bad arguments). */
    readonly showUsage = false,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string) => new CliError(message, 2, true);
