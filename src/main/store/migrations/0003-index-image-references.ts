// Migration 0003-index-image-references (SQL kept as a string module so it loads the same under
// Vite, vitest, tsx and the worker threads, with no loader tricks).
export default /* sql */ `
-- Indexes on the columns that reference images and pairs. Without them SQLite scans
-- the whole child table for every deleted parent row (foreign-key actions): deleting
-- a 60,000-image dataset took ~190 s; with them it takes well under a second.
CREATE INDEX import_reports_by_image ON import_reports (image_id);
CREATE INDEX image_splits_by_image ON image_splits (image_id);
CREATE INDEX pairs_by_image_a ON pairs (image_a);
CREATE INDEX pairs_by_image_b ON pairs (image_b);
CREATE INDEX scores_by_pair ON scores (pair_id);
`;
