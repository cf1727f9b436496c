import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { mapLimit } from './map-limit.js';

const FSYNC_CONCURRENCY = 16;
/** A syncfs that has not returned by then is treated as failed, and the per-file path takes over. */
const SYNCFS_TIMEOUT_MS = 120_000;

export type TreeSyncMethod = 'syncfs' | 'fsync';

/**
 * Make a freshly written tree durable (every file and directory under `root`) before it is renamed
 * into place.
 *
 * One fsync per file costs a journal commit each: for a snapshot of 30,000 small files that was
 * 2-12 s on ext4 here, most of a full sync. syncfs(2) flushes the whole file system in one call
 * (about 0.25 s for the same tree; PostgreSQL offers the same choice for its data directory). Node
 * has no binding for it, so it runs as coreutils `sync --file-system`, which reports write-back
 * errors on Linux 5.8 and later. Where that is not available, or fails for any reason, every file
 * and directory is fsync'd one by one, as before, which surfaces the error.
 */
export async function syncTree(root: string, files: readonly string[], dirs: readonly string[]): Promise<TreeSyncMethod> {
  if (await syncFileSystem(root)) return 'syncfs';
  await fsyncEach([...files.map((f) => path.join(root, f)), ...dirs, root]);
  return 'fsync';
}

/**
 * syncTree for a tree whose every file and directory is to be made durable (a staged snapshot),
 * without a list of them: where syncfs is not there, the per-path fallback walks the tree, one
 * directory at a time, instead of the caller keeping 400,000 paths in memory for a case that
 * rarely comes.
 */
export async function syncWholeTree(root: string): Promise<TreeSyncMethod> {
  if (await syncFileSystem(root)) return 'syncfs';
  await fsyncWalk(root);
  return 'fsync';
}

/** fsync every file and directory under `dir`, then `dir` (a directory after what it holds). */
async function fsyncWalk(dir: string): Promise<void> {
  const entries = await fsp.readdir(dir, { withFileTypes: true });
  await fsyncEach(entries.filter((e) => !e.isDirectory()).map((e) => path.join(dir, e.name)));
  for (const e of entries) if (e.isDirectory()) await fsyncWalk(path.join(dir, e.name));
  await fsyncEach([dir]);
}

/**
 * Start writing back what is dirty under `root` now, without waiting for it, while more is still
 * being written: the syncfs before the swap then has only the rest left to flush. At most one is
 * in flight; the caller keeps the promise and awaits it before its final syncTree.
 */
export function startWriteback(root: string): Promise<void> {
  return syncFileSystem(root).then(() => undefined);
}

function syncFileSystem(root: string): Promise<boolean> {
  if (process.platform !== 'linux' || process.env.GWD_NO_SYNCFS === '1') return Promise.resolve(false);
  return new Promise((resolve) => {
    execFile('sync', ['--file-system', root], { timeout: SYNCFS_TIMEOUT_MS }, (err) => resolve(err === null));
  });
}

/** fsync each path (files and directories); a file system that cannot fsync a directory is let be. */
async function fsyncEach(targets: readonly string[]): Promise<void> {
  await mapLimit(targets, FSYNC_CONCURRENCY, async (t) => {
    const h = await fsp.open(t, 'r');
    try {
      await h.sync();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EINVAL' && code !== 'EISDIR') throw err;
    } finally {
      await h.close();
    }
  });
}
