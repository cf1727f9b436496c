/**
 * Issue 17 on real processes: two gwd nodes and a real etcd (Debian package etcd-server, started
 * on free loopback ports by test/helpers/etcd.ts) as the witness of DESIGN.md section 9. The link
 * between the nodes goes through the fault proxy, so it can be cut while both still reach etcd.
 * Every case checks the merged event timeline for 0 ms of two Active nodes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { StatusResponse } from '../../src/core/wire.js';
import { activeIntervals, intersect, clip, readEvents } from '../helpers/active-timeline.js';
import { etcdVersion, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { okOn, spawnOnPort, statusOf } from '../helpers/fixed-port-node.js';
import { waitFor } from '../helpers/processes.js';
import { nodePlace, type RealNode } from '../helpers/real-pair.js';

const HAVE_ETCD = etcdVersion() !== null;
const TTL = 2000;

let etcd: EtcdServer | null = null;
const nodes: RealNode[] = [];
const proxies: FaultProxy[] = [];
const temps: Array<() => void> = [];

beforeAll(async () => {
  if (HAVE_ETCD) etcd = await startEtcd();
}, 60_000);
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') for (const n of nodes) process.stderr.write(`\n----- ${n.name} -----\n${n.proc.output().slice(-20_000)}\n`);
  for (const n of nodes.splice(0)) {
    try {
      process.kill(n.proc.pid, 'SIGCONT');
    } catch {
      // gone
    }
    await n.proc.stop(3000);
  }
  for (const p of proxies.splice(0)) await p.stop();
  temps.splice(0).forEach((c) => c());
});
afterAll(async () => {
  await etcd?.cleanup();
});

function launch(n: Omit<RealNode, 'proc'>): RealNode {
  const node: RealNode = { ...n, proc: spawnOnPort(n.dataDir, n.name, n.port) };
  const i = nodes.findIndex((x) => x.name === n.name);
  if (i >= 0) nodes[i] = node;
  else nodes.push(node);
  return node;
}

const activity = async (n: RealNode): Promise<string> => (await statusOf(n)).redundancy.activity;

/**
 * A plain-link pair (the backup dials the master through a fault proxy), both with the witness:
 * the same prefix on the same etcd. Returns when the master is Active and holds the key.
 */
async function witnessPair(prefix: string, opts: { masterEtcd?: string; later?: boolean; failoverTimeoutMs?: number } = {}) {
  const [m, b] = await Promise.all(['m', 'b'].map(async (name) => launch(await nodePlace('gwd-witness', name, temps))));
  const master = m!;
  const backup = b!;
  await Promise.all([okOn(master, 'wait', '--ready', '--timeout', '15'), okOn(backup, 'wait', '--ready', '--timeout', '15')]);
  const proxy = await new FaultProxy(master.port).start();
  proxies.push(proxy);
  const witness = ['--witness-etcd', etcd!.clientUrl, '--witness-prefix', prefix, '--witness-ttl', String(TTL)];
  const timing = ['--failover-timeout', String(opts.failoverTimeoutMs ?? 1000), '--ping-rate', '200', '--join-wait', '500'];
  await okOn(master, 'network', 'configure', '--require-ssl', 'false', '--policy', 'unrestricted');
  // Endpoints may differ per node (the same cluster): the master's may go through a proxy of its own.
  const masterWitness = opts.masterEtcd ? ['--witness-etcd', opts.masterEtcd, ...witness.slice(2)] : witness;
  // later: the pair is made without a witness (opts.later), which the test adds afterwards.
  await okOn(master, 'redundancy', 'configure', '--mode', 'master', ...timing, ...(opts.later ? [] : masterWitness));
  await okOn(backup, 'redundancy', 'configure', '--mode', 'backup', '--master-address', `127.0.0.1:${proxy.port}`, '--no-ssl', '--reconnect-period', '100', ...timing, ...(opts.later ? [] : witness));
  await okOn(backup, 'wait', '--peer-connected', '--activity', 'standby', '--timeout', '15');
  await okOn(master, 'wait', '--activity', 'active', '--timeout', '15');
  if (!opts.later) await waitFor('the master to hold the leader key', async () => ((await statusOf(master)).redundancy.witness?.holder === 'self' ? true : undefined), 10_000, 50);
  return { master, backup, proxy, pairedAt: Date.now(), witness };
}

/** Both Active on the merged event timeline since `from`, in ms (kill times end an interval). */
async function overlapMs(a: RealNode, b: RealNode, from: number): Promise<number> {
  const now = Date.now();
  const [ea, eb] = await Promise.all([readEvents(a), readEvents(b)]);
  const both = clip(intersect(activeIntervals(ea, a.deaths, now), activeIntervals(eb, b.deaths, now)), from);
  return both.reduce((n, [s, e]) => n + (e - s), 0);
}

describe.skipIf(!HAVE_ETCD)('witness on etcd (section 9), real processes', () => {
  it('status shows the witness; the Active master holds the key; the standing-by backup does not', async () => {
    const { master, backup } = await witnessPair('/gwd/status-case');
    const sm: StatusResponse = await statusOf(master);
    expect(sm.redundancy.witness).toMatchObject({ kind: 'etcd', prefix: '/gwd/status-case', reachable: true, holder: 'self', leaseTtlMs: TTL });
    expect(sm.redundancy.witness?.leaseRemainingMs).toBeGreaterThan(0);
    const sb = await statusOf(backup);
    expect(sb.redundancy.witness?.holder).not.toBe('self');
  }, 90_000);

  it('the link cut while both reach etcd: the backup stays standing by for the whole cut (0 ms with two Active)', async () => {
    const { master, backup, proxy, pairedAt } = await witnessPair('/gwd/cut-case');
    proxy.blackhole('both');
    // Several failover timeouts and lease periods: the master keeps its key, the backup cannot take it.
    await new Promise((r) => setTimeout(r, 3 * TTL));
    expect(await activity(master)).toBe('Active');
    expect(await activity(backup)).not.toBe('Active');
    const sb = await statusOf(backup);
    expect(sb.redundancy.witness?.holder).toBe('other');
    proxy.heal();
    await okOn(backup, 'wait', '--peer-connected', '--timeout', '15');
    expect(await overlapMs(master, backup, pairedAt)).toBe(0);
  }, 90_000);

  it('kill -9 of the master: the backup goes Active once the lease ran out, not before', async () => {
    const { master, backup, pairedAt } = await witnessPair('/gwd/kill-case');
    const killedAt = Date.now();
    master.deaths.push(killedAt);
    master.proc.child.kill('SIGKILL');
    await master.proc.exited;
    await okOn(backup, 'wait', '--activity', 'active', '--timeout', '15');
    const events = await readEvents(backup);
    const takeover = events.find((e) => e.type === 'activity.changed' && e.data.to === 'Active' && Date.parse(e.time) >= killedAt);
    expect(takeover, 'the backup took over').toBeDefined();
    const after = Date.parse(takeover!.time) - killedAt;
    // The master renewed at most ttl/3 before the kill: its lease ends at etcd no sooner than
    // 2/3 ttl after it, and etcd removes expired leases in rounds of 500 ms.
    expect(after).toBeGreaterThanOrEqual((2 * TTL) / 3 - 50);
    expect(after).toBeLessThanOrEqual(TTL + 1500);
    expect(await overlapMs(master, backup, pairedAt)).toBe(0);
  }, 90_000);

  it('a clean stop of the master releases the key: the backup takes over at once', async () => {
    const { master, backup, pairedAt } = await witnessPair('/gwd/stop-case');
    const stoppedAt = Date.now();
    master.proc.child.kill('SIGTERM');
    await master.proc.exited;
    master.deaths.push(Date.now());
    await okOn(backup, 'wait', '--activity', 'active', '--timeout', '15');
    const events = await readEvents(backup);
    const takeover = events.find((e) => e.type === 'activity.changed' && e.data.to === 'Active' && Date.parse(e.time) >= stoppedAt);
    expect(takeover?.data.reason).toBe('master-stopped');
    expect(Date.parse(takeover!.time) - stoppedAt).toBeLessThan(TTL);
    expect(await overlapMs(master, backup, pairedAt)).toBe(0);
  }, 90_000);

  it('different prefixes on the two nodes: the connection is Incompatible with GW_ERR_REDUNDANCY_WITNESS_MISMATCH', async () => {
    const { master, backup } = await witnessPair('/gwd/mismatch-case');
    // A witness change closes the link (the hello says which witness): the redial is checked.
    await okOn(backup, 'redundancy', 'configure', '--witness-prefix', '/gwd/another-pair');
    const conn = await waitFor('the mismatch on the backup', async () => {
      const list = JSON.parse(await okOn(backup, '--json', 'connections', 'list')) as Array<{ status: string; lastError: { code: string } | null }>;
      return list.find((c) => c.lastError?.code === 'GW_ERR_REDUNDANCY_WITNESS_MISMATCH');
    }, 15_000, 100);
    expect(conn.status).toBe('Incompatible');
    expect(await activity(master)).toBe('Active');
  }, 90_000);

  it('the master cut off from both the backup and etcd: it stands down before its lease can run out, and the backup takes over after (0 ms with two Active)', async () => {
    const etcdProxy = await new FaultProxy(etcd!.clientPort).start();
    proxies.push(etcdProxy);
    const { master, backup, proxy, pairedAt } = await witnessPair('/gwd/isolated-master', { masterEtcd: `http://127.0.0.1:${etcdProxy.port}` });
    const cutAt = Date.now();
    etcdProxy.blackhole('both');
    proxy.blackhole('both');
    await okOn(backup, 'wait', '--activity', 'active', '--timeout', '20');
    const [em, eb] = await Promise.all([readEvents(master), readEvents(backup)]);
    const down = em.find((e) => e.type === 'activity.changed' && e.data.from === 'Active' && Date.parse(e.time) >= cutAt);
    const up = eb.find((e) => e.type === 'activity.changed' && e.data.to === 'Active' && Date.parse(e.time) >= cutAt);
    expect(down?.data.reason).toBe('witness-lost');
    expect(Date.parse(down!.time)).toBeLessThan(Date.parse(up!.time));
    expect(Date.parse(down!.time) - cutAt).toBeLessThan(TTL);
    etcdProxy.heal();
    proxy.heal();
    await okOn(master, 'wait', '--peer-connected', '--timeout', '15');
    expect(await overlapMs(master, backup, pairedAt)).toBe(0);
  }, 90_000);

  it('etcd stopped while the link is fine: nothing changes; then the link cut too: no node Active; etcd back: exactly one', async () => {
    const { master, backup, proxy, pairedAt } = await witnessPair('/gwd/etcd-down');
    await etcd!.stop();
    try {
      await new Promise((r) => setTimeout(r, 2 * TTL));
      expect(await activity(master)).toBe('Active');
      expect(await activity(backup)).not.toBe('Active');
      expect((await statusOf(master)).redundancy.witness?.reachable).toBe(false);
      proxy.blackhole('both');
      // Neither vote anywhere: the master stands down (it cannot renew, the peer cannot vouch).
      await okOn(master, 'wait', '--activity', 'standby', '--timeout', '10');
      await new Promise((r) => setTimeout(r, TTL));
      expect(await activity(backup)).not.toBe('Active');
    } finally {
      await etcd!.start();
    }
    await waitFor('exactly one Active once etcd is back', async () => {
      const [a, b] = await Promise.all([activity(master), activity(backup)]);
      return (a === 'Active') !== (b === 'Active') ? true : undefined;
    }, 20_000, 100);
    proxy.heal();
    await okOn(backup, 'wait', '--peer-connected', '--timeout', '15');
    expect(await overlapMs(master, backup, pairedAt)).toBe(0);
  }, 120_000);

  it('a witness added to a running pair, the Active master first: it never stands down (it takes the key before its link closes); either order: never two Active', async () => {
    for (const first of ['master', 'backup'] as const) {
      // A master's vote from its peer lasts failoverTimeout - 200 ms past the last ping answered: with
      // 1000 ms, an etcd slow to grant its first key under load (CI, 2026-12-04) let that vote run
      // out before the key came, and the master stood down (witness-lost), the safe rule at work
      // but not what this case is about. 3000 ms leaves etcd time on a loaded machine.
      const { master, backup, witness, pairedAt } = await witnessPair(`/gwd/added-${first}-first`, { later: true, failoverTimeoutMs: 3000 });
      const order = first === 'backup' ? [backup, master] : [master, backup];
      for (const n of order) await okOn(n, 'redundancy', 'configure', ...witness);
      await okOn(backup, 'wait', '--peer-connected', '--timeout', '15');
      await waitFor('the master to hold the key', async () => ((await statusOf(master)).redundancy.witness?.holder === 'self' ? true : undefined), 10_000, 50);
      // The backup first: its link closes (the hello must carry the new witness) and the master,
      // which has no witness yet, refuses the redial (mismatch); when the master then gets the
      // witness it has neither vote for a moment (no key yet, no link) and stands down until both
      // are back: safe, but a gap. The README says to configure the Active node first.
      if (first === 'master') {
        const changes = (await readEvents(master)).filter((e) => e.type === 'activity.changed' && Date.parse(e.time) >= pairedAt);
        expect(changes.map((e) => `${e.data.from}->${e.data.to}:${e.data.reason}`), `${first} configured first`).toEqual([]);
      }
      await okOn(master, 'wait', '--activity', 'active', '--timeout', '15');
      expect(await overlapMs(master, backup, pairedAt)).toBe(0);
      for (const n of nodes.splice(0)) await n.proc.stop(3000);
    }
  }, 120_000);
});
