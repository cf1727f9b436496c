/**
 * The witness (DESIGN.md section 9) as an operator reads it, on real processes and a real etcd
 * (Debian package etcd-server, test/helpers/etcd.ts): the `Witness` lines of `gwctl status` and
 * `gwctl redundancy show`, and the gwd_witness_* metrics, on a pair whose link goes through the
 * fault proxy. The safety cases are in test/e2e/witness.test.ts.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { etcdVersion, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { okOn, spawnOnPort, statusOf } from '../helpers/fixed-port-node.js';
import { waitFor } from '../helpers/processes.js';
import { rawRequest } from '../helpers/raw-http.js';
import { nodePlace, type RealNode } from '../helpers/real-pair.js';

const HAVE_ETCD = etcdVersion() !== null;
const TTL = 2000;
const PREFIX = '/gwd/status-lines';

let etcd: EtcdServer | null = null;
const nodes: RealNode[] = [];
const proxies: FaultProxy[] = [];
const temps: Array<() => void> = [];

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') for (const n of nodes) process.stderr.write(`\n----- ${n.name} -----\n${n.proc.output().slice(-20_000)}\n`);
  for (const n of nodes.splice(0)) await n.proc.stop(3000);
  for (const p of proxies.splice(0)) await p.stop();
  temps.splice(0).forEach((c) => c());
});
afterAll(async () => {
  await etcd?.cleanup();
});

const witnessLine = async (n: RealNode): Promise<string> => /^Witness .*$/m.exec(await okOn(n, 'status'))?.[0] ?? '(no Witness line)';

function metric(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}
const metrics = async (n: RealNode): Promise<string> => (await rawRequest(n.socket, 'GET', '/metrics')).text;

describe.skipIf(!HAVE_ETCD)('the witness in gwctl status, redundancy show and /metrics (real processes, real etcd)', () => {
  it('holder, standing by, key held by the peer across a cut link, etcd unreachable; `-` without a witness', async () => {
    etcd = await startEtcd();
    const [m, b] = await Promise.all(['m', 'b'].map(async (name) => await nodePlace('gwd-witness-status', name, temps)));
    const master: RealNode = { ...m!, proc: spawnOnPort(m!.dataDir, 'm', m!.port) };
    const backup: RealNode = { ...b!, proc: spawnOnPort(b!.dataDir, 'b', b!.port) };
    nodes.push(master, backup);
    await Promise.all([okOn(master, 'wait', '--ready', '--timeout', '15'), okOn(backup, 'wait', '--ready', '--timeout', '15')]);

    // No witness yet: `-` in both, no gwd_witness_* sample.
    expect(await witnessLine(master)).toMatch(/^Witness\s+-$/);
    expect(await okOn(master, 'redundancy', 'show')).toMatch(/^Witness\s+-$/m);
    expect(metric(await metrics(master), 'gwd_witness_holder')).toBeUndefined();

    const proxy = await new FaultProxy(master.port).start();
    proxies.push(proxy);
    const witness = ['--witness-etcd', etcd.clientUrl, '--witness-prefix', PREFIX, '--witness-ttl', String(TTL)];
    const timing = ['--failover-timeout', '1000', '--ping-rate', '200', '--join-wait', '500'];
    await okOn(master, 'network', 'configure', '--require-ssl', 'false', '--policy', 'unrestricted');
    const shown = await okOn(master, 'redundancy', 'configure', '--mode', 'master', ...timing, ...witness);
    expect(shown).toContain(`\nWitness                etcd ${etcd.clientUrl} (prefix ${PREFIX}, lease TTL ${TTL} ms)\n`);
    await okOn(backup, 'redundancy', 'configure', '--mode', 'backup', '--master-address', `127.0.0.1:${proxy.port}`, '--no-ssl', '--reconnect-period', '100', ...timing, ...witness);
    await okOn(backup, 'wait', '--peer-connected', '--activity', 'standby', '--timeout', '15');
    await okOn(master, 'wait', '--activity', 'active', '--timeout', '15');
    await waitFor('the master to hold the key', async () => ((await statusOf(master)).redundancy.witness?.holder === 'self' ? true : undefined), 10_000, 50);

    expect(await okOn(backup, 'redundancy', 'show')).toMatch(new RegExp(`^Witness\\s+etcd ${etcd.clientUrl} \\(prefix ${PREFIX}, lease TTL ${TTL} ms\\)$`, 'm'));
    expect(await witnessLine(master)).toMatch(new RegExp(`^Witness\\s+etcd ${PREFIX}: holds the key \\(lease \\d\\.\\d s left\\)$`));
    expect(await witnessLine(backup)).toMatch(/^Witness\s+etcd \S+: not asked yet \(a standing-by node asks etcd only when it takes over\)$/);
    const mm = await metrics(master);
    expect(metric(mm, 'gwd_witness_reachable')).toBe(1);
    expect(metric(mm, 'gwd_witness_holder')).toBe(1);
    expect(metric(mm, 'gwd_witness_lease_remaining_seconds')).toBeGreaterThan(0);
    const bm = await metrics(backup);
    expect(metric(bm, 'gwd_witness_reachable')).toBeUndefined(); // not asked yet: unknown, not unreachable
    expect(metric(bm, 'gwd_witness_holder')).toBe(0);
    expect(metric(bm, 'gwd_witness_lease_remaining_seconds')).toBe(0);

    // The link cut: the backup tries to take over, finds the key held by the master, stays standing by.
    proxy.blackhole('both');
    const masterUuid = (await statusOf(master)).node.uuid;
    await waitFor('the backup to find the key taken', async () => ((await statusOf(backup)).redundancy.witness?.holder === 'other' ? true : undefined), 10_000, 50);
    const epoch = (await statusOf(backup)).redundancy.witness!.otherHolder!.epoch;
    expect(await witnessLine(backup)).toMatch(
      new RegExp(`^Witness\\s+etcd ${PREFIX}: reachable, key held by the peer \\(${masterUuid.slice(0, 8)}…, epoch ${epoch}\\) at the last try$`),
    );
    expect((await statusOf(backup)).redundancy.activity).not.toBe('Active');
    const cut = await metrics(backup);
    expect(metric(cut, 'gwd_witness_reachable')).toBe(1);
    expect(metric(cut, 'gwd_witness_holder')).toBe(0);
    proxy.heal();
    await okOn(backup, 'wait', '--peer-connected', '--timeout', '15');

    // etcd down with the link healthy: the master stays Active on its peer's vote, and says why it cannot renew.
    await etcd.stop();
    await waitFor('the master to find etcd unreachable', async () => ((await statusOf(master)).redundancy.witness?.reachable === false ? true : undefined), 10_000, 50);
    await waitFor('the lease to run out', async () => ((await statusOf(master)).redundancy.witness?.holder === null ? true : undefined), 2 * TTL + 2000, 50);
    expect(await witnessLine(master)).toMatch(new RegExp(`^Witness\\s+etcd ${PREFIX}: unreachable \\(GW_ERR_WITNESS_UNREACHABLE: .+\\)$`));
    expect((await statusOf(master)).redundancy.activity).toBe('Active');
    const down = await metrics(master);
    expect(metric(down, 'gwd_witness_reachable')).toBe(0);
    expect(metric(down, 'gwd_witness_holder')).toBe(0);

    // Removed: `-` again.
    await okOn(master, 'redundancy', 'configure', '--no-witness');
    expect(await witnessLine(master)).toMatch(/^Witness\s+-$/);
  }, 120_000);
});
