// Migration 0006-review-verdicts (SQL kept as a string module; see 0003).
export default /* sql */ `
-- The review workbench (src/main/services/review.ts). 0001's verdicts had yes/no heatmap answers
-- and nothing else; SQLite cannot change CHECK constraints in place, so the table is rebuilt and
-- its rows carried over: similarity_correct 1/0 -> 'correct'/'wrong', heatmap_*_sensible 1/0 ->
-- 'sensible'/'not_sensible', each row a fresh random uid, the newest row of each
-- (pair, model, reviewer) marked current.
CREATE TABLE verdicts_0006 (
  id INTEGER PRIMARY KEY,
  -- random UUID: a bundle import skips the uids a workspace already knows
  uid TEXT NOT NULL UNIQUE,
  pair_id INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
  -- kept (NULL) when the version is deleted: the expert's work outlives the model
  model_id INTEGER REFERENCES model_versions(id) ON DELETE SET NULL,
  reviewer TEXT NOT NULL,
  similarity TEXT CHECK (similarity IN ('correct', 'wrong')),
  heatmap_a TEXT CHECK (heatmap_a IN ('sensible', 'not_sensible', 'unsure')),
  heatmap_b TEXT CHECK (heatmap_b IN ('sensible', 'not_sensible', 'unsure')),
  -- the explanation shown when the heatmaps were judged
  method TEXT,
  layer TEXT,
  note TEXT,
  -- 1 on the newest row (created_at, then id) of its (pair, model, reviewer): the verdict in force.
  -- Kept by the repository on every insert, undo and import, so the queue's filters read an index
  -- instead of finding the newest row per group.
  current INTEGER NOT NULL DEFAULT 0 CHECK (current IN (0, 1)),
  origin TEXT NOT NULL DEFAULT 'local' CHECK (origin IN ('local', 'imported')),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

INSERT INTO verdicts_0006 (id, uid, pair_id, model_id, reviewer, similarity, heatmap_a, heatmap_b, note, created_at)
SELECT id,
       lower(hex(randomblob(16))),
       pair_id,
       model_id,
       reviewer,
       CASE similarity_correct WHEN 1 THEN 'correct' WHEN 0 THEN 'wrong' END,
       CASE heatmap_a_sensible WHEN 1 THEN 'sensible' WHEN 0 THEN 'not_sensible' END,
       CASE heatmap_b_sensible WHEN 1 THEN 'sensible' WHEN 0 THEN 'not_sensible' END,
       note,
       created_at
  FROM verdicts;

-- 32 random hex digits -> a version-4 UUID (8-4-4-4-12, version nibble 4, variant nibble 8)
UPDATE verdicts_0006
   SET uid = substr(uid, 1, 8) || '-' || substr(uid, 9, 4) || '-4' || substr(uid, 14, 3) || '-8' || substr(uid, 18, 3) || '-' || substr(uid, 21, 12);

UPDATE verdicts_0006 SET current = 1
 WHERE id IN (SELECT (SELECT n.id FROM verdicts_0006 n
                       WHERE n.pair_id = g.pair_id AND n.model_id IS g.model_id AND n.reviewer = g.reviewer
                       ORDER BY n.created_at DESC, n.id DESC LIMIT 1)
                FROM (SELECT DISTINCT pair_id, model_id, reviewer FROM verdicts_0006) g);

DROP TABLE verdicts;
ALTER TABLE verdicts_0006 RENAME TO verdicts;

-- One current row per (model, pair, reviewer); the queue's filters and the stats read it.
CREATE UNIQUE INDEX verdicts_current ON verdicts (model_id, pair_id, reviewer) WHERE current = 1;
-- A group's rows newest first (history, the newest row, undo).
CREATE INDEX verdicts_by_pair ON verdicts (pair_id, model_id, reviewer, created_at, id);
-- A reviewer's verdicts on a version (undo of the last one, exports).
CREATE INDEX verdicts_by_model_reviewer ON verdicts (model_id, reviewer, id);

-- Tags of a verdict row (normalised: see src/shared/review.ts).
CREATE TABLE verdict_tags (
  verdict_id INTEGER NOT NULL REFERENCES verdicts(id) ON DELETE CASCADE,
  tag TEXT NOT NULL,
  PRIMARY KEY (verdict_id, tag)
) WITHOUT ROWID;
CREATE INDEX verdict_tags_by_tag ON verdict_tags (tag, verdict_id);

-- uids of verdicts removed by undo: importing a bundle that still carries one does not bring it back.
CREATE TABLE verdict_tombstones (
  uid TEXT PRIMARY KEY,
  undone_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) WITHOUT ROWID;

-- Workspace settings of the review workbench (key 'reviewer': the current reviewer's name).
CREATE TABLE review_settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- A reviewer's session on a model version: the queue they work through and where they are.
CREATE TABLE review_sessions (
  reviewer TEXT NOT NULL,
  model_id INTEGER NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,
  split TEXT NOT NULL CHECK (split IN ('train', 'val', 'test')),
  filters TEXT NOT NULL DEFAULT '{}',   -- JSON ReviewFiltersDto
  sort_order TEXT NOT NULL CHECK (sort_order IN ('uncertainty', 'random', 'pair')),
  seed INTEGER NOT NULL DEFAULT 0,
  pair_id INTEGER REFERENCES pairs(id) ON DELETE SET NULL,
  position INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (reviewer, model_id)
) WITHOUT ROWID;
CREATE INDEX review_sessions_by_model ON review_sessions (model_id);
CREATE INDEX review_sessions_by_pair ON review_sessions (pair_id);

-- A version's fingerprint (sha256 over its weights folder's files), computed once: versions are
-- immutable. Bundles name versions by it.
CREATE TABLE model_fingerprints (
  model_id INTEGER PRIMARY KEY REFERENCES model_versions(id) ON DELETE CASCADE,
  fingerprint TEXT NOT NULL
);
CREATE INDEX model_fingerprints_by_fingerprint ON model_fingerprints (fingerprint);
`;
