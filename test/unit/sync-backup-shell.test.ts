import { describe, expect, it, vi } from 'vitest';

import type { JournalEntry } from '../../src/core/config-model.js';
import type { SyncEntries, SyncMessage } from '../../src/core/sync/messages.js';
import type { ConfigStore } from '../../src/daemon/config/config-store.js';
import type { EventLog } from '../../src/daemon/events/event-log.js';
import type { Logger } from '../../src/daemon/logger.js';
import { BackupSide } from '../../src/daemon/sync/sync-backup.js';
import type { SyncStateStore } from '../../src/daemon/sync/sync-state.js';

// The machine's I/O shell (src/daemon/sync/sync-backup.ts) takes every input through one queue:
// a timeout or an operator's request that comes while entries are being applied is handled after
// the apply's result, not in the middle of it. A store whose apply the test holds open shows it.

const MASTER = '11111111-1111-1111-1111-111111111111';
const TIMEOUT_SECS = 0.05;

function entries(from: number, upTo: number): SyncEntries {
  const list: SyncEntries['entries'] = [];
  for (let r = from + 1; r <= upTo; r++) list.push({ revision: r } as SyncEntries['entries'][number]);
  return { type: 'sync.entries', from, upTo, latest: upTo, entries: list };
}

function shell() {
  const sent: SyncMessage[] = [];
  const events: Array<{ event: string; data: Record<string, unknown> }> = [];
  let release: () => void = () => undefined;
  const applying = new Promise<void>((resolve) => (release = resolve));
  let replays = 0;
  const store = {
    syncedRevision: 5,
    async replayBatch(batch: readonly JournalEntry[]) {
      replays++;
      await applying;
      return batch.length;
    },
    async noteSynced(revision: number) {
      store.syncedRevision = Math.max(store.syncedRevision, revision);
    },
    expectReplication() {},
  };
  const quiet = { warn: () => undefined, info: () => undefined, debug: () => undefined, error: () => undefined };
  const side = new BackupSide({
    peerUuid: MASTER,
    store: store as unknown as ConfigStore,
    state: { holder: MASTER, update: async () => undefined } as unknown as SyncStateStore,
    coreDir: '/nonexistent/core',
    varDir: '/nonexistent/var',
    events: { emit: (event: string, data: Record<string, unknown>) => events.push({ event, data }) } as unknown as EventLog,
    logger: quiet as unknown as Logger,
    send: (m) => {
      sent.push(m);
      return true;
    },
    timeoutSecs: () => TIMEOUT_SECS,
    retryMs: 60_000,
  });
  return { side, sent, events, release, replays: () => replays, store };
}

const names = (events: Array<{ event: string; data: Record<string, unknown> }>) => events.map((e) => (e.event === 'sync.failed' ? `${e.event}:${String(e.data.code)}` : e.event));
const sentKinds = (sent: SyncMessage[]) => sent.map((m) => (m.type === 'sync.ack' ? `ack:${m.revision}` : m.type === 'sync.request' ? `request:${m.full ? 'full' : m.revision}` : m.type));
const pastTheTimeout = () => new Promise((resolve) => setTimeout(resolve, TIMEOUT_SECS * 1000 * 4));

describe('the backup shell: one queue for every input', () => {
  it('a timeout that falls while a batch is applied is handled after it: the batch that completes the operation completes it', async () => {
    const s = shell();
    s.side.request();
    s.side.receive({ type: 'sync.begin', op: 1, kind: 'incremental', revision: 7 });
    s.side.receive(entries(5, 7));
    await vi.waitFor(() => expect(s.replays()).toBe(1), { timeout: 5000, interval: 5 });
    await pastTheTimeout();
    expect(names(s.events)).toEqual(['sync.started']);
    s.release();
    await vi.waitFor(() => expect(names(s.events)).toEqual(['sync.started', 'sync.completed']), { timeout: 5000, interval: 5 });
    expect(sentKinds(s.sent)).toEqual(['request:5', 'ack:7']);
    expect(s.side.syncing).toBe(false);
    expect(s.side.failed).toBeNull();
    s.side.close();
  });

  it('a batch that does not complete the operation: the timeout that fell meanwhile fails it once the batch is in', async () => {
    const s = shell();
    s.side.request();
    s.side.receive({ type: 'sync.begin', op: 1, kind: 'incremental', revision: 9 });
    s.side.receive(entries(5, 7));
    await vi.waitFor(() => expect(s.replays()).toBe(1), { timeout: 5000, interval: 5 });
    await pastTheTimeout();
    s.release();
    await vi.waitFor(() => expect(names(s.events)).toEqual(['sync.started', 'sync.failed:GW_ERR_SYNC_TIMEOUT']), { timeout: 5000, interval: 5 });
    // The batch was applied and acknowledged before the timeout was handled.
    expect(sentKinds(s.sent)).toEqual(['request:5', 'ack:7']);
    expect(s.store.syncedRevision).toBe(7);
    s.side.close();
  });

  it("an operator's resync during an apply is handled after the apply's result, in the order they came", async () => {
    const s = shell();
    s.side.request();
    s.side.receive({ type: 'sync.begin', op: 1, kind: 'incremental', revision: 7 });
    s.side.receive(entries(5, 7));
    await vi.waitFor(() => expect(s.replays()).toBe(1), { timeout: 5000, interval: 5 });
    s.side.request(true);
    // Nothing of the resync yet: the apply under way is still the last thing the machine decided.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sentKinds(s.sent)).toEqual(['request:5']);
    s.release();
    await vi.waitFor(() => expect(sentKinds(s.sent)).toEqual(['request:5', 'ack:7', 'request:full']), { timeout: 5000, interval: 5 });
    expect(names(s.events)).toEqual(['sync.started', 'sync.completed']);
    expect(s.side.syncing).toBe(true);
    s.side.close();
    await vi.waitFor(() => expect(names(s.events)).toEqual(['sync.started', 'sync.completed', 'sync.failed:GW_ERR_SYNC_FAILED']), { timeout: 5000, interval: 5 });
  });

  it('the link down while a batch is applied: nothing from outside is taken after it, nothing more is sent, the operation fails as the link went down', async () => {
    const s = shell();
    s.side.request();
    s.side.receive({ type: 'sync.begin', op: 1, kind: 'incremental', revision: 9 });
    s.side.receive(entries(5, 7));
    await vi.waitFor(() => expect(s.replays()).toBe(1), { timeout: 5000, interval: 5 });
    s.side.receive(entries(7, 9));
    s.side.close();
    s.side.receive(entries(9, 10));
    s.side.request(true);
    s.release();
    await vi.waitFor(() => expect(names(s.events)).toEqual(['sync.started', 'sync.failed:GW_ERR_SYNC_FAILED']), { timeout: 5000, interval: 5 });
    await pastTheTimeout();
    // Applied, but not acknowledged: the link is down (a message would reach the next connection).
    expect(sentKinds(s.sent)).toEqual(['request:5']);
    expect(s.replays()).toBe(1);
    expect(s.store.syncedRevision).toBe(7);
  });
});
