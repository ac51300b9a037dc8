// The ONNX worker tasks, registered by every engine worker (engine/worker.ts):
// 'models.exportOnnx' writes a version's ONNX export (bundle.ts) on the worker's tfjs backend.
import { defineTasks } from '../runtime/pool/registry';
import { writeOnnxBundle, type OnnxBundleRequest } from './bundle';

export const onnxTasks = defineTasks({
  'models.exportOnnx': (req: OnnxBundleRequest) => writeOnnxBundle(req),
});

export type OnnxTasks = typeof onnxTasks;
