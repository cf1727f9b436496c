import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { canonicalJson } from '../../src/core/canonical-json.js';
import { GwError } from '../../src/core/errors.js';
import type { EventRecord } from '../../src/core/wire.js';
import { journal, PLC1_BACKUP, PLC1_PRIMARY, readJson, resourcePath } from '../helpers/config-files.js';
import { startTestDaemon, type TestDaemon } from '../helpers/in-process-daemon.js';
import { rawRequest } from '../helpers/raw-http.js';

let t: TestDaemon;

beforeEach(async () => {
  t = await startTestDaemon();
});
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') process.stderr.write(t.logs.join(''));
  await t.stop();
});

async function refused(p: Promise<unknown>): Promise<GwError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(GwError);
  return err as GwError;
}

const sha256 = (v: unknown): string => createHash('sha256').update(canonicalJson(v)).digest('hex');

describe('config CRUD on an Independent node', () => {
  it('first start seeds gateway-settings with the system name as revision 1', async () => {
    const list = await t.client.configList();
    expect(list.revision).toBe(1);
    expect(list.role).toBe('Independent');
    expect(list.resources.map((r) => r.resource)).toEqual(['gateway-settings']);
    const gs = await t.client.configGet('gateway-settings');
    expect(gs.content).toMatchObject({ systemName: 'test-node' });
    expect(gs.meta.lastModification.actor).toBe('gwd:first-start');
    expect(existsSync(resourcePath(t.dataDir, 'core', 'platform', 'gateway-settings', null, 'config.json'))).toBe(true);
  });

  it('set creates with schema defaults, writes config.json and resource.json, bumps the revision and journals it', async () => {
    const r = await t.client.configSet('opc-connection/plc1', PLC1_PRIMARY);
    expect(r).toEqual({
      resource: 'opc-connection/plc1',
      collection: 'core',
      version: 'primary',
      op: 'create',
      changed: true,
      revision: 2,
      applies: true,
      note: null,
    });
    const got = await t.client.configGet('opc-connection/plc1', 'primary');
    expect(got.content).toMatchObject({ ...PLC1_PRIMARY, securityPolicy: 'None', securityMode: 'None', enabled: true, passwordRef: null });
    const file = resourcePath(t.dataDir, 'core', 'opcua', 'opc-connection', 'plc1');
    expect(readJson(`${file}/config.json`)).toEqual(got.content);
    const meta = readJson<{ uuid: string; enabled: boolean; signature: string; lastModification: { actor: string } }>(`${file}/resource.json`);
    expect(meta.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(meta.enabled).toBe(true);
    expect(meta.signature).toBe(sha256(got.content));
    expect(meta.lastModification.actor).toMatch(/^local-api:gwctl:/);
    const last = journal(t.dataDir).at(-1)!;
    expect(last).toMatchObject({ revision: 2, op: 'create', collection: 'core', address: 'opc-connection/plc1', version: 'primary', deleted: false });
    expect(last.content).toEqual(got.content);
    expect(last.signature).toBe(meta.signature);
    expect((await t.client.status()).config.revision).toBe(2);
  });

  it('the same content again is not a change; an update keeps the uuid', async () => {
    await t.client.configSet('opc-connection/plc1', PLC1_PRIMARY);
    const uuid = (await t.client.configGet('opc-connection/plc1')).meta.uuid;
    const again = await t.client.configSet('opc-connection/plc1', PLC1_PRIMARY);
    expect(again).toMatchObject({ changed: false, revision: 2, op: 'update' });
    const upd = await t.client.configSet('opc-connection/plc1', { ...PLC1_PRIMARY, username: 'op' });
    expect(upd).toMatchObject({ changed: true, revision: 3, op: 'update' });
    expect((await t.client.configGet('opc-connection/plc1')).meta.uuid).toBe(uuid);
  });

  it('Backup versions: add (from a file or as a copy), list shows them, effective stays Primary here, remove', async () => {
    await t.client.configSet('opc-connection/plc1', PLC1_PRIMARY);
    const added = await t.client.configBackupAdd('opc-connection/plc1', PLC1_BACKUP);
    expect(added).toMatchObject({ version: 'backup', op: 'create', changed: true, revision: 3, applies: true, note: null });
    expect((await t.client.configGet('opc-connection/plc1', 'backup')).content.endpointUrl).toBe(PLC1_BACKUP.endpointUrl);
    const eff = await t.client.configGet('opc-connection/plc1', 'effective');
    expect(eff).toMatchObject({ version: 'primary', requested: 'effective', collection: 'core' });
    expect(eff.content.endpointUrl).toBe(PLC1_PRIMARY.endpointUrl);
    expect(existsSync(resourcePath(t.dataDir, 'core', 'opcua', 'opc-connection', 'plc1', 'backupConfig.json'))).toBe(true);

    const row = (await t.client.configList()).resources.find((r) => r.resource === 'opc-connection/plc1')!;
    expect(row).toMatchObject({ hasBackup: true, effective: 'primary', backupApplies: true, collection: 'core', module: 'opcua' });

    expect((await refused(t.client.configBackupAdd('opc-connection/plc1'))).code).toBe('GW_ERR_CONFIG_EXISTS');

    await t.client.configBackupRemove('opc-connection/plc1');
    expect(existsSync(resourcePath(t.dataDir, 'core', 'opcua', 'opc-connection', 'plc1', 'backupConfig.json'))).toBe(false);
    expect((await refused(t.client.configGet('opc-connection/plc1', 'backup'))).code).toBe('GW_ERR_CONFIG_NOT_FOUND');
    expect((await refused(t.client.configBackupRemove('opc-connection/plc1'))).code).toBe('GW_ERR_CONFIG_NOT_FOUND');

    // Without content the Backup version starts as a copy of the Primary.
    await t.client.configBackupAdd('opc-connection/plc1');
    const copy = await t.client.configGet('opc-connection/plc1', 'backup');
    expect(copy.content).toEqual((await t.client.configGet('opc-connection/plc1', 'primary')).content);
    expect(journal(t.dataDir).map((e) => [e.revision, e.op, e.version])).toEqual([
      [1, 'create', 'primary'],
      [2, 'create', 'primary'],
      [3, 'create', 'backup'],
      [4, 'delete', 'backup'],
      [5, 'create', 'backup'],
    ]);
  });

  it('set --version backup replaces a Backup version and needs a Primary first', async () => {
    expect((await refused(t.client.configSet('opc-connection/plc1', PLC1_BACKUP, { version: 'backup' }))).code).toBe('GW_ERR_CONFIG_NOT_FOUND');
    await t.client.configSet('opc-connection/plc1', PLC1_PRIMARY);
    expect(await t.client.configSet('opc-connection/plc1', PLC1_BACKUP, { version: 'backup' })).toMatchObject({ op: 'create', version: 'backup' });
    expect(await t.client.configSet('opc-connection/plc1', { endpointUrl: 'opc.tcp://10.0.3.5:4840' }, { version: 'backup' })).toMatchObject({
      op: 'update',
    });
  });

  it('delete removes the files and the resource; a second delete is NOT_FOUND', async () => {
    await t.client.configSet('database-connection/hist', { driver: 'postgresql', connectUrl: 'jdbc:postgresql://db/hist' });
    await t.client.configBackupAdd('database-connection/hist');
    const del = await t.client.configDelete('database-connection/hist');
    expect(del).toMatchObject({ op: 'delete', changed: true, version: 'primary' });
    expect(existsSync(resourcePath(t.dataDir, 'core', 'database', 'database-connection', 'hist'))).toBe(false);
    expect((await refused(t.client.configGet('database-connection/hist'))).code).toBe('GW_ERR_CONFIG_NOT_FOUND');
    expect((await refused(t.client.configDelete('database-connection/hist'))).code).toBe('GW_ERR_CONFIG_NOT_FOUND');
    expect(journal(t.dataDir).at(-1)).toMatchObject({ op: 'delete', deleted: true, content: null, meta: null });
  });

  it('emits config.changed {resource, version, revision, actor} for every change', async () => {
    const since = t.daemon.events.lastSeq;
    await t.client.configSet('opc-connection/plc1', PLC1_PRIMARY);
    await t.client.configBackupAdd('opc-connection/plc1', PLC1_BACKUP);
    const events = t.daemon.events.since(since).filter((e: EventRecord) => e.type === 'config.changed');
    expect(events.map((e) => e.data)).toEqual([
      expect.objectContaining({ resource: 'opc-connection/plc1', version: 'primary', revision: 2, actor: expect.stringMatching(/^local-api/) }),
      expect.objectContaining({ resource: 'opc-connection/plc1', version: 'backup', revision: 3 }),
    ]);
  });

  it('keeps revision and content across a restart', async () => {
    await t.client.configSet('opc-connection/plc1', PLC1_PRIMARY);
    await t.client.configBackupAdd('opc-connection/plc1', PLC1_BACKUP);
    const dir = t.dataDir;
    await t.daemon.stop('test');
    const again = await startTestDaemon({}, dir);
    try {
      const list = await again.client.configList();
      expect(list.revision).toBe(3);
      expect((await again.client.configGet('opc-connection/plc1', 'backup')).content.endpointUrl).toBe(PLC1_BACKUP.endpointUrl);
      // Nothing on disk changed while stopped: the startup scan journals nothing.
      expect(journal(dir)).toHaveLength(3);
    } finally {
      await again.daemon.stop('test');
    }
  });

  it('local resources are written under local/ and override core at the same address', async () => {
    await t.client.configSet('opc-connection/plc1', PLC1_PRIMARY);
    await t.client.configSet('opc-connection/plc1', { endpointUrl: 'opc.tcp://127.0.0.1:4840' }, { collection: 'local' });
    expect(existsSync(resourcePath(t.dataDir, 'local', 'opcua', 'opc-connection', 'plc1', 'config.json'))).toBe(true);
    const eff = await t.client.configGet('opc-connection/plc1');
    expect(eff).toMatchObject({ collection: 'local', version: 'primary' });
    expect(eff.content.endpointUrl).toBe('opc.tcp://127.0.0.1:4840');
    expect((await t.client.configGet('opc-connection/plc1', 'primary', 'core')).content.endpointUrl).toBe(PLC1_PRIMARY.endpointUrl);
    const row = (await t.client.configList()).resources.find((r) => r.resource === 'opc-connection/plc1')!;
    expect(row).toMatchObject({ collection: 'local', collections: ['core', 'local'] });
    await t.client.configDelete('opc-connection/plc1', 'local');
    expect((await t.client.configGet('opc-connection/plc1')).collection).toBe('core');
  });
});

describe('gateway-settings holds the system name', () => {
  it('config set gateway-settings changes the system name in status at once', async () => {
    await t.client.configSet('gateway-settings', { systemName: 'plant-b' });
    expect((await t.client.status()).node.systemName).toBe('plant-b');
    expect((await t.client.node()).systemName).toBe('plant-b');
  });

  it('a Backup version of gateway-settings is stored and reported as not applied', async () => {
    const r = await t.client.configBackupAdd('gateway-settings', { systemName: 'other' });
    expect(r).toMatchObject({ changed: true, version: 'backup', applies: false });
    expect(r.note).toContain('protected');
    expect((await t.client.configGet('gateway-settings', 'backup')).content.systemName).toBe('other');
    const row = (await t.client.configList()).resources.find((x) => x.resource === 'gateway-settings')!;
    expect(row).toMatchObject({ hasBackup: true, backupApplies: false, effective: 'primary', protected: true });
  });

  it('cannot be deleted from core', async () => {
    const err = await refused(t.client.configDelete('gateway-settings'));
    expect(err.code).toBe('GW_ERR_CONFIG_REQUIRED');
    expect(err.statusCode).toBe(409);
  });
});

describe('config errors are coded', () => {
  it('GW_ERR_CONFIG_INVALID lists every failing field as a JSON pointer with what was expected', async () => {
    const err = await refused(
      t.client.configSet('opc-connection/plc1', { endpointUrl: 'http://x', bogus: 1, securityMode: 'Loud', timeouts: { connectMs: 1 } }),
    );
    expect(err.code).toBe('GW_ERR_CONFIG_INVALID');
    expect(err.statusCode).toBe(400);
    const problems = (err.details as { problems: Array<{ pointer: string; message: string }> }).problems;
    expect(problems.map((p) => p.pointer).sort()).toEqual(['/bogus', '/endpointUrl', '/securityMode', '/timeouts/connectMs']);
    expect(problems.find((p) => p.pointer === '/securityMode')!.message).toContain('"SignAndEncrypt"');
    expect(problems.find((p) => p.pointer === '/bogus')!.message).toBe('is not a known field');
    const missing = await refused(t.client.configSet('database-connection/x', {}));
    expect((missing.details as { problems: Array<{ pointer: string }> }).problems.map((p) => p.pointer).sort()).toEqual([
      '/connectUrl',
      '/driver',
    ]);
    // Nothing was written or journaled.
    expect(journal(t.dataDir)).toHaveLength(1);
  });

  it('GW_ERR_CONFIG_UNKNOWN_TYPE lists the known types', async () => {
    const err = await refused(t.client.configSet('modbus-device/m1', {}));
    expect(err.code).toBe('GW_ERR_CONFIG_UNKNOWN_TYPE');
    expect((err.details as { known: string[] }).known).toEqual([
      'database-connection',
      'edge-settings',
      'gateway-settings',
      'opc-connection',
      'security-general',
    ]);
  });

  it('GW_ERR_CONFIG_NOT_FOUND for a missing resource', async () => {
    const err = await refused(t.client.configGet('opc-connection/nothing'));
    expect(err.code).toBe('GW_ERR_CONFIG_NOT_FOUND');
    expect(err.statusCode).toBe(404);
    expect(err.message).toContain('opc-connection/nothing');
  });

  it('GW_ERR_CONFIG_BAD_ADDRESS for a singleton given a name, a named type without one, a bad name', async () => {
    for (const address of ['gateway-settings/x', 'opc-connection', 'opc-connection/a%2Fb', 'opc-connection/-x']) {
      const r = await rawRequest(t.socketPath, 'GET', `/v0/config/resources/${address}`);
      expect(r.status, address).toBe(400);
      expect(r.json, address).toMatchObject({ code: 'GW_ERR_CONFIG_BAD_ADDRESS' });
    }
  });

  it('a malformed body or query is an API error naming the field', async () => {
    const noContent = await rawRequest(t.socketPath, 'PUT', '/v0/config/resources/opc-connection/plc1', { body: '{"version":"backup"}' });
    expect(noContent.status).toBe(400);
    expect(noContent.json).toMatchObject({ code: 'GW_ERR_API_INVALID_BODY' });
    const badVersion = await rawRequest(t.socketPath, 'GET', '/v0/config/resources/gateway-settings?version=latest');
    expect(badVersion.json).toMatchObject({ code: 'GW_ERR_API_INVALID_QUERY' });
  });

  it('config check and status report a clean store', async () => {
    expect(await t.client.configCheck()).toMatchObject({ revision: 1, ok: true, invalid: [], changes: [] });
    expect((await t.client.status()).config).toEqual({ revision: 1, invalid: [] });
  });
});
