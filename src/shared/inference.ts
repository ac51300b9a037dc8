// How the footer and `simlens info` name the inference engine (app.info's `inference`), and how a
// version's details, `simlens models show` and the training log say where its frozen blocks ran.
import type { FrozenFeaturesDto, InferenceInfoDto } from './dto';

/** "ONNX Runtime 1.30.0 (cpu, 2 sessions x 1 thread)" or "tfjs". */
export function describeInference(i: InferenceInfoDto): string {
  if (i.name === 'tfjs') return 'tfjs';
  const layout = `${i.sessions} session${i.sessions === 1 ? '' : 's'} x ${i.threads} thread${i.threads === 1 ? '' : 's'}`;
  return `ONNX Runtime${i.ortVersion ? ` ${i.ortVersion}` : ''} (${i.providers.join(' > ')}, ${layout})`;
}

/**
 * "ONNX Runtime up to "block2_out", features cached across epochs", or "tfjs: the inference engine is
 * tfjs" (the whole network trained in tfjs).
 */
export function describeFrozenFeatures(f: FrozenFeaturesDto): string {
  if (!f.used) return `tfjs: ${f.reason ?? 'the frozen part could not run on ONNX Runtime'}`;
  const where = `ONNX Runtime up to "${f.boundary ?? '?'}"`;
  return f.cached ? `${where}, features cached across epochs` : `${where}, features per batch${f.reason ? ` (${f.reason})` : ''}`;
}
