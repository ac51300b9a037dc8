// Entry of the `simlens` command (built to out/main/cli.js; bin/simlens.cjs loads it).
// Plain Node: never imports 'electron'. The commands live in ./cli/commands.
import { runCli } from './cli/run';

const argv = process.argv.slice(2);
// With --json, stdout carries the JSON result and nothing else: anything a library
// logs goes to stderr instead.
if (argv.includes('--json')) console.log = console.error;

runCli(argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`simlens: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
