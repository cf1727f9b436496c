/**
 * Gates of the settings store (the Gateway Network's listeners): a change a gate refuses is undone,
 * with nothing written or announced; the gates that ran see the change reversed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { GatewayNetworkSettings } from '../../src/core/settings/types.js';
import { SchemaRegistry } from '../../src/daemon/schema-registry.js';
import { SettingsStore, type SettingsChange } from '../../src/daemon/settings/settings-store.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const schemas = new SchemaRegistry();
const temps: Array<() => void> = [];
afterEach(() => {
  while (temps.length > 0) temps.pop()!();
});

async function open(): Promise<{ store: SettingsStore; file: string }> {
  const t = makeTempDir();
  temps.push(t.cleanup);
  const f = { redundancy: path.join(t.dir, 'redundancy.json'), network: path.join(t.dir, 'gateway-network.json') };
  return { store: await SettingsStore.open(f, schemas, {}), file: f.network };
}

const onDisk = (file: string): GatewayNetworkSettings => JSON.parse(readFileSync(file, 'utf8')) as GatewayNetworkSettings;
const ports = (c: SettingsChange<'network'>): string => `${c.previous.port}->${c.next.port}`;

describe('SettingsStore gates', () => {
  it('a gate runs with the new value in effect before the file is written; a refusal undoes it', async () => {
    const { store, file } = await open();
    const log: string[] = [];
    store.subscribe('network', (c) => void log.push(`first ${ports(c)} in effect ${store.network.port} on disk ${onDisk(file).port}`), { gate: true });
    store.subscribe(
      'network',
      (c) => {
        log.push(`second ${ports(c)}`);
        if (c.next.port === 1) throw new Error('cannot listen on 1');
      },
      { gate: true },
    );
    store.subscribe('network', (c) => void log.push(`subscriber ${ports(c)}`));
    const announced: string[] = [];

    await store.update('network', (p) => ({ next: { ...p, port: 9000 }, result: null }), (c) => void announced.push(ports(c)));
    expect(log).toEqual(['first 8088->9000 in effect 9000 on disk 8088', 'second 8088->9000', 'subscriber 8088->9000']);
    expect(onDisk(file).port).toBe(9000);

    log.length = 0;
    const err = await store
      .update('network', (p) => ({ next: { ...p, port: 1 }, result: null }), (c) => void announced.push(ports(c)))
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe('cannot listen on 1');
    // Both gates that ran see the change reversed, the last first; the ordinary subscriber never hears of it.
    expect(log).toEqual(['first 9000->1 in effect 1 on disk 9000', 'second 9000->1', 'second 1->9000', 'first 1->9000 in effect 9000 on disk 9000']);
    expect(store.network.port).toBe(9000);
    expect(onDisk(file).port).toBe(9000);
    expect(announced).toEqual(['8088->9000']);
  });

  it('a gate that fails to restore does not hide the refusal; the next change goes ahead', async () => {
    const { store, file } = await open();
    let calls = 0;
    store.subscribe(
      'network',
      () => {
        calls++;
        if (calls <= 2) throw new Error(`failure ${calls}`);
      },
      { gate: true },
    );
    const err = await store.update('network', (p) => ({ next: { ...p, port: 9001 }, result: null })).catch((e: unknown) => e);
    expect((err as Error).message).toBe('failure 1');
    expect(calls).toBe(2);
    expect(store.network.port).toBe(8088);
    expect(onDisk(file).port).toBe(8088);
    await store.update('network', (p) => ({ next: { ...p, port: 9002 }, result: null }));
    expect(onDisk(file).port).toBe(9002);
  });
});
