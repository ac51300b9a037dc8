// A model version's identity across workspaces: sha256 over the files of its weights folder
// (model.json, weight shards, siamese.json), by relative path, so the same weights copied to
// another workspace (a copied workspace, an exported version) have the same fingerprint.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** The fingerprint of a weights folder: hex sha256 over (relative path, size, sha256 of content) of every file, by path. */
export function folderFingerprint(dir: string): string {
  const entries = filesUnder(dir)
    .map((path) => ({ name: relative(dir, path).split(sep).join('/'), path }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (entries.length === 0) throw new Error(`${dir} holds no files`);
  const hash = createHash('sha256');
  for (const { name, path } of entries) {
    const content = readFileSync(path);
    hash.update(`${name}\0${content.length}\0${createHash('sha256').update(content).digest('hex')}\n`);
  }
  return hash.digest('hex');
}
