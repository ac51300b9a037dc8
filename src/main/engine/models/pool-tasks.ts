// Registers the model tasks in an engine worker. To run training/evaluation in the
// worker pool, import this module from engine/pool/registered-tasks.ts and give the
// ModelService a pool engine (services/models.ts: poolModelEngine).
import { registerTask } from '../pool/tasks';
import { evaluateTask, trainTask, type EvaluateRequest, type TrainRequest } from './tasks';

registerTask('models.train', (req: TrainRequest, ctx) => trainTask(req, { signal: ctx.signal, progress: (f, m, d) => ctx.progress(f, m, d) }));
registerTask('models.evaluate', (req: EvaluateRequest, ctx) => evaluateTask(req, { signal: ctx.signal, progress: (f, m, d) => ctx.progress(f, m, d) }));
