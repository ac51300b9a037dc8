// Is Grad-CAM faithful on the small CNN with a global-average-pooling head? (issue 4's
// "Must show": deletion AUC of Grad-CAM beats the random map on a trained small CNN.)
// For each seed, trains the small CNN with head 'flatten' and head 'gap' on the same data,
// epochs and seed through models.train, then measures deletion/insertion AUC of the method's
// maps against a random map with 'explain.metrics' jobs on the test split, same-class pairs
// and all pairs. The protocol of test/integration/explain-fashion.test.ts by default.
//
//   npx tsx scripts/bench-cam/gap-vs-flatten.ts [--data DIR] [--epochs 4] [--width 0.25] [--embedding 16]
//        [--seeds 1] [--heads flatten,gap] [--methods gradcam,hirescam] [--limit 40] [--steps 16]
//
// DIR: an idx folder (default: the bundled demo subset resources/demo/fashion-mnist).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SimLensApp } from '../../src/main/app';
import { initBackend } from '../../src/main/engine/runtime/backend';
import { inProcessModelEngine } from '../../src/main/services/models';
import type { ExplainMethod } from '../../src/shared/dto';
import { jobResult } from '../../src/shared/job-result';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
};

async function main(): Promise<void> {
  const data = resolve(arg('data', resolve(__dirname, '../../resources/demo/fashion-mnist')));
  const epochs = Number(arg('epochs', '4'));
  const width = Number(arg('width', '0.25'));
  const embeddingSize = Number(arg('embedding', '16'));
  const seeds = arg('seeds', '1').split(',').map(Number);
  const heads = arg('heads', 'flatten,gap').split(',') as ('flatten' | 'gap')[];
  const methods = arg('methods', 'gradcam,hirescam').split(',') as ExplainMethod[];
  const limit = Number(arg('limit', '40'));
  const steps = Number(arg('steps', '16'));
  const dir = mkdtempSync(join(tmpdir(), 'simlens-gap-'));
  await initBackend({ force: 'wasm' });
  const app = new SimLensApp({
    dbPath: join(dir, 'simlens.db'),
    shell: 'cli',
    modelEngine: inProcessModelEngine(() => initBackend({ force: 'wasm' })),
  });
  const t0 = Date.now();
  const log = (m: string) => console.error(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${m}`);
  const wait = async (jobId: number, what: string) => {
    const job = await app.jobs.wait(jobId);
    if (job.status !== 'done') throw new Error(`${what}: ${job.status} ${job.error}`);
    return job;
  };
  const rows: Record<string, unknown>[] = [];
  try {
    const imported = await wait((await app.call('datasets.import', { path: data, kind: 'idx', name: 'data' })).jobId, 'import');
    const datasetId = jobResult(imported, 'import')!.datasetId;
    await wait((await app.call('pairs.generate', { datasetId, seed: 42, pairsPerAnchor: 2 })).jobId, 'pairs');
    log(`imported ${data}`);
    for (const seed of seeds) {
      for (const head of heads) {
        const train = await wait(
          (
            await app.call('models.train', {
              datasetId,
              epochs,
              width,
              embeddingSize,
              head,
              seed,
              batchSize: 64,
              learningRate: 1e-3,
              earlyStoppingPatience: 100,
            })
          ).jobId,
          'train',
        );
        const modelId = jobResult(train, 'train')!.modelId;
        const model = await app.call('models.get', { id: modelId });
        const testAuc = model.metrics!.splits.test!.auc;
        log(`seed ${seed} head ${head}: test AUC ${testAuc.toFixed(4)}`);
        for (const method of methods) {
          for (const [pairs, label] of [
            ['same-class', 1],
            ['all', undefined],
          ] as const) {
            const job = await wait(
              (await app.call('explain.metrics', { modelId, split: 'test', method, label, limit, steps, seed: 0 })).jobId,
              'metrics',
            );
            const r = jobResult(job, 'metrics')!;
            const row = {
              seed,
              head,
              testAuc: +testAuc.toFixed(4),
              method,
              pairs,
              nPairs: r.pairs,
              images: r.images,
              noEvidence: r.noEvidence,
              delMap: +r.deletion!.map.toFixed(4),
              delRandom: +r.deletion!.random.toFixed(4),
              delCentre: +r.deletion!.centre.toFixed(4),
              imgShareBeatsRandom: +r.deletion!.shareBeatsRandom.toFixed(3),
              pairShareBeatsRandom: +r.pairShareDeletionBeatsRandom!.toFixed(3),
              insMap: +r.insertion!.map.toFixed(4),
              insRandom: +r.insertion!.random.toFixed(4),
            };
            rows.push(row);
            log(JSON.stringify(row));
          }
        }
      }
    }
    console.log(JSON.stringify(rows, null, 2));
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
