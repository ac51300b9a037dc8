// Run by import-folder.test.ts in a child process, as an unprivileged user (the tests run as
// root in CI, and root reads a file whatever its mode): imports the folder argv[2] into a fresh
// database at argv[3] and prints { uid, report } as JSON.
import { EventBus } from '../../src/main/events';
import { DatasetService } from '../../src/main/services/datasets';
import { JobRunner } from '../../src/main/services/jobs';
import { openDatabase } from '../../src/main/store/db';
import { JobsRepo } from '../../src/main/store/jobs-repo';

async function main(): Promise<void> {
  const [folder, dbPath] = process.argv.slice(2);
  const db = openDatabase(dbPath);
  const jobs = new JobRunner(new JobsRepo(db), new EventBus());
  const datasets = new DatasetService(db, jobs);
  const job = await jobs.wait((await datasets.startImport({ path: folder })).id);
  const report = datasets.importReport({ jobId: job.id });
  db.close();
  process.stdout.write(JSON.stringify({ uid: process.getuid?.() ?? null, status: job.status, report }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
