import { promises as fsp } from 'node:fs';
import path from 'node:path';

import type { JournalEntry } from '../../core/config-model.js';
import { fsyncDir, writeJsonAtomic } from '../storage/atomic-write.js';
import { BACKUP_FILE, META_FILE, PRIMARY_FILE, resourceDir, versionFile } from './resource-paths.js';
import { contentSignature } from './signature.js';

/**
 * Make the files of the store match one journal entry. Idempotent: a content file that already has
 * the entry's signature is not rewritten (so a hand-formatted file picked up by rescan keeps its
 * layout, and a replay after a crash writes only what is missing). Every write is atomic.
 */
export async function applyEntry(resourcesDir: string, entry: JournalEntry): Promise<void> {
  const dir = resourceDir(resourcesDir, entry.collection, entry.module, entry.type, entry.name);
  if (entry.deleted && entry.version === 'primary') {
    // Only the store's own files: anything else an operator keeps in the directory stays.
    for (const f of [BACKUP_FILE, PRIMARY_FILE, META_FILE]) await fsp.rm(path.join(dir, f), { force: true });
    await fsyncDir(dir).catch(() => undefined);
    if (entry.name !== null) await fsp.rmdir(dir).catch(() => undefined);
    return;
  }
  await fsp.mkdir(dir, { recursive: true });
  // Both files of the resource are renamed into place first, then the directory is fsync'd once.
  let renamed = false;
  if (entry.deleted) {
    await fsp.rm(path.join(dir, BACKUP_FILE), { force: true });
    renamed = true;
  } else if (entry.content && entry.signature) {
    const file = path.join(dir, versionFile(entry.version));
    if ((await fileSignature(file)) !== entry.signature) {
      await writeJsonAtomic(file, entry.content, { syncDir: false });
      renamed = true;
    }
  }
  if (entry.meta) {
    const metaFile = path.join(dir, META_FILE);
    if ((await fileSignature(metaFile)) !== contentSignature(entry.meta)) {
      await writeJsonAtomic(metaFile, entry.meta, { syncDir: false });
      renamed = true;
    }
  }
  if (renamed) await fsyncDir(dir);
}

/** Signature of a JSON file as it is on disk; null when missing or not JSON (then it is rewritten). */
async function fileSignature(file: string): Promise<string | null> {
  try {
    return contentSignature(JSON.parse(await fsp.readFile(file, 'utf8')));
  } catch {
    return null;
  }
}
