import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { manifestLines } from '../../src/core/sync/snapshot-manifest.js';
import type { EventRecord, StatusResponse } from '../../src/core/wire.js';
import type { PeerInfo } from '../../src/daemon/gan/peer-link.js';
import { SnapshotSink } from '../../src/daemon/sync/snapshot-sink.js';
import { readTree } from '../../src/daemon/storage/bulk-reader.js';
import { PLC1_BACKUP, PLC1_PRIMARY } from '../helpers/config-files.js';
import { startTestDaemon, type TestDaemon } from '../helpers/in-process-daemon.js';
import { waitFor } from '../helpers/processes.js';

const started: TestDaemon[] = [];
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') for (const t of started) process.stderr.write(t.logs.join(''));
  await Promise.all(started.splice(0).map((t) => t.stop()));
});

async function daemon(name: string): Promise<TestDaemon> {
  const t = await startTestDaemon({ systemName: name, logLevel: 'info' });
  started.push(t);
  return t;
}

export async function coreHashes(dataDir: string): Promise<Record<string, string>> {
  const root = path.join(dataDir, 'config/resources/core');
  const out: Record<string, string> = {};
  for (const f of await readTree(root)) out[f.rel] = f.sha256;
  return out;
}

const status = (t: TestDaemon): Promise<StatusResponse> => t.client.status();
const events = (t: TestDaemon, type: string): EventRecord[] => t.daemon.events.since(0).filter((e) => e.type === type);

/** A plain, Unrestricted pair (the quickest way to a Running link), synced once. */
async function pair(before?: (m: TestDaemon, b: TestDaemon) => Promise<void>): Promise<{ master: TestDaemon; backup: TestDaemon }> {
  const [master, backup] = await Promise.all([daemon('m-node'), daemon('b-node')]);
  await master.client.configureNetwork({ requireSsl: false, securityPolicy: 'Unrestricted' });
  await master.client.configureRedundancy({ role: 'Master', master: { pingRate: 200 } });
  await before?.(master, backup);
  const up = new Promise<PeerInfo>((resolve) => backup.daemon.gan.link.once('up', resolve));
  await backup.client.configureRedundancy({
    role: 'Backup',
    master: { host: '127.0.0.1', port: master.daemon.gan.listenerViews().plain.port!, enableSsl: false, reconnectPeriod: 50, pingRate: 200 },
  });
  await up;
  await synced(master, backup);
  return { master, backup };
}

async function synced(master: TestDaemon, backup: TestDaemon): Promise<void> {
  await waitFor('the pair to be InSync', async () => {
    const [m, b] = await Promise.all([status(master), status(backup)]);
    return m.redundancy.sync.state === 'InSync' && b.redundancy.sync.state === 'InSync' && b.redundancy.sync.revision === m.config.revision;
  });
}

describe('sync between two in-process daemons', () => {
  it('pairing: full snapshot, previous core archived, master system name, then live changes with Backup versions effective at once', async () => {
    const { master, backup } = await pair(async (_m, b) => {
      await b.client.configSet('opc-connection/mine', { endpointUrl: 'opc.tcp://own:4840' });
    });
    expect(await coreHashes(backup.dataDir)).toEqual(await coreHashes(master.dataDir));
    const completed = events(backup, 'sync.completed');
    expect(completed[0]!.data).toMatchObject({ kind: 'full' });
    const archive = completed[0]!.data.archive as string;
    expect(archive).toContain(path.join(backup.dataDir, 'var/archive'));
    expect(existsSync(path.join(archive, 'core/opcua/opc-connection/mine/config.json'))).toBe(true);
    expect((await status(backup)).node.systemName).toBe('m-node');
    // Written just after the completion (the journal's restart is the commit point).
    const masterUuid = (await status(master)).node.uuid;
    await waitFor('the holder on disk', () => JSON.parse(readFileSync(path.join(backup.dataDir, 'var/sync-state.json'), 'utf8')).holder === masterUuid);

    await master.client.configSet('opc-connection/plc1', PLC1_PRIMARY);
    await master.client.configBackupAdd('opc-connection/plc1', PLC1_BACKUP);
    await synced(master, backup);
    expect((await backup.client.configGet('opc-connection/plc1', 'effective')).content).toMatchObject(PLC1_BACKUP);
    expect((await master.client.configGet('opc-connection/plc1', 'effective')).content).toMatchObject(PLC1_PRIMARY);
    expect(events(backup, 'config.changed').some((e) => e.data.resource === 'opc-connection/plc1')).toBe(true);
    expect(await coreHashes(backup.dataDir)).toEqual(await coreHashes(master.dataDir));

    // A local resource on the master is never sent, but the backup's revision still catches up.
    await master.client.configSet('opc-connection/only-here', PLC1_PRIMARY, { collection: 'local' });
    await synced(master, backup);
    expect(existsSync(path.join(backup.dataDir, 'config/resources/local/opcua/opc-connection/only-here'))).toBe(false);
  });

  it('resync on the backup and on the master: a full snapshot each, the pair stays equal', async () => {
    const { master, backup } = await pair();
    const before = events(backup, 'sync.completed').length;
    const r = await backup.client.resync();
    expect(r).toMatchObject({ kind: 'full', side: 'backup' });
    await waitFor('a second full sync on the backup', () => events(backup, 'sync.completed').length > before);
    const r2 = await master.client.resync();
    expect(r2.side).toBe('master');
    await waitFor('a third full sync on the backup', () => events(backup, 'sync.completed').filter((e) => e.data.kind === 'full').length >= 3);
    await waitFor('the master sees it acknowledged', () => events(master, 'sync.completed').filter((e) => e.data.kind === 'full').length >= 3);
    await synced(master, backup);
    expect(await coreHashes(backup.dataDir)).toEqual(await coreHashes(master.dataDir));
  });

  it('a snapshot larger than the send window, of files larger than a frame: every byte arrives through the real link, the window moves on', async () => {
    // 48 resources of ~1 MiB: a few windows (SNAPSHOT_WINDOW_BYTES), so the master waits
    // for the backup's reports of what it took. Each part is cut into 1 MiB chunks that end inside
    // files, in frames of their own: the backup keeps those (views until the file completes) and
    // copies them for its writer rather than moving them (snapshot.test.ts covers the moves).
    const { master, backup } = await pair(async (m) => {
      const dir = path.join(m.dataDir, 'config/resources/core/opcua/opc-connection');
      for (let i = 0; i < 48; i++) {
        mkdirSync(path.join(dir, `big-${i}`), { recursive: true });
        writeFileSync(path.join(dir, `big-${i}`, 'config.json'), JSON.stringify({ endpointUrl: `opc.tcp://10.0.0.${i}:4840/${'p'.repeat(1024 * 1024)}` }));
      }
      await m.client.configRescan();
    });
    const files = Object.keys(await coreHashes(master.dataDir));
    expect(files.filter((f) => f.includes('/big-')).length).toBeGreaterThanOrEqual(48);
    expect(await coreHashes(backup.dataDir)).toEqual(await coreHashes(master.dataDir));
  }, 60_000);

  it('a master that cannot read its core for a snapshot ends the sync it started with a coded sync.failed, and the next one succeeds', async () => {
    const { master, backup } = await pair();
    const failedBefore = events(master, 'sync.failed').length;
    // A directory whose path is longer than the system allows (PATH_MAX): listing it fails with
    // ENAMETOOLONG, even for root. Made one level at a time from inside the previous one.
    const core = path.join(master.dataDir, 'config/resources/core');
    const deep = spawnSync('bash', ['-c', 'cd "$1" && mkdir too-deep && cd too-deep && for i in $(seq 17); do n=$(printf "d%.0s" $(seq 250)); mkdir "$n" && cd "$n" || exit 1; done; touch f', '--', core]);
    expect(deep.status, deep.stderr.toString()).toBe(0);
    try {
      await master.client.resync();
      await waitFor('sync.failed on the master', () => events(master, 'sync.failed').length > failedBefore);
    } finally {
      // rm works down the tree one directory at a time (fs.rm would need the whole path).
      spawnSync('rm', ['-rf', path.join(core, 'too-deep')]);
    }
    const failed = events(master, 'sync.failed').at(-1)!;
    expect(failed.data).toMatchObject({ code: 'GW_ERR_SYNC_FAILED' });
    expect(String(failed.data.reason)).toContain('ENAMETOOLONG');
    const started = events(master, 'sync.started').filter((e) => e.seq < failed.seq).at(-1)!;
    expect(started.data).toMatchObject({ kind: 'full' });
    // The backup, part way through it, is told why at once (not at its sync timeout).
    const dropped = await waitFor('sync.failed on the backup', () => events(backup, 'sync.failed').find((e) => String(e.data.reason).includes('ENAMETOOLONG')), 5_000);
    expect(dropped.data).toMatchObject({ code: 'GW_ERR_SYNC_FAILED' });
    expect(String(dropped.data.reason)).toMatch(/^synchronization failed: the master could not read the configuration for a full snapshot: /);
    await master.client.resync();
    await waitFor('a full sync completed after it', () => events(master, 'sync.completed').some((e) => e.seq > failed.seq && e.data.kind === 'full'));
    expect(await coreHashes(backup.dataDir)).toEqual(await coreHashes(master.dataDir));
  });

  it('a forged manifest, a forged entry, a stalled snapshot and forged snapshot bytes are failures, never crashes: reported, retried, the configuration kept', async () => {
    const { master, backup } = await pair();
    await backup.client.configureRedundancy({ syncTimeoutSecs: 1 });
    const link = backup.daemon.gan.link;
    const peer = link.peer!;
    const kept = await coreHashes(backup.dataDir);
    const failures = (): EventRecord[] => events(backup, 'sync.failed');
    const inject = (m: Record<string, unknown>): void => void link.emit('message', m as never, peer);
    const sig = 'a'.repeat(64);

    // 1. A snapshot whose totals do not match its entries.
    inject({ type: 'sync.begin', op: 99, kind: 'full', revision: 5 });
    inject({ type: 'sync.snapshotStream', op: 99, id: 'forged-1', revision: 5 });
    inject({ type: 'sync.snapshotFiles', id: 'forged-1', files: [{ path: 'x/config.json', size: 1, sha256: sig }] });
    inject({ type: 'sync.snapshotEnd', id: 'forged-1', totals: { files: 1, totalBytes: 1, totalSha256: sig } });
    await waitFor('sync.failed for the manifest', () => failures().length >= 1);
    expect(failures()[0]!.data).toMatchObject({ code: 'GW_ERR_SYNC_SNAPSHOT_REFUSED' });
    expect(String(failures()[0]!.data.reason)).toContain('totalSha256');
    await synced(master, backup);

    // 2. An entry whose content does not match its signature: refused whole, then a full snapshot.
    const rev = (await status(master)).config.revision;
    const forged = {
      revision: rev + 1, op: 'create', collection: 'core', address: 'opc-connection/evil', module: 'opcua', type: 'opc-connection', name: 'evil',
      version: 'primary', content: { endpointUrl: 'opc.tcp://evil:4840' }, signature: sig, deleted: false,
      meta: { uuid: 'u', enabled: true, lastModification: { actor: 'x', timestamp: 't' }, signature: sig, backupSignature: null }, actor: 'x', timestamp: 't',
    };
    inject({ type: 'sync.entries', from: rev, upTo: rev + 1, latest: rev + 1, entries: [forged] });
    await waitFor('sync.failed for the entry', () => failures().length >= 2);
    expect(failures()[1]!.data.code).toBe('GW_ERR_CONFIG_INVALID');
    await waitFor('a full snapshot after the forged entry', () => events(backup, 'sync.completed').filter((e) => e.data.kind === 'full').length >= 2);
    await synced(master, backup);
    expect(backup.daemon.config.get('core', 'opc-connection/evil')).toBeUndefined();

    // 3. A snapshot that never ends: syncTimeoutSecs, then a retry.
    inject({ type: 'sync.begin', op: 100, kind: 'full', revision: 5 });
    await waitFor('sync.failed by timeout', () => failures().length >= 3, 5000);
    expect(failures()[2]!.data.code).toBe('GW_ERR_SYNC_TIMEOUT');
    await synced(master, backup);
    expect(await coreHashes(backup.dataDir)).toEqual(await coreHashes(master.dataDir));
    expect(Object.keys(kept).length).toBeGreaterThan(0);

    // 4. A snapshot whose bytes (in a binary frame) do not match their hash: found while the
    // store already compares the new core, and nothing is swapped in nor committed.
    const before = await coreHashes(backup.dataDir);
    const revisionBefore = backup.daemon.config.revision;
    const replaced = events(backup, 'config.replaced').length;
    const bytes = Buffer.from('{"endpointUrl":"opc.tcp://forged:4840"}');
    const files = [{ path: 'opcua/opc-connection/forged/config.json', size: bytes.length, sha256: 'b'.repeat(64) }];
    inject({ type: 'sync.begin', op: 101, kind: 'full', revision: 5 });
    inject({ type: 'sync.snapshotStream', op: 101, id: 'forged-2', revision: 5 });
    inject({ type: 'sync.snapshotFiles', id: 'forged-2', files });
    inject({ type: 'sync.snapshotChunk', chunk: { id: 'forged-2', seq: 0, file: 0, offset: 0 }, payload: bytes });
    inject({ type: 'sync.snapshotEnd', id: 'forged-2', totals: { files: 1, totalBytes: bytes.length, totalSha256: createHash('sha256').update(manifestLines(files)).digest('hex') } });
    await waitFor('sync.failed for the bytes', () => failures().length >= 4);
    expect(failures()[3]!.data).toMatchObject({ code: 'GW_ERR_SYNC_SNAPSHOT_REFUSED' });
    expect(String(failures()[3]!.data.reason)).toContain('sha256 does not match the manifest');
    expect(events(backup, 'config.replaced').length).toBe(replaced);
    expect(backup.daemon.config.revision).toBe(revisionBefore);
    expect(backup.daemon.config.get('core', 'opc-connection/forged')).toBeUndefined();
    expect(await coreHashes(backup.dataDir)).toEqual(before);
    await synced(master, backup);

    // 5. A request that replaces a snapshot while its staging is being prepared: the orphaned
    // snapshot's staging (and writer thread) go, nothing is left in var/sync. The preparation is
    // held open here until the replacing request has been made.
    const stagingDir = path.join(backup.dataDir, 'var', 'sync', 'staging-race-1');
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let prepared!: () => void;
    const isPrepared = new Promise<void>((r) => (prepared = r));
    const open = SnapshotSink.open.bind(SnapshotSink);
    const spy = vi.spyOn(SnapshotSink, 'open').mockImplementationOnce(async (...args: Parameters<typeof SnapshotSink.open>) => {
      const sink = await open(...args);
      prepared();
      await held;
      return sink;
    });
    try {
      inject({ type: 'sync.begin', op: 102, kind: 'full', revision: 5 });
      inject({ type: 'sync.snapshotStream', op: 102, id: 'race-1', revision: 5 });
      await isPrepared;
      expect(existsSync(stagingDir)).toBe(true);
      backup.daemon.sync.resync();
      release();
      await synced(master, backup);
      await waitFor('the orphaned staging removed', () => !existsSync(stagingDir), 3000);
    } finally {
      spy.mockRestore();
    }
    expect(backup.daemon.ready).toBe(true);
  });
});
