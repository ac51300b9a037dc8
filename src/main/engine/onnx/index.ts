// ONNX: export of SimLens embedding networks (export.ts, one converter per tfjs layer class in
// layers.ts), inference on ONNX Runtime (session.ts), and the export a user takes away
// (bundle.ts: model.onnx + simlens-onnx.json, as the worker task of tasks.ts). Issue #12.
export { exportToOnnx, activationsOutput, ONNX_INPUT, ONNX_EMBEDDING, type OnnxExport, type OnnxExportOptions } from './export';
export { OnnxExportError } from './errors';
export { OnnxModelSession, type OnnxOutput, type OnnxSessionOptions } from './session';
export { ONNX_OPSET, ONNX_IR_VERSION } from './graph-builder';
export {
  writeOnnxBundle,
  ONNX_MODEL_FILE,
  ONNX_INFO_FILE,
  ONNX_AGREEMENT_TOLERANCE,
  type OnnxBundleInfo,
  type OnnxBundleRequest,
} from './bundle';
export { onnxTasks, type OnnxTasks } from './tasks';
export { ONNX_CACHE_DIR, onnxCacheDir, readOnnxFallback, type OnnxFallback } from './cache-files';
export { loadForInference, OnnxAccelerator } from './accelerator';
