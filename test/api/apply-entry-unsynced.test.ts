import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';

import type { JournalEntry } from '../../src/core/config-model.js';
import { parseAddress } from '../../src/core/config-address.js';
import { applyEntry, prepareEntries, UNSYNCED_CHUNK, type DirtyFiles } from '../../src/daemon/config/apply-entry.js';
import { ConfigStore } from '../../src/daemon/config/config-store.js';
import { loadResourceTypes } from '../../src/daemon/config/type-registry.js';
import { SchemaRegistry } from '../../src/daemon/schema-registry.js';
import { fsError, setFaultInjector } from '../../src/daemon/storage/fault-injection.js';
import { FileBatchThread, type FileStep } from '../../src/daemon/storage/file-batch.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const schemas = new SchemaRegistry();
const types = loadResourceTypes(schemas);
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  setFaultInjector(null);
  for (const c of cleanups.splice(0).reverse()) await c();
});

function temp(): string {
  const t = makeTempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

function thread(): FileBatchThread {
  const t = new FileBatchThread();
  cleanups.push(() => t.close());
  return t;
}

function noDirty(): DirtyFiles {
  return { files: new Set(), dirs: new Set() };
}

/** Every file (relative path: content) and every directory (relative path: 'dir') under `root`. */
function listing(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const full = path.join(d, name);
      if (statSync(full).isDirectory()) {
        out[path.relative(root, full)] = 'dir';
        walk(full);
      } else out[path.relative(root, full)] = readFileSync(full, 'utf8');
    }
  };
  if (existsSync(root)) walk(root);
  return out;
}

/** A store on the data directory `dir` (its config/resources and var). */
async function openStore(dir: string): Promise<ConfigStore> {
  const { store } = await ConfigStore.open({
    resourcesDir: path.join(dir, 'config', 'resources'),
    varDir: path.join(dir, 'var'),
    schemas,
    types,
    logger: pino({ level: 'silent' }),
  });
  return store;
}

/** A master's journal entries for `changes`, made by a real store. */
async function entriesOf(changes: (store: ConfigStore, at: (a: string) => ReturnType<typeof parseAddress>) => Promise<void>): Promise<JournalEntry[]> {
  const dir = temp();
  const store = await openStore(dir);
  const entries: JournalEntry[] = [];
  store.subscribe((e) => entries.push(e));
  await changes(store, (a) => parseAddress(a, types));
  await store.close();
  return entries;
}

const mixed = (): Promise<JournalEntry[]> =>
  entriesOf(async (s, at) => {
    for (let i = 0; i < 6; i++) await s.put(at(`opc-connection/plc${i}`), 'core', 'primary', { endpointUrl: `opc.tcp://10.0.0.${i}:4840` }, 'test');
    await s.addBackup(at('opc-connection/plc1'), 'core', { endpointUrl: 'opc.tcp://10.0.9.1:4840' }, 'test');
    await s.put(at('opc-connection/plc2'), 'core', 'primary', { endpointUrl: 'opc.tcp://10.0.8.2:4840' }, 'test');
    await s.removeBackup(at('opc-connection/plc1'), 'core', 'test');
    await s.delete(at('opc-connection/plc3'), 'core', 'test');
  });

describe('a replicated batch staged and applied on the file-batch thread (prepareEntries, unsynced)', () => {
  it('writes what applyEntry writes entry by entry, leaves no temp file, and names every file and directory it changed for the checkpoint', async () => {
    const entries = await mixed();
    const oneByOne = path.join(temp(), 'resources');
    for (const e of entries) await applyEntry(oneByOne, e);
    const root = path.join(temp(), 'resources');
    const dirty = noDirty();
    // In two batches, as the sync engine's: the second one finds the first one's files on disk.
    for (const part of [entries.slice(0, 4), entries.slice(4)]) await (await prepareEntries(root, part, { dirty, thread: thread() })).apply();
    expect(listing(root)).toEqual(listing(oneByOne));
    expect(Object.keys(listing(root)).filter((p) => p.includes('.tmp-'))).toEqual([]);
    const typeDir = path.join(root, 'core', 'opcua', 'opc-connection');
    for (const f of ['plc0/config.json', 'plc0/resource.json', 'plc2/config.json', 'plc1/resource.json']) expect(dirty.files).toContain(path.join(typeDir, f));
    // New directories reach the disk through their parents; removals through their directory and its parent.
    for (const d of [typeDir, path.dirname(typeDir), path.join(typeDir, 'plc0'), path.join(typeDir, 'plc1'), path.join(typeDir, 'plc3')]) expect(dirty.dirs).toContain(d);
    expect(existsSync(path.join(typeDir, 'plc3'))).toBe(false);
  });

  it('does not rewrite a file that already has the entry\'s content in another layout (a replay after a crash, a hand-formatted file)', async () => {
    const entries = await entriesOf(async (s, at) => {
      await s.put(at('opc-connection/plc1'), 'core', 'primary', { endpointUrl: 'opc.tcp://10.0.0.1:4840' }, 'test');
    });
    const root = path.join(temp(), 'resources');
    const file = path.join(root, 'core', 'opcua', 'opc-connection', 'plc1', 'config.json');
    mkdirSync(path.dirname(file), { recursive: true });
    // The entry's content (its defaults filled in) on one line, not as the store writes it.
    const handmade = JSON.stringify(entries[0]!.content);
    writeFileSync(file, handmade);
    const dirty = noDirty();
    await (await prepareEntries(root, entries, { dirty, thread: thread() })).apply();
    expect(readFileSync(file, 'utf8')).toBe(handmade);
    expect(dirty.files).not.toContain(file);
    expect(dirty.files).toContain(path.join(path.dirname(file), 'resource.json'));
  });

  it('a file that cannot be written refuses the whole batch: no temp file, no directory it made, nothing named for the checkpoint', async () => {
    const entries = await mixed();
    const root = path.join(temp(), 'resources');
    await (await prepareEntries(root, entries.slice(0, 2), { dirty: noDirty(), thread: thread() })).apply();
    const before = listing(root);
    const target = path.join(root, 'core', 'opcua', 'opc-connection', 'plc4', 'resource.json');
    setFaultInjector((op, f) => (op === 'write' && f === target ? fsError('ENOSPC', f) : null));
    const dirty = noDirty();
    await expect(prepareEntries(root, entries.slice(2), { dirty, thread: thread() })).rejects.toMatchObject({ code: 'GW_ERR_STORAGE_WRITE_FAILED' });
    expect(listing(root)).toEqual(before);
    expect([...dirty.files, ...dirty.dirs]).toEqual([]);
  });

  it('abort after staging leaves the store as it was', async () => {
    const entries = await mixed();
    const root = path.join(temp(), 'resources');
    await (await prepareEntries(root, entries.slice(0, 3), { dirty: noDirty(), thread: thread() })).apply();
    const before = listing(root);
    const prepared = await prepareEntries(root, entries.slice(3), { dirty: noDirty(), thread: thread() });
    expect(Object.keys(listing(root)).some((p) => p.includes('.tmp-'))).toBe(true);
    await prepared.abort();
    expect(listing(root)).toEqual(before);
  });

  it('a rename that fails (its directory gone meanwhile) names its file, and leaves no temp file behind', async () => {
    const entries = await mixed();
    const root = path.join(temp(), 'resources');
    const dirty = noDirty();
    const prepared = await prepareEntries(root, entries.slice(0, 6), { dirty, thread: thread() });
    const gone = path.join(root, 'core', 'opcua', 'opc-connection', 'plc2');
    rmSync(gone, { recursive: true });
    await expect(prepared.apply()).rejects.toMatchObject({ code: 'GW_ERR_STORAGE_WRITE_FAILED', message: expect.stringContaining(gone) });
    expect(Object.keys(listing(root)).filter((p) => p.includes('.tmp-'))).toEqual([]);
    // What was renamed before the failure is named for the checkpoint all the same.
    expect(dirty.files).toContain(path.join(root, 'core', 'opcua', 'opc-connection', 'plc0', 'config.json'));
  });

  it('a batch of more resources than a chunk is pipelined: the thread is asked for the next chunks\' directories before the first chunk\'s temp files, two chunks ahead, and the result is what applyEntry writes', async () => {
    const entries = await burst();
    const real = thread();
    // The calls in the order the main thread makes them (the thread runs them in that order).
    const calls: string[] = [];
    const recording = {
      prepare(dirs: string[], reads: string[][]) {
        calls.push(`prepare ${dirs.length}`);
        return real.prepare(dirs, reads);
      },
      stage(files: string[], tmps: string[], datas: string[], mode: number, sync: boolean) {
        calls.push(`stage ${files.length}`);
        return real.stage(files, tmps, datas, mode, sync);
      },
      run: (steps: readonly FileStep[]) => real.run(steps),
    };
    const root = path.join(temp(), 'resources');
    const prepared = await prepareEntries(root, entries, { dirty: noDirty(), thread: recording as unknown as FileBatchThread });
    const last = entries.length - 2 * UNSYNCED_CHUNK;
    expect(calls).toEqual([`prepare ${UNSYNCED_CHUNK}`, `prepare ${UNSYNCED_CHUNK}`, `stage ${2 * UNSYNCED_CHUNK}`, `prepare ${last}`, `stage ${2 * UNSYNCED_CHUNK}`, `stage ${2 * last}`]);
    // Nothing is in place before apply: only temp files and the directories made for them.
    expect(Object.keys(listing(root)).filter((p) => p.endsWith('.json'))).toEqual([]);
    await prepared.apply();
    const oneByOne = path.join(temp(), 'resources');
    for (const e of entries) await applyEntry(oneByOne, e);
    expect(listing(root)).toEqual(listing(oneByOne));
  });

  it('a file of a middle chunk that cannot be written refuses the whole batch: no temp file and no directory of any chunk, the ones prepared after it and the type directory included', async () => {
    const entries = await burst();
    const root = path.join(temp(), 'resources');
    mkdirSync(root);
    const target = path.join(root, 'core', 'opcua', 'opc-connection', `r${UNSYNCED_CHUNK + 40}`, 'resource.json');
    setFaultInjector((op, f) => (op === 'write' && f === target ? fsError('ENOSPC', f) : null));
    const dirty = noDirty();
    await expect(prepareEntries(root, entries, { dirty, thread: thread() })).rejects.toMatchObject({ code: 'GW_ERR_STORAGE_WRITE_FAILED' });
    expect(listing(path.dirname(root))).toEqual({ resources: 'dir' });
    expect([...dirty.files, ...dirty.dirs]).toEqual([]);
  });

  it('a chunk whose temp files fail on the thread (after the first chunks were staged) leaves nothing of the batch', async () => {
    const entries = await burst();
    const root = path.join(temp(), 'resources');
    mkdirSync(root);
    const real = thread();
    let stages = 0;
    const failing = {
      prepare: (dirs: string[], reads: string[][]) => real.prepare(dirs, reads),
      async stage(files: string[], tmps: string[], datas: string[], mode: number, sync: boolean) {
        // The second chunk: its first temp file is written, then the disk is full.
        if (++stages === 2) {
          await real.stage(files.slice(0, 1), tmps.slice(0, 1), datas.slice(0, 1), mode, sync);
          throw Object.assign(fsError('ENOSPC', files[1]!), { path: files[1] });
        }
        return real.stage(files, tmps, datas, mode, sync);
      },
      run: (steps: readonly FileStep[]) => real.run(steps),
    };
    await expect(prepareEntries(root, entries, { dirty: noDirty(), thread: failing as unknown as FileBatchThread })).rejects.toMatchObject({ code: 'GW_ERR_STORAGE_WRITE_FAILED' });
    expect(stages).toBe(3);
    expect(listing(path.dirname(root))).toEqual({ resources: 'dir' });
  });
});

/** New resources r0, r1, ... in more than two chunks of a replicated batch (made once). */
let burstEntries: Promise<JournalEntry[]> | null = null;
function burst(): Promise<JournalEntry[]> {
  burstEntries ??= entriesOf(async (s, at) => {
    for (let i = 0; i < 2 * UNSYNCED_CHUNK + 9; i++) await s.put(at(`opc-connection/r${i}`), 'core', 'primary', { endpointUrl: `opc.tcp://10.1.${i >> 8}.${i & 255}:4840` }, 'test');
  });
  return burstEntries;
}

describe('a replicated batch of several chunks in the store (replayBatch)', () => {
  it('a journal append that fails after every chunk was staged leaves nothing of the batch (no temp file, no directory), and the same batch goes through once the disk is back', async () => {
    const entries = await burst();
    const dir = temp();
    const store = await openStore(dir);
    cleanups.push(() => store.close());
    store.expectReplication();
    expect(await store.replayBatch(entries.slice(0, 3))).toBe(3);
    const resources = path.join(dir, 'config', 'resources');
    const before = listing(resources);
    const revision = store.revision;
    setFaultInjector((op, f) => (op === 'append' && f.endsWith('config-journal.ndjson') ? fsError('EIO', f) : null));
    await expect(store.replayBatch(entries)).rejects.toThrow(/EIO/);
    expect(listing(resources)).toEqual(before);
    expect(store.revision).toBe(revision);
    expect(store.get('core', `opc-connection/r${UNSYNCED_CHUNK + 1}`)).toBeUndefined();
    setFaultInjector(null);
    expect(await store.replayBatch(entries)).toBe(entries.length - 3);
    const oneByOne = path.join(temp(), 'resources');
    for (const e of entries) await applyEntry(oneByOne, e);
    expect(listing(resources)).toEqual(listing(oneByOne));
  });

  it('a forged entry in the last chunk, checked while the first chunks are written, refuses the whole batch: nothing of any chunk is left', async () => {
    const entries = await burst();
    const forged = entries.map((e, i) => (i === 2 * UNSYNCED_CHUNK + 3 ? { ...e, content: { ...e.content, endpointUrl: 'opc.tcp://10.6.6.6:4840' } } : e));
    const dir = temp();
    const store = await openStore(dir);
    cleanups.push(() => store.close());
    store.expectReplication();
    const resources = path.join(dir, 'config', 'resources');
    mkdirSync(resources, { recursive: true });
    await expect(store.replayBatch(forged)).rejects.toMatchObject({ code: 'GW_ERR_CONFIG_INVALID', message: expect.stringContaining(`r${2 * UNSYNCED_CHUNK + 3}`) });
    expect(listing(resources)).toEqual({});
    expect(store.revision).toBe(0);
    expect(store.list()).toEqual([]);
  });

  it('a crash after its chunks were staged and before its journal append: the next start loads the previous configuration, and the batch applies then', async () => {
    const entries = await burst();
    const dir = temp();
    const first = await openStore(dir);
    first.expectReplication();
    await first.replayBatch(entries.slice(0, 3));
    await first.close();
    const resources = path.join(dir, 'config', 'resources');
    // The crash: every chunk staged on the thread (temp files, new directories), nothing journaled.
    const staging = thread();
    await prepareEntries(resources, entries.slice(3), { dirty: noDirty(), thread: staging });
    expect(Object.keys(listing(resources)).filter((p) => p.includes('.tmp-')).length).toBe(2 * (entries.length - 3));
    await staging.close();
    const again = await openStore(dir);
    cleanups.push(() => again.close());
    expect(again.problems).toEqual([]);
    expect(again.list().map((r) => r.address).sort()).toEqual(['opc-connection/r0', 'opc-connection/r1', 'opc-connection/r2']);
    again.expectReplication();
    expect(await again.replayBatch(entries)).toBe(entries.length - 3);
    expect(again.list()).toHaveLength(entries.length);
  });
});
