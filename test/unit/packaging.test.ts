// The packaged app (electron-builder.yml): every native binary of the production dependencies
// (a .node addon, or a shared library one loads: ONNX Runtime's libonnxruntime, libvips) must be
// unpacked from the asar archive, or the OS loader cannot open it and ONNX Runtime, SQLite or
// sharp fail to load in the packaged app. Electron itself cannot run here (no binary): this
// checks the configuration against the installed packages, file by file.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '../..');

/** asarUnpack's patterns, as regular expressions over paths relative to the app folder. */
function unpackPatterns(): RegExp[] {
  const yml = readFileSync(join(root, 'electron-builder.yml'), 'utf8');
  const block = yml.split(/^asarUnpack:\s*$/m)[1]?.split(/^\S/m)[0] ?? '';
  return [...block.matchAll(/^\s+-\s+(\S+)\s*$/gm)].map(
    ([, glob]) =>
      new RegExp(
        `^${glob
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*\*/g, '\u0000')
          .replace(/\*/g, '[^/]*')
          .replace(/\u0000/g, '.*')}$`,
      ),
  );
}

const NATIVE = /(\.node|\.dylib|\.dll|\.so(\.\d+)*)$/;

/** Native binaries of a package folder (not descending into nested node_modules). */
function nativeFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (e.name !== 'node_modules') walk(join(d, e.name));
      } else if (NATIVE.test(e.name)) out.push(join(d, e.name));
    }
  };
  walk(dir);
  return out;
}

describe('electron-builder.yml', () => {
  it('unpacks every native binary of the production dependencies from the asar archive', () => {
    const patterns = unpackPatterns();
    expect(patterns.length).toBeGreaterThan(3);
    const packages = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, encoding: 'utf8' })
      .split('\n')
      .filter((p) => p.startsWith(join(root, 'node_modules')));
    const binaries = packages.flatMap(nativeFiles).map((f) => relative(root, f));
    // the ones this test is about are there: ONNX Runtime's addon and library, SQLite's addon
    expect(binaries.some((b) => /onnxruntime-node\/.*onnxruntime_binding\.node$/.test(b))).toBe(true);
    expect(binaries.some((b) => /onnxruntime-node\/.*libonnxruntime\.so/.test(b))).toBe(true);
    expect(binaries.some((b) => /better-sqlite3\/.*\.node$/.test(b))).toBe(true);
    const packed = binaries.filter((b) => !patterns.some((p) => p.test(b)));
    expect(packed).toEqual([]);
  });
});
