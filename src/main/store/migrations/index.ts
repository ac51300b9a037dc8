// Numbered migrations. Add NNNN-verb-noun.ts (exporting its SQL) and list it here; never edit
// one that has shipped. Numbers may have gaps (a branch may hold a number that lands later):
// the runner (store/db.ts) records each applied version and applies the missing ones in
// ascending order, so a migration that lands after a higher-numbered one still runs.
import m0001 from './0001-create-schema';
import m0002 from './0002-index-pairs-paging';
import m0003 from './0003-index-image-references';
import m0004 from './0004-add-job-data';
import m0005 from './0005-create-faithfulness';
import m0006 from './0006-review-verdicts';
// masks: uids and the queue filter's cache (its own line, so parallel additions merge cleanly)
import m0007 from './0007-masks';
import m0008 from './0008-create-model-version-masks';
import m0009 from './0009-add-job-owner';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  { version: 1, name: '0001-create-schema', sql: m0001 },
  { version: 2, name: '0002-index-pairs-paging', sql: m0002 },
  { version: 3, name: '0003-index-image-references', sql: m0003 },
  { version: 4, name: '0004-add-job-data', sql: m0004 },
  { version: 5, name: '0005-create-faithfulness', sql: m0005 },
  { version: 6, name: '0006-review-verdicts', sql: m0006 },
  { version: 7, name: '0007-masks', sql: m0007 },
  { version: 8, name: '0008-create-model-version-masks', sql: m0008 },
  { version: 9, name: '0009-add-job-owner', sql: m0009 },
];
