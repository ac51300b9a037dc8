#!/usr/bin/env node
// `npm start`: build if needed, then launch the Electron shell where its binary is
// present, else browser mode. `npm run web` (--browser): browser mode directly.
//
//   node scripts/start.mjs [--browser] [--no-open] [--workspace DIR] [--port N]
//
// Native modules and Electron's ABI: better-sqlite3 is a classic NAN addon, so the build
// in node_modules (for plain Node: tests, CLI, browser mode) cannot load in Electron.
// Before launching Electron we compile a COPY of it for Electron's headers into
// .native/electron/better_sqlite3.node (with the node-gyp that ships inside npm), and
// src/main/index.ts passes that file as better-sqlite3's `nativeBinding`. node_modules
// stays untouched, so the plain-Node build keeps working. sharp and @tensorflow/tfjs-node
// (-gpu) are N-API addons: one binary serves every Node and Electron version, so they
// need no rebuild.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));

const argv = process.argv.slice(2);
const forceBrowser = argv.includes('--browser');
const noOpen = argv.includes('--no-open') || !!process.env.CI;
const passthrough = argv.filter((a) => a !== '--browser' && a !== '--no-open' && a !== '--open');

const OUTPUTS = ['out/main/index.js', 'out/main/web.js', 'out/preload/index.js', 'out/renderer/index.html'];
const INPUTS = ['src', 'electron.vite.config.ts', 'package.json', 'tsconfig.node.json', 'tsconfig.web.json'];

function newestMtime(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function needsBuild() {
  const outs = OUTPUTS.map((p) => join(root, p));
  if (outs.some((p) => !existsSync(p))) return true;
  const oldestOut = Math.min(...outs.map((p) => statSync(p).mtimeMs));
  const newestIn = Math.max(
    ...INPUTS.map((p) => join(root, p))
      .filter(existsSync)
      .map(newestMtime),
  );
  return newestIn > oldestOut;
}

function build() {
  console.log('SimLens: building (electron-vite build)…');
  const bin = join(dirname(require.resolve('electron-vite/package.json')), 'bin', 'electron-vite.js');
  const res = spawnSync(process.execPath, [bin, 'build'], { cwd: root, stdio: 'inherit' });
  if (res.status !== 0) {
    console.error('SimLens: the build failed.');
    process.exit(res.status ?? 1);
  }
}

/**
 * The Electron executable, or null when its binary was never downloaded. Reads
 * electron's path.txt instead of require('electron'), which would try to download it.
 */
function electronBinary() {
  let pkgDir;
  try {
    pkgDir = dirname(require.resolve('electron/package.json'));
  } catch {
    return null;
  }
  const pathTxt = join(pkgDir, 'path.txt');
  if (!existsSync(pathTxt)) return null;
  const rel = readFileSync(pathTxt, 'utf8').trim();
  const distDir = process.env.ELECTRON_OVERRIDE_DIST_PATH || join(pkgDir, 'dist');
  const exe = join(distDir, rel);
  if (!existsSync(exe)) return null;
  const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
  return { exe, version };
}

/** npm's bundled node-gyp (or one in node_modules). */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
    join(dirname(process.execPath), 'node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
  ];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    /* not installed locally */
  }
  return candidates.find((p) => p && existsSync(p)) ?? null;
}

/** Compiles better-sqlite3 for Electron's ABI into .native/electron/ (once per version pair). */
function ensureElectronNative(electronVersion) {
  const outDir = join(root, '.native', 'electron');
  const binding = join(outDir, 'better_sqlite3.node');
  const stampFile = join(outDir, 'stamp.json');
  const srcDir = dirname(require.resolve('better-sqlite3/package.json'));
  const bsVersion = JSON.parse(readFileSync(join(srcDir, 'package.json'), 'utf8')).version;
  const stamp = JSON.stringify({ electron: electronVersion, betterSqlite3: bsVersion });
  if (existsSync(binding) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return true;

  const gyp = nodeGyp();
  if (!gyp) {
    console.error('SimLens: node-gyp not found (it ships with npm); cannot build better-sqlite3 for Electron.');
    return false;
  }
  console.log(`SimLens: building better-sqlite3 ${bsVersion} for Electron ${electronVersion} (once)…`);
  const work = join(outDir, 'better-sqlite3');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  cpSync(srcDir, work, {
    recursive: true,
    filter: (p) => !p.startsWith(join(srcDir, 'build')) && !p.startsWith(join(srcDir, 'node_modules')),
  });
  const res = spawnSync(
    process.execPath,
    [
      gyp,
      'rebuild',
      '--release',
      `--target=${electronVersion}`,
      '--dist-url=https://electronjs.org/headers',
      `--devdir=${join(homedir(), '.electron-gyp')}`,
    ],
    { cwd: work, stdio: 'inherit' },
  );
  const built = join(work, 'build', 'Release', 'better_sqlite3.node');
  if (res.status !== 0 || !existsSync(built)) {
    console.error('SimLens: building better-sqlite3 for Electron failed.');
    return false;
  }
  cpSync(built, binding);
  writeFileSync(stampFile, stamp);
  rmSync(work, { recursive: true, force: true });
  return true;
}

/** Runs a child in the foreground: signals go to it, its exit code becomes ours. */
function runForeground(cmd, args) {
  const child = spawn(cmd, args, { cwd: root, stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
  child.on('error', (error) => {
    console.error(`SimLens: could not start ${cmd}: ${error.message}`);
    process.exit(1);
  });
}

function startBrowserMode() {
  const args = [join(root, 'out/main/web.js'), ...passthrough];
  if (!noOpen && existsSync('/usr/bin/chromium')) args.push('--open', '--browser', '/usr/bin/chromium');
  else if (!noOpen) args.push('--open');
  runForeground(process.execPath, args);
}

if (needsBuild()) build();

const electron = forceBrowser ? null : electronBinary();
if (forceBrowser) {
  startBrowserMode();
} else if (!electron) {
  console.log('SimLens: the Electron binary is not available (node_modules/electron/dist is missing); starting browser mode.');
  startBrowserMode();
} else if (!ensureElectronNative(electron.version)) {
  console.log('SimLens: better-sqlite3 could not be built for Electron; starting browser mode instead.');
  startBrowserMode();
} else {
  runForeground(electron.exe, [root, ...passthrough]);
}
