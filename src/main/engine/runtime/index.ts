// The runtime every capability runs on: the tfjs backend chosen at run time (backend.ts, with
// the wasm training kernels of kernels/), model folders on disk (model-io.ts) and the typed
// engine worker pool (pool/).
export { initBackend, backendInfo, type BackendInfo } from './backend';
export { initInference, inferenceInfo, ortThreads, type InferenceInfo } from './inference';
export * from './pool';
export type { RuntimeTasks } from './tasks';
