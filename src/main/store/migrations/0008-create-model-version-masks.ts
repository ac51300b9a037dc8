// Migration 0008-create-model-version-masks (SQL kept as a string module; see 0003).
export default /* sql */ `
-- The masks a retrained model version was trained with: a snapshot taken when its job read them
-- (the mask rows themselves may change or go later; ids and authors stay here).
CREATE TABLE model_version_masks (
  model_id INTEGER NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,
  mask_id INTEGER NOT NULL,   -- masks.id at the time (no foreign key: the snapshot outlives the row)
  image_id INTEGER NOT NULL,
  author TEXT NOT NULL,
  PRIMARY KEY (model_id, mask_id)
);
CREATE INDEX model_version_masks_by_image ON model_version_masks (image_id);
`;
