import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { createHash } from 'node:crypto';

import { checkManifest, isSafeRelativePath, manifestLines, totalHash, type SnapshotFile } from '../../src/core/sync/snapshot-manifest.js';
import { recoverSnapshotSwap, SnapshotError, SnapshotSink, type ReceivedChunk } from '../../src/daemon/sync/snapshot-sink.js';
import { readTree, streamTree } from '../../src/daemon/storage/bulk-reader.js';
import { binaryChunkHeader, SnapshotSource, streamedChunks, textChunk, type SnapshotChunk } from '../../src/daemon/sync/snapshot-source.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const temps: Array<() => void> = [];
afterEach(() => temps.splice(0).forEach((c) => c()));

function tree(files: Record<string, string>): string {
  const t = makeTempDir('gwd-snap-');
  temps.push(t.cleanup);
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(t.dir, rel)), { recursive: true });
    writeFileSync(path.join(t.dir, rel), content);
  }
  return t.dir;
}

/** Every file under root, as sorted relative paths (temp files of atomic writes skipped). */
async function relsUnder(root: string): Promise<string[]> {
  return (await readTree(root)).map((f) => f.rel);
}

async function hashes(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of await readTree(root)) out[f.rel] = f.sha256;
  return out;
}

const MASTER = {
  'platform/gateway-settings/config.json': '{"systemName":"master-a"}',
  'platform/gateway-settings/resource.json': '{"uuid":"1"}',
  'opc/opc-connection/plc1/config.json': JSON.stringify({ endpointUrl: 'opc.tcp://10.0.1.5:4840', pad: 'x'.repeat(300_000) }),
  'opc/opc-connection/plc1/backupConfig.json': '{"endpointUrl":"opc.tcp://10.0.2.5:4840"}',
  'opc/opc-connection/empty/config.json': '',
};
const BACKUP_OWN = { 'opc/opc-connection/mine/config.json': '{"endpointUrl":"opc.tcp://own:4840"}' };

/** A chunk as a text frame brings it: base64 parts, through JSON. */
const asText = (chunk: SnapshotChunk) => JSON.parse(JSON.stringify(textChunk(chunk).chunk)) as ReceivedChunk;
/** A chunk as a binary frame brings it: the header through JSON, the bytes in one payload. */
function asBinary(chunk: SnapshotChunk): [ReceivedChunk, Uint8Array] {
  return [JSON.parse(JSON.stringify(binaryChunkHeader(chunk))) as ReceivedChunk, Buffer.concat(chunk.payload)];
}

async function transfer(masterRoot: string, dataRoot: string, chunkBytes = 64 * 1024, form: 'text' | 'binary' = 'binary') {
  const source = await SnapshotSource.fromDirectory(masterRoot, 42);
  const paths = { coreDir: path.join(dataRoot, 'config/resources/core'), varDir: path.join(dataRoot, 'var') };
  const received = new Map<string, string>();
  const onFile = (rel: string, parts: readonly Uint8Array[]) => {
    expect(received.has(rel), `${rel} passed on twice`).toBe(false);
    received.set(rel, Buffer.concat(parts).toString('utf8'));
  };
  const sink = await SnapshotSink.begin(paths, JSON.parse(JSON.stringify(source.manifest)), { onFile });
  for (const chunk of source.chunks(chunkBytes)) {
    if (form === 'text') await sink.write(asText(chunk));
    else await sink.write(...asBinary(chunk));
  }
  return { source, sink, paths, received };
}

describe('full snapshot', () => {
  it.each(['binary', 'text'] as const)('transfers every file byte for byte (%s frames), archives the previous core and swaps the new one in', async (form) => {
    const master = tree(MASTER);
    const backup = tree(Object.fromEntries(Object.entries(BACKUP_OWN).map(([k, v]) => [`config/resources/core/${k}`, v])));
    // 64 KiB chunks: the 300 KB file arrives in parts over several chunks, and is passed on once.
    const { source, sink, paths, received } = await transfer(master, backup, 64 * 1024, form);
    await sink.verify();
    expect(received.size).toBe(source.manifest.files.length);
    for (const f of source.manifest.files) expect(received.get(f.path)).toBe(readFileSync(path.join(master, f.path), 'utf8'));
    const { archive } = await sink.commit(new Date('2026-11-25T10:00:00Z'));
    // The swap intent stays until the store has adopted the new core.
    expect(readdirSync(path.join(backup, 'var/sync'))).toEqual(['swap-intent.json']);
    await sink.finish();
    expect(await hashes(paths.coreDir)).toEqual(await hashes(master));
    expect(archive).toBe(path.join(backup, 'var/archive/2026-11-25T10-00-00-000Z'));
    expect(readFileSync(path.join(archive!, 'core/opc/opc-connection/mine/config.json'), 'utf8')).toBe(BACKUP_OWN['opc/opc-connection/mine/config.json']);
    expect(readdirSync(path.join(backup, 'var/sync'))).toEqual([]);
  });

  it('refuses a chunk whose bytes do not match the manifest, leaving the live core untouched', async () => {
    const master = tree(MASTER);
    const backup = tree({ 'config/resources/core/a/b/config.json': 'old' });
    const source = await SnapshotSource.fromDirectory(master, 1);
    const paths = { coreDir: path.join(backup, 'config/resources/core'), varDir: path.join(backup, 'var') };
    const sink = await SnapshotSink.begin(paths, source.manifest);
    for (const chunk of source.chunks(1 << 20)) {
      const text = asText(chunk);
      for (const part of text.parts) {
        if (part.path.endsWith('backupConfig.json') && 'data' in part) part.data = Buffer.from('{"endpointUrl":"opc.tcp://evil:4840"}').toString('base64');
      }
      await sink.write(text).catch(() => undefined);
    }
    await expect(sink.verify()).rejects.toBeInstanceOf(SnapshotError);
    await expect(sink.commit()).rejects.toBeInstanceOf(SnapshotError);
    await sink.abort();
    expect(readFileSync(path.join(paths.coreDir, 'a/b/config.json'), 'utf8')).toBe('old');
  });

  it('refuses a chunk whose data is not base64 (no longer pattern-checked by the schema): the file fails its size or hash', async () => {
    const master = tree(MASTER);
    const backup = tree({ 'config/resources/core/a/b/config.json': 'old' });
    const source = await SnapshotSource.fromDirectory(master, 1);
    const paths = { coreDir: path.join(backup, 'config/resources/core'), varDir: path.join(backup, 'var') };
    const sink = await SnapshotSink.begin(paths, source.manifest);
    for (const chunk of source.chunks(1 << 20)) {
      const text = asText(chunk);
      for (const part of text.parts) if (part.path.endsWith('config.json') && 'data' in part) part.data = `<${part.data.slice(1, -2)}>`;
      await sink.write(text).catch(() => undefined);
    }
    await expect(sink.verify()).rejects.toBeInstanceOf(SnapshotError);
    await sink.abort();
    expect(readFileSync(path.join(paths.coreDir, 'a/b/config.json'), 'utf8')).toBe('old');
  });

  it('refuses manifests with unsafe paths, duplicates or a wrong total hash', async () => {
    for (const bad of ['../etc/passwd', '/abs', 'a/../../b', 'a//b', 'a\\b', '.', '']) expect(isSafeRelativePath(bad), bad).toBe(false);
    const files = [{ path: '../x', size: 1, sha256: 'a'.repeat(64) }];
    const m = { id: 'x', revision: 1, files, totalBytes: 1, totalSha256: totalHash(files) };
    expect(checkManifest(m, { maxFiles: 10, maxBytes: 10 })?.problem).toBe('unsafe path');
    const ok = [{ path: 'a/config.json', size: 1, sha256: 'a'.repeat(64) }];
    expect(checkManifest({ ...m, files: ok, totalSha256: 'f'.repeat(64) }, { maxFiles: 10, maxBytes: 10 })?.problem).toMatch(/totalSha256/);
    expect(checkManifest({ ...m, files: [...ok, ...ok], totalBytes: 2, totalSha256: totalHash([...ok, ...ok]) }, { maxFiles: 10, maxBytes: 10 })?.problem).toBe('listed twice');
    const check = (files: Array<{ path: string; size: number; sha256: string }>) =>
      checkManifest({ ...m, files, totalBytes: files.reduce((n, f) => n + f.size, 0), totalSha256: totalHash(files) }, { maxFiles: 10, maxBytes: 10 });
    const f = (p: string, sha256 = 'a'.repeat(64), size = 1) => ({ path: p, size, sha256 });
    expect(check([f('a/b'), f('a/b/c/d')])).toEqual({ path: 'a/b', problem: 'nested under a listed file' });
    expect(check([f('x/a/b/c'), f('x/a')])).toEqual({ path: 'x/a', problem: 'nested under a listed file' });
    expect(check([f('a/b'), f('a/bc/d'), f('a/b.json')])).toBeNull();
    expect(check([f('a', 'A'.repeat(64))])?.problem).toBe('bad sha256');
    expect(check([f('a', 'a'.repeat(63))])?.problem).toBe('bad sha256');
    expect(check([f('a', 'a'.repeat(64), -1)])?.problem).toBe('bad size');
    expect(check([f('x'.repeat(1025))])?.problem).toBe('unsafe path');
    const backup = tree({});
    await expect(
      SnapshotSink.begin({ coreDir: path.join(backup, 'core'), varDir: path.join(backup, 'var') }, m),
    ).rejects.toThrow(/unsafe path/);
  });

  it('refuses chunks out of order, of another snapshot, or naming a file not in the manifest', async () => {
    const master = tree(MASTER);
    const backup = tree({});
    const source = await SnapshotSource.fromDirectory(master, 1);
    const chunks = [...source.chunks(1024)];
    const paths = { coreDir: path.join(backup, 'core'), varDir: path.join(backup, 'var') };
    const sink = await SnapshotSink.begin(paths, source.manifest);
    await expect(sink.write(...asBinary(chunks[1]!))).rejects.toThrow(/out of order/);
    const sink2 = await SnapshotSink.begin(paths, source.manifest);
    await expect(sink2.write(asText({ ...chunks[0]!, id: 'other' }))).rejects.toThrow(/another snapshot/);
    await expect(sink2.write({ id: source.manifest.id, seq: 0, parts: [{ path: 'x/y', offset: 0, data: '' }] })).rejects.toThrow(/not in the manifest/);
    // A part for a file that is already complete (here an empty one, twice): refused, not passed on twice.
    const sink3 = await SnapshotSink.begin(paths, source.manifest);
    const empty = 'opc/opc-connection/empty/config.json';
    await expect(sink3.write({ id: source.manifest.id, seq: 0, parts: [{ path: empty, offset: 0, data: '' }, { path: empty, offset: 0, data: '' }] })).rejects.toThrow(/a part after the file was complete/);
    await sink3.abort();
    await Promise.all([sink.abort(), sink2.abort()]);
  });

  it('refuses a binary chunk that does not start where the previous one ended, or carries bytes past the last file, or bytes that do not match the manifest', async () => {
    const master = tree(MASTER);
    const backup = tree({ 'config/resources/core/a/b/config.json': 'old' });
    const source = await SnapshotSource.fromDirectory(master, 1);
    const paths = { coreDir: path.join(backup, 'config/resources/core'), varDir: path.join(backup, 'var') };
    const chunks = [...source.chunks(64 * 1024)];
    expect(chunks.length).toBeGreaterThan(2);
    const [h0, p0] = asBinary(chunks[0]!);
    const [h1, p1] = asBinary(chunks[1]!);
    // One byte short: the next chunk no longer starts where this one ended.
    const gap = await SnapshotSink.begin(paths, source.manifest);
    await gap.write(h0, p0.subarray(0, p0.length - 1));
    await expect(gap.write(h1, p1)).rejects.toThrow(/starts at file \d+ offset \d+, expected file \d+ offset \d+/);
    await gap.abort();
    // Bytes beyond the whole manifest.
    const long = await SnapshotSink.begin(paths, source.manifest);
    await expect(long.write(h0, Buffer.alloc(source.manifest.totalBytes + 1))).rejects.toThrow(/1 bytes past the last file of the manifest/);
    await long.abort();
    // Text and binary chunks in one snapshot.
    const mixed = await SnapshotSink.begin(paths, source.manifest);
    await mixed.write(h0, p0);
    await expect(mixed.write(asText(chunks[1]!))).rejects.toThrow(/both binary and text/);
    await mixed.abort();
    // Same length, other bytes: every chunk is accepted, the file fails its hash at the end.
    const flipped = Buffer.from(p0);
    flipped[flipped.length - 3] ^= 0x01;
    const sink = await SnapshotSink.begin(paths, source.manifest);
    for (const chunk of chunks) await sink.write(...(chunk.seq === 0 ? ([h0, flipped] as const) : asBinary(chunk)));
    await expect(sink.verify()).rejects.toThrow(/sha256 does not match the manifest/);
    await sink.abort();
    expect(readFileSync(path.join(paths.coreDir, 'a/b/config.json'), 'utf8')).toBe('old');
  });

  it('binary chunks create empty files wherever they fall, including at the very end', async () => {
    const master = tree({ 'a/empty-first': '', 'b/config.json': 'x'.repeat(100), 'c/mid': '', 'd/config.json': 'y'.repeat(50), 'z/last': '', 'z/last2': '' });
    const backup = tree({});
    const { source, sink, paths } = await transfer(master, backup, 100);
    await sink.verify();
    await sink.commit();
    await sink.finish();
    expect(await hashes(paths.coreDir)).toEqual(await hashes(master));
    expect(source.manifest.files.length).toBe(6);
  });
});

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * A streamed snapshot as the master sends it (MasterSide.streamFull, without the link): each part's
 * entries, then its chunks, and the totals; each message through JSON as a frame brings it.
 */
async function streamTransfer(masterRoot: string, dataRoot: string, { filesPerPart = 2, frameBytes = 4 * 1024 * 1024, chunkBytes = 64 * 1024 } = {}) {
  const paths = { coreDir: path.join(dataRoot, 'config/resources/core'), varDir: path.join(dataRoot, 'var') };
  const received = new Map<string, string>();
  const onFile = (rel: string, parts: readonly Uint8Array[]) => {
    expect(received.has(rel), `${rel} passed on twice`).toBe(false);
    received.set(rel, Buffer.concat(parts).toString('utf8'));
  };
  const id = 'stream-1';
  const sink = await SnapshotSink.beginStream(paths, { id, revision: 42 }, { onFile });
  const entries: SnapshotFile[] = [];
  let seq = 0;
  for await (const part of streamTree(masterRoot, filesPerPart, 512)) {
    const these = part.files.map((f) => ({ path: f.rel, size: f.data.length, sha256: f.sha256 }));
    sink.addFiles(JSON.parse(JSON.stringify(these)) as SnapshotFile[]);
    for (const c of streamedChunks(part, entries.length, frameBytes, chunkBytes)) {
      await sink.write(JSON.parse(JSON.stringify({ id, seq: seq++, file: c.file, offset: c.offset })) as ReceivedChunk, Buffer.from(c.payload));
    }
    entries.push(...these);
  }
  const totals = { files: entries.length, totalBytes: entries.reduce((n, f) => n + f.size, 0), totalSha256: createHash('sha256').update(manifestLines(entries)).digest('hex') };
  return { sink, paths, received, totals, entries };
}

describe('streamed snapshot (manifest in parts, read while sent)', () => {
  it('transfers every file byte for byte, empty files included wherever the parts and chunks cut, and swaps it in', async () => {
    // With 2 files a part, the first part is empty files only and the second starts with one.
    const master = tree({ ...MASTER, 'a/empty-first': '', 'b/mid-1': '', 'b/mid-2': '', 'c/config.json': 'c'.repeat(10), 'z/last': '', 'z/last2': '' });
    const backup = tree({ 'config/resources/core/mine/config.json': 'old' });
    for (const [filesPerPart, frameBytes, chunkBytes] of [
      [2, 4 * 1024 * 1024, 64 * 1024],
      [2, 64 * 1024, 64 * 1024],
      [1, 7, 7],
      [1000, 4 * 1024 * 1024, 1024 * 1024],
      [1000, 1024, 100],
    ] as const) {
      const { sink, paths, received, totals, entries } = await streamTransfer(master, backup, { filesPerPart, frameBytes, chunkBytes });
      await expect(sink.verify()).rejects.toThrow(/before the end of a streamed snapshot/);
      await sink.end(totals);
      await sink.verify();
      await sink.commit();
      await sink.finish();
      expect(await hashes(paths.coreDir), `${filesPerPart} files a part, frames up to ${frameBytes}, ${chunkBytes} bytes a chunk`).toEqual(await hashes(master));
      expect(entries.map((f) => f.path).sort()).toEqual(Object.keys(await hashes(master)).sort());
      // Every file was passed on once, with its bytes, empty ones too.
      expect(new Map([...received].sort())).toEqual(new Map((await readTree(master)).map((f) => [f.rel, f.data.toString('utf8')])));
    }
  });

  it('refuses entries that are unsafe, listed twice or nested across parts, over the limits, bytes before their entries, wrong totals, text chunks, and anything after the end; the live core untouched', async () => {
    const master = tree(MASTER);
    const backup = tree({ 'config/resources/core/a/b/config.json': 'old' });
    const paths = { coreDir: path.join(backup, 'config/resources/core'), varDir: path.join(backup, 'var') };
    const sig = 'a'.repeat(64);
    const begin = (limits?: { maxFiles: number; maxBytes: number }) => SnapshotSink.beginStream(paths, { id: 'bad-1', revision: 1 }, { limits });
    const refusedWith = async (steps: (sink: SnapshotSink) => Promise<void> | void, message: RegExp, limits?: { maxFiles: number; maxBytes: number }) => {
      const sink = await begin(limits);
      await expect(Promise.resolve().then(() => steps(sink))).rejects.toThrow(message);
      await sink.abort();
    };
    await refusedWith((s) => s.addFiles([{ path: '../etc/passwd', size: 1, sha256: sig }]), /manifest refused: \.\.\/etc\/passwd: unsafe path/);
    await refusedWith((s) => {
      s.addFiles([{ path: 'x/config.json', size: 1, sha256: sig }]);
      s.addFiles([{ path: 'x/config.json', size: 1, sha256: sig }]);
    }, /listed twice/);
    await refusedWith((s) => {
      s.addFiles([{ path: 'x/a', size: 1, sha256: sig }]);
      s.addFiles([{ path: 'x/a/b', size: 1, sha256: sig }]);
    }, /x\/a: nested under a listed file/);
    await refusedWith((s) => {
      s.addFiles([{ path: 'x/a/b', size: 1, sha256: sig }]);
      s.addFiles([{ path: 'x/a', size: 1, sha256: sig }]);
    }, /x\/a: nested under a listed file/);
    await refusedWith((s) => s.addFiles([{ path: 'x/a', size: 1, sha256: 'nothex' }]), /bad sha256/);
    await refusedWith((s) => {
      s.addFiles([{ path: 'x/a', size: 1, sha256: sig }]);
      s.addFiles([{ path: 'x/b', size: 1, sha256: sig }]);
    }, /more than 1 files/, { maxFiles: 1, maxBytes: 10 });
    await refusedWith((s) => s.addFiles([{ path: 'x/a', size: 11, sha256: sig }]), /more than 10 bytes/, { maxFiles: 5, maxBytes: 10 });
    // Bytes past the entries announced so far (the master sends entries before their bytes).
    await refusedWith(async (s) => {
      s.addFiles([{ path: 'x/a', size: 2, sha256: sig }]);
      await s.write({ id: 'bad-1', seq: 0, file: 0, offset: 0 }, Buffer.from('abc'));
    }, /1 bytes past the last file of the manifest/);
    await refusedWith((s) => s.write({ id: 'bad-1', seq: 0, parts: [] }), /streamed snapshot's bytes come in binary frames/);
    await refusedWith(() => SnapshotSink.begin(paths, { id: 'whole', revision: 1, files: [], totalBytes: 0, totalSha256: totalHash([]) }).then(async (whole) => {
      try {
        whole.addFiles([]);
      } finally {
        await whole.abort();
      }
    }), /manifest entries for a snapshot that was not streamed/);

    // The totals at the end must be those of what was announced; none at all is refused too.
    const { sink: s1, totals } = await streamTransfer(master, backup);
    await expect(s1.end(undefined)).rejects.toThrow(/without its totals/);
    await s1.abort();
    for (const [wrong, message] of [
      [{ ...totals, files: totals.files + 1 }, /files announced at the end/],
      [{ ...totals, totalBytes: totals.totalBytes - 1 }, /totalBytes does not match/],
      [{ ...totals, totalSha256: sig }, /totalSha256 does not match/],
    ] as const) {
      const { sink } = await streamTransfer(master, backup);
      await expect(sink.end(wrong)).rejects.toThrow(message);
      await sink.abort();
    }
    // A chunk may name an empty file not yet passed, before the first file with bytes; not past it.
    const empties = await begin();
    empties.addFiles([{ path: 'e/0', size: 0, sha256: sha256('') }, { path: 'e/1', size: 0, sha256: sha256('') }]);
    empties.addFiles([{ path: 'e/2', size: 0, sha256: sha256('') }, { path: 'e/x', size: 1, sha256: sha256('x') }, { path: 'e/y', size: 1, sha256: sha256('y') }]);
    await empties.write({ id: 'bad-1', seq: 0, file: 2, offset: 0 }, Buffer.from('x'));
    await expect(empties.write({ id: 'bad-1', seq: 1, file: 4, offset: 0 }, Buffer.from('y'))).resolves.toBeUndefined();
    await empties.abort();
    const past = await begin();
    past.addFiles([{ path: 'e/x', size: 1, sha256: sha256('x') }, { path: 'e/y', size: 1, sha256: sha256('y') }]);
    await expect(past.write({ id: 'bad-1', seq: 0, file: 1, offset: 0 }, Buffer.from('y'))).rejects.toThrow(/starts at file 1 offset 0, expected file 0 offset 0/);
    await past.abort();
    // Entries announced whose bytes never came: the end's totals hold, the check before the swap does not.
    const cut = await begin();
    cut.addFiles([{ path: 'x/a', size: 2, sha256: sig }, { path: 'x/b', size: 3, sha256: sig }]);
    await cut.write({ id: 'bad-1', seq: 0, file: 0, offset: 0 }, Buffer.from('ab'));
    await cut.end({ files: 2, totalBytes: 5, totalSha256: createHash('sha256').update(manifestLines([{ path: 'x/a', size: 2, sha256: sig }, { path: 'x/b', size: 3, sha256: sig }])).digest('hex') });
    await expect(cut.verify()).rejects.toThrow(/x\/b: incomplete \(0 of 3 bytes\)/);
    await cut.abort();
    // A whole manifest whose last chunks never came.
    const source = await SnapshotSource.fromDirectory(master, 1);
    const whole = await SnapshotSink.begin(paths, source.manifest);
    await whole.write(...asBinary([...source.chunks(64 * 1024)][0]!));
    await expect(whole.verify()).rejects.toThrow(/incomplete \(\d+ of \d+ bytes\)/);
    await whole.abort();

    const { sink: s2, totals: t2 } = await streamTransfer(master, backup);
    await s2.end(t2);
    expect(() => s2.addFiles([{ path: 'late', size: 0, sha256: sig }])).toThrow(/after the end/);
    await expect(s2.write({ id: 'stream-1', seq: 99, file: 0, offset: 0 }, Buffer.from('x'))).rejects.toThrow(/after the end/);
    await expect(s2.end(t2)).rejects.toThrow(/the end of the snapshot twice/);
    await s2.abort();
    expect(readFileSync(path.join(paths.coreDir, 'a/b/config.json'), 'utf8')).toBe('old');
    expect(readdirSync(path.join(paths.varDir, 'sync')).filter((n) => n.startsWith('staging-'))).toEqual([]);
  });
});

describe('crash safety of the swap', () => {
  async function prepared() {
    const master = tree(MASTER);
    const backup = tree(Object.fromEntries(Object.entries(BACKUP_OWN).map(([k, v]) => [`config/resources/core/${k}`, v])));
    const { sink, paths } = await transfer(master, backup);
    // Written and verified: the crash stands between the transfer and the swap.
    await sink.verify();
    return { master, backup, sink, paths };
  }

  it('a crash after the transfer, before the swap, leaves the old core and recovery removes the staging', async () => {
    const { backup, paths } = await prepared();
    expect(await recoverSnapshotSwap(paths)).toBe('none');
    expect(await relsUnder(paths.coreDir)).toEqual(Object.keys(BACKUP_OWN));
    expect(readdirSync(path.join(backup, 'var/sync'))).toEqual([]);
  });

  it('a crash between the two renames is completed at the next start: the whole new core', async () => {
    const { master, sink, paths } = await prepared();
    // Run the commit, then undo its last step by hand to stand for a crash just before it.
    const intentPath = path.join(paths.varDir, 'sync/swap-intent.json');
    const { archive } = await sink.commit(new Date('2026-11-25T11:00:00Z'));
    const staging = path.join(paths.varDir, `sync/staging-${sink.manifest.id}`);
    renameSync(paths.coreDir, staging);
    writeFileSync(intentPath, JSON.stringify({ id: sink.manifest.id, staging, archive: path.join(archive!, 'core'), coreDir: paths.coreDir, varDir: paths.varDir }));
    expect(existsSync(paths.coreDir)).toBe(false);
    expect(await recoverSnapshotSwap(paths)).toBe('completed');
    expect(await hashes(paths.coreDir)).toEqual(await hashes(master));
    expect(await relsUnder(path.join(archive!, 'core'))).toEqual(Object.keys(BACKUP_OWN));
    expect(existsSync(intentPath)).toBe(false);
  });

  it('a crash after the intent but before any rename is completed at the next start', async () => {
    const { master, sink, paths } = await prepared();
    // Stand for the crash: verified staging and the intent exist, the live core is still the old one.
    (sink as unknown as { done: boolean }).done = true;
    const staging = sink.staging;
    const archive = path.join(paths.varDir, 'archive/t/core');
    writeFileSync(path.join(paths.varDir, 'sync/swap-intent.json'), JSON.stringify({ id: sink.manifest.id, staging, archive, coreDir: paths.coreDir, varDir: paths.varDir }));
    expect(await recoverSnapshotSwap(paths)).toBe('completed');
    expect(await hashes(paths.coreDir)).toEqual(await hashes(master));
    expect(await relsUnder(archive)).toEqual(Object.keys(BACKUP_OWN));
  });
});
