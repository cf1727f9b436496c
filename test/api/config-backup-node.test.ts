import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { GwError } from '../../src/core/errors.js';
import { PLC1_BACKUP, PLC1_PRIMARY, journal } from '../helpers/config-files.js';
import { startTestDaemon, type TestDaemon } from '../helpers/in-process-daemon.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const running: TestDaemon[] = [];
const temps: Array<() => void> = [];

afterEach(async (ctx) => {
  for (const d of running.splice(0)) {
    if (ctx.task.result?.state === 'fail') process.stderr.write(d.logs.join(''));
    await d.daemon.stop('test');
  }
  for (const cleanup of temps.splice(0)) cleanup();
});

function writeRedundancy(dir: string, settings: Record<string, unknown>): void {
  writeFileSync(path.join(dir, 'redundancy.json'), `${JSON.stringify(settings)}\n`);
}

/** A data dir that already holds plc1 with a Backup version and a gateway-settings Backup version. */
async function preparedDir(): Promise<string> {
  const temp = makeTempDir();
  temps.push(temp.cleanup);
  const d = await startTestDaemon({ systemName: 'plant-a' }, temp.dir);
  await d.client.configSet('opc-connection/plc1', PLC1_PRIMARY);
  await d.client.configBackupAdd('opc-connection/plc1', PLC1_BACKUP);
  await d.client.configBackupAdd('gateway-settings', { systemName: 'never-applied' });
  await d.daemon.stop('test');
  return temp.dir;
}

async function start(dir: string): Promise<TestDaemon> {
  const d = await startTestDaemon({}, dir);
  running.push(d);
  return d;
}

async function refused(p: Promise<unknown>): Promise<GwError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(GwError);
  return err as GwError;
}

describe('on a node whose role is Backup', () => {
  it('effective is the Backup version, except for protected types; list says so', async () => {
    const dir = await preparedDir();
    writeRedundancy(dir, { role: 'Backup', master: { host: '10.0.0.5' } });
    const d = await start(dir);
    const eff = await d.client.configGet('opc-connection/plc1', 'effective');
    expect(eff).toMatchObject({ version: 'backup', collection: 'core' });
    expect(eff.content.endpointUrl).toBe('opc.tcp://10.0.2.5:4840');
    const list = await d.client.configList();
    expect(list.role).toBe('Backup');
    expect(list.resources.find((r) => r.resource === 'opc-connection/plc1')).toMatchObject({ hasBackup: true, effective: 'backup' });
    expect(list.resources.find((r) => r.resource === 'gateway-settings')).toMatchObject({ hasBackup: true, effective: 'primary', backupApplies: false });
    // The protected Backup version of gateway-settings never applies: the name stays the Primary one.
    expect((await d.client.status()).node.systemName).toBe('plant-a');
  });

  it('core writes are refused with GW_ERR_CONFIG_READ_ONLY naming the master; nothing is written', async () => {
    const dir = await preparedDir();
    writeRedundancy(dir, { role: 'Backup', master: { host: '10.0.0.5', port: 8060 } });
    const d = await start(dir);
    const before = journal(dir).length;
    const attempts = [
      d.client.configSet('opc-connection/plc2', PLC1_PRIMARY),
      d.client.configSet('opc-connection/plc1', PLC1_BACKUP, { version: 'backup' }),
      d.client.configDelete('opc-connection/plc1'),
      d.client.configBackupAdd('opc-connection/plc1'),
      d.client.configBackupRemove('opc-connection/plc1'),
    ];
    for (const attempt of attempts) {
      const err = await refused(attempt);
      expect(err.code).toBe('GW_ERR_CONFIG_READ_ONLY');
      expect(err.statusCode).toBe(409);
      expect(err.message).toContain('10.0.0.5:8060');
    }
    expect(journal(dir)).toHaveLength(before);
  });

  it('local writes are allowed and override core', async () => {
    const dir = await preparedDir();
    writeRedundancy(dir, { role: 'Backup', master: { host: '10.0.0.5' } });
    const d = await start(dir);
    const r = await d.client.configSet('opc-connection/plc1', { endpointUrl: 'opc.tcp://192.168.1.5:4840' }, { collection: 'local' });
    expect(r).toMatchObject({ collection: 'local', changed: true });
    const eff = await d.client.configGet('opc-connection/plc1');
    expect(eff).toMatchObject({ collection: 'local', version: 'primary' });
    expect(eff.content.endpointUrl).toBe('opc.tcp://192.168.1.5:4840');
    await d.client.configBackupAdd('opc-connection/plc1', { endpointUrl: 'opc.tcp://192.168.2.5:4840' }, 'local');
    expect((await d.client.configGet('opc-connection/plc1')).content.endpointUrl).toBe('opc.tcp://192.168.2.5:4840');
  });

  it('the role is read at request time: a live role change applies to the next request', async () => {
    const dir = await preparedDir();
    const d = await start(dir);
    expect((await d.client.configGet('opc-connection/plc1')).version).toBe('primary');
    await d.client.configureRedundancy({ role: 'Backup', master: { host: 'master.plant' } });
    expect((await d.client.configGet('opc-connection/plc1')).version).toBe('backup');
    expect((await refused(d.client.configSet('opc-connection/plc9', PLC1_PRIMARY))).message).toContain('master.plant:8060');
  });
});

describe('Backup versions before any pair exists', () => {
  it('can be created on an Independent node and on a Master', async () => {
    const dir = await preparedDir();
    writeRedundancy(dir, { role: 'Master' });
    const d = await start(dir);
    await d.client.configSet('database-connection/hist', { driver: 'postgresql', connectUrl: 'jdbc:postgresql://db-a/hist' });
    const r = await d.client.configBackupAdd('database-connection/hist', { driver: 'postgresql', connectUrl: 'jdbc:postgresql://db-b/hist' });
    expect(r).toMatchObject({ changed: true, applies: true });
    expect((await d.client.configGet('database-connection/hist')).version).toBe('primary');
  });
});
