import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { ConnectionEntry, NetworkView, RedundancyView, StatusResponse } from '../../src/core/wire.js';
import { dumpLogsOnFailure, startGwd, waitFor, type GwdProcess } from '../helpers/gwd-process.js';

/**
 * Plain transport, requireSsl, the three security policies and the edition check, with one master
 * and backups that take turns (a master pairs with one backup at a time).
 */
let master: GwdProcess;
let p: GwdProcess;
let q: GwdProcess;

beforeAll(async () => {
  [master, p, q] = await Promise.all([
    startGwd({ systemName: 'm-node' }),
    startGwd({ systemName: 'p-node' }),
    startGwd({ systemName: 'q-node' }),
  ]);
  expect((await master.ctl('redundancy', 'configure', '--mode', 'master', '--ping-rate', '200')).code).toBe(0);
});
afterEach((ctx) => dumpLogsOnFailure(ctx.task.result?.state, [master, p, q]));
afterAll(async () => {
  await Promise.all([master, p, q].filter(Boolean).map((n) => n.stop()));
});

const outgoing = async (n: GwdProcess): Promise<ConnectionEntry | undefined> => (await n.json<ConnectionEntry[]>('connections', 'list'))[0];

async function dialPlain(n: GwdProcess): Promise<void> {
  const r = await n.ctl(
    'redundancy', 'configure', '--mode', 'backup', '--master-address', `127.0.0.1:${master.plainPort}`, '--no-ssl',
    '--reconnect-period', '100', '--ping-rate', '200',
  );
  expect(r.code, r.stderr).toBe(0);
}

async function hangUp(n: GwdProcess): Promise<void> {
  expect((await n.ctl('redundancy', 'configure', '--mode', 'independent', '--force')).code).toBe(0); // rule 11: the master is Active
  await waitFor('the master to see the peer gone', async () =>
    (await master.json<StatusResponse>('status')).redundancy.peer?.connected ? undefined : true,
  );
}

const until = (n: GwdProcess, what: string, ok: (c: ConnectionEntry) => boolean): Promise<ConnectionEntry> =>
  waitFor(what, async () => {
    const c = await outgoing(n);
    return c && ok(c) ? c : undefined;
  });

describe('plain transport and policies', () => {
  it('requireSsl (the default) refuses a plain dial with GW_ERR_GAN_SSL_REQUIRED in the backup last error', async () => {
    await dialPlain(p);
    const c = await until(p, 'SSL_REQUIRED on p', (x) => x.lastError?.code === 'GW_ERR_GAN_SSL_REQUIRED');
    expect(c).toMatchObject({ direction: 'outgoing', status: 'Faulted', ssl: false });
    expect(c.lastError!.message).toContain('requires SSL');
    const human = await p.ctl('connections', 'list');
    expect(human.stdout).toContain('GW_ERR_GAN_SSL_REQUIRED');
  });

  it('plain flow: requireSsl false on the master, then connection approval, then Running', async () => {
    const r = await master.ctl('network', 'configure', '--require-ssl', 'false');
    expect(r.code, r.stderr).toBe(0);
    expect((await master.json<NetworkView>('network', 'show')).settings.requireSsl).toBe(false);
    await until(p, 'PendingApproval on p', (x) => x.status === 'PendingApproval');
    const pending = await waitFor('pending on the master', async () =>
      (await master.json<ConnectionEntry[]>('connections', 'list')).find((c) => c.status === 'PendingApproval'),
    );
    expect(pending.id).toMatch(/^p-node\|[0-9a-f-]{36}$/);
    // A unique prefix of the id is enough.
    expect((await master.ctl('connections', 'approve', 'p-no')).code).toBe(0);
    await until(p, 'Running on p', (x) => x.status === 'Running');
    await hangUp(p);
  });

  it('Unrestricted accepts a new peer without approval', async () => {
    expect((await master.ctl('network', 'configure', '--policy', 'unrestricted')).code).toBe(0);
    await dialPlain(q);
    await until(q, 'Running on q', (x) => x.status === 'Running');
    const onMaster = (await master.json<ConnectionEntry[]>('connections', 'list')).find((c) => c.peer.systemName === 'q-node');
    expect(onMaster).toMatchObject({ direction: 'incoming', status: 'Running', state: 'approved' });
    await hangUp(q);
  });

  it('SpecifiedList accepts the whitelist only', async () => {
    // q synced from the master as a backup and took its system name (DESIGN section 6); give it
    // its own again, as an operator reusing it as another node would.
    const file = path.join(q.dataDir, 'gs.json');
    writeFileSync(file, JSON.stringify({ systemName: 'q-node' }));
    const renamed = await q.ctl('config', 'set', 'gateway-settings', '--file', file);
    expect(renamed.code, renamed.stderr).toBe(0);
    const r = await master.ctl('network', 'configure', '--policy', 'specified-list', '--whitelist', 'someone-else');
    expect(r.code, r.stderr).toBe(0);
    await dialPlain(q);
    await until(q, 'NOT_WHITELISTED on q', (x) => x.lastError?.code === 'GW_ERR_GAN_NOT_WHITELISTED');
    expect((await master.ctl('network', 'configure', '--whitelist', 'someone-else,Q-Node')).code).toBe(0);
    await until(q, 'Running on q', (x) => x.status === 'Running');
  });

  it('an Edge backup dialling a Standard master is Incompatible on both sides', async () => {
    const edge = await startGwd({ systemName: 'e-node', edition: 'edge' });
    try {
      const r = await edge.ctl(
        'redundancy', 'configure', '--mode', 'backup', '--master-address', `127.0.0.1:${master.plainPort}`, '--no-ssl', '--reconnect-period', '100',
      );
      expect(r.code, r.stderr).toBe(0);
      const c = await until(edge, 'Incompatible on the edge node', (x) => x.status === 'Incompatible');
      expect(c.lastError!.code).toBe('GW_ERR_GAN_INCOMPATIBLE_EDITION');
      const m = await waitFor('Incompatible on the master', async () =>
        (await master.json<ConnectionEntry[]>('connections', 'list')).find((x) => x.peer.systemName === 'e-node' && x.status === 'Incompatible'),
      );
      expect(m.lastError!.code).toBe('GW_ERR_GAN_INCOMPATIBLE_EDITION');
      // The running pair is not disturbed.
      expect((await outgoing(q))!.status).toBe('Running');
    } finally {
      await edge.stop();
    }
  });

  it('a backup dialling a node that is not a Master is Incompatible (role)', async () => {
    expect((await q.ctl('redundancy', 'configure', '--master-address', `127.0.0.1:${p.plainPort}`)).code).toBe(0);
    expect((await p.ctl('network', 'configure', '--require-ssl', 'false')).code).toBe(0);
    const c = await until(q, 'INCOMPATIBLE_ROLE on q', (x) => x.lastError?.code === 'GW_ERR_GAN_INCOMPATIBLE_ROLE');
    expect(c.status).toBe('Incompatible');
  });
});

describe('settings validation through gwctl', () => {
  it('failoverTimeout below 2 x pingRate and a Backup without a master are coded usage errors (exit 2) naming the flag', async () => {
    const r1 = await p.ctl('redundancy', 'configure', '--failover-timeout', '1000', '--ping-rate', '1000');
    expect(r1.code).toBe(2);
    expect(r1.stderr).toContain('GW_ERR_REDUNDANCY_INVALID_SETTINGS');
    expect(r1.stderr).toContain('--failover-timeout');
    const fresh = await startGwd({ systemName: 'v-node' });
    try {
      const r2 = await fresh.ctl('--json', 'redundancy', 'configure', '--mode', 'backup');
      expect(r2.code).toBe(2);
      const body = JSON.parse(r2.stderr) as { code: string; details: { problems: Array<{ pointer: string }> } };
      expect(body.code).toBe('GW_ERR_REDUNDANCY_INVALID_SETTINGS');
      expect(body.details.problems.map((x) => x.pointer)).toEqual(['/master/host']);
      // Nothing was applied.
      expect((await fresh.json<RedundancyView>('redundancy', 'show')).settings.role).toBe('Independent');
      // Every flag of DESIGN section 8 is accepted and applied live.
      const all = await fresh.json<RedundancyView>(
        'redundancy', 'configure', '--mode', 'backup', '--master-address', 'master.example:9443', '--ssl', '--standby', 'warm',
        '--failover-timeout', '5000', '--join-wait', '1000', '--recovery', 'manual', '--ping-rate', '500', '--fast-failover', 'false',
      );
      expect(all.settings).toMatchObject({
        role: 'Backup',
        standbyActivityLevel: 'Warm',
        failoverTimeout: 5000,
        joinWaitTime: 1000,
        masterRecoveryMode: 'Manual',
        fastFailover: false,
        master: { host: 'master.example', port: 9443, enableSsl: true, pingRate: 500 },
      });
      expect((await fresh.json<RedundancyView>('redundancy', 'configure', '--master-port', '8061')).settings.master.port).toBe(8061);
      expect((await fresh.ctl('redundancy', 'configure')).code).toBe(2);
      expect((await fresh.ctl('redundancy', 'configure', '--mode', 'boss')).code).toBe(2);
    } finally {
      await fresh.stop();
    }
  });
});
