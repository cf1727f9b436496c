import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { GwError } from '../../core/errors.js';
import { checkFault } from './fault-injection.js';

export interface AtomicWriteOptions {
  /** File mode of the new file (default 0o644). Applied before the rename, so it is never looser. */
  mode?: number;
  /**
   * fsync the directory after the rename (default true). A caller writing several files into one
   * directory passes false and calls fsyncDir once after the last, before it reports them durable.
   */
  syncDir?: boolean;
  /**
   * fsync the file before the rename (default true). False only where its content is durable
   * elsewhere already and the caller makes the file durable later (a replicated batch, whose
   * journal line holds it: see DirtyFiles in config/apply-entry.ts).
   */
  sync?: boolean;
}

/**
 * Write a file so that a reader, or the next start after a crash, sees either the old content or
 * the new, never a torn mix: temp file in the same directory, fsync, rename over, fsync the directory.
 * On failure the temp file is removed and the previous file is untouched.
 */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const staged = await stageFileAtomic(file, data, options);
  await staged.commit();
}

/** A file written and fsync'd under a temp name, waiting to be renamed over its target. */
export interface StagedFile {
  readonly file: string;
  /** Rename over the target (and fsync the directory unless `syncDir` was false). */
  commit(): Promise<void>;
  /** Remove the temp file; the target was never touched. */
  abort(): Promise<void>;
}

/**
 * The first half of writeFileAtomic: everything that can run out of space or hit an I/O error
 * (create, write, fsync) happens here, before the caller commits to the change anywhere else.
 */
export function stageFileAtomic(file: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<StagedFile> {
  return stageFileStreamed(file, (handle) => handle.writeFile(data), options);
}

/**
 * stageFileAtomic for content too large to hold at once: `write` writes it to the temp file's
 * handle piece by piece. The same guarantees: a failure removes the temp file and leaves the target
 * untouched.
 */
export async function stageFileStreamed(
  file: string,
  write: (out: fsp.FileHandle) => Promise<void>,
  options: AtomicWriteOptions = {},
): Promise<StagedFile> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const mode = options.mode ?? 0o644;
  let handle: fsp.FileHandle | undefined;
  const abort = async (): Promise<void> => {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
  };
  try {
    checkFault('write', file);
    handle = await fsp.open(tmp, 'wx', mode);
    await write(handle);
    // open() applies the umask; chmod makes the mode exact (a 0600 key must be 0600).
    await handle.chmod(mode);
    if (options.sync !== false) await handle.sync();
    await handle.close();
    handle = undefined;
  } catch (err) {
    if (handle) await handle.close().catch(() => undefined);
    await abort();
    throw err instanceof GwError ? err : new GwError('GW_ERR_STORAGE_WRITE_FAILED', { file, detail: describeFsError(err) });
  }
  return {
    file,
    abort,
    async commit() {
      try {
        await fsp.rename(tmp, file);
        if (options.syncDir !== false) await fsyncDir(dir);
      } catch (err) {
        await abort();
        throw new GwError('GW_ERR_STORAGE_WRITE_FAILED', { file, detail: describeFsError(err) });
      }
    },
  };
}

export async function writeJsonAtomic(file: string, value: unknown, options: AtomicWriteOptions = {}): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`, options);
}

/** Make a rename durable: the directory entry itself must reach the disk. */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    // Some filesystems refuse fsync on a directory (EINVAL/EISDIR); the rename is still done.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw err;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

export function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string') return `${e.code}: ${e.message.replace(/^\w+: /, '')}`;
  return err instanceof Error ? err.message : String(err);
}

/**
 * The text of a file that may not exist yet: undefined when it is missing, a coded error naming the
 * file for any other failure (permissions, I/O). "No file" and "unreadable file" stay different.
 */
export async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readIfExists(file);
  } catch (err) {
    throw new GwError('GW_ERR_SETTINGS_UNREADABLE', { file, detail: describeFsError(err) });
  }
}

/** readOptional with the file system's own error for anything but a missing file. */
export async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
