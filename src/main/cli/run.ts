// The `simlens` command line: argument parsing, help, database opening, output and
// exit codes, shared by all commands (see ./types.ts and ./commands).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { APP_VERSION, SimLensApp } from '../app';
import { AppError } from '../errors';
import { defaultWorkspaceDir, workspacePaths } from '../paths';
import { COMMANDS } from './commands';
import { processIo, type CliIo } from './io';
import { CliError, usageError, type CliCommand, type OptionSpec } from './types';

/** Options every database command accepts. */
const COMMON: Record<string, OptionSpec> = {
  db: { type: 'string', arg: 'FILE', description: 'workspace database (default: $SIMLENS_WORKSPACE/simlens.db or ~/.simlens/simlens.db)' },
  json: { type: 'boolean', description: 'print the result as JSON on stdout (and nothing else)' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

export function defaultDbPath(): string {
  return workspacePaths(defaultWorkspaceDir()).db;
}

function commonFor(cmd: CliCommand): Record<string, OptionSpec> {
  if (cmd.db !== 'none') return COMMON;
  const { json, help } = COMMON;
  return { json, help };
}

function optionLines(options: Record<string, OptionSpec>): string {
  const rows = Object.entries(options).map(([name, o]) => [
    `${o.short ? `-${o.short}, ` : ''}--${name}${o.arg ? ` ${o.arg}` : ''}`,
    o.description,
  ]);
  const width = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`).join('\n');
}

export function commandHelp(cmd: CliCommand): string {
  return [
    `Usage: simlens ${cmd.synopsis}`,
    '',
    cmd.summary + '.',
    ...(cmd.details ? ['', cmd.details] : []),
    '',
    'Options:',
    optionLines({ ...cmd.options, ...commonFor(cmd) }),
  ].join('\n');
}

export function generalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length), 4);
  return [
    `simlens ${APP_VERSION}: explainable image similarity, headless.`,
    '',
    'Usage: simlens <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    `  ${'help'.padEnd(width)}  Show help for a command (simlens help <command>)`,
    '',
    'Every command accepts --db FILE (default: the workspace database) and --json.',
    'Exit codes: 0 success, 1 failure, 2 bad arguments, 130 cancelled.',
  ].join('\n');
}

function shortUsage(cmd?: CliCommand): string {
  return cmd
    ? `Usage: simlens ${cmd.synopsis}\nRun 'simlens help ${cmd.name}' for details.`
    : `Usage: simlens <command> [options]; commands: ${[...COMMANDS.map((c) => c.name), 'help'].join(', ')}\nRun 'simlens help' for details.`;
}

/** node:util parseArgs errors, rephrased in one line. */
function parseError(error: unknown): CliError {
  const e = error as { code?: string; message?: string };
  const quoted = /'([^']+)'/.exec(e.message ?? '')?.[1];
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return usageError(`unknown option '${quoted ?? '?'}'`);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/ambiguous/.test(e.message ?? ''))
        return usageError(`option '${quoted ?? '?'}' needs a value (for one starting with '-', write ${quoted ?? '--option'}=VALUE)`);
      return usageError((e.message ?? 'invalid option value').split('\n')[0].replace(/^Option /, 'option '));
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return usageError(`unexpected argument '${quoted ?? '?'}'`);
    default:
      return usageError(e.message ?? String(error));
  }
}

function findCommand(name: string): CliCommand | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/**
 * Runs one CLI invocation; returns the exit code. Writes the result to io.out (JSON
 * with --json), errors as one line "simlens <cmd>: message" to io.err.
 */
export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  const wantsJson = rest.includes('--json') || argv.includes('--json');
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const topic = name === 'help' ? rest.find((a) => !a.startsWith('-')) : undefined;
    if (topic !== undefined) {
      const cmd = findCommand(topic);
      if (!cmd) {
        io.err(`simlens: unknown command '${topic}'\n${shortUsage()}\n`);
        return 2;
      }
      io.out(`${commandHelp(cmd)}\n`);
      return 0;
    }
    if (wantsJson) {
      const commands = COMMANDS.map((c) => ({ name: c.name, summary: c.summary, synopsis: `simlens ${c.synopsis}` }));
      io.out(`${JSON.stringify({ version: APP_VERSION, commands }, null, 2)}\n`);
    } else io.out(`${generalHelp()}\n`);
    return 0;
  }
  if (name === '--version' || name === 'version') {
    io.out(wantsJson ? `${JSON.stringify({ version: APP_VERSION })}\n` : `${APP_VERSION}\n`);
    return 0;
  }
  const cmd = findCommand(name);
  if (!cmd && name.startsWith('-')) {
    io.err(`simlens: expected a command before '${name}'\n${shortUsage()}\n`);
    return 2;
  }
  if (!cmd) {
    io.err(`simlens: unknown command '${name}'\n${shortUsage()}\n`);
    return 2;
  }

  let app: SimLensApp | undefined;
  try {
    const options = { ...cmd.options, ...commonFor(cmd) };
    let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
    try {
      parsed = parseArgs({
        args: rest,
        options: Object.fromEntries(Object.entries(options).map(([k, o]) => [k, { type: o.type, ...(o.short ? { short: o.short } : {}) }])),
        allowPositionals: true,
        strict: true,
      }) as typeof parsed;
    } catch (error) {
      throw parseError(error);
    }
    const { values, positionals } = parsed;
    if (values.help) {
      io.out(`${commandHelp(cmd)}\n`);
      return 0;
    }
    if (positionals.length < cmd.positionals.min) throw usageError(`missing ${cmd.positionals.names}`);
    if (positionals.length > cmd.positionals.max) throw usageError(`unexpected argument '${positionals[cmd.positionals.max]}'`);

    const dbPath = resolve((values.db as string | undefined) ?? defaultDbPath());
    const output = await cmd.run({
      values,
      positionals,
      json: Boolean(values.json),
      io,
      openApp: () => {
        if (app) return app;
        if (cmd.db === 'existing' && !existsSync(dbPath)) {
          throw new CliError(`No SimLens database at ${dbPath} (create one with: simlens import <path> --db ${dbPath})`);
        }
        // Engine work (train/eval, explain --split, metrics) on worker threads: the pool starts only
        // when a command first needs it, so small commands never spawn a worker.
        app = new SimLensApp({ dbPath, shell: 'cli', engine: 'pool' });
        return app;
      },
    });
    io.out(values.json ? `${JSON.stringify(output.data, null, 2)}\n` : `${output.text}\n`);
    return 0;
  } catch (error) {
    const { message, code, usage } = describeError(error);
    io.err(`simlens ${cmd.name}: ${message}\n${usage ? `${shortUsage(cmd)}\n` : ''}`);
    return code;
  } finally {
    if (app) await app.close();
  }
}

function describeError(error: unknown): { message: string; code: number; usage: boolean } {
  if (error instanceof CliError) return { message: oneLine(error.message), code: error.exitCode, usage: error.showUsage };
  if (error instanceof AppError) return { message: oneLine(error.message), code: error.code === 'invalid_argument' ? 2 : 1, usage: false };
  return { message: oneLine(error instanceof Error ? error.message : String(error)), code: 1, usage: false };
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ').trim();
