// How the footer and `simlens info` name the inference engine (app.info's `inference`).
import type { InferenceInfoDto } from './dto';

/** "ONNX Runtime 1.30.0 (cpu, 2 sessions x 1 thread)" or "tfjs". */
export function describeInference(i: InferenceInfoDto): string {
  if (i.name === 'tfjs') return 'tfjs';
  const layout = `${i.sessions} session${i.sessions === 1 ? '' : 's'} x ${i.threads} thread${i.threads === 1 ? '' : 's'}`;
  return `ONNX Runtime${i.ortVersion ? ` ${i.ortVersion}` : ''} (${i.providers.join(' > ')}, ${layout})`;
}
