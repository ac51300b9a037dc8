// Numbered migrations, applied in order. Add NNNN-verb-noun.sql and list it here;
// never edit one that has shipped.
import m0001 from './0001-create-schema.sql?raw';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [{ version: 1, name: '0001-create-schema', sql: m0001 }];
