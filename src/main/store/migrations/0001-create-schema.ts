// Migration 0001-create-schema (SQL kept as a string module so it loads the same under
// Vite, vitest, tsx and the worker threads, with no loader tricks).
export default /* sql */ `
-- SimLens schema v1: everything the workbench needs, so later features add rows, not rewrites.

CREATE TABLE datasets (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  source_kind TEXT NOT NULL CHECK (source_kind IN ('folder', 'csv', 'idx')),
  source_path TEXT NOT NULL,
  has_official_test INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Identity is the content hash (of the normalised pixels) within a dataset.
-- pixels: the normalised image, 'raw' = uint8 HWC, 'png' = PNG bytes.
CREATE TABLE images (
  id INTEGER PRIMARY KEY,
  dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  sha256 TEXT NOT NULL,
  source_path TEXT NOT NULL,
  class_label TEXT,
  official_split TEXT CHECK (official_split IN ('train', 'test')),
  width INTEGER NOT NULL CHECK (width > 0),
  height INTEGER NOT NULL CHECK (height > 0),
  channels INTEGER NOT NULL CHECK (channels IN (1, 3)),
  pixel_encoding TEXT NOT NULL CHECK (pixel_encoding IN ('raw', 'png')),
  pixels BLOB NOT NULL,
  thumbnail BLOB,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  UNIQUE (dataset_id, sha256)
);
CREATE INDEX images_by_dataset_class ON images (dataset_id, class_label);

-- A pair set is one split of a dataset's images plus the pairs drawn inside it.
-- Regenerating pairs makes a new set; verdicts keep pointing at the pairs they judged.
CREATE TABLE pair_sets (
  id INTEGER PRIMARY KEY,
  dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  source TEXT NOT NULL CHECK (source IN ('generated', 'csv')),
  seed INTEGER,
  ratios TEXT,              -- JSON [train, val, test]
  pairs_per_anchor INTEGER,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE image_splits (
  pair_set_id INTEGER NOT NULL REFERENCES pair_sets(id) ON DELETE CASCADE,
  image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  split TEXT NOT NULL CHECK (split IN ('train', 'val', 'test')),
  PRIMARY KEY (pair_set_id, image_id)
) WITHOUT ROWID;

CREATE TABLE pairs (
  id INTEGER PRIMARY KEY,
  pair_set_id INTEGER NOT NULL REFERENCES pair_sets(id) ON DELETE CASCADE,
  image_a INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  image_b INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  label INTEGER NOT NULL CHECK (label IN (0, 1)),   -- 1 = same
  split TEXT NOT NULL CHECK (split IN ('train', 'val', 'test'))
);
CREATE INDEX pairs_by_set_split_label ON pairs (pair_set_id, split, label, id);
CREATE INDEX pairs_by_set_label ON pairs (pair_set_id, label, id);

CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled', 'interrupted')),
  progress REAL NOT NULL DEFAULT 0,
  message TEXT,
  error TEXT,
  params TEXT NOT NULL DEFAULT '{}',   -- JSON
  result TEXT,                         -- JSON metrics / outcome
  checkpoint TEXT,                     -- JSON, lets a job resume
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  started_at TEXT,
  finished_at TEXT
);

CREATE TABLE import_reports (
  id INTEGER PRIMARY KEY,
  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  path TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('imported', 'duplicate', 'skipped', 'error')),
  reason TEXT,
  image_id INTEGER REFERENCES images(id) ON DELETE SET NULL
);
CREATE INDEX import_reports_by_job ON import_reports (job_id, status, id);

CREATE TABLE model_versions (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  dataset_id INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
  pair_set_id INTEGER REFERENCES pair_sets(id) ON DELETE SET NULL,
  parent_id INTEGER REFERENCES model_versions(id) ON DELETE SET NULL,
  job_id INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
  arch TEXT NOT NULL,
  config TEXT NOT NULL,      -- JSON: architecture + training hyper-parameters
  weights_path TEXT,         -- folder with model.json + shards, relative to the workspace
  seed INTEGER,
  backend TEXT,
  metrics TEXT,              -- JSON per split
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE scores (
  pair_id INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
  model_id INTEGER NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,
  score REAL NOT NULL,
  distance REAL NOT NULL,
  PRIMARY KEY (model_id, pair_id)
) WITHOUT ROWID;

-- Maps are float32 blobs of shape [map_height, map_width], before upsampling.
CREATE TABLE explanations (
  id INTEGER PRIMARY KEY,
  pair_id INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
  model_id INTEGER NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,
  method TEXT NOT NULL,
  layer TEXT NOT NULL,
  map_height INTEGER NOT NULL,
  map_width INTEGER NOT NULL,
  a_factual BLOB,
  a_counterfactual BLOB,
  b_factual BLOB,
  b_counterfactual BLOB,
  score REAL,
  meta TEXT,                 -- JSON: e.g. no-evidence flags, timings
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  UNIQUE (pair_id, model_id, method, layer)
);

-- Append-only: the newest row per (pair, model, reviewer) is the current verdict,
-- older rows are its history.
CREATE TABLE verdicts (
  id INTEGER PRIMARY KEY,
  pair_id INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
  model_id INTEGER REFERENCES model_versions(id) ON DELETE SET NULL,
  reviewer TEXT NOT NULL,
  similarity_correct INTEGER CHECK (similarity_correct IN (0, 1)),
  heatmap_a_sensible INTEGER CHECK (heatmap_a_sensible IN (0, 1)),
  heatmap_b_sensible INTEGER CHECK (heatmap_b_sensible IN (0, 1)),
  note TEXT,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX verdicts_by_pair ON verdicts (pair_id, model_id, reviewer, id);

-- Masks per image and author, with history (newest row wins).
CREATE TABLE masks (
  id INTEGER PRIMARY KEY,
  image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  author TEXT NOT NULL,
  encoding TEXT NOT NULL CHECK (encoding IN ('rle', 'png')),
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  data BLOB NOT NULL,
  source TEXT NOT NULL CHECK (source IN ('painted', 'seeded', 'imported')),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX masks_by_image ON masks (image_id, author, id);
`;
