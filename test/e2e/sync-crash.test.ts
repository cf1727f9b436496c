import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { freePort } from '../helpers/fixed-port-node.js';
import { waitFor } from '../helpers/processes.js';
import { coreHashes, makeBackup, makeMaster, seedResources, syncNode, waitSynced, type SyncNode } from '../helpers/sync-pair.js';

/**
 * kill -9 of the backup at several moments of a full snapshot of 2,000 resources and of a burst of
 * incremental changes, and of the master during both: after every kill the backup's core is the whole
 * old one or the whole new one, and after a restart the pair converges.
 */
const RESOURCES = 2000;
let master: SyncNode;
let backup: SyncNode;

beforeAll(async () => {
  // A fixed port: the master is restarted too, and the backup must find it again.
  master = syncNode('crash-master', await freePort());
  backup = syncNode('crash-backup');
  seedResources(master.dataDir, RESOURCES);
  seedResources(backup.dataDir, 5, 'own');
  await Promise.all([master.start(), backup.start()]);
  await makeMaster(master);
}, 60_000);
afterEach((ctx) => {
  if (ctx.task.result?.state !== 'fail') return;
  for (const n of [master, backup]) process.stderr.write(`\n----- gwd ${n.name} (${n.dataDir}) -----\n${n.output()}`);
});
afterAll(async () => {
  await Promise.all([master, backup].filter(Boolean).map((n) => n.destroy()));
});

const same = (a: Record<string, string>, b: Record<string, string>): boolean => JSON.stringify(a) === JSON.stringify(b);
const syncDir = (): string => path.join(backup.dataDir, 'var', 'sync');
const staging = (): boolean => existsSync(syncDir()) && readdirSync(syncDir()).some((n) => n.startsWith('staging-'));

describe('crash safety of the backup', () => {
  it(`kill -9 during a full snapshot of ${RESOURCES} resources: the whole old core or the whole new one, then convergence`, async () => {
    const old = coreHashes(backup.dataDir);
    const fresh = coreHashes(master.dataDir);
    expect(Object.keys(fresh).length).toBeGreaterThanOrEqual(RESOURCES * 2);
    await makeBackup(backup, master);
    const seen = { old: 0, new: 0 };
    // Moments: as soon as the staging directory appears (mid-transfer), then after growing delays
    // from the start of the process (before the request, during the swap and adoption, after it).
    const moments: Array<() => Promise<void>> = [
      () => waitFor('staging to appear', () => (staging() ? true : undefined), 15_000, 2),
      () => new Promise((r) => setTimeout(r, 40)),
      () => new Promise((r) => setTimeout(r, 150)),
      () => new Promise((r) => setTimeout(r, 350)),
    ];
    for (const [i, moment] of moments.entries()) {
      if (i > 0) await backup.start();
      await moment();
      await backup.kill9();
      const now = coreHashes(backup.dataDir);
      const which = same(now, old) ? 'old' : same(now, fresh) ? 'new' : null;
      expect(which, `after kill ${i} the core is a mix: ${Object.keys(now).length} files`).not.toBeNull();
      seen[which!]++;
    }
    await backup.start();
    await waitSynced(master, backup, 30_000);
    expect(coreHashes(backup.dataDir)).toEqual(coreHashes(master.dataDir));
    // At least the first kill hit the transfer itself.
    expect(seen.old).toBeGreaterThan(0);
  }, 90_000);

  it('kill -9 during a burst of incremental changes: no torn file, and convergence after restart', async () => {
    await waitSynced(master, backup, 20_000);
    let stop = false;
    const burst = (async () => {
      for (let i = 0; !stop && i < 400; i++) {
        await master.client.configSet(`opc-connection/plc${i % 50}`, { endpointUrl: `opc.tcp://burst-${i}:4840` });
      }
    })();
    for (const delay of [100, 300]) {
      await new Promise((r) => setTimeout(r, delay));
      await backup.kill9();
      // Every file of the core parses: each change is written atomically, and the journal rolls a
      // change cut in the middle forward at the next start.
      for (const f of Object.keys(coreHashes(backup.dataDir))) {
        expect(() => JSON.parse(readFileSync(path.join(backup.dataDir, 'config/resources/core', f), 'utf8')), f).not.toThrow();
      }
      await backup.start();
    }
    stop = true;
    await burst;
    await waitSynced(master, backup, 30_000);
    expect(coreHashes(backup.dataDir)).toEqual(coreHashes(master.dataDir));
  }, 60_000);

  it('kill -9 of the master during a full snapshot and during a burst: the backup keeps a whole core, the pair converges after the restart', async () => {
    // A new backup with its own core, so the snapshot it gets is a real change.
    await backup.destroy();
    backup = syncNode('crash-backup-2');
    seedResources(backup.dataDir, 5, 'mine');
    await backup.start();
    const old = coreHashes(backup.dataDir);
    const fresh = coreHashes(master.dataDir);
    await makeBackup(backup, master);
    await waitFor('staging on the new backup', () => (staging() ? true : undefined), 15_000, 2);
    await master.kill9();
    const afterKill = (): 'old' | 'new' | null => {
      const now = coreHashes(backup.dataDir);
      return same(now, old) ? 'old' : same(now, fresh) ? 'new' : null;
    };
    expect(afterKill()).not.toBeNull();
    // Whatever the backup does meanwhile (abort, take over), it never holds a mix.
    await new Promise((r) => setTimeout(r, 300));
    expect(afterKill()).not.toBeNull();
    await master.start();
    await waitSynced(master, backup, 30_000);
    expect(coreHashes(backup.dataDir)).toEqual(coreHashes(master.dataDir));

    // A burst on the master, killed in the middle of it (a request in flight may fail).
    const burst = (async () => {
      for (let i = 0; i < 300; i++) {
        try {
          await master.client.configSet(`opc-connection/plc${i % 40}`, { endpointUrl: `opc.tcp://m-burst-${i}:4840` });
        } catch {
          return;
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 250));
    await master.kill9();
    await burst;
    await master.start();
    await waitSynced(master, backup, 30_000);
    expect(coreHashes(backup.dataDir)).toEqual(coreHashes(master.dataDir));
  }, 90_000);
});
