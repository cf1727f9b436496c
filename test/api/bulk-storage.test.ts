import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { BulkWriter } from '../../src/daemon/storage/bulk-writer.js';
import { syncTree } from '../../src/daemon/storage/sync-tree.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

describe('BulkWriter (snapshot files written off the main thread)', () => {
  it('writes parts in order across calls, creating directories, and reports sizes and hashes', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const w = new BulkWriter(temp.dir);
    cleanups.push(() => w.close());
    await w.write([
      { rel: 'a/b/one.json', data: b64('{"x":'), truncate: true },
      { rel: 'two.json', data: b64(''), truncate: true },
    ]);
    await w.write([{ rel: 'a/b/one.json', data: b64('1}'), truncate: false }]);
    const { files, dirs } = await w.digests();
    expect(readFileSync(path.join(temp.dir, 'a/b/one.json'), 'utf8')).toBe('{"x":1}');
    expect(readFileSync(path.join(temp.dir, 'two.json'), 'utf8')).toBe('');
    expect(files.get('a/b/one.json')).toEqual({ size: 7, sha256: sha('{"x":1}') });
    expect(files.get('two.json')).toEqual({ size: 0, sha256: sha('') });
    expect(dirs).toContain(path.join(temp.dir, 'a/b'));
  });

  it('a failed write rejects with the errno code, and a closed writer refuses more work', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    // A directory where the file should go: EISDIR from the worker.
    mkdirSync(path.join(temp.dir, 'taken'));
    const w = new BulkWriter(temp.dir);
    const err = (await w.write([{ rel: 'taken', data: b64('x'), truncate: true }]).catch((e: unknown) => e)) as NodeJS.ErrnoException;
    expect(err.code).toBe('EISDIR');
    // Still usable after a failure of one call.
    await w.write([{ rel: 'ok', data: b64('y'), truncate: true }]);
    await w.close();
    await expect(w.write([{ rel: 'late', data: b64('z'), truncate: true }])).rejects.toThrow(/closed/);
  });
});

describe('syncTree (a staged tree made durable before its swap)', () => {
  it('uses one syncfs where available and falls back to fsync of every path', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    mkdirSync(path.join(temp.dir, 'd'));
    writeFileSync(path.join(temp.dir, 'd', 'f'), 'x');
    expect(await syncTree(temp.dir, ['d/f'], [path.join(temp.dir, 'd')])).toBe(process.platform === 'linux' ? 'syncfs' : 'fsync');
    process.env.GWD_NO_SYNCFS = '1';
    try {
      expect(await syncTree(temp.dir, ['d/f'], [path.join(temp.dir, 'd')])).toBe('fsync');
      // The per-file path reports a missing file (the syncfs path cannot tell).
      await expect(syncTree(temp.dir, ['d/missing'], [])).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      delete process.env.GWD_NO_SYNCFS;
    }
  });
});
