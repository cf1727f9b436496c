import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { syncDirty, type DirtyFiles } from '../../src/daemon/config/apply-entry.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const cleanups: Array<() => void> = [];
const noSyncfs = process.env.GWD_NO_SYNCFS;

afterEach(() => {
  for (const c of cleanups.splice(0)) c();
  if (noSyncfs === undefined) delete process.env.GWD_NO_SYNCFS;
  else process.env.GWD_NO_SYNCFS = noSyncfs;
});

/** A resource directory with a file, and a file and a directory named but gone since (replaced, removed). */
function dirtyTree(): { root: string; dirty: DirtyFiles } {
  const temp = makeTempDir();
  cleanups.push(temp.cleanup);
  const dir = path.join(temp.dir, 'core', 'opcua', 'opc-connection', 'plc1');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), '{}\n');
  const gone = path.join(temp.dir, 'core', 'opcua', 'opc-connection', 'plc2');
  mkdirSync(gone);
  writeFileSync(path.join(gone, 'config.json'), '{}\n');
  rmSync(gone, { recursive: true });
  const dirty: DirtyFiles = {
    files: new Set([path.join(dir, 'config.json'), path.join(gone, 'config.json')]),
    dirs: new Set([dir, path.dirname(dir), gone]),
  };
  return { root: temp.dir, dirty };
}

describe('syncDirty (the config store checkpoint of replicated files)', () => {
  it('path by path where syncfs is not used: every path fsync\'d, those gone since skipped, then forgotten', async () => {
    process.env.GWD_NO_SYNCFS = '1';
    const { root, dirty } = dirtyTree();
    expect(await syncDirty(root, dirty)).toBe('fsync');
    expect([...dirty.files, ...dirty.dirs]).toEqual([]);
  });

  it.runIf(process.platform === 'linux')('by one syncfs on Linux', async () => {
    delete process.env.GWD_NO_SYNCFS;
    const { root, dirty } = dirtyTree();
    expect(await syncDirty(root, dirty)).toBe('syncfs');
    expect([...dirty.files, ...dirty.dirs]).toEqual([]);
  });

  it('a path that cannot be fsync\'d (not ENOENT) fails the checkpoint and is kept for the next', async () => {
    process.env.GWD_NO_SYNCFS = '1';
    const { root, dirty } = dirtyTree();
    // A file named under a regular file: ENOTDIR, an error a checkpoint must not take for done.
    const blocked = path.join([...dirty.files][0]!, 'x');
    dirty.files.add(blocked);
    await expect(syncDirty(root, dirty)).rejects.toMatchObject({ code: 'ENOTDIR' });
    expect(dirty.files.has(blocked)).toBe(true);
    expect(dirty.files.size).toBe(3);
  });
});
