/**
 * The settings store on its own (a temp directory, no daemon): files created from the defaults or
 * the seed, changes one at a time, each written before it is in effect, subscribers in order, and a
 * refused change writing nothing.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { GwError } from '../../src/core/errors.js';
import type { RedundancySettings } from '../../src/core/settings/types.js';
import { SchemaRegistry } from '../../src/daemon/schema-registry.js';
import { SettingsStore } from '../../src/daemon/settings/settings-store.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const schemas = new SchemaRegistry();
const temps: Array<() => void> = [];
afterEach(() => {
  while (temps.length > 0) temps.pop()!();
});

function files(): { redundancy: string; network: string } {
  const t = makeTempDir();
  temps.push(t.cleanup);
  return { redundancy: path.join(t.dir, 'redundancy.json'), network: path.join(t.dir, 'gateway-network.json') };
}

const onDisk = (file: string): unknown => JSON.parse(readFileSync(file, 'utf8'));

describe('SettingsStore', () => {
  it('creates missing files from the defaults, or redundancy.json from the seed', async () => {
    const f = files();
    const store = await SettingsStore.open(f, schemas, {});
    expect(store.redundancy.role).toBe('Independent');
    expect(onDisk(f.redundancy)).toEqual(store.redundancy);
    expect(onDisk(f.network)).toEqual(store.network);
    expect(store.file('redundancy')).toBe(f.redundancy);

    const seeded = await SettingsStore.open(files(), schemas, { bootstrap: { role: 'Master' } });
    expect(seeded.redundancy.role).toBe('Master');
  });

  it('refuses a redundancy.json that breaks a rule, named by file', async () => {
    const f = files();
    writeFileSync(f.redundancy, JSON.stringify({ role: 'Backup' }));
    const err = await SettingsStore.open(f, schemas, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GwError);
    expect((err as GwError).code).toBe('GW_ERR_SETTINGS_INVALID');
    expect((err as GwError).message).toContain(f.redundancy);
  });

  it('a change is written, swapped in, announced, then given to the subscribers in order', async () => {
    const f = files();
    const store = await SettingsStore.open(f, schemas, {});
    const seen: string[] = [];
    store.subscribe('redundancy', ({ previous, next }) => {
      // Written before anyone hears of it: a subscriber reads the file as it is now.
      expect((onDisk(f.redundancy) as RedundancySettings).syncTimeoutSecs).toBe(next.syncTimeoutSecs);
      expect(store.redundancy).toBe(next);
      seen.push(`first ${previous.syncTimeoutSecs}->${next.syncTimeoutSecs}`);
    });
    const unsubscribe = store.subscribe('redundancy', async ({ next }) => {
      await new Promise((r) => setTimeout(r, 5));
      seen.push(`second ${next.syncTimeoutSecs}`);
    });
    store.subscribe('network', () => {
      seen.push('network');
    });
    const before = store.redundancy.syncTimeoutSecs;
    const result = await store.update(
      'redundancy',
      (current) => ({ next: { ...current, syncTimeoutSecs: current.syncTimeoutSecs + 1 }, result: 'done' }),
      ({ next }, r) => seen.push(`announce ${next.syncTimeoutSecs} ${r}`),
    );
    expect(result).toBe('done');
    expect(seen).toEqual([`announce ${before + 1} done`, `first ${before}->${before + 1}`, `second ${before + 1}`]);
    unsubscribe();
    await store.update('redundancy', (current) => ({ next: { ...current, syncTimeoutSecs: before }, result: null }));
    expect(seen.slice(3)).toEqual([`first ${before + 1}->${before}`]);
  });

  it('changes run one at a time, each decided from the value the one before left', async () => {
    const store = await SettingsStore.open(files(), schemas, {});
    const start = store.redundancy.syncTimeoutSecs;
    let running = 0;
    let most = 0;
    store.subscribe('redundancy', async () => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 2));
      running -= 1;
    });
    const bump = (): Promise<number> =>
      store.update('redundancy', (current) => ({ next: { ...current, syncTimeoutSecs: current.syncTimeoutSecs + 1 }, result: current.syncTimeoutSecs + 1 }));
    const results = await Promise.all([bump(), bump(), bump(), bump(), bump()]);
    expect(results).toEqual([start + 1, start + 2, start + 3, start + 4, start + 5]);
    expect(most).toBe(1);
  });

  it('a refused change writes nothing, tells no one, and does not stop the next one', async () => {
    const f = files();
    const store = await SettingsStore.open(f, schemas, {});
    const before = readFileSync(f.network, 'utf8');
    const heard: number[] = [];
    store.subscribe('network', ({ next }) => {
      heard.push(next.port);
    });
    const refused = store.update('network', () => {
      throw new GwError('GW_ERR_GAN_SETTINGS_INVALID', { detail: 'test' });
    });
    const next = store.update('network', (current) => ({ next: { ...current, port: 18088 }, result: null }));
    await expect(refused).rejects.toMatchObject({ code: 'GW_ERR_GAN_SETTINGS_INVALID' });
    await next;
    expect(heard).toEqual([18088]);
    expect(before).not.toBe(readFileSync(f.network, 'utf8'));
    expect((onDisk(f.network) as { port: number }).port).toBe(18088);
  });

  it('a subscriber that throws rejects the change; the value stays written and in effect', async () => {
    const f = files();
    const store = await SettingsStore.open(f, schemas, {});
    const after: string[] = [];
    store.subscribe('network', () => {
      throw new GwError('GW_ERR_GAN_LISTEN_FAILED', { listener: 'plain', address: '127.0.0.1:1', detail: 'EACCES' });
    });
    store.subscribe('network', () => {
      after.push('ran');
    });
    await expect(store.update('network', (current) => ({ next: { ...current, port: 18089 }, result: null }))).rejects.toMatchObject({
      code: 'GW_ERR_GAN_LISTEN_FAILED',
    });
    expect(store.network.port).toBe(18089);
    expect((onDisk(f.network) as { port: number }).port).toBe(18089);
    expect(after).toEqual([]);
  });
});
