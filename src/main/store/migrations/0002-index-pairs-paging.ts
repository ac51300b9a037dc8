// Migration 0002-index-pairs-paging (SQL kept as a string module so it loads the same under
// Vite, vitest, tsx and the worker threads, with no loader tricks).
export default /* sql */ `
-- Keyset paging of pairs (pairs.page) filters by set, optionally split and/or label,
-- and walks by id. 0001 covers (set, split, label) and (set, label); these cover
-- (set) and (set, split) so every filter combination reads an index in id order
-- (the rowid is the implicit last column of each index) instead of sorting.
CREATE INDEX pairs_by_set ON pairs (pair_set_id);
CREATE INDEX pairs_by_set_split ON pairs (pair_set_id, split);
`;
