import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { readTree, streamTree } from '../../src/daemon/storage/bulk-reader.js';
import { treeOrder } from '../../src/core/sync/snapshot-manifest.js';
import { BulkWriter } from '../../src/daemon/storage/bulk-writer.js';
import { SerialQueue } from '../../src/daemon/storage/serial-queue.js';
import { syncTree, syncWholeTree } from '../../src/daemon/storage/sync-tree.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

describe('BulkWriter (snapshot files written off the main thread)', () => {
  it('runs: files given once by index, then bytes cut by their sizes from where each run starts, a file split across runs, empty files included; a run past the files given fails', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const w = BulkWriter.open(temp.dir);
    cleanups.push(() => w.close());
    w.addFiles([
      { rel: 'a/one.json', size: 7, sha256: sha('{"x":1}') },
      { rel: 'a/empty', size: 0, sha256: sha('') },
    ]);
    w.addFiles([{ rel: 'b/c/two.json', size: 3, sha256: sha('abc') }]);
    // File 0 from its first byte and into file 2 (passing the empty file 1)...
    await w.writeRun(0, 0, 3, Buffer.from('{"x":1}ab'));
    // ...and the rest of file 2, with another last byte than announced.
    await w.writeRun(2, 2, 1, Buffer.from('d'));
    const { mismatched, incomplete, tableFiles } = await w.finish();
    expect(readFileSync(path.join(temp.dir, 'a/one.json'), 'utf8')).toBe('{"x":1}');
    expect(readFileSync(path.join(temp.dir, 'a/empty'), 'utf8')).toBe('');
    expect(readFileSync(path.join(temp.dir, 'b/c/two.json'), 'utf8')).toBe('abd');
    expect(mismatched).toEqual(['b/c/two.json']);
    // The writer checks the files: only those short of their size come back.
    expect(tableFiles).toBe(3);
    expect(incomplete).toEqual([]);

    const short = BulkWriter.open(temp.dir);
    cleanups.push(() => short.close());
    short.addFiles([
      { rel: 's/one', size: 4, sha256: sha('abcd') },
      { rel: 's/two', size: 2, sha256: sha('xy') },
    ]);
    await short.writeRun(0, 0, 1, Buffer.from('abc'));
    expect((await short.finish()).incomplete).toEqual([
      { rel: 's/one', got: 3, size: 4 },
      { rel: 's/two', got: 0, size: 2 },
    ]);

    const w2 = BulkWriter.open(temp.dir);
    cleanups.push(() => w2.close());
    w2.addFiles([{ rel: 'x', size: 1, sha256: sha('x') }]);
    await w2.writeRun(0, 0, 2, Buffer.from('xy'));
    await expect(w2.finish()).rejects.toThrow(/a run past the files given/);
  });

  it('keeps only the files of the runs under way: a file a run passed is checked then (short: reported), and a run cannot go back to it', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const w = BulkWriter.open(temp.dir);
    cleanups.push(() => w.close());
    w.addFiles([
      { rel: 'p/one', size: 4, sha256: sha('abcd') },
      { rel: 'p/two', size: 2, sha256: sha('xy') },
      { rel: 'p/three', size: 1, sha256: sha('z') },
    ]);
    // File 0 gets 2 of its 4 bytes, then a run starts at file 2: files 0 and 1 get no more.
    await w.writeRun(0, 0, 1, Buffer.from('ab'));
    await w.writeRun(2, 0, 1, Buffer.from('z'));
    const back = w.writeRun(1, 0, 1, Buffer.from('xy'));
    await expect(w.finish()).rejects.toThrow(/a run before the files still open/);
    await back.catch(() => undefined);

    const w2 = BulkWriter.open(temp.dir);
    cleanups.push(() => w2.close());
    w2.addFiles([
      { rel: 'q/one', size: 4, sha256: sha('abcd') },
      { rel: 'q/two', size: 2, sha256: sha('xy') },
      { rel: 'q/three', size: 1, sha256: sha('z') },
    ]);
    await w2.writeRun(0, 0, 1, Buffer.from('ab'));
    await w2.writeRun(2, 0, 1, Buffer.from('z'));
    const r = await w2.finish();
    expect(r.incomplete).toEqual([
      { rel: 'q/one', got: 2, size: 4 },
      { rel: 'q/two', got: 0, size: 2 },
    ]);
    expect(r.tableFiles).toBe(3);
  });

  it('takes its own copy of the bytes: the caller may reuse its buffer once writeRun() returns', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const w = BulkWriter.open(temp.dir);
    cleanups.push(() => w.close());
    const bytes = Buffer.from('first');
    w.addFiles([{ rel: 'f', size: 5, sha256: sha('first') }]);
    await w.writeRun(0, 0, 1, bytes);
    bytes.write('XXXXX');
    await w.finish();
    expect(readFileSync(path.join(temp.dir, 'f'), 'utf8')).toBe('first');
  });

  it('moves a run whose whole buffer the caller gives up (a received frame): no copy, the bytes leave this thread and are written; a buffer not the bytes\' is refused', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const w = BulkWriter.open(temp.dir);
    cleanups.push(() => w.close());
    // A frame as the link has it: a header before the payload, in a buffer of its own (not from
    // Node's pool, as ws allocates a frame larger than a few KB).
    const frame = Buffer.allocUnsafeSlow(12);
    frame.write('HEADERonetwo');
    const payload = frame.subarray(6);
    w.addFiles([
      { rel: 'a/one', size: 3, sha256: sha('one') },
      { rel: 'a/two', size: 3, sha256: sha('two') },
      { rel: 'a/three', size: 5, sha256: sha('three') },
    ]);
    await expect(w.writeRun(0, 0, 2, payload, new ArrayBuffer(12))).rejects.toThrow(/not the one of the bytes/);
    await w.writeRun(0, 0, 2, payload, frame.buffer as ArrayBuffer);
    // Moved, not copied: every view of it here is empty now, and no buffer comes back to copy into.
    expect(frame.length).toBe(0);
    expect(payload.length).toBe(0);
    await w.writeRun(2, 0, 1, Buffer.from('three'));
    const r = await w.finish();
    expect(r).toMatchObject({ mismatched: [], incomplete: [], tableFiles: 3 });
    expect(['one', 'two', 'three'].map((f) => readFileSync(path.join(temp.dir, 'a', f), 'utf8'))).toEqual(['one', 'two', 'three']);
    expect((w as unknown as { spare: ArrayBuffer[] }).spare.every((b) => b !== frame.buffer)).toBe(true);
  });

  it('copies runs into the buffers the thread gave back: a smaller run after a larger one writes only its own bytes', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const w = BulkWriter.open(temp.dir);
    cleanups.push(() => w.close());
    // Sizes up and down around a buffer's size (1 MiB), each file a run of its own, written one
    // after the other so that each copy can go into a buffer given back by the one before.
    const sizes = [1_500_000, 10, 900_000, 1_048_576, 3, 2_100_000, 1_000_001, 0, 7];
    const contents = sizes.map((n, i) => Buffer.alloc(n, 65 + i));
    w.addFiles(contents.map((c, i) => ({ rel: `d/f${i}`, size: c.length, sha256: createHash('sha256').update(c).digest('hex') })));
    for (let i = 0; i < contents.length; i++) {
      await w.writeRun(i, 0, 1, contents[i]!);
      // Let the thread write it and give its buffer back before the next run is copied.
      for (let t = 0; t < 100 && (w as unknown as { spare: ArrayBuffer[] }).spare.length === 0; t++) await new Promise((r) => setTimeout(r, 10));
    }
    const r = await w.finish();
    expect(r).toMatchObject({ mismatched: [], incomplete: [], tableFiles: sizes.length });
    contents.forEach((c, i) => expect(readFileSync(path.join(temp.dir, 'd', `f${i}`)).equals(c), `f${i}`).toBe(true));
    // The buffers came back: later runs were copied into them (two at most: 2 MiB and 3 MiB).
    const spare = (w as unknown as { spare: ArrayBuffer[] }).spare;
    expect(spare.length).toBeGreaterThan(0);
    expect(spare.length).toBeLessThanOrEqual(2);
  });

  it('a failed write is reported, with its errno code, by the next call and by finish(); a closed writer refuses more work', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    // A directory where the file should go: EISDIR from the worker.
    mkdirSync(path.join(temp.dir, 'taken'));
    const w = BulkWriter.open(temp.dir);
    w.addFiles([{ rel: 'taken', size: 1, sha256: sha('x') }, { rel: 'ok', size: 1, sha256: sha('y') }, { rel: 'late', size: 1, sha256: sha('z') }]);
    await w.writeRun(0, 0, 1, Buffer.from('x'));
    // Queued, not yet failed as far as the caller knows; the failure comes back at the latest from finish().
    const err = (await w.finish().catch((e: unknown) => e)) as NodeJS.ErrnoException;
    expect(err.code).toBe('EISDIR');
    await expect(w.writeRun(1, 0, 1, Buffer.from('y'))).rejects.toMatchObject({ code: 'EISDIR' });
    await w.close();
    await expect(w.writeRun(2, 0, 1, Buffer.from('z'))).rejects.toThrow(/closed/);
  });

  it('a writer started ahead is told where to write once, and refuses writes before that', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const w = new BulkWriter();
    cleanups.push(() => w.close());
    await expect(w.writeRun(0, 0, 1, Buffer.from('x'))).rejects.toThrow(/not started/);
    expect(() => w.addFiles([{ rel: 'early', size: 1, sha256: sha('x') }])).toThrow(/not started/);
    w.start(temp.dir);
    expect(() => w.start(temp.dir)).toThrow(/started already/);
    w.addFiles([{ rel: 'f', size: 1, sha256: sha('y') }]);
    await w.writeRun(0, 0, 1, Buffer.from('y'));
    expect((await w.finish()).mismatched).toEqual([]);
    expect(readFileSync(path.join(temp.dir, 'f'), 'utf8')).toBe('y');
  });
});

describe('readTree (a master reads its core off the main thread)', () => {
  it('every regular file, sorted, with its bytes and sha256; temp files of atomic writes skipped; a missing root is empty', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    mkdirSync(path.join(temp.dir, 'b', 'c'), { recursive: true });
    writeFileSync(path.join(temp.dir, 'b', 'c', 'config.json'), '{"x":1}');
    writeFileSync(path.join(temp.dir, 'b', '.config.json.tmp-123'), 'partial');
    writeFileSync(path.join(temp.dir, 'a.json'), '');
    writeFileSync(path.join(temp.dir, 'b', 'Z'), 'z'.repeat(70_000));
    const files = await readTree(temp.dir);
    expect(files.map((f) => f.rel)).toEqual(['a.json', 'b/Z', 'b/c/config.json']);
    expect(files.map((f) => f.data.toString('utf8'))).toEqual(['', 'z'.repeat(70_000), '{"x":1}']);
    expect(files.map((f) => f.sha256)).toEqual(['', 'z'.repeat(70_000), '{"x":1}'].map(sha));
    expect(await readTree(path.join(temp.dir, 'missing'))).toEqual([]);
    // A root that is a file: the errno comes back as fs would have thrown it.
    await expect(readTree(path.join(temp.dir, 'a.json'))).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  it('streamTree: the same files in parts as they are listed (each directory by name), every byte and hash; a listing error ends the parts; stopping early is clean', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    // 'plc' sorts before 'plc-2' by name, after it as a whole path ('-' < '/').
    const files: Record<string, string> = { 'a.json': '', 'plc/config.json': 'p1', 'plc-2/config.json': 'p2', 'plc/resource.json': '', 'plc.json': '', 'plc0/a': '', 'z/y/x': 'x'.repeat(70_000) };
    for (let i = 0; i < 40; i++) files[`many/r${String(i).padStart(2, '0')}/config.json`] = `{"i":${i}}`;
    for (const [rel, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(temp.dir, rel)), { recursive: true });
      writeFileSync(path.join(temp.dir, rel), content);
    }
    writeFileSync(path.join(temp.dir, 'many', '.x.tmp-1'), 'partial');
    const parts = [];
    for await (const part of streamTree(temp.dir, 7)) parts.push(part);
    expect(parts.map((p) => p.files.length)).toEqual([7, 7, 7, 7, 7, 7, 5]);
    const listed = parts.flatMap((p) => p.files);
    const inOrder = listed.map((f) => f.rel);
    expect(inOrder.slice(0, 2)).toEqual(['a.json', 'many/r00/config.json']);
    expect(inOrder.slice(-6)).toEqual(['plc/config.json', 'plc/resource.json', 'plc-2/config.json', 'plc.json', 'plc0/a', 'z/y/x']);
    expect([...inOrder].sort()).toEqual(Object.keys(files).sort());
    // The order a backup requires of a manifest (it keeps no set of the paths): each strictly after
    // the one before in tree order, as this listing gives them. Names around '/' and '.' included.
    for (let i = 1; i < inOrder.length; i++) expect(treeOrder(inOrder[i - 1]!, inOrder[i]!), `${inOrder[i - 1]} then ${inOrder[i]}`).toBeLessThan(0);
    for (const f of listed) {
      expect(f.data.toString('utf8'), f.rel).toBe(files[f.rel]);
      expect(f.sha256, f.rel).toBe(sha(files[f.rel]!));
    }
    // Each part's bytes are its files' bytes back to back.
    for (const p of parts) expect(p.bytes.equals(Buffer.concat(p.files.map((f) => f.data)))).toBe(true);
    // The first part is at most 128 files whatever the part size (the peer starts on it sooner).
    const big = makeTempDir();
    cleanups.push(big.cleanup);
    for (let i = 0; i < 300; i++) writeFileSync(path.join(big.dir, `f${String(i).padStart(3, '0')}`), String(i));
    const sizes = [];
    for await (const part of streamTree(big.dir, 200)) sizes.push(part.files.length);
    expect(sizes).toEqual([128, 172]);
    // Stopping after the first part ends the threads (the loop returns, nothing hangs).
    for await (const part of streamTree(temp.dir, 3)) {
      expect(part.files.length).toBe(3);
      break;
    }
    const none = [];
    for await (const part of streamTree(path.join(temp.dir, 'missing'), 3)) none.push(part);
    expect(none).toEqual([]);
    await expect((async () => {
      for await (const _ of streamTree(path.join(temp.dir, 'a.json'), 3)) void _;
    })()).rejects.toMatchObject({ code: 'ENOTDIR' });
  });
});

describe('streamTree for a slow caller (a snapshot going out over the network)', () => {
  it('lists and reads only a few parts ahead of the caller, so what it holds is bounded by the parts in flight, not the tree', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    // A file a directory, as a core holds resources.
    const name = (i: number): string => `r${String(i).padStart(3, '0')}`;
    for (let i = 0; i < 128; i++) {
      mkdirSync(path.join(temp.dir, name(i)));
      writeFileSync(path.join(temp.dir, name(i), 'config.json'), `file ${i}`);
    }
    // The caller takes one part (one file), then is slow, and the later resources are removed
    // meanwhile. Readers free to run ahead would have read all 128 files by then; a listing free to
    // run ahead would have listed them all (the caller holding every path), and the reading of the
    // removed ones would fail. Held back, neither got that far: the parts end where the files do.
    const taken: string[] = [];
    for await (const part of streamTree(temp.dir, 1)) {
      taken.push(...part.files.map((f) => f.rel));
      if (taken.length === 1) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        for (let i = 20; i < 128; i++) rmSync(path.join(temp.dir, name(i)), { recursive: true });
      }
    }
    expect(taken).toEqual(Array.from({ length: 20 }, (_, i) => `${name(i)}/config.json`));
  });

  it('a file removed after it was listed and before it was read fails the read, with its errno code', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const name = (i: number): string => `f${String(i).padStart(3, '0')}`;
    for (let i = 0; i < 40; i++) writeFileSync(path.join(temp.dir, name(i)), `file ${i}`);
    const taken: string[] = [];
    const failure = await (async () => {
      for await (const part of streamTree(temp.dir, 1)) {
        taken.push(...part.files.map((f) => f.rel));
        // The next few files are listed by now (a few parts ahead): removed, their read fails.
        if (taken.length === 1) {
          await new Promise((resolve) => setTimeout(resolve, 300));
          rmSync(path.join(temp.dir, name(6)));
        }
      }
      return null;
    })().catch((err: unknown) => err as NodeJS.ErrnoException);
    expect(failure?.code).toBe('ENOENT');
    expect(taken).toEqual(Array.from({ length: 6 }, (_, i) => name(i)));
  });
});

describe('SerialQueue', () => {
  it('idle() waits for jobs that running jobs queue behind themselves', async () => {
    const q = new SerialQueue();
    const done: string[] = [];
    void q.run(async () => {
      void q.run(async () => {
        await new Promise((r) => setTimeout(r, 20));
        done.push('queued by the first');
      });
      done.push('first');
    });
    await q.idle();
    expect(done).toEqual(['first', 'queued by the first']);
  });
});

describe('syncTree (a staged tree made durable before its swap)', () => {
  it('syncWholeTree: one syncfs where available, else an fsync of every file and directory found by walking the tree', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    mkdirSync(path.join(temp.dir, 'd', 'e'), { recursive: true });
    writeFileSync(path.join(temp.dir, 'd', 'f'), 'x');
    writeFileSync(path.join(temp.dir, 'd', 'e', 'g'), 'y');
    expect(await syncWholeTree(temp.dir)).toBe(process.platform === 'linux' ? 'syncfs' : 'fsync');
    process.env.GWD_NO_SYNCFS = '1';
    try {
      expect(await syncWholeTree(temp.dir)).toBe('fsync');
      // The walk reports a tree it cannot read (the syncfs path cannot tell).
      await expect(syncWholeTree(path.join(temp.dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      delete process.env.GWD_NO_SYNCFS;
    }
  });

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
