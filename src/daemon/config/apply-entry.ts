import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import type { JournalEntry } from '../../core/config-model.js';
import { GwError } from '../../core/errors.js';
import { describeFsError, fsyncDir, stageFileAtomic, type StagedFile } from '../storage/atomic-write.js';
import { checkFault } from '../storage/fault-injection.js';
import type { FileBatchThread, FileStep } from '../storage/file-batch.js';
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

/** A replicated batch's files go to `dirty`, written by `thread` (see prepareUnsynced). */
export interface Unsynced {
  dirty: DirtyFiles;
  thread: FileBatchThread;
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
export async function prepareEntry(resourcesDir: string, entry: JournalEntry, planned?: Map<string, string | null>): Promise<PreparedEntry> {
  const dir = resourceDir(resourcesDir, entry.collection, entry.module, entry.type, entry.name);
  const stage = (file: string, data: string): Promise<StagedFile> => stageFileAtomic(file, data, { syncDir: false });
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
        await fsyncDir(dir).catch(() => undefined);
        if (entry.name !== null) await fsp.rmdir(dir).catch(() => undefined);
      },
    };
  }
  const made = await fsp.mkdir(dir, { recursive: true });
  fresh = made !== undefined;
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
      if (entry.deleted || staged.length > 0) await fsyncDir(dir);
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

/**
 * Throws for entries that must not be written (a replicated entry that is forged or points outside
 * the store). prepareEntries calls it on every entry, those of one resource together and in order,
 * each before anything of its resource touches the disk.
 */
export type EntryCheck = (entries: readonly JournalEntry[]) => void;

/** Resources written at once by a batch: fsync latency, not CPU, bounds it. */
const APPLY_CONCURRENCY = 32;

/**
 * prepareEntry for a batch, before it is committed: every file of every entry is staged first, so
 * a batch that does not fit on the disk is refused whole with nothing of it left. Entries of one
 * resource are staged in order, different resources concurrently; `apply` renames them in the same
 * order.
 */
export async function prepareEntries(resourcesDir: string, entries: readonly JournalEntry[], unsynced?: Unsynced, check?: EntryCheck): Promise<PreparedEntry> {
  if (unsynced) return prepareUnsynced(resourcesDir, entries, unsynced, check);
  check?.(entries);
  const groups: PreparedEntry[][] = [];
  const abort = async (): Promise<void> => {
    for (const group of groups) for (const p of group) await p.abort();
  };
  try {
    await mapLimit([...byResource(entries).values()], APPLY_CONCURRENCY, async (list) => {
      const group: PreparedEntry[] = [];
      groups.push(group);
      const planned = new Map<string, string | null>();
      for (const e of list) group.push(await prepareEntry(resourcesDir, e, planned));
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
 * Resources a chunk of a replicated batch holds: the thread makes one chunk's directories and
 * writes its temp files while the main thread works out the next one's (see prepareUnsynced).
 */
export const UNSYNCED_CHUNK = 256;

interface ResourceGroup {
  dir: string;
  list: JournalEntry[];
  /** Only a removal of the whole resource (and nothing after it) needs no directory. */
  mkdir: boolean;
  /** The files whose text on disk decides whether they are written. */
  reads: string[];
}

/**
 * prepareEntries for a replicated batch, whose journal line holds its content (see DirtyFiles):
 * the same files staged and renamed in the same order, but on the file-batch thread, a few
 * messages for the whole batch instead of a pool round trip for each system call, and nothing
 * fsync'd: what was written goes to `dirty` for the checkpoint. A failure before the commit leaves
 * nothing of the batch, as prepareEntries.
 *
 * The resources go in chunks, pipelined: while the thread makes a chunk's directories (and reads
 * the files of those it found) and writes its temp files, the main thread turns the previous
 * chunk's reads into its files' text; the thread's queue never runs dry waiting for it. A burst of
 * 5,000 new resources had the two take turns, each idle while the other worked (issue 18). Every
 * resource is in one chunk only (its entries in order), and nothing is renamed before the batch's
 * one journal append, so the chunks' order on the thread changes nothing on disk. `check` runs on
 * each chunk just before its directories are asked for (the first chunks are written meanwhile).
 */
async function prepareUnsynced(resourcesDir: string, entries: readonly JournalEntry[], { dirty, thread }: Unsynced, check?: EntryCheck): Promise<PreparedEntry> {
  const groups = [...byResource(entries).values()].map((list): ResourceGroup => {
    const first = list[0]!;
    const dir = resourceDir(resourcesDir, first.collection, first.module, first.type, first.name);
    const names = new Set<string>();
    for (const e of list) {
      if (e.deleted) continue;
      if (e.content) names.add(versionFile(e.version));
      if (e.meta) names.add(META_FILE);
    }
    return { dir, list, mkdir: list.some((e) => !(e.deleted && e.version === 'primary')), reads: [...names].map((n) => path.join(dir, n)) };
  });
  const pid = process.pid;
  const tag = randomBytes(4).toString('hex');
  // Every temp file sent to the thread, and the first directory each prepare made, in the order
  // made (removed in the reverse order: a later chunk's directory may sit in an earlier one's).
  const tmps: string[] = [];
  const files: string[] = [];
  const madeDirs: Array<[string, string]> = [];
  const steps: FileStep[] = [];
  // What the renames and removals change, for the checkpoint: given to `dirty` once applied.
  const touchedDirs = new Set<string>();
  // Every call to the thread, settled before this returns or throws; the first failure wins.
  const calls: Array<Promise<unknown>> = [];
  let failure: { err: unknown } | null = null;
  const track = <T>(p: Promise<T>): Promise<T> => {
    calls.push(p.catch((err: unknown) => (failure ??= { err })));
    return p;
  };
  const prepareChunk = (chunk: readonly ResourceGroup[]) => {
    const need = chunk.filter((g) => g.mkdir);
    try {
      // Checked here, while the thread works on the chunks before it; nothing more once one failed.
      if (failure) throw (failure as { err: unknown }).err;
      check?.(chunk.flatMap((g) => g.list));
    } catch (err) {
      failure ??= { err };
      const refused = Promise.reject(err as Error);
      refused.catch(() => undefined);
      return refused;
    }
    const result = track(thread.prepare(need.map((g) => g.dir), need.map((g) => g.reads))).then(({ made, texts }) => {
      // Recorded as soon as they exist, whatever happens to the chunks before it.
      need.forEach((g, i) => {
        const top = made[i] ?? null;
        if (top !== null) madeDirs.push([g.dir, top]);
      });
      return { need, made, texts };
    });
    // Its failure is taken from `calls`; awaited below only while nothing failed.
    result.catch(() => undefined);
    return result;
  };
  const chunks: ResourceGroup[][] = [];
  for (let i = 0; i < groups.length; i += UNSYNCED_CHUNK) chunks.push(groups.slice(i, i + UNSYNCED_CHUNK));
  // Two prepares ahead: the thread makes the next chunk's directories while the main thread plans
  // the one it just got (with one, it waited for each plan).
  const ahead = chunks.slice(0, 2).map(prepareChunk);
  for (let k = 0; k < chunks.length && !failure; k++) {
    let prepared;
    try {
      prepared = await ahead.shift()!;
    } catch {
      break;
    }
    const staged = { files: [] as string[], tmps: [] as string[], datas: [] as string[] };
    try {
      planChunk(chunks[k]!, prepared, touchedDirs, steps, (file, data) => {
        const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${pid}-${tag}-${tmps.length}`);
        tmps.push(tmp);
        files.push(file);
        staged.files.push(file);
        staged.tmps.push(tmp);
        staged.datas.push(data);
        steps.push(['rename', tmp, file]);
      });
      for (const f of staged.files) checkFault('write', f);
    } catch (err) {
      failure ??= { err };
      break;
    }
    if (staged.files.length > 0) void track(thread.stage(staged.files, staged.tmps, staged.datas, 0o644, false)).catch(() => undefined);
    if (k + 2 < chunks.length) ahead.push(prepareChunk(chunks[k + 2]!));
  }
  await Promise.all(calls);
  const abort = async (): Promise<void> => {
    await thread.run([...tmps.map((t): FileStep => ['rm', t]), ...madeDirs.toReversed().map(([d, top]): FileStep => ['up', d, top])]);
  };
  if (failure) {
    const { err } = failure as { err: unknown };
    await abort().catch(() => undefined);
    throw err instanceof GwError ? err : writeFailed(err);
  }
  return {
    abort,
    apply: async () => {
      try {
        await thread.run(steps);
      } catch (err) {
        throw writeFailed(err);
      } finally {
        // Also after a failure: the renames done before it are made durable with the rest.
        for (const f of files) dirty.files.add(f);
        for (const d of touchedDirs) dirty.dirs.add(d);
      }
    },
  };
}

/**
 * One chunk's steps, from what its prepare found: a file is staged (`stage`) unless the disk, or
 * an entry before it in the batch, already has its content; removals are steps of their own.
 */
function planChunk(
  chunk: readonly ResourceGroup[],
  { need, made, texts }: { need: readonly ResourceGroup[]; made: Array<string | null>; texts: Array<Array<string | null>> },
  touchedDirs: Set<string>,
  steps: FileStep[],
  stage: (file: string, data: string) => void,
): void {
  const onDisk = new Map<string, string | null>();
  need.forEach((g, i) => {
    const top = made[i] ?? null;
    if (top !== null) {
      // A new directory is reachable after a crash only once its parent's entry for it is on disk.
      for (let d = g.dir; ; d = path.dirname(d)) {
        touchedDirs.add(path.dirname(d));
        if (d === top || path.dirname(d) === d) break;
      }
    }
    g.reads.forEach((f, j) => onDisk.set(f, signatureOfText(texts[i]![j] ?? null)));
  });
  for (const g of chunk) {
    const planned = new Map<string, string | null>();
    const signatureOf = (file: string): string | null => (planned.has(file) ? planned.get(file)! : (onDisk.get(file) ?? null));
    const { dir } = g;
    for (const entry of g.list) {
      if (entry.deleted && entry.version === 'primary') {
        // Only the store's own files: anything else an operator keeps in the directory stays.
        for (const f of [BACKUP_FILE, PRIMARY_FILE, META_FILE]) {
          planned.set(path.join(dir, f), null);
          steps.push(['rm', path.join(dir, f)]);
        }
        // The removals reach the disk through the directory, or through its parent once it is gone.
        touchedDirs.add(dir);
        touchedDirs.add(path.dirname(dir));
        if (entry.name !== null) steps.push(['rmdir', dir]);
        continue;
      }
      const before = steps.length;
      if (entry.deleted) {
        planned.set(path.join(dir, BACKUP_FILE), null);
        steps.push(['rm', path.join(dir, BACKUP_FILE)]);
      }
      if (!entry.deleted && entry.content && entry.signature) {
        const file = path.join(dir, versionFile(entry.version));
        if (signatureOf(file) !== entry.signature) stage(file, json(entry.content));
        planned.set(file, entry.signature);
      }
      if (entry.meta) {
        const metaFile = path.join(dir, META_FILE);
        const current = signatureOf(metaFile);
        // A file not there is written whatever it holds: its signature matters only to a later
        // entry of the same resource (not computed for each resource of a burst of new ones).
        const metaSignature = current === null && g.list.length === 1 ? null : contentSignature(entry.meta);
        if (current === null || current !== metaSignature) stage(metaFile, json(entry.meta));
        if (metaSignature !== null) planned.set(metaFile, metaSignature);
      }
      if (steps.length > before) touchedDirs.add(dir);
    }
  }
}

/** A failure of the file-batch thread, whose error names the target file. */
function writeFailed(err: unknown): GwError {
  return new GwError('GW_ERR_STORAGE_WRITE_FAILED', { file: String((err as NodeJS.ErrnoException).path ?? ''), detail: describeFsError(err) });
}

/** The signature of a file's text; null when missing or not JSON (then it is rewritten). */
function signatureOfText(text: string | null): string | null {
  if (text === null) return null;
  try {
    return contentSignature(JSON.parse(text));
  } catch {
    return null;
  }
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
