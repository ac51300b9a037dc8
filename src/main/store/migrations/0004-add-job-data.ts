// Migration 0004-add-job-data (SQL kept as a string module so it loads the same under
// Vite, vitest, tsx and the worker threads, with no loader tricks).
export default /* sql */ `
-- The structured progress of a running job's latest update (JobDto.data: JSON, e.g. a
-- training step or epoch record), written with progress and message. Kept on the row so a
-- job another process runs (the CLI on the same workspace) shows it too; NULL once the job
-- has finished and for updates without data.
ALTER TABLE jobs ADD COLUMN data TEXT;
`;
