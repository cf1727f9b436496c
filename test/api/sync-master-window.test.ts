import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';

import { SNAPSHOT_WINDOW_BYTES, type SyncMessage } from '../../src/core/sync/messages.js';
import { ConfigStore } from '../../src/daemon/config/config-store.js';
import { loadResourceTypes } from '../../src/daemon/config/type-registry.js';
import { EventLog } from '../../src/daemon/events/event-log.js';
import { SchemaRegistry } from '../../src/daemon/schema-registry.js';
import { MasterSide } from '../../src/daemon/sync/sync-master.js';
import { waitFor } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * A full snapshot is sent at the pace the backup takes it: no more than SNAPSHOT_WINDOW_BYTES (and
 * a part) beyond what the backup reported with sync.snapshotReceived. Without the window a backup
 * whose disk was slower than the network queued the whole snapshot in memory (1.1 GB at 100,000
 * resources).
 */
describe('MasterSide: the snapshot send window', () => {
  it('stops a window beyond what the backup reported taken, goes on as it reports, and a closed side stops waiting', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const schemas = new SchemaRegistry();
    const logger = pino({ level: 'silent' });
    const { store } = await ConfigStore.open({ resourcesDir: path.join(temp.dir, 'resources'), varDir: path.join(temp.dir, 'var'), schemas, types: loadResourceTypes(schemas), logger });
    cleanups.push(() => store.close());
    // 96 files of 1 MiB in the core: several windows' worth.
    const coreDir = path.join(temp.dir, 'resources', 'core');
    const mib = Buffer.alloc(1024 * 1024, 0x61);
    for (let i = 0; i < 96; i++) {
      const dir = path.join(coreDir, 'm', 't', `r${String(i).padStart(2, '0')}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'config.json'), mib);
    }
    const sent: SyncMessage[] = [];
    let chunkBytes = 0;
    const events = await EventLog.open({ file: null });
    const master = new MasterSide({
      nodeId: 'master-uuid',
      peerUuid: 'backup-uuid',
      store,
      coreDir,
      events,
      logger,
      send: (m) => (sent.push(m), true),
      sendChunk: (_chunk, payload) => ((chunkBytes += payload.length), true),
      paced: async () => undefined,
    });
    cleanups.push(() => master.close());
    const pushing = master.pushFull();
    const id = await waitFor('the snapshot to start', () => (sent.find((m) => m.type === 'sync.snapshotStream') as { id: string } | undefined)?.id, 10_000);
    // Nothing reported taken: it stops within a window (and the part that crossed it).
    await waitFor('a window sent', () => (chunkBytes > SNAPSHOT_WINDOW_BYTES ? true : undefined), 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const first = chunkBytes;
    expect(first).toBeGreaterThan(SNAPSHOT_WINDOW_BYTES);
    expect(first).toBeLessThanOrEqual(SNAPSHOT_WINDOW_BYTES + 8 * 1024 * 1024);
    // A report for another snapshot changes nothing; one for this one opens the window again.
    master.onReceived('other-id', first);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(chunkBytes).toBe(first);
    master.onReceived(id, first);
    await waitFor('the next window sent', () => (chunkBytes >= first + SNAPSHOT_WINDOW_BYTES ? true : undefined), 10_000);
    // Closed (the link went down) while it waits: the send gives up and the store's lock is free.
    master.close();
    await pushing;
    expect(chunkBytes).toBeLessThan(96 * 1024 * 1024);
    await store.locked(async () => undefined);
  }, 30_000);
});
