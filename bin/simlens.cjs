#!/usr/bin/env node
// The `simlens` command (package.json "bin"): a shim that loads the built CLI.
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS shim by design */
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const cli = join(root, 'out', 'main', 'cli.js');
if (!existsSync(cli)) {
  process.stderr.write(`simlens: the CLI is not built yet (${cli} is missing). Run \`npm run build\` in ${root} first.\n`);
  process.exit(1);
}
require(cli);
