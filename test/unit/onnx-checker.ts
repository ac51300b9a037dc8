// The reference ONNX checker (onnx.checker.check_model, Debian's python3-onnx) for tests: which
// python has it, or why none does, so a test can skip with that reason instead of passing silently.
import { spawnSync } from 'node:child_process';

/** Debian's interpreter first: python3-onnx installs there, and a pyenv python3 on PATH would not see it. */
const PYTHONS = ['/usr/bin/python3', 'python3'];

export type OnnxChecker = { python: string; version: string } | { python: null; reason: string };

export function findOnnxChecker(): OnnxChecker {
  for (const python of PYTHONS) {
    const r = spawnSync(python, ['-c', 'import onnx; print(onnx.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) return { python, version: r.stdout.trim() };
  }
  return {
    python: null,
    reason: `no python with the onnx package (tried ${PYTHONS.join(', ')}); install it with: apt-get install -y python3-onnx`,
  };
}

/** Runs onnx.checker.check_model (full check: with shape inference) on a .onnx file; returns the error text, or '' if it passes. */
export function checkOnnxFile(python: string, path: string): string {
  const r = spawnSync(python, ['-c', 'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)', path], {
    encoding: 'utf8',
  });
  return r.status === 0 ? '' : `${r.stderr}${r.stdout}`.trim() || `exit status ${String(r.status)}`;
}

/** checkOnnxFile for many files in one python process: each path with its error text, '' if it passes. */
export function checkOnnxFiles(python: string, paths: readonly string[]): { path: string; error: string }[] {
  const script = [
    'import json, onnx, sys',
    'errors = []',
    'for path in sys.argv[1:]:',
    '    try:',
    '        onnx.checker.check_model(onnx.load(path), full_check=True)',
    "        errors.append('')",
    '    except Exception as e:',
    '        errors.append(f"{type(e).__name__}: {e}")',
    'print(json.dumps(errors))',
  ].join('\n');
  const r = spawnSync(python, ['-c', script, ...paths], { encoding: 'utf8' });
  if (r.status !== 0) return paths.map((path) => ({ path, error: `${r.stderr}${r.stdout}`.trim() || `exit status ${String(r.status)}` }));
  const errors = JSON.parse(r.stdout) as string[];
  return paths.map((path, i) => ({ path, error: errors[i] }));
}
