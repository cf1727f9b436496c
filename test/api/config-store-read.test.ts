import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';

import { parseAddress } from '../../src/core/config-address.js';
import type { GwError } from '../../src/core/errors.js';
import { ConfigStore } from '../../src/daemon/config/config-store.js';
import { resourcePath } from '../helpers/config-files.js';
import { loadResourceTypes } from '../../src/daemon/config/type-registry.js';
import { SchemaRegistry } from '../../src/daemon/schema-registry.js';
import { makeTempDir } from '../helpers/temp-dir.js';

/**
 * The store keeps no resource content in memory (only metadata; singletons aside): content is read
 * from its file on demand and checked against the signature committed for it. These tests hold
 * the store to what an operator relies on when files are also edited by hand.
 */

const schemas = new SchemaRegistry();
const types = loadResourceTypes(schemas);
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function openStore(dir: string, journalMaxBytes?: number): Promise<ConfigStore> {
  const { store } = await ConfigStore.open({
    resourcesDir: path.join(dir, 'config', 'resources'),
    varDir: path.join(dir, 'var'),
    schemas,
    types,
    logger: pino({ level: 'silent' }),
    journalMaxBytes,
  });
  cleanups.push(() => store.close());
  return store;
}

const PLC = (host: string) => ({ endpointUrl: `opc.tcp://${host}:4840` });
const plc = (name: string) => parseAddress(`opc-connection/${name}`, types);

describe('content read from disk, as committed', () => {
  it('a file edited by hand and not rescanned: the committed version stays in effect (from the journal); a rescan loads the edit', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const store = await openStore(temp.dir);
    await store.put(plc('plc1'), 'core', 'primary', PLC('10.0.1.5'), 'test');
    const file = resourcePath(temp.dir, 'core', 'opcua', 'opc-connection', 'plc1', 'config.json');
    for (const edit of [JSON.stringify(PLC('10.9.9.9')), '{"endpointUrl": ', null]) {
      if (edit === null) writeFileSync(file, '');
      else writeFileSync(file, edit);
      expect(await store.read(store.get('core', 'opc-connection/plc1')!, 'primary'), String(edit)).toMatchObject(PLC('10.0.1.5'));
    }
    writeFileSync(file, JSON.stringify(PLC('10.9.9.9')));
    await store.rescan('test');
    expect(await store.read(store.get('core', 'opc-connection/plc1')!, 'primary')).toMatchObject(PLC('10.9.9.9'));
  });

  it('once the journal no longer holds the committed version, a changed file is refused with GW_ERR_CONFIG_FILE_CHANGED naming it, never served unchecked', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    // A small journal: the next changes compact plc1's entry away.
    const store = await openStore(temp.dir, 4096);
    await store.put(plc('plc1'), 'core', 'primary', PLC('10.0.1.5'), 'test');
    for (let i = 0; i < 40; i++) await store.put(plc(`filler${i}`), 'core', 'primary', PLC(`10.0.2.${i}`), 'test');
    expect(store.journalFirst).toBeGreaterThan(1);
    const file = resourcePath(temp.dir, 'core', 'opcua', 'opc-connection', 'plc1', 'config.json');
    // Unchanged: read from the file.
    expect(await store.read(store.get('core', 'opc-connection/plc1')!, 'primary')).toMatchObject(PLC('10.0.1.5'));
    writeFileSync(file, JSON.stringify(PLC('10.9.9.9')));
    const err = (await store.read(store.get('core', 'opc-connection/plc1')!, 'primary').catch((e: unknown) => e)) as GwError;
    expect(err.code).toBe('GW_ERR_CONFIG_FILE_CHANGED');
    expect(err.message).toContain(file);
    expect(err.message).toContain('gwctl config rescan');
  });

  it('addBackup without content copies the Primary as committed, and a singleton is served from memory', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const store = await openStore(temp.dir);
    await store.put(plc('plc1'), 'core', 'primary', PLC('10.0.1.5'), 'test');
    await store.addBackup(plc('plc1'), 'core', undefined, 'test');
    const r = store.get('core', 'opc-connection/plc1')!;
    expect(r.hasBackup).toBe(true);
    expect(r.held).toBeNull();
    expect(await store.read(r, 'backup')).toEqual(await store.read(r, 'primary'));
    expect(await store.read(r, 'backup')).toMatchObject(PLC('10.0.1.5'));
    await store.put(parseAddress('gateway-settings', types), 'core', 'primary', { systemName: 'plant-a' }, 'test');
    expect(store.get('core', 'gateway-settings')!.held?.primary).toMatchObject({ systemName: 'plant-a' });
  });
});

describe('memory does not grow with the content of the configuration', () => {
  const RESOURCES = 4000;
  it('a store of 4,000 resources with two 2 KB versions each (16 MB of content) opens with a heap well under that content', () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    // Files as a git pull would bring them: the startup scan journals them (content read 32 at a
    // time), and the store then holds only their metadata. Measured in a child process after a
    // full garbage collection, the store still open.
    const endpoint = (i: number): string => `opc.tcp://10.0.${i >> 8}.${i & 255}:4840/${'p'.repeat(2000)}`;
    for (let i = 0; i < RESOURCES; i++) {
      const dir = path.join(temp.dir, 'config', 'resources', 'core', 'opcua', 'opc-connection', `plc${i}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ endpointUrl: endpoint(i) }));
      writeFileSync(path.join(dir, 'backupConfig.json'), JSON.stringify({ endpointUrl: endpoint(i + 1) }));
    }
    const dist = path.resolve(__dirname, '../../dist/daemon');
    const script = `
      const { ConfigStore } = await import(${JSON.stringify(path.join(dist, 'config/config-store.js'))});
      const { SchemaRegistry } = await import(${JSON.stringify(path.join(dist, 'schema-registry.js'))});
      const { loadResourceTypes } = await import(${JSON.stringify(path.join(dist, 'config/type-registry.js'))});
      const schemas = new SchemaRegistry();
      const logger = { info() {}, warn() {}, error() {}, debug() {} };
      const { store } = await ConfigStore.open({ resourcesDir: ${JSON.stringify(path.join(temp.dir, 'config', 'resources'))}, varDir: ${JSON.stringify(path.join(temp.dir, 'var'))}, schemas, types: loadResourceTypes(schemas), logger, journalMaxBytes: 1024 * 1024 });
      // In a later turn: until then the finished open() may still hold what it returned.
      await new Promise((r) => setTimeout(r, 10));
      for (let i = 0; i < 3; i++) globalThis.gc();
      const heap = process.memoryUsage().heapUsed;
      console.log(JSON.stringify({ resources: store.list().length, heapMb: heap / 1048576 }));
      await store.close();
    `;
    const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 100_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { resources: number; heapMb: number };
    expect(out.resources).toBe(RESOURCES);
    // 16 MB of content held as strings, on top of the ~6 MB an empty store's process has, would be
    // more than the whole heap allowed here (~10 MB measured without it).
    expect(out.heapMb).toBeLessThan(18);
  }, 120_000);
});
