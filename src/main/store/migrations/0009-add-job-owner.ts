// Migration 0009-add-job-owner (SQL kept as a string module; see 0003).
export default /* sql */ `
-- Which process runs a job, so that opening a workspace interrupts only the jobs whose owner
-- is gone (services/jobs.ts): the owner's pid and host, a random token per process (a reused
-- pid is not the owner), and a heartbeat the owner refreshes every few seconds while the job
-- runs (an owner that stopped refreshing is gone, whatever its pid). NULL on rows written
-- before 0009: such a row left running has no owner that could still be running it.
ALTER TABLE jobs ADD COLUMN owner_pid INTEGER;
ALTER TABLE jobs ADD COLUMN owner_host TEXT;
ALTER TABLE jobs ADD COLUMN owner_token TEXT;
ALTER TABLE jobs ADD COLUMN heartbeat_at TEXT;
CREATE INDEX jobs_unfinished ON jobs (owner_token) WHERE status IN ('queued', 'running');
`;
