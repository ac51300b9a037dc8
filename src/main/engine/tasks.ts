// Every worker task of the engine, as one table: each capability's (runtime, train, evaluate,
// explain, onnx), registered by every engine worker (worker.ts). EnginePool is the pool the app
// creates; callers of a capability hold it as that capability's TaskPool<...> (a subset).
import type { TaskPool } from './runtime/pool/pool';
import { evaluateTasks } from './evaluate/tasks';
import { explainTasks } from './explain/tasks';
import { onnxTasks } from './onnx/tasks';
import { runtimeTasks } from './runtime/tasks';
import { trainTasks } from './train/tasks';

export const engineTasks = { ...runtimeTasks, ...trainTasks, ...evaluateTasks, ...explainTasks, ...onnxTasks };

export type EngineTasks = typeof engineTasks;

/** A pool whose workers run every engine task (the default worker, out/main/engine-worker.js). */
export type EnginePool = TaskPool<EngineTasks>;
