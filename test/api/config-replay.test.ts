import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';

import { type AdoptedChange, ConfigStore } from '../../src/daemon/config/config-store.js';
import type { SnapshotContents } from '../../src/daemon/config/snapshot-contents.js';
import { loadResourceTypes } from '../../src/daemon/config/type-registry.js';
import { SchemaRegistry } from '../../src/daemon/schema-registry.js';
import { parseAddress } from '../../src/core/config-address.js';
import { GwError } from '../../src/core/errors.js';
import { PLC1_BACKUP, PLC1_PRIMARY, journal, tree } from '../helpers/config-files.js';
import { startTestDaemon, type TestDaemon } from '../helpers/in-process-daemon.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const schemas = new SchemaRegistry();
const types = loadResourceTypes(schemas);
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function storeOptions(dir: string): Parameters<typeof ConfigStore.open>[0] {
  return {
    resourcesDir: path.join(dir, 'config', 'resources'),
    varDir: path.join(dir, 'var'),
    schemas,
    types,
    logger: pino({ level: 'silent' }),
  };
}

async function openStore(dir: string): Promise<ConfigStore> {
  return (await ConfigStore.open(storeOptions(dir))).store;
}

describe('journal replay (what the sync engine does on a backup)', () => {
  it('reproduces the master store exactly, and a second replay changes nothing', async () => {
    const master: TestDaemon = await startTestDaemon();
    cleanups.push(() => master.stop());
    await master.client.configSet('opc-connection/plc1', PLC1_PRIMARY);
    await master.client.configBackupAdd('opc-connection/plc1', PLC1_BACKUP);
    await master.client.configSet('opc-connection/plc2', PLC1_PRIMARY);
    await master.client.configDelete('opc-connection/plc2');
    await master.client.configSet('opc-connection/plc1', { ...PLC1_PRIMARY, username: 'ops' });
    await master.client.configBackupRemove('opc-connection/plc1');
    const entries = journal(master.dataDir);

    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const replica = await openStore(temp.dir);
    cleanups.push(() => replica.close());
    for (const e of entries) expect(await replica.replay(e)).toBe(true);
    expect(replica.revision).toBe(master.daemon.config.revision);
    expect(replica.syncedRevision).toBe(entries.at(-1)!.revision);
    const resources = (dir: string): Record<string, string> => tree(path.join(dir, 'config', 'resources'));
    expect(resources(temp.dir)).toEqual(resources(master.dataDir));

    for (const e of entries) expect(await replica.replay(e)).toBe(false);
    expect(resources(temp.dir)).toEqual(resources(master.dataDir));
    // Same changes, same revisions (nothing local here), each marked with the master's revision.
    expect(journal(temp.dir)).toEqual(entries.map((e) => ({ ...e, sourceRevision: e.revision })));

    // Reopened, the replica agrees with itself: nothing to roll forward or journal.
    await replica.close();
    const reopened = await openStore(temp.dir);
    cleanups.push(() => reopened.close());
    expect(reopened.revision).toBe(entries.at(-1)!.revision);
    expect(journal(temp.dir)).toHaveLength(entries.length);
    for (const e of entries) expect(await reopened.replay(e)).toBe(false);
  });

  it('local changes on the backup do not collide with the master revisions it replays', async () => {
    const master: TestDaemon = await startTestDaemon();
    cleanups.push(() => master.stop());
    await master.client.configSet('opc-connection/plc1', PLC1_PRIMARY);
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const replica = await openStore(temp.dir);
    cleanups.push(() => replica.close());
    const [first, second] = journal(master.dataDir);
    await replica.replay(first!);
    // A node-only resource on the backup takes the backup's next revision (2) ...
    await replica.put(parseAddress('database-connection/local-db', types), 'local', 'primary', { driver: 'sqlite', connectUrl: 'file:x' }, 'test');
    expect(replica.revision).toBe(2);
    // ... and the master's revision 2 is still applied, not mistaken for it.
    expect(await replica.replay(second!)).toBe(true);
    expect((await replica.read(replica.get('core', 'opc-connection/plc1')!, 'primary')).endpointUrl).toBe(PLC1_PRIMARY.endpointUrl);
    expect(replica.syncedRevision).toBe(2);
    expect(replica.revision).toBe(3);
    // A master's local resource is never replicated.
    const local = { ...second!, revision: 9, collection: 'local' as const };
    expect(((await replica.replay(local).catch((e: unknown) => e)) as GwError).code).toBe('GW_ERR_CONFIG_INVALID');
    // The sync engine says the master's revisions up to 9 are covered (the rest were its local ones).
    await replica.noteSynced(9);
    expect(replica.syncedRevision).toBe(9);
    expect(await replica.replay({ ...second!, revision: 8 })).toBe(false);
  });

  it('adoptSnapshot loads the swapped-in core as one revision, records the master revision and restarts the journal', async () => {
    const master: TestDaemon = await startTestDaemon();
    cleanups.push(() => master.stop());
    await master.client.configSet('opc-connection/plc1', PLC1_PRIMARY);
    await master.client.configBackupAdd('opc-connection/plc1', PLC1_BACKUP);
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const replica = await openStore(temp.dir);
    cleanups.push(() => replica.close());
    // What the snapshot sink leaves: the master's core directory, copied as files.
    const { cpSync } = await import('node:fs');
    cpSync(path.join(master.dataDir, 'config', 'resources', 'core'), path.join(temp.dir, 'config', 'resources', 'core'), { recursive: true });
    const before = replica.revision;
    const journalFile = path.join(temp.dir, 'var', 'config-journal.ndjson');
    const oldJournal = readFileSync(journalFile, 'utf8');
    const archive = path.join(temp.dir, 'var', 'archive', 'test');
    const changes: AdoptedChange[] = [];
    const adopted = await replica.adoptSnapshot(master.daemon.config.revision, { swap: async () => ({ archive }), onChange: (c) => changes.push(c) });
    expect(changes.map((c) => [c.address, c.version, c.op]).sort()).toEqual([
      ['gateway-settings', 'primary', 'create'],
      ['opc-connection/plc1', 'backup', 'create'],
      ['opc-connection/plc1', 'primary', 'create'],
    ]);
    expect([adopted.created, adopted.updated, adopted.deleted]).toEqual([3, 0, 0]);
    expect(adopted.revision).toBe(before + 1);
    expect(replica.revision).toBe(before + 1);
    expect(replica.syncedRevision).toBe(3);
    expect((await replica.read(replica.get('core', 'opc-connection/plc1')!, 'backup')).endpointUrl).toBe(PLC1_BACKUP.endpointUrl);
    // The master's resource.json is kept byte for byte.
    const meta = (dir: string): string => readFileSync(path.join(dir, 'config', 'resources', 'core', 'opcua', 'opc-connection', 'plc1', 'resource.json'), 'utf8');
    expect(meta(temp.dir)).toBe(meta(master.dataDir));
    // The journal restarted: its history is in the archive, nothing in it to resume from.
    expect(readFileSync(path.join(archive, 'config-journal.ndjson'), 'utf8')).toBe(oldJournal);
    expect(replica.journalFirst).toBeNull();
    expect(await replica.since(0)).toEqual([]);
    // Entries the snapshot already covers are skipped.
    for (const e of journal(master.dataDir)) expect(await replica.replay(e)).toBe(false);
    // A reopened store is at the same revision, with nothing found to journal.
    await replica.close();
    const reopened = await ConfigStore.open(storeOptions(temp.dir));
    cleanups.push(() => reopened.store.close());
    expect(reopened.startup).toEqual([]);
    expect(reopened.store.revision).toBe(before + 1);
    expect(reopened.store.syncedRevision).toBe(3);
    expect((await reopened.store.read(reopened.store.get('core', 'opc-connection/plc1')!, 'primary')).endpointUrl).toBe(PLC1_PRIMARY.endpointUrl);
  });

  it('adoptSnapshot from the files as they arrived (parsed, checked and signed then) is the adoption from the disk, invalid files included', async () => {
    const master: TestDaemon = await startTestDaemon();
    cleanups.push(() => master.stop());
    await master.client.configSet('opc-connection/plc1', PLC1_PRIMARY);
    await master.client.configBackupAdd('opc-connection/plc1', PLC1_BACKUP);
    const { cpSync, mkdirSync } = await import('node:fs');
    const core = path.join(master.dataDir, 'config', 'resources', 'core');
    // Files a master holds but has not loaded: content that fails its schema, and JSON that does not parse.
    mkdirSync(path.join(core, 'opcua', 'opc-connection', 'bad-type'), { recursive: true });
    writeFileSync(path.join(core, 'opcua', 'opc-connection', 'bad-type', 'config.json'), '{"endpointUrl": 42}');
    mkdirSync(path.join(core, 'opcua', 'opc-connection', 'bad-json'), { recursive: true });
    writeFileSync(path.join(core, 'opcua', 'opc-connection', 'bad-json', 'config.json'), '{"endpointUrl": ');
    // A resource.json that fails its schema, and an older one without the fields that have
    // defaults (filled in, so rewritten): checked as they arrive or in the scan, the same outcome.
    mkdirSync(path.join(core, 'opcua', 'opc-connection', 'bad-meta'), { recursive: true });
    writeFileSync(path.join(core, 'opcua', 'opc-connection', 'bad-meta', 'config.json'), JSON.stringify(PLC1_PRIMARY));
    writeFileSync(path.join(core, 'opcua', 'opc-connection', 'bad-meta', 'resource.json'), '{"uuid": "u-1", "signature": "not-hex"}');
    mkdirSync(path.join(core, 'opcua', 'opc-connection', 'old-meta'), { recursive: true });
    writeFileSync(path.join(core, 'opcua', 'opc-connection', 'old-meta', 'config.json'), JSON.stringify(PLC1_PRIMARY));
    const { contentSignature } = await import('../../src/daemon/config/signature.js');
    writeFileSync(path.join(core, 'opcua', 'opc-connection', 'old-meta', 'resource.json'), JSON.stringify({ uuid: '0b1c2d3e-0000-4000-8000-000000000002', signature: contentSignature(PLC1_PRIMARY) }));
    const adopt = async (withContents: boolean) => {
      const temp = makeTempDir();
      cleanups.push(temp.cleanup);
      const replica = await openStore(temp.dir);
      cleanups.push(() => replica.close());
      cpSync(core, path.join(temp.dir, 'config', 'resources', 'core'), { recursive: true });
      const contents = withContents ? replica.snapshotContents() : undefined;
      if (contents) for (const [rel, text] of Object.entries(tree(core))) contents.add(rel, [Buffer.from(text)]);
      const changes: AdoptedChange[] = [];
      await replica.adoptSnapshot(master.daemon.config.revision, { swap: async () => ({ archive: null }), contents, onChange: (c) => changes.push(c) });
      const problems = replica.problems.map((p) => ({ ...p, path: path.relative(temp.dir, p.path) }));
      const oldMeta = replica.get('core', 'opc-connection/old-meta')?.meta;
      // The older resource.json is rewritten with its defaults either way.
      const oldMetaFile = JSON.parse(readFileSync(path.join(temp.dir, 'config/resources/core/opcua/opc-connection/old-meta/resource.json'), 'utf8')) as Record<string, unknown>;
      const plc1 = replica.get('core', 'opc-connection/plc1');
      return { changes: changes.sort((a, b) => `${a.address} ${a.version}`.localeCompare(`${b.address} ${b.version}`)), problems, plc1, plc1Backup: plc1 && (await replica.read(plc1, 'backup')), oldMeta: { ...oldMeta, lastModification: undefined }, oldMetaKeys: Object.keys(oldMetaFile).sort() };
    };
    const fromDisk = await adopt(false);
    const fromArrival = await adopt(true);
    expect(fromArrival).toEqual(fromDisk);
    expect(fromDisk.problems.map((p) => p.resource).sort()).toEqual(['opc-connection/bad-json', 'opc-connection/bad-meta', 'opc-connection/bad-type']);
    expect(fromDisk.oldMeta).toMatchObject({ uuid: '0b1c2d3e-0000-4000-8000-000000000002', enabled: true });
    expect(fromDisk.oldMetaKeys).toEqual(['backupSignature', 'enabled', 'lastModification', 'signature', 'uuid']);
    expect(fromDisk.changes).toContainEqual({ address: 'opc-connection/old-meta', version: 'primary', op: 'create' });
    expect(fromDisk.plc1Backup?.endpointUrl).toBe(PLC1_BACKUP.endpointUrl);
  });

  it('adoptSnapshot over a core it holds: unchanged resources stay, changed ones are updated, gone ones deleted, and the store is what a start on the same disk loads', async () => {
    const master: TestDaemon = await startTestDaemon();
    cleanups.push(() => master.stop());
    await master.client.configSet('opc-connection/plc1', PLC1_PRIMARY);
    await master.client.configBackupAdd('opc-connection/plc1', PLC1_BACKUP);
    await master.client.configSet('opc-connection/plc2', PLC1_PRIMARY);
    await master.client.configSet('opc-connection/plc3', PLC1_PRIMARY);
    await master.client.configSet('opc-connection/plc5', PLC1_PRIMARY);
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const replica = await openStore(temp.dir);
    cleanups.push(() => replica.close());
    const { cpSync } = await import('node:fs');
    const masterCore = path.join(master.dataDir, 'config', 'resources', 'core');
    const replicaCore = path.join(temp.dir, 'config', 'resources', 'core');
    const adoptNow = async () => {
      rmSync(replicaCore, { recursive: true, force: true });
      cpSync(masterCore, replicaCore, { recursive: true });
      const contents = replica.snapshotContents();
      for (const [rel, text] of Object.entries(tree(masterCore))) contents.add(rel, [Buffer.from(text)]);
      const changes: AdoptedChange[] = [];
      const adopted = await replica.adoptSnapshot(master.daemon.config.revision, { swap: async () => ({ archive: null }), contents, onChange: (c) => changes.push(c) });
      return { ...adopted, changes };
    };
    await adoptNow();
    const plc5Before = replica.get('core', 'opc-connection/plc5');
    await master.client.configBackupRemove('opc-connection/plc1');
    await master.client.configSet('opc-connection/plc2', { ...PLC1_PRIMARY, username: 'ops' });
    await master.client.configDelete('opc-connection/plc3');
    await master.client.configSet('opc-connection/plc4', PLC1_PRIMARY);
    const adopted = await adoptNow();
    expect(adopted.changes.map((c) => [c.address, c.version, c.op]).sort()).toEqual([
      ['opc-connection/plc1', 'backup', 'delete'],
      ['opc-connection/plc2', 'primary', 'update'],
      ['opc-connection/plc3', 'primary', 'delete'],
      ['opc-connection/plc4', 'primary', 'create'],
    ]);
    expect([adopted.created, adopted.updated, adopted.deleted]).toEqual([1, 1, 2]);
    expect(replica.get('core', 'opc-connection/plc3')).toBeUndefined();
    expect(replica.get('core', 'opc-connection/plc1')!.hasBackup).toBe(false);
    expect((await replica.read(replica.get('core', 'opc-connection/plc2')!, 'primary')).username).toBe('ops');
    expect(replica.get('core', 'opc-connection/plc5')).toEqual(plc5Before);
    const held = replica.list();
    // What a start on the same disk loads and journals: the same resources, nothing to journal.
    await replica.close();
    const reopened = await ConfigStore.open(storeOptions(temp.dir));
    cleanups.push(() => reopened.store.close());
    expect(reopened.startup).toEqual([]);
    expect(reopened.store.list()).toEqual(held);
    expect(reopened.store.revision).toBe(adopted.revision);
  });

  it('adoptSnapshot collects its garbage every adoptionCollectEvery resources and once after its plan, and not at all for a core smaller than that', async () => {
    const master: TestDaemon = await startTestDaemon();
    cleanups.push(() => master.stop());
    for (let i = 1; i <= 5; i++) await master.client.configSet(`opc-connection/plc${i}`, PLC1_PRIMARY);
    const masterCore = path.join(master.dataDir, 'config', 'resources', 'core');
    const { cpSync } = await import('node:fs');
    const adopt = async (every: number | undefined) => {
      const temp = makeTempDir();
      cleanups.push(temp.cleanup);
      let collections = 0;
      const replica = (await ConfigStore.open({ ...storeOptions(temp.dir), adoptionCollectEvery: every, collectGarbage: () => void (collections += 1) })).store;
      cleanups.push(() => replica.close());
      cpSync(masterCore, path.join(temp.dir, 'config', 'resources', 'core'), { recursive: true });
      const contents = replica.snapshotContents();
      for (const [rel, text] of Object.entries(tree(masterCore))) contents.add(rel, [Buffer.from(text)]);
      await replica.adoptSnapshot(master.daemon.config.revision, { swap: async () => ({ archive: null }), contents });
      return { collections, resources: replica.list().filter((r) => r.collection === 'core').length };
    };
    // Five resources and gateway-settings: at the 2nd, 4th and 6th, then after the plan.
    expect(await adopt(2)).toEqual({ collections: 4, resources: 6 });
    expect(await adopt(undefined)).toEqual({ collections: 0, resources: 6 });
  });

  it('adoptSnapshot: a refused swap or a new core that cannot be read leaves the store as it was, and puts the previous core back', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const replica = await openStore(temp.dir);
    cleanups.push(() => replica.close());
    const before = replica.revision;
    await expect(replica.adoptSnapshot(7, { swap: () => Promise.reject(new Error('hashes do not match')), contents: replica.snapshotContents() })).rejects.toThrow(/hashes do not match/);
    expect(replica.revision).toBe(before);
    let unswapped = 0;
    const unreadable = { paths(): Iterable<string> { throw new Error('cannot read the new core'); } } as unknown as SnapshotContents;
    await expect(
      replica.adoptSnapshot(7, { swap: async () => ({ archive: null }), contents: unreadable, unswap: async () => void (unswapped += 1) }),
    ).rejects.toThrow(/cannot read the new core/);
    expect(unswapped).toBe(1);
    expect(replica.revision).toBe(before);
    expect(replica.syncedRevision).toBe(0);
  });

  it('a crash between the journal restart and the state file: the next start holds the snapshot at its revision with the master metadata, and never goes back in revision', async () => {
    const master: TestDaemon = await startTestDaemon();
    cleanups.push(() => master.stop());
    await master.client.configSet('opc-connection/plc1', PLC1_PRIMARY);
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const replica = await openStore(temp.dir);
    await replica.put(parseAddress('database-connection/local-db', types), 'local', 'primary', { driver: 'sqlite', connectUrl: 'file:x' }, 'test');
    const stateFile = path.join(temp.dir, 'var', 'config-state.json');
    const staleState = readFileSync(stateFile, 'utf8');
    const { cpSync } = await import('node:fs');
    cpSync(path.join(master.dataDir, 'config', 'resources', 'core'), path.join(temp.dir, 'config', 'resources', 'core'), { recursive: true });
    const adopted = await replica.adoptSnapshot(master.daemon.config.revision, { swap: async () => ({ archive: null }) });
    await replica.close();
    // As if the process died right after the journal restart: the state file from before.
    writeFileSync(stateFile, staleState);
    const reopened = await ConfigStore.open(storeOptions(temp.dir));
    cleanups.push(() => reopened.store.close());
    // The journal's restart committed the snapshot: the store is at its revision, nothing journaled again.
    expect(reopened.store.revision).toBe(adopted.revision);
    expect(reopened.startup).toEqual([]);
    expect(reopened.store.syncedRevision).toBe(master.daemon.config.revision);
    expect((await reopened.store.read(reopened.store.get('core', 'opc-connection/plc1')!, 'primary')).endpointUrl).toBe(PLC1_PRIMARY.endpointUrl);
    const meta = (dir: string): string => readFileSync(path.join(dir, 'config', 'resources', 'core', 'opcua', 'opc-connection', 'plc1', 'resource.json'), 'utf8');
    expect(meta(temp.dir)).toBe(meta(master.dataDir));
    // Without any state file the revision still does not go back below the snapshot's.
    await reopened.store.close();
    rmSync(stateFile);
    const again = await ConfigStore.open(storeOptions(temp.dir));
    cleanups.push(() => again.store.close());
    expect(again.store.revision).toBeGreaterThanOrEqual(adopted.revision);
    expect(again.store.get('local', 'database-connection/local-db')).toBeDefined();
  });

  it('a replicated batch is durable by its journal: its files are fsync\'d at the checkpoint, and a crash before it (their content lost) rolls them forward at the next start', async () => {
    const master: TestDaemon = await startTestDaemon();
    cleanups.push(() => master.stop());
    await master.client.configSet('opc-connection/plc1', PLC1_PRIMARY);
    await master.client.configBackupAdd('opc-connection/plc1', PLC1_BACKUP);
    await master.client.configSet('opc-connection/plc2', PLC1_PRIMARY);
    await master.client.configSet('opc-connection/plc3', PLC1_PRIMARY);
    await master.client.configDelete('opc-connection/plc3');
    await master.client.configSet('opc-connection/plc2', { ...PLC1_PRIMARY, username: 'ops' });
    const entries = journal(master.dataDir);
    const last = entries.at(-1)!.revision;
    const resources = (dir: string): Record<string, string> => tree(path.join(dir, 'config', 'resources'));
    const stateRevision = (dir: string): number | null => {
      const file = path.join(dir, 'var', 'config-state.json');
      return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { revision: number }).revision : null;
    };

    // A crash before the checkpoint (none comes within the test): the state file stays where it
    // was, and the files, written without fsync, lose their content (as a power cut may leave them).
    const crashed = makeTempDir();
    cleanups.push(crashed.cleanup);
    const replica = await ConfigStore.open({ ...storeOptions(crashed.dir), checkpointIdleMs: 3_600_000 });
    expect(await replica.store.replayBatch(entries)).toBe(entries.length);
    expect(resources(crashed.dir)).toEqual(resources(master.dataDir));
    expect(stateRevision(crashed.dir) ?? 0).toBe(0);
    const files = Object.keys(resources(crashed.dir));
    expect(files.length).toBeGreaterThan(3);
    for (const f of files) writeFileSync(path.join(crashed.dir, 'config', 'resources', f), '');
    rmSync(path.join(crashed.dir, 'config', 'resources', files[0]!));
    const reopened = await openStore(crashed.dir);
    cleanups.push(() => reopened.close());
    expect(reopened.problems).toEqual([]);
    expect(resources(crashed.dir)).toEqual(resources(master.dataDir));
    expect(reopened.revision).toBe(last);
    expect(reopened.syncedRevision).toBe(last);
    expect(stateRevision(crashed.dir)).toBe(last);
    // Nothing was taken for a hand edit: the journal holds the replicated entries and no more.
    expect(journal(crashed.dir)).toHaveLength(entries.length);

    // Without a crash the checkpoint comes once the store is idle, and at the latest at close().
    const idle = makeTempDir();
    cleanups.push(idle.cleanup);
    const quick = (await ConfigStore.open({ ...storeOptions(idle.dir), checkpointIdleMs: 20 })).store;
    cleanups.push(() => quick.close());
    await quick.replayBatch(entries);
    const deadline = Date.now() + 10_000;
    while (stateRevision(idle.dir) !== last && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(stateRevision(idle.dir)).toBe(last);
    const closing = makeTempDir();
    cleanups.push(closing.cleanup);
    const slow = (await ConfigStore.open({ ...storeOptions(closing.dir), checkpointIdleMs: 3_600_000 })).store;
    await slow.replayBatch(entries);
    expect(stateRevision(closing.dir) ?? 0).toBe(0);
    await slow.close();
    expect(stateRevision(closing.dir)).toBe(last);
    // The crashed store's lock and handle go last (its checkpoint, at close, finds its files intact).
    cleanups.push(() => replica.store.close());
  });

  it('refuses an entry whose content does not match its signature', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const store = await openStore(temp.dir);
    cleanups.push(() => store.close());
    const err = await store
      .replay({
        revision: 1,
        op: 'create',
        collection: 'core',
        address: 'opc-connection/plc1',
        module: 'opcua',
        type: 'opc-connection',
        name: 'plc1',
        version: 'primary',
        content: PLC1_PRIMARY,
        signature: '0'.repeat(64),
        deleted: false,
        meta: null,
        actor: 'x',
        timestamp: new Date(0).toISOString(),
      })
      .catch((e: unknown) => e);
    expect((err as GwError).code).toBe('GW_ERR_CONFIG_INVALID');
    expect(store.revision).toBe(0);
  });

  it('refuses the removal of a Backup version of a resource it does not have (a lone resource.json), alone or in a batch; fine after the create in the same batch', async () => {
    const master: TestDaemon = await startTestDaemon();
    cleanups.push(() => master.stop());
    await master.client.configSet('opc-connection/plc1', PLC1_PRIMARY);
    await master.client.configBackupAdd('opc-connection/plc1', PLC1_BACKUP);
    await master.client.configBackupRemove('opc-connection/plc1');
    const entries = journal(master.dataDir);
    const removal = entries.at(-1)!;
    expect(removal).toMatchObject({ deleted: true, version: 'backup' });

    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const replica = await openStore(temp.dir);
    cleanups.push(() => replica.close());
    const resources = (dir: string): Record<string, string> => tree(path.join(dir, 'config', 'resources'));
    for (const attempt of [() => replica.replay(removal), () => replica.replayBatch([removal])]) {
      const err = await attempt().catch((e: unknown) => e);
      expect((err as GwError).code).toBe('GW_ERR_CONFIG_INVALID');
      expect((err as GwError).message).toContain('removes the Backup version of a resource this node does not have');
      expect(existsSync(path.join(temp.dir, 'config', 'resources', 'core'))).toBe(false);
      expect(replica.revision).toBe(0);
    }
    expect(await replica.replayBatch(entries)).toBe(entries.length);
    expect(resources(temp.dir)).toEqual(resources(master.dataDir));
  });

  it('refuses an entry whose name or module would point outside the store', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const store = await openStore(temp.dir);
    cleanups.push(() => store.close());
    const base = {
      revision: 1,
      op: 'create' as const,
      collection: 'core' as const,
      type: 'opc-connection',
      version: 'primary' as const,
      content: PLC1_PRIMARY,
      signature: null,
      deleted: false,
      meta: null,
      actor: 'x',
      timestamp: new Date(0).toISOString(),
    };
    const traversal = { ...base, address: 'opc-connection/../../../x', module: 'opcua', name: '../../../x' };
    expect(((await store.replay(traversal).catch((e: unknown) => e)) as GwError).code).toBe('GW_ERR_CONFIG_BAD_ADDRESS');
    const module = { ...base, address: 'opc-connection/plc1', module: '../../etc', name: 'plc1' };
    expect(((await store.replay(module).catch((e: unknown) => e)) as GwError).code).toBe('GW_ERR_CONFIG_BAD_ADDRESS');
    expect(store.revision).toBe(0);
  });
});
