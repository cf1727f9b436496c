import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { createHash } from 'node:crypto';

import { GwError } from '../../src/core/errors.js';
import { BackupSyncMachine, type BackupSyncInput, type MasterMessage } from '../../src/core/sync/backup-machine.js';
import { manifestLines, type SnapshotFile } from '../../src/core/sync/snapshot-manifest.js';
import { recoverSnapshotSwap, SnapshotSink } from '../../src/daemon/sync/snapshot-sink.js';
import { readTree, streamTree } from '../../src/daemon/storage/bulk-reader.js';
import { streamedChunks } from '../../src/daemon/sync/snapshot-source.js';
import { noteOwnedFrame } from '../../src/daemon/gan/owned-frames.js';
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

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

type In = BackupSyncInput extends infer I ? (I extends unknown ? Omit<I, 'now'> : never) : never;

/**
 * A full snapshot as the master sends it (MasterSide.pushFull, without the link): each part's
 * entries, then its chunks, and the totals; each message through JSON as a frame brings it, to the
 * backup's machine, whose decisions the sink carries out (as BackupSide does, without the store).
 */
async function streamTransfer(masterRoot: string, dataRoot: string, { filesPerPart = 2, frameBytes = 4 * 1024 * 1024, chunkBytes = 64 * 1024, ownedFrames = false } = {}) {
  const paths = { coreDir: path.join(dataRoot, 'config/resources/core'), varDir: path.join(dataRoot, 'var') };
  const received = new Map<string, string>();
  const onFile = (rel: string, parts: readonly Uint8Array[]) => {
    expect(received.has(rel), `${rel} passed on twice`).toBe(false);
    received.set(rel, Buffer.concat(parts).toString('utf8'));
  };
  const id = 'stream-1';
  const machine = new BackupSyncMachine({ peerUuid: 'master', holder: 'master', revision: 0, settings: { timeoutMs: 60_000, retryMs: 1000 } });
  let now = 0;
  let adopt = false;
  const sink = await SnapshotSink.open(paths, id, { onFile });
  const feed = async (input: In): Promise<void> => {
    for (const d of machine.handle({ ...input, now: now++ } as BackupSyncInput).decisions) {
      if (d.type === 'emit' && d.event === 'sync.failed') throw new Error(String(d.data.reason));
      if (d.type === 'addFiles') sink.addFiles(d.files);
      if (d.type === 'write') await sink.write(d.file, d.offset, d.parts, d.payload);
      if (d.type === 'adopt') adopt = true;
    }
  };
  const message = (m: unknown): Promise<void> => feed({ type: 'message', message: JSON.parse(JSON.stringify(m)) as MasterMessage });
  await feed({ type: 'connected' });
  await message({ type: 'sync.begin', op: 1, kind: 'full', revision: 42 });
  await message({ type: 'sync.snapshotStream', op: 1, id, revision: 42 });
  await feed({ type: 'snapshotOpened', id });
  const entries: SnapshotFile[] = [];
  let seq = 0;
  // ownedFrames: each chunk arrives in a buffer of its own, noted as the link notes one, so the sink
  // may move it to its writer; `moved` counts those that left (read as empty after).
  const moved = { chunks: 0, of: 0 };
  for await (const part of streamTree(masterRoot, filesPerPart, 512)) {
    const these = part.files.map((f) => ({ path: f.rel, size: f.data.length, sha256: f.sha256 }));
    await message({ type: 'sync.snapshotFiles', id, files: these });
    for (const c of streamedChunks(part, entries.length, frameBytes, chunkBytes)) {
      const payload = Buffer.allocUnsafeSlow(c.payload.length);
      c.payload.copy(payload);
      if (ownedFrames) noteOwnedFrame(payload);
      await feed({ type: 'message', message: { type: 'sync.snapshotChunk', chunk: { id, seq: seq++, file: c.file, offset: c.offset }, payload } });
      moved.of += 1;
      if (payload.length === 0 && c.payload.length > 0) moved.chunks += 1;
    }
    entries.push(...these);
  }
  const totals = { files: entries.length, totalBytes: entries.reduce((n, f) => n + f.size, 0), totalSha256: createHash('sha256').update(manifestLines(entries)).digest('hex') };
  /** sync.snapshotEnd with these totals: true when the machine then asks for the adoption. */
  const end = async (t = totals): Promise<boolean> => {
    await message({ type: 'sync.snapshotEnd', id, totals: t });
    return adopt;
  };
  return { sink, paths, received, totals, entries, end, feed, moved };
}

describe('full snapshot (manifest in parts, read while sent)', () => {
  it('transfers every file byte for byte, empty files included wherever the parts and chunks cut, and swaps it in', async () => {
    // With 2 files a part, the first part is empty files only and the second starts with one.
    const master = tree({ ...MASTER, 'a/empty-first': '', 'b/mid-1': '', 'b/mid-2': '', 'c/config.json': 'c'.repeat(10), 'z/last': '', 'z/last2': '' });
    const backup = tree({ 'config/resources/core/mine/config.json': 'old' });
    for (const [filesPerPart, frameBytes, chunkBytes, ownedFrames] of [
      [2, 4 * 1024 * 1024, 64 * 1024, false],
      [2, 64 * 1024, 64 * 1024, false],
      [1, 7, 7, false],
      [1000, 4 * 1024 * 1024, 1024 * 1024, false],
      [1000, 1024, 100, false],
      // The same with every chunk in a buffer of its own (as ws gives a large frame): a chunk
      // whose last file goes on in the next is not moved (its view is kept), the others are.
      [2, 4 * 1024 * 1024, 64 * 1024, true],
      [1, 7, 7, true],
      [1000, 4 * 1024 * 1024, 1024 * 1024, true],
      [1000, 1024, 100, true],
    ] as const) {
      const { sink, paths, received, entries, end, moved } = await streamTransfer(master, backup, { filesPerPart, frameBytes, chunkBytes, ownedFrames });
      if (ownedFrames) expect(moved.chunks, 'chunks moved to the writer').toBeGreaterThan(0);
      else expect(moved.chunks).toBe(0);
      // Where files are cut across chunks, some chunks end inside a file: those stay.
      if (ownedFrames && chunkBytes < 1000) expect(moved.chunks).toBeLessThan(moved.of);
      expect(await end()).toBe(true);
      await sink.verify();
      await sink.commit();
      await sink.finish();
      expect(await hashes(paths.coreDir), `${filesPerPart} files a part, frames up to ${frameBytes}, ${chunkBytes} bytes a chunk`).toEqual(await hashes(master));
      expect(entries.map((f) => f.path).sort()).toEqual(Object.keys(await hashes(master)).sort());
      // Every file was passed on once, with its bytes, empty ones too.
      expect(new Map([...received].sort())).toEqual(new Map((await readTree(master)).map((f) => [f.rel, f.data.toString('utf8')])));
    }
  });

  it('refuses bytes that do not match their entries, and entries whose bytes never came, before anything is swapped in; the live core untouched', async () => {
    const master = tree(MASTER);
    const backup = tree({ 'config/resources/core/a/b/config.json': 'old' });
    const paths = { coreDir: path.join(backup, 'config/resources/core'), varDir: path.join(backup, 'var') };
    const sig = 'a'.repeat(64);
    const refusedWith = async (files: SnapshotFile[], payload: string, message: RegExp) => {
      const machine = new BackupSyncMachine({ peerUuid: 'm', holder: 'm', revision: 0, settings: { timeoutMs: 60_000, retryMs: 1000 } });
      const sink = await SnapshotSink.open(paths, 'bad-1');
      let now = 0;
      const run = async (message: MasterMessage) => {
        for (const d of machine.handle({ type: 'message', message, now: now++ }).decisions) {
          if (d.type === 'addFiles') sink.addFiles(d.files);
          if (d.type === 'write') await sink.write(d.file, d.offset, d.parts, d.payload);
        }
      };
      machine.handle({ type: 'connected', now: now++ });
      await run({ type: 'sync.begin', op: 1, kind: 'full', revision: 1 });
      await run({ type: 'sync.snapshotStream', op: 1, id: 'bad-1', revision: 1 });
      await run({ type: 'sync.snapshotFiles', id: 'bad-1', files });
      await run({ type: 'sync.snapshotChunk', chunk: { id: 'bad-1', seq: 0, file: 0, offset: 0 }, payload: Buffer.from(payload) });
      const err = await sink.verify().then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(GwError);
      expect((err as GwError).code).toBe('GW_ERR_SYNC_SNAPSHOT_REFUSED');
      expect((err as GwError).message).toMatch(message);
      await expect(sink.commit()).rejects.toThrow(/aborted|commit before verify/);
      await sink.abort();
    };
    await refusedWith([{ path: 'x/a', size: 3, sha256: sig }], 'abc', /x\/a: sha256 does not match the manifest/);
    await refusedWith([{ path: 'x/a', size: 2, sha256: sha256('ab') }, { path: 'x/b', size: 3, sha256: sig }], 'ab', /x\/b: incomplete \(0 of 3 bytes\)/);
    await refusedWith([{ path: 'x/a', size: 4, sha256: sha256('abcd') }], 'ab', /x\/a: incomplete \(2 of 4 bytes\)/);
    // A sink that was aborted takes nothing more.
    const { sink } = await streamTransfer(master, backup);
    await sink.abort();
    await expect(sink.write(0, 0, [], new Uint8Array(0))).rejects.toThrow(/aborted/);
    expect(readFileSync(path.join(paths.coreDir, 'a/b/config.json'), 'utf8')).toBe('old');
    expect(readdirSync(path.join(paths.varDir, 'sync')).filter((n) => n.startsWith('staging-'))).toEqual([]);
  });
});

describe('crash safety of the swap', () => {
  async function prepared() {
    const master = tree(MASTER);
    const backup = tree(Object.fromEntries(Object.entries(BACKUP_OWN).map(([k, v]) => [`config/resources/core/${k}`, v])));
    const { sink, paths, end } = await streamTransfer(master, backup);
    await end();
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
    const staging = path.join(paths.varDir, `sync/staging-${sink.id}`);
    renameSync(paths.coreDir, staging);
    writeFileSync(intentPath, JSON.stringify({ id: sink.id, staging, archive: path.join(archive!, 'core'), coreDir: paths.coreDir, varDir: paths.varDir }));
    expect(existsSync(paths.coreDir)).toBe(false);
    expect(await recoverSnapshotSwap(paths)).toBe('completed');
    expect(await hashes(paths.coreDir)).toEqual(await hashes(master));
    expect(await relsUnder(path.join(archive!, 'core'))).toEqual(Object.keys(BACKUP_OWN));
    expect(existsSync(intentPath)).toBe(false);
  });

  it('a crash after the intent but before any rename is completed at the next start', async () => {
    const { master, sink, paths } = await prepared();
    // Stand for the crash: verified staging and the intent exist, the live core is still the old one.
    (sink as unknown as { state: string }).state = 'committing';
    const staging = sink.staging;
    const archive = path.join(paths.varDir, 'archive/t/core');
    writeFileSync(path.join(paths.varDir, 'sync/swap-intent.json'), JSON.stringify({ id: sink.id, staging, archive, coreDir: paths.coreDir, varDir: paths.varDir }));
    expect(await recoverSnapshotSwap(paths)).toBe('completed');
    expect(await hashes(paths.coreDir)).toEqual(await hashes(master));
    expect(await relsUnder(archive)).toEqual(Object.keys(BACKUP_OWN));
  });
});
