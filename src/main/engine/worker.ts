// Entry point of an engine worker thread (built as out/main/engine-worker.js; from sources it
// runs through tsx): registers every engine task, then serves the pool (runtime/pool/worker-loop.ts).
import { registerTasks } from './runtime/pool/registry';
import { serveWorker } from './runtime/pool/worker-loop';
import { engineTasks } from './tasks';

registerTasks(engineTasks);
void serveWorker();
