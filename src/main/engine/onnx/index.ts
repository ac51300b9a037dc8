// ONNX: export of SimLens embedding networks (export.ts, one converter per tfjs layer class in
// layers.ts) and inference on ONNX Runtime (session.ts). Issue #12.
export { exportToOnnx, activationsOutput, ONNX_INPUT, ONNX_EMBEDDING, type OnnxExport, type OnnxExportOptions } from './export';
export { OnnxExportError } from './errors';
export { OnnxModelSession, type OnnxOutput, type OnnxSessionOptions } from './session';
export { ONNX_OPSET, ONNX_IR_VERSION } from './graph-builder';
