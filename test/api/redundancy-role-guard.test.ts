import { readFileSync } from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { GwError } from '../../src/core/errors.js';
import type { RedundancyUpdate } from '../../src/core/settings/types.js';
import { startTestDaemon, type TestDaemon } from '../helpers/in-process-daemon.js';
import { waitFor } from '../helpers/processes.js';

/**
 * Rule 11 on two real daemons in this process, paired over the plain link: a role change that would
 * make this node Active while its connected peer is Active is refused (nothing written) unless forced.
 */
const started: TestDaemon[] = [];
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') for (const t of started) process.stderr.write(t.logs.join(''));
  await Promise.all(started.splice(0).map((t) => t.stop()));
});

async function daemon(name: string): Promise<TestDaemon> {
  const t = await startTestDaemon({ systemName: name });
  started.push(t);
  return t;
}

const timings = { failoverTimeout: 1000, joinWaitTime: 500 } as const;
const link = { pingRate: 200, reconnectPeriod: 100 } as const;

/** Master Active, backup standing by, both seeing the other connected. */
async function pair(): Promise<{ master: TestDaemon; backup: TestDaemon }> {
  const master = await daemon('m');
  const backup = await daemon('b');
  await master.client.configureNetwork({ requireSsl: false, securityPolicy: 'Unrestricted' });
  await master.client.configureRedundancy({ role: 'Master', ...timings, master: link });
  await backup.client.configureRedundancy({
    role: 'Backup',
    ...timings,
    master: { host: '127.0.0.1', port: master.daemon.gan.listenerViews().plain.port!, enableSsl: false, ...link },
  });
  await waitFor('master Active and the backup standing by, connected', async () => {
    const m = master.daemon.engine.view();
    const b = backup.daemon.engine.view();
    return m.activity === 'Active' && b.activity !== 'Active' && b.peer?.connected && b.peer.activity === 'Active' ? true : undefined;
  }, 15_000, 20);
  return { master, backup };
}

async function refusal(t: TestDaemon, body: RedundancyUpdate & { force?: boolean }): Promise<GwError> {
  const err = await t.client.request('PUT', '/v0/redundancy', body).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GwError);
  return err as GwError;
}

describe('rule 11: a role change that would make two Active nodes', () => {
  it('is refused on the standing-by backup (to Independent or Master) with nothing written; other changes still apply', async () => {
    const { backup } = await pair();
    const file = path.join(backup.dataDir, 'redundancy.json');
    const bytes = readFileSync(file, 'utf8');
    const seq = backup.daemon.events.lastSeq;
    for (const role of ['Independent', 'Master'] as const) {
      const err = await refusal(backup, { role, failoverTimeout: 5000 });
      expect(err.code).toBe('GW_ERR_REDUNDANCY_WOULD_DUAL_ACTIVE');
      expect(err.statusCode).toBe(409);
      expect(err.message).toContain(`changing the role to ${role}`);
      expect(err.message).toMatch(/peer m \(127\.0\.0\.1:\d+\) is Active/);
      expect(err.message).toContain('--force');
      expect(err.details).toMatchObject({ from: 'Backup', to: role, peer: { systemName: 'm' } });
    }
    expect(readFileSync(file, 'utf8')).toBe(bytes);
    expect((await backup.client.redundancy()).settings).toMatchObject({ role: 'Backup', failoverTimeout: 1000 });
    expect(backup.daemon.events.since(seq).filter((e) => e.type.startsWith('redundancy.settings') || e.type === 'role.changed')).toEqual([]);
    expect(backup.daemon.engine.view().activity).not.toBe('Active');
    // A change that keeps the role is not the guard's business.
    const view = await backup.client.configureRedundancy({ failoverTimeout: 1200 });
    expect(view.settings.failoverTimeout).toBe(1200);
    expect(view.forced).toBeNull();
  });

  it('--force applies it, says what it overrode, and never stores force', async () => {
    const { master, backup } = await pair();
    const view = await backup.client.configureRedundancy({ role: 'Independent' }, { force: true });
    expect(view.settings.role).toBe('Independent');
    expect(view.forced).toMatchObject({ code: 'GW_ERR_REDUNDANCY_WOULD_DUAL_ACTIVE' });
    expect(view.forced!.message).toContain('Independent');
    const stored = JSON.parse(readFileSync(path.join(backup.dataDir, 'redundancy.json'), 'utf8')) as Record<string, unknown>;
    expect(stored.role).toBe('Independent');
    expect(stored).not.toHaveProperty('force');
    expect(backup.daemon.events.since(0).filter((e) => e.type === 'redundancy.settings.changed').at(-1)!.data).toMatchObject({
      forced: 'GW_ERR_REDUNDANCY_WOULD_DUAL_ACTIVE',
    });
    await waitFor('the forced node Active', async () => (backup.daemon.engine.view().activity === 'Active' ? true : undefined), 5000, 20);
    // The operator chose two Active nodes; the master is not touched.
    expect(master.daemon.engine.view().activity).toBe('Active');
  });

  it('is not in the way of an Active node, nor of a change with no connected Active peer', async () => {
    const { master, backup } = await pair();
    // The Active master made Independent: it stays the one Active node (the backup holds: rule 10).
    const m = await master.client.configureRedundancy({ role: 'Independent' });
    expect(m.forced).toBeNull();
    expect(m.settings.role).toBe('Independent');
    // force on a change the guard does not refuse overrides nothing.
    const alone = await daemon('c');
    const c = await alone.client.configureRedundancy({ role: 'Master' }, { force: true });
    expect(c.forced).toBeNull();
    void backup;
  });

  it('force is a boolean or it is a bad body', async () => {
    const t = await daemon('x');
    const err = await refusal(t, { role: 'Master', force: 'yes' as unknown as boolean });
    expect(err.code).toBe('GW_ERR_API_INVALID_BODY');
    expect(err.message).toContain('/force');
  });
});
