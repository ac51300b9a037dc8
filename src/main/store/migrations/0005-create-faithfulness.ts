// Migration 0005-create-faithfulness (SQL kept as a string module; see 0003).
export default /* sql */ `
-- A model version's faithfulness per explanation method (the 'faithfulness' job), the newest
-- run only: the version's default method is read from it.
CREATE TABLE faithfulness (
  model_id INTEGER PRIMARY KEY REFERENCES model_versions(id) ON DELETE CASCADE,
  job_id INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
  summary TEXT NOT NULL,     -- JSON: FaithfulnessSummaryDto
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
`;
