// Runs a checked ImportPlan inside a job: image files (import-files.ts) or idx records
// (import-idx.ts) are written in batches, each batch in one transaction together with
// its report rows; a CSV's pair set follows its images (csv-pair-set.ts).
//
// Cancel and failure semantics: batches already committed stay (each one is complete:
// images plus their report rows); the batch in flight is never written. A CSV's pair
// set is written only after all its images, in one transaction, so a cancelled CSV
// import keeps its images but has no pair set. A dataset this job created that holds
// no image when the job is cancelled or fails is removed again. Nothing that existed
// before the import is modified (duplicates are reported, never overwritten).
import { basename } from 'node:path';
import type { ImportJobResult } from '../../shared/dto';
import type { JobContext } from '../services/jobs';
import type { Db } from '../store/db';
import { DatasetsRepo } from '../store/datasets-repo';
import { writeCsvPairSet } from './csv-pair-set';
import { importFiles } from './import-files';
import { importIdx } from './import-idx';
import { ImportTarget } from './target';
import type { ImportOptions, ImportPlan } from './types';

export async function runImport(db: Db, plan: ImportPlan, ctx: JobContext, options: ImportOptions = {}): Promise<ImportJobResult> {
  const datasets = new DatasetsRepo(db);
  const { datasetId, created } = openDataset(db, datasets, plan);
  const datasetName = datasets.get(datasetId)!.name;
  // Records the dataset in the job row (jobs.checkpoint): a cancelled or failed import
  // has no result, and re-importing into this dataset resumes it (imported files are duplicates).
  ctx.saveCheckpoint({ datasetId });
  const target = new ImportTarget(db, ctx.jobId, datasetId);
  const result = (): ImportJobResult => ({ datasetId, datasetName, totals: { ...target.totals } });

  try {
    if (plan.kind === 'idx') {
      await importIdx(target, plan.sets, plan.classNames, ctx, options);
      return result();
    }
    reportPlanned(target, plan);
    const idOfPath = await importFiles(target, plan.files, ctx, options);
    // a source none of whose files could be imported is a failure, not an empty dataset
    if (target.totals.imported + target.totals.duplicate === 0) {
      throw new Error(`None of the ${plan.files.length} files could be imported (see the report for each file's reason)`);
    }
    if (plan.kind === 'folder') return result();

    // CSV: one pair set over the images that made it in.
    ctx.throwIfCancelled();
    const pairSet = writeCsvPairSet(target, plan, idOfPath);
    return { ...result(), ...pairSet };
  } catch (error) {
    if (created && target.images.count(datasetId) === 0) datasets.delete(datasetId);
    throw error;
  }
}

/** Report rows for what planning already left out: skipped entries of a folder, dropped rows of a CSV. */
function reportPlanned(target: ImportTarget, plan: Exclude<ImportPlan, { kind: 'idx' }>): void {
  const csvName = basename(plan.path);
  target.db.transaction(() => {
    for (const s of plan.skipped) target.report(s.display, 'skipped', s.reason, null);
    if (plan.kind === 'csv') for (const d of plan.droppedRows) target.report(`${csvName} line ${d.line}`, 'skipped', d.reason, null);
  })();
}

/** The dataset to import into: the plan's existing one, or a new one (its name made unique). */
function openDataset(db: Db, datasets: DatasetsRepo, plan: ImportPlan): { datasetId: number; created: boolean } {
  const hasOfficialTest = plan.kind === 'idx' && plan.sets.some((s) => s.officialSplit === 'test');
  if (plan.datasetId === null) {
    const datasetId = db.transaction(() =>
      datasets.create({ name: datasets.uniqueName(plan.name), sourceKind: plan.kind, sourcePath: plan.path, hasOfficialTest }),
    )();
    return { datasetId, created: true };
  }
  if (hasOfficialTest) datasets.setHasOfficialTest(plan.datasetId);
  return { datasetId: plan.datasetId, created: false };
}
