import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';

import { parseAddress } from '../../src/core/config-address.js';
import type { JournalEntry } from '../../src/core/config-model.js';
import { ConfigStore } from '../../src/daemon/config/config-store.js';
import { ConfigJournal } from '../../src/daemon/config/journal.js';
import { loadResourceTypes } from '../../src/daemon/config/type-registry.js';
import { SchemaRegistry } from '../../src/daemon/schema-registry.js';
import { journal, tree } from '../helpers/config-files.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const schemas = new SchemaRegistry();
const types = loadResourceTypes(schemas);
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function openStore(journalMaxBytes?: number): Promise<{ store: ConfigStore; dir: string }> {
  const temp = makeTempDir();
  cleanups.push(temp.cleanup);
  const { store } = await ConfigStore.open({
    resourcesDir: path.join(temp.dir, 'config', 'resources'),
    varDir: path.join(temp.dir, 'var'),
    schemas,
    types,
    logger: pino({ level: 'silent' }),
    journalMaxBytes,
  });
  cleanups.push(() => store.close());
  return { store, dir: temp.dir };
}

const plc = (n: number) => parseAddress(`opc-connection/plc${n}`, types);
const resources = (dir: string): Record<string, string> => {
  const root = path.join(dir, 'config', 'resources');
  return existsSync(root) ? tree(root) : {};
};

async function masterWith(changes: number): Promise<{ store: ConfigStore; dir: string; entries: JournalEntry[] }> {
  const m = await openStore();
  for (let i = 0; i < changes; i++) {
    await m.store.put(plc(i % 7), 'core', 'primary', { endpointUrl: `opc.tcp://10.0.0.${i}:4840` }, 'test');
    if (i % 5 === 0) await m.store.addBackup(plc(i % 7), 'core', undefined, 'test').catch(() => undefined);
    if (i % 11 === 0) await m.store.delete(plc(i % 7), 'core', 'test');
  }
  return { ...m, entries: journal(m.dir) };
}

describe('journal compaction (syncJournalMaxBytes)', () => {
  it('keeps the newest entries within half the bound, atomically, and reports the tail', async () => {
    const { store, dir } = await openStore(4096);
    for (let i = 0; i < 60; i++) await store.put(plc(i), 'core', 'primary', { endpointUrl: `opc.tcp://10.0.0.${i}:4840` }, 'test');
    const file = path.join(dir, 'var', 'config-journal.ndjson');
    const size = statSync(file).size;
    expect(size).toBeLessThanOrEqual(4096);
    expect(store.journalBytes).toBe(size);
    const kept = journal(dir);
    expect(kept.at(-1)!.revision).toBe(store.revision);
    expect(store.journalFirst).toBe(kept[0]!.revision);
    expect(kept[0]!.revision).toBeGreaterThan(1);
    // Dense from the tail to the head: nothing in between is lost.
    kept.forEach((e, i) => expect(e.revision).toBe(kept[0]!.revision + i));
    expect(await store.since(store.journalFirst! - 1)).toHaveLength(kept.length);
  });

  it('after a reopen the tail is known again and appends go on after the compacted lines', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const file = path.join(temp.dir, 'j.ndjson');
    const { journal: j } = await ConfigJournal.open(file);
    const line = (revision: number): JournalEntry => ({ revision, address: 'x', pad: 'y'.repeat(100) }) as unknown as JournalEntry;
    for (let r = 1; r <= 40; r++) await j.append(line(r));
    const result = await j.compactIfOver(2000);
    expect(result!.first).toBeGreaterThan(1);
    await j.append(line(41));
    await j.close();
    const reopened = await ConfigJournal.open(file);
    expect(reopened.journal.first).toBe(result!.first);
    expect(reopened.entries.at(-1)!.revision).toBe(41);
    expect(reopened.truncatedBytes).toBe(0);
    expect(readFileSync(file, 'utf8').endsWith('\n')).toBe(true);
    await reopened.journal.close();
  });
});

describe('journal appends', () => {
  it('one append of more entries than fit in one string piece is written whole, in order, with non-ASCII text intact', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const file = path.join(temp.dir, 'j.ndjson');
    const { journal: j } = await ConfigJournal.open(file);
    // 12,000 entries of ~1.5 KB: about 18 MB, so at least three pieces of 8 MiB characters (a
    // rescan of 100,000 resources joined into one string was past V8's longest string).
    const entries = Array.from({ length: 12_000 }, (_, i) => ({ revision: i + 1, address: `opc-connection/c${i}`, pad: 'é'.repeat(700) }) as unknown as JournalEntry);
    await j.appendMany(entries);
    expect(j.size).toBe(statSync(file).size);
    await j.close();
    const reopened = await ConfigJournal.open(file);
    expect(reopened.truncatedBytes).toBe(0);
    expect(reopened.entries.map((e) => e.revision)).toEqual(entries.map((e) => e.revision));
    expect((reopened.entries.at(-1) as unknown as { pad: string }).pad).toBe('é'.repeat(700));
    await reopened.journal.close();
  });
});

describe('journal restart (a full snapshot adopted)', () => {
  it('archives the old file whole, starts from a base line that survives compaction and reopening, and never resumes across it', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const file = path.join(temp.dir, 'j.ndjson');
    const archive = path.join(temp.dir, 'archive', 'x', 'config-journal.ndjson');
    const { journal: j } = await ConfigJournal.open(file);
    const line = (revision: number): JournalEntry => ({ revision, address: 'x', pad: 'y'.repeat(100) }) as unknown as JournalEntry;
    for (let r = 1; r <= 5; r++) await j.append(line(r));
    const old = readFileSync(file, 'utf8');
    expect(await j.restart(archive, { revision: 6, sourceRevision: 40, timestamp: '2026-11-25T00:00:00.000Z' })).toBe(true);
    expect(readFileSync(archive, 'utf8')).toBe(old);
    expect(j.first).toBeNull();
    expect(await j.since(0)).toEqual([]);
    for (let r = 7; r <= 40; r++) await j.append(line(r));
    expect((await j.compactIfOver(2000))!.first).toBeGreaterThan(7);
    expect(readFileSync(file, 'utf8').split('\n')[0]).toContain('"base":true');
    await j.close();
    const reopened = await ConfigJournal.open(file);
    cleanups.push(() => reopened.journal.close());
    expect(reopened.base).toMatchObject({ revision: 6, sourceRevision: 40 });
    expect(reopened.entries.at(-1)!.revision).toBe(40);
    expect(reopened.entries.every((e) => e.revision > 7)).toBe(true);
    expect(reopened.truncatedBytes).toBe(0);
    expect(reopened.badLines).toEqual([]);
  });

  it('a failed restart leaves the journal as it was and usable', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const file = path.join(temp.dir, 'j.ndjson');
    const { journal: j } = await ConfigJournal.open(file);
    cleanups.push(() => j.close());
    const line = (revision: number): JournalEntry => ({ revision, address: 'x' }) as unknown as JournalEntry;
    await j.append(line(1));
    const { setFaultInjector, fsError } = await import('../../src/daemon/storage/fault-injection.js');
    setFaultInjector((op, f) => (op === 'write' && f === file ? fsError('ENOSPC', f) : null));
    try {
      const err = await j.restart(path.join(temp.dir, 'a', 'j.ndjson'), { revision: 2, sourceRevision: 9, timestamp: 'x' }).catch((e: unknown) => e);
      expect((err as { code: string }).code).toBe('GW_ERR_STORAGE_WRITE_FAILED');
    } finally {
      setFaultInjector(null);
    }
    await j.append(line(2));
    expect((await j.since(0)).map((e) => e.revision)).toEqual([1, 2]);
    expect(existsSync(path.join(temp.dir, 'a', 'j.ndjson'))).toBe(false);
  });
});

describe('replayBatch (the backup applying a burst)', () => {
  it('reproduces the master, skips what is already applied, and is idempotent', async () => {
    const master = await masterWith(40);
    const replica = await openStore();
    const half = Math.floor(master.entries.length / 2);
    expect(await replica.store.replayBatch(master.entries.slice(0, half))).toBe(half);
    // Overlapping batch: the first half is skipped.
    expect(await replica.store.replayBatch(master.entries)).toBe(master.entries.length - half);
    expect(await replica.store.replayBatch(master.entries)).toBe(0);
    expect(replica.store.syncedRevision).toBe(master.store.revision);
    expect(resources(replica.dir)).toEqual(resources(master.dir));
  });

  it('a batch with a forged entry changes nothing: bad signature, local collection, an address outside the store', async () => {
    const master = await masterWith(5);
    const replica = await openStore();
    const before = resources(replica.dir);
    const good = master.entries[0]!;
    const forged: JournalEntry[] = [
      { ...good, revision: 1000, content: { endpointUrl: 'opc.tcp://evil:4840' } },
      { ...good, revision: 1000, collection: 'local' },
      { ...good, revision: 1000, address: 'opc-connection/../../../etc', name: '../../../etc' },
      { ...good, revision: 1000, type: 'gateway-settings', address: 'opc-connection/plc0' },
    ];
    for (const f of forged) {
      await expect(replica.store.replayBatch([...master.entries.slice(0, 2), f])).rejects.toHaveProperty('code');
      expect(replica.store.syncedRevision).toBe(0);
      expect(resources(replica.dir)).toEqual(before);
    }
  });
});

describe('var/sync-state.json (SyncStateStore)', () => {
  it('a change is in memory at once and written in order; after a failed write the same change is written again and its caller hears of the failure', async () => {
    const { SyncStateStore } = await import('../../src/daemon/sync/sync-state.js');
    const { setFaultInjector, fsError } = await import('../../src/daemon/storage/fault-injection.js');
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const state = await SyncStateStore.open(temp.dir);
    const onDisk = (): { holder: string | null } => JSON.parse(readFileSync(path.join(temp.dir, 'sync-state.json'), 'utf8')) as { holder: string | null };
    await state.update({ holder: 'p' });
    expect(onDisk().holder).toBe('p');
    setFaultInjector((op, f) => (op === 'write' && f === state.file ? fsError('EIO', f) : null));
    try {
      const cleared = state.update({ holder: null });
      expect(state.holder).toBeNull();
      await expect(cleared).rejects.toMatchObject({ code: 'GW_ERR_STORAGE_WRITE_FAILED' });
      // The same change again (memory already says null): still written, and still refused.
      await expect(state.update({ holder: null })).rejects.toMatchObject({ code: 'GW_ERR_STORAGE_WRITE_FAILED' });
    } finally {
      setFaultInjector(null);
    }
    expect(onDisk().holder).toBe('p');
    await state.update({ holder: null });
    expect(onDisk().holder).toBeNull();
    // Nothing new to write: resolves without a write.
    await state.update({ holder: null });
    await state.flush();
    expect((await SyncStateStore.open(temp.dir)).holder).toBeNull();
  });
});
