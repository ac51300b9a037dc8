// The task modules every engine worker imports. To make a task available in the workers, write it
// as `registerTask('name', fn)` in an engine module and import that module here (the worker bundle,
// out/main/engine-worker.js, contains exactly what this file imports).
import '../tasks';
import '../../train/tasks'; // models.train, models.evaluate
import '../../explain/pairs'; // explain.describe, explain.pairs, explain.metrics, explain.sanity
