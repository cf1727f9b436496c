import { promises as fsp } from 'node:fs';
import path from 'node:path';

import type { JournalEntry } from '../../core/config-model.js';
import { fsyncDir, stageFileAtomic, type StagedFile } from '../storage/atomic-write.js';
import { syncTree } from '../storage/sync-tree.js';
import { mapLimit } from '../storage/map-limit.js';
import { BACKUP_FILE, META_FILE, PRIMARY_FILE, resourceDir, versionFile } from './resource-paths.js';
import { contentSignature } from './signature.js';
import { byResource } from './store-state.js';

/**
 * Make the files of the store match one journal entry. Idempotent: a content file that already has
 * the entry's signature is not rewritten (so a hand-formatted file picked up by rescan keeps its
 * layout, and a replay after a crash writes only what is missing). Every write is atomic.
 */
export async function applyEntry(resourcesDir: string, entry: JournalEntry): Promise<void> {
  const prepared = await prepareEntry(resourcesDir, entry);
  await prepared.apply();
}

/**
 * Files and directories written without fsync by a commit whose journal entries are durable (a
 * replicated batch): the store fsyncs them all at its next checkpoint (syncDirty), before its state
 * file may say that their revision is on disk. Until then a crash rolls them forward from the
 * journal, as it does any entry above the state file's revision.
 */
export interface DirtyFiles {
  files: Set<string>;
  dirs: Set<string>;
}

/** The files of one entry, written under temp names: `apply` renames them into place. */
export interface PreparedEntry {
  apply(): Promise<void>;
  /** Nothing of the entry reaches the store: temp files and any directory made for it are removed. */
  abort(): Promise<void>;
}

/**
 * Stage the new files of an entry before it is committed: a full disk or an I/O error shows here,
 * while the change can still be refused with the previous configuration intact. What is left for
 * `apply` (renames, removals, one directory fsync) does not need space.
 *
 * `planned`: for an entry behind others of the same resource in one batch, the signature each of
 * its files will have once those are applied (null: removed); the disk does not show it yet.
 */
export async function prepareEntry(resourcesDir: string, entry: JournalEntry, planned?: Map<string, string | null>, dirty?: DirtyFiles): Promise<PreparedEntry> {
  const dir = resourceDir(resourcesDir, entry.collection, entry.module, entry.type, entry.name);
  // In a batch whose journal line holds the content (dirty), the file's fsync waits for the checkpoint.
  const stage = (file: string, data: string): Promise<StagedFile> => stageFileAtomic(file, data, { syncDir: false, sync: !dirty });
  // A directory this entry had to create holds no file yet: nothing to read (for a burst of new
  // resources, two failed opens a resource).
  let fresh = false;
  const signatureOf = (file: string): Promise<string | null> =>
    planned?.has(file) ? Promise.resolve(planned.get(file)!) : fresh ? Promise.resolve(null) : fileSignature(file);
  if (entry.deleted && entry.version === 'primary') {
    for (const f of [BACKUP_FILE, PRIMARY_FILE, META_FILE]) planned?.set(path.join(dir, f), null);
    return {
      abort: async () => undefined,
      apply: async () => {
        // Only the store's own files: anything else an operator keeps in the directory stays.
        for (const f of [BACKUP_FILE, PRIMARY_FILE, META_FILE]) await fsp.rm(path.join(dir, f), { force: true });
        if (dirty) {
          // The removals reach the disk through the directory, or through its parent once it is gone.
          dirty.dirs.add(dir);
          dirty.dirs.add(path.dirname(dir));
        } else await fsyncDir(dir).catch(() => undefined);
        if (entry.name !== null) await fsp.rmdir(dir).catch(() => undefined);
      },
    };
  }
  const made = await fsp.mkdir(dir, { recursive: true });
  fresh = made !== undefined;
  if (dirty && made !== undefined) {
    // A new directory is reachable after a crash only once its parent's entry for it is on disk.
    for (let d = dir; ; d = path.dirname(d)) {
      dirty.dirs.add(path.dirname(d));
      if (d === made || path.dirname(d) === d) break;
    }
  }
  const staged: StagedFile[] = [];
  const abort = async (): Promise<void> => {
    for (const f of staged) await f.abort();
    if (made !== undefined) await removeEmptyDirs(dir, made);
  };
  try {
    if (entry.deleted) planned?.set(path.join(dir, BACKUP_FILE), null);
    if (!entry.deleted && entry.content && entry.signature) {
      const file = path.join(dir, versionFile(entry.version));
      if ((await signatureOf(file)) !== entry.signature) staged.push(await stage(file, json(entry.content)));
      planned?.set(file, entry.signature);
    }
    if (entry.meta) {
      const metaFile = path.join(dir, META_FILE);
      const metaSignature = contentSignature(entry.meta);
      if ((await signatureOf(metaFile)) !== metaSignature) staged.push(await stage(metaFile, json(entry.meta)));
      planned?.set(metaFile, metaSignature);
    }
  } catch (err) {
    await abort();
    throw err;
  }
  return {
    abort,
    apply: async () => {
      // Both files of the resource are renamed into place first, then the directory is fsync'd once.
      if (entry.deleted) await fsp.rm(path.join(dir, BACKUP_FILE), { force: true });
      for (const f of staged) await f.commit();
      if (!(entry.deleted || staged.length > 0)) return;
      if (!dirty) return fsyncDir(dir);
      for (const f of staged) dirty.files.add(f.file);
      dirty.dirs.add(dir);
    },
  };
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** rmdir from `dir` up to `top` (the first directory mkdir created), stopping at one not empty. */
async function removeEmptyDirs(dir: string, top: string): Promise<void> {
  let d = dir;
  for (;;) {
    try {
      await fsp.rmdir(d);
    } catch {
      return;
    }
    if (d === top || path.dirname(d) === d) return;
    d = path.dirname(d);
  }
}

/** Signature of a JSON file as it is on disk; null when missing or not JSON (then it is rewritten). */
async function fileSignature(file: string): Promise<string | null> {
  try {
    return contentSignature(JSON.parse(await fsp.readFile(file, 'utf8')));
  } catch {
    return null;
  }
}

/** Resources written at once by a batch: fsync latency, not CPU, bounds it. */
const APPLY_CONCURRENCY = 32;

/**
 * prepareEntry for a batch, before it is committed: every file of every entry is staged first, so
 * a batch that does not fit on the disk is refused whole with nothing of it left. Entries of one
 * resource are staged in order, different resources concurrently; `apply` renames them in the same
 * order.
 */
export async function prepareEntries(resourcesDir: string, entries: readonly JournalEntry[], dirty?: DirtyFiles): Promise<PreparedEntry> {
  const groups: PreparedEntry[][] = [];
  const abort = async (): Promise<void> => {
    for (const group of groups) for (const p of group) await p.abort();
  };
  try {
    await mapLimit([...byResource(entries).values()], APPLY_CONCURRENCY, async (list) => {
      const group: PreparedEntry[] = [];
      groups.push(group);
      const planned = new Map<string, string | null>();
      for (const e of list) group.push(await prepareEntry(resourcesDir, e, planned, dirty));
    });
  } catch (err) {
    await abort();
    throw err;
  }
  return {
    abort,
    apply: async () => {
      await mapLimit(groups, APPLY_CONCURRENCY, async (group) => {
        for (const p of group) await p.apply();
      });
    },
  };
}

/**
 * Make what `dirty` names durable (every file's data, every directory's entries), then forget it:
 * by one syncfs of the file system under `root` where it can (a burst of 5,000 resources leaves
 * about 15,000 paths), else path by path. One gone since (replaced by a later change, or removed
 * with its directory) needs nothing: its removal is durable through its directory, which is in the
 * set too. On failure nothing is forgotten, so the next checkpoint tries again. Returns how.
 */
export async function syncDirty(root: string, dirty: DirtyFiles): Promise<'syncfs' | 'fsync'> {
  const files = [...dirty.files];
  const dirs = [...dirty.dirs];
  // syncTree with no paths: syncfs, or (where it is unavailable or fails) an fsync of `root` alone,
  // and then every path here is fsync'd below.
  if ((await syncTree(root, [], [])) === 'syncfs') {
    for (const f of files) dirty.files.delete(f);
    for (const d of dirs) dirty.dirs.delete(d);
    return 'syncfs';
  }
  const fsyncPath = async (p: string, isDir: boolean): Promise<void> => {
    let handle: fsp.FileHandle | undefined;
    try {
      handle = await fsp.open(p, 'r');
      await handle.sync();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      // Some file systems refuse fsync on a directory; the rename is done all the same (as fsyncDir).
      if (!isDir || (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM')) throw err;
    } finally {
      await handle?.close().catch(() => undefined);
    }
  };
  const all = [...files.map((p) => [p, false] as const), ...dirs.map((p) => [p, true] as const)];
  await mapLimit(all, APPLY_CONCURRENCY, ([p, isDir]) => fsyncPath(p, isDir));
  for (const f of files) dirty.files.delete(f);
  for (const d of dirs) dirty.dirs.delete(d);
  return 'fsync';
}
