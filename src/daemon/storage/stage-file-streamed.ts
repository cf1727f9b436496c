import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { GwError } from '../../core/errors.js';
import { type AtomicWriteOptions, describeFsError, fsyncDir, type StagedFile } from './atomic-write.js';
import { checkFault } from './fault-injection.js';

/**
 * stageFileAtomic for content too large to hold at once: `write` writes it to the temp file's
 * handle piece by piece. The same guarantees: everything that can run out of space or fail (create,
 * write, fsync) happens before the caller commits, and a failure removes the temp file and leaves
 * the target untouched.
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
    // open() applies the umask; chmod makes the mode exact.
    await handle.chmod(mode);
    await handle.sync();
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
