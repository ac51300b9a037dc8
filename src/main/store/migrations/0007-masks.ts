// Migration 0007-masks (SQL kept as a string module; see 0003).
export default /* sql */ `
-- Masks (src/main/services/masks.ts). 0001's table gains a uid (a review bundle carries mask rows
-- and an import skips the uids a workspace knows, as for verdicts) and an origin; SQLite cannot
-- add a UNIQUE column with a computed default in place, so the table is rebuilt and its rows carried
-- over, each with a fresh uid. Rows stay append-only: the newest row (created_at, then id) of an
-- (image, author) is that author's mask, older rows are its history; an image's mask (metrics
-- jobs, the review queue) is its newest row of any author.
-- Encoding 'rle' is written as JSON {"size": [h, w], "counts": "<COCO compressed string>"}; rows
-- from before (JSON counts arrays, PNG) are still read (src/main/images/mask.ts).
CREATE TABLE masks_0007 (
  id INTEGER PRIMARY KEY,
  -- a random version-4 UUID (the repository passes its own; the default serves other writers)
  uid TEXT NOT NULL UNIQUE DEFAULT (
    lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' ||
    substr('89ab', 1 + abs(random() % 4), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))
  ),
  image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  author TEXT NOT NULL,
  encoding TEXT NOT NULL CHECK (encoding IN ('rle', 'png')),
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  data BLOB NOT NULL,
  source TEXT NOT NULL CHECK (source IN ('painted', 'seeded', 'imported')),
  origin TEXT NOT NULL DEFAULT 'local' CHECK (origin IN ('local', 'imported')),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

INSERT INTO masks_0007 (id, image_id, author, encoding, width, height, data, source, created_at)
SELECT id, image_id, author, encoding, width, height, data, source, created_at FROM masks;

DROP TABLE masks;
ALTER TABLE masks_0007 RENAME TO masks;

-- An author's rows of an image newest first (their mask, its history).
CREATE INDEX masks_by_image ON masks (image_id, author, created_at, id);
-- An image's rows newest first, any author (the image's mask).
CREATE INDEX masks_by_image_time ON masks (image_id, created_at, id);

-- The review queue's "heatmap energy mostly outside the mask" filter, measured on demand and kept
-- (src/main/services/mask-energy.ts): per version, method and pair, the share of each image's
-- stored factual map's energy inside that image's mask, with the map row and masks it was measured
-- on (a newer map or mask makes the row stale; it is measured again before the queue counts).
CREATE TABLE mask_energy (
  model_id INTEGER NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,
  method TEXT NOT NULL,
  pair_id INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
  explanation_id INTEGER NOT NULL REFERENCES explanations(id) ON DELETE CASCADE,
  -- the map row's created_at when measured (a recomputed map keeps its row id)
  explanation_at TEXT NOT NULL,
  -- the masks measured against (NULL: the image had none); they go with their image, and so with the pair
  mask_a INTEGER,
  mask_b INTEGER,
  -- share of the map's energy inside the mask (NULL: no mask, or a map without evidence)
  inside_a REAL,
  inside_b REAL,
  -- 1 when an image's share inside is below one half
  outside INTEGER NOT NULL CHECK (outside IN (0, 1)),
  PRIMARY KEY (model_id, method, pair_id)
) WITHOUT ROWID;
CREATE INDEX mask_energy_by_pair ON mask_energy (pair_id);
CREATE INDEX mask_energy_by_explanation ON mask_energy (explanation_id);
`;
