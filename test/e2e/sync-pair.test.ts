import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { ConfigResourceResponse } from '../../src/core/config-wire.js';
import type { EventRecord } from '../../src/core/wire.js';
import { PLC1_BACKUP, PLC1_PRIMARY } from '../helpers/config-files.js';
import { waitFor } from '../helpers/processes.js';
import { Prng } from '../helpers/prng.js';
import { coreHashes, hashTree, lastSeqOffline, makeBackup, makeMaster, syncNode, waitSynced, type SyncNode } from '../helpers/sync-pair.js';

/**
 * Two real gwd processes over plain ws: pairing with a full snapshot, 200 random changes, a backup
 * that was stopped resuming incrementally, and one older than the journal's tail getting a full
 * snapshot. The tests run in order on one pair.
 */
let master: SyncNode;
let backup: SyncNode;

beforeAll(async () => {
  master = syncNode('plant-a');
  backup = syncNode('plant-b');
  await Promise.all([master.start(), backup.start()]);
});
afterEach((ctx) => {
  if (ctx.task.result?.state !== 'fail') return;
  for (const n of [master, backup]) process.stderr.write(`\n----- gwd ${n.name} (${n.dataDir}) -----\n${n.output()}`);
});
afterAll(async () => {
  await Promise.all([master, backup].filter(Boolean).map((n) => n.destroy()));
});

const syncEventsAfter = async (n: SyncNode, seq: number, type: string): Promise<EventRecord[]> =>
  (await n.events('sync')).filter((e) => e.seq > seq && e.type === type);

async function changeMany(n: number, tag: string): Promise<void> {
  for (let i = 0; i < n; i++) await master.client.configSet(`opc-connection/${tag}${i % 25}`, { endpointUrl: `opc.tcp://${tag}-${i}:4840` });
}

describe('sync between two gwd processes', () => {
  it('pairing: the backup archives its own core, then holds exactly the master\'s, under the master\'s system name', async () => {
    expect((await backup.client.configSet('opc-connection/mine', { endpointUrl: 'opc.tcp://own:4840' })).entry).not.toBeNull();
    await master.client.configSet('opc-connection/plc1', PLC1_PRIMARY);
    await master.client.configBackupAdd('opc-connection/plc1', PLC1_BACKUP);
    const backupOwn = coreHashes(backup.dataDir);
    await makeMaster(master);
    await makeBackup(backup, master);
    const wait = await backup.ctl('wait', '--synced', '--peer-connected', '--timeout', '20');
    expect(wait.code, wait.stderr).toBe(0);
    await waitSynced(master, backup);

    expect(coreHashes(backup.dataDir)).toEqual(coreHashes(master.dataDir));
    const [done] = await syncEventsAfter(backup, 0, 'sync.completed');
    expect(done!.data).toMatchObject({ kind: 'full' });
    const archive = done!.data.archive as string;
    expect(path.dirname(archive)).toBe(path.join(backup.dataDir, 'var', 'archive'));
    // Every file the backup held is in the archive, byte for byte.
    const archived = hashTree(path.join(archive, 'core'));
    expect(archived).toEqual(backupOwn);
    expect(Object.keys(archived)).toContain('opcua/opc-connection/mine/config.json');

    const s = await backup.status();
    expect(s.node.systemName).toBe('plant-a');
    expect(s.redundancy.sync).toMatchObject({ state: 'InSync', revision: (await master.status()).config.revision });
    // The backup applies the Backup version at once; the master the Primary.
    const eff = await backup.ctl('--json', 'config', 'get', 'opc-connection/plc1', '--version', 'effective');
    expect(eff.code, eff.stderr).toBe(0);
    expect((JSON.parse(eff.stdout) as ConfigResourceResponse).content).toMatchObject(PLC1_BACKUP);
    const onMaster = (await master.client.configGet('opc-connection/plc1', 'effective')).content;
    expect(onMaster).toMatchObject(PLC1_PRIMARY);
  });

  it('200 random operations on the master (set, delete, backup add, backup remove): equal after gwctl wait --synced', async () => {
    const prng = new Prng(20261125);
    const exists = new Map<string, boolean>(); // name -> has a Backup version
    for (let i = 0; i < 200; i++) {
      const name = `opc-connection/r${prng.int(15)}`;
      const known = exists.get(name);
      const op = prng.int(4);
      if (known === undefined || op === 0) {
        await master.client.configSet(name, { endpointUrl: `opc.tcp://10.9.${prng.int(255)}.${i % 255}:4840`, enabled: prng.next() < 0.8 });
        exists.set(name, known ?? false);
      } else if (op === 1) {
        await master.client.configDelete(name);
        exists.delete(name);
      } else if (op === 2 && !known) {
        await master.client.configBackupAdd(name, prng.next() < 0.5 ? undefined : { endpointUrl: `opc.tcp://10.8.0.${i % 255}:4840` });
        exists.set(name, true);
      } else if (known) {
        await master.client.configBackupRemove(name);
        exists.set(name, false);
      } else {
        await master.client.configSet(name, { endpointUrl: `opc.tcp://10.7.0.${i % 255}:4840` }, { version: 'backup' });
        exists.set(name, true);
      }
    }
    const r = await master.ctl('wait', '--synced', '--timeout', '20');
    expect(r.code, r.stderr).toBe(0);
    expect((await backup.ctl('wait', '--synced', '--timeout', '20')).code).toBe(0);
    await waitSynced(master, backup);
    expect(coreHashes(backup.dataDir)).toEqual(coreHashes(master.dataDir));
  });

  it('a backup stopped while 50 resources change resumes incrementally', async () => {
    await backup.stop();
    const seq = lastSeqOffline(backup);
    await waitFor('the master to see the backup gone', async () => ((await master.status()).redundancy.sync.state === 'OutOfDate' ? true : undefined));
    await changeMany(50, 'inc');
    await backup.start();
    await waitSynced(master, backup);
    const started = await syncEventsAfter(backup, seq, 'sync.started');
    expect(started.map((e) => e.data.kind)).toEqual(['incremental']);
    expect((await syncEventsAfter(backup, seq, 'sync.completed'))[0]!.data).toMatchObject({ kind: 'incremental', archive: null });
    expect(coreHashes(backup.dataDir)).toEqual(coreHashes(master.dataDir));
  });

  it('a backup older than the journal tail (syncJournalMaxBytes exceeded while it was stopped) gets a full snapshot', async () => {
    await master.client.configureRedundancy({ syncJournalMaxBytes: 4096 });
    await backup.stop();
    const seq = lastSeqOffline(backup);
    await changeMany(50, 'tail');
    await backup.start();
    await waitSynced(master, backup);
    const started = await syncEventsAfter(backup, seq, 'sync.started');
    expect(started.map((e) => e.data.kind)).toEqual(['full']);
    expect(coreHashes(backup.dataDir)).toEqual(coreHashes(master.dataDir));
    await master.client.configureRedundancy({ syncJournalMaxBytes: 100 * 1024 * 1024 });
  });

  it('gwctl redundancy resync --wait: a full snapshot, archived; exit 4 when it cannot finish in time; refused when Independent', async () => {
    const r = await backup.ctl('--json', 'redundancy', 'resync', '--wait', '--timeout', '20');
    expect(r.code, r.stderr).toBe(0);
    const done = JSON.parse(r.stdout) as { kind: string; archive: string };
    expect(done.kind).toBe('full');
    expect(existsSync(done.archive)).toBe(true);
    expect(readdirSync(path.join(backup.dataDir, 'var', 'archive')).length).toBeGreaterThanOrEqual(2);
    const m = await master.ctl('redundancy', 'resync', '--wait', '--timeout', '20');
    expect(m.code, m.stderr).toBe(0);
    expect(m.stdout).toContain('full snapshot done');
    await waitSynced(master, backup);
    expect(coreHashes(backup.dataDir)).toEqual(coreHashes(master.dataDir));

    const late = await backup.ctl('redundancy', 'resync', '--wait', '--timeout', '0.001');
    expect(late.code).toBe(4);
    expect(late.stderr).toContain('GW_ERR_CLI_WAIT_TIMEOUT');
    await waitSynced(master, backup);

    const lone = syncNode('lone');
    try {
      await lone.start();
      const x = await lone.ctl('redundancy', 'resync');
      expect(x.code).toBe(1);
      expect(x.stderr).toContain('GW_ERR_SYNC_NOT_APPLICABLE');
    } finally {
      await lone.destroy();
    }
  });
});

