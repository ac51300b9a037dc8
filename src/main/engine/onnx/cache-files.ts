// Where a version's ONNX Runtime cache lives and how its fallback record reads (accelerator.ts
// writes both). Light on purpose (no tfjs, no ONNX Runtime): the backup, the models service and
// app.info read these names without loading an engine.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The cache folder inside a version folder. */
export const ONNX_CACHE_DIR = '.onnx-cache';
/** Bumped when the exporter's output changes, so that older cached files are not used. */
export const ONNX_EXPORTER_REVISION = 2;
export const ONNX_FALLBACK_FILE = 'fallback.json';

export interface OnnxFallback {
  reason: string;
  exporterRevision: number;
  at: string;
}

export const onnxCacheDir = (modelDir: string): string => join(modelDir, ONNX_CACHE_DIR, `v${ONNX_EXPORTER_REVISION}`);

/** The recorded reason a version runs on tfjs (fallback.json of this exporter revision), or null. */
export function readOnnxFallback(modelDir: string): OnnxFallback | null {
  const file = join(onnxCacheDir(modelDir), ONNX_FALLBACK_FILE);
  if (!existsSync(file)) return null;
  try {
    const f = JSON.parse(readFileSync(file, 'utf8')) as OnnxFallback;
    return typeof f.reason === 'string' ? f : null;
  } catch {
    return null; // unreadable: the next load tries again and rewrites it
  }
}
