/**
 * Issue 17 with real cables: three network namespaces, one per host (the master's gwd, the
 * backup's gwd, etcd), joined by veth pairs: a–b, a–etcd, b–etcd. A cable is cut with `ip link
 * set down` (no FIN, no RST: packets just stop), which is what a partition is. The unix sockets of
 * gwctl live in the file system, so gwctl drives both nodes from the test's own namespace.
 *
 * Checked on the merged event timeline: 0 ms with two Active nodes while the cable between the
 * nodes is cut, then while the master's cable to etcd is cut too; the backup takes over once the
 * master's lease ran out, and exactly one node is Active when the cables are back.
 * Skipped, with a message, where `ip netns` is not permitted or etcd is missing.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { activeIntervals, clip, intersect, readEvents } from '../helpers/active-timeline.js';
import { etcdVersion } from '../helpers/etcd.js';
import { okOn, statusOf } from '../helpers/fixed-port-node.js';
import { waitFor } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const TAG = `gw${process.pid % 10_000}`;
const NS = { a: `${TAG}a`, b: `${TAG}b`, e: `${TAG}e` } as const;
/** Each cable: its two ends' interface names, namespaces and addresses (a /30 of its own). */
const CABLES = {
  ab: { ends: [[NS.a, `${TAG}ab0`, '10.231.1.1'], [NS.b, `${TAG}ab1`, '10.231.1.2']] },
  ae: { ends: [[NS.a, `${TAG}ae0`, '10.231.2.1'], [NS.e, `${TAG}ae1`, '10.231.2.2']] },
  be: { ends: [[NS.b, `${TAG}be0`, '10.231.3.1'], [NS.e, `${TAG}be1`, '10.231.3.2']] },
} as const;
const TTL = 2000;
const PORT = 18_088;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe', timeout: 10_000 });
}

function netnsPermitted(): string | null {
  const probe = `${TAG}probe`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) return `ip netns not permitted here: ${(r.stderr || r.error?.message || '').trim()}`;
  spawnSync('ip', ['netns', 'del', probe], { timeout: 10_000 });
  return null;
}

const skipWhy = etcdVersion() === null ? 'etcd (package etcd-server) is not installed' : netnsPermitted();

interface Host {
  name: 'm' | 'b';
  ns: string;
  dataDir: string;
  socket: string;
  child: ChildProcess | null;
  deaths: number[];
  out: string;
}

const procs: ChildProcess[] = [];
const temps: Array<() => void> = [];
let etcdChild: ChildProcess | null = null;

function setCable(cable: keyof typeof CABLES, up: boolean): void {
  for (const [ns, dev] of CABLES[cable].ends) ip('-n', ns, 'link', 'set', dev, up ? 'up' : 'down');
}

function build(): void {
  for (const ns of Object.values(NS)) {
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
  for (const c of Object.values(CABLES)) {
    const [[ns0, dev0, addr0], [ns1, dev1, addr1]] = c.ends;
    ip('link', 'add', dev0, 'netns', ns0, 'type', 'veth', 'peer', 'name', dev1, 'netns', ns1);
    ip('-n', ns0, 'addr', 'add', `${addr0}/30`, 'dev', dev0);
    ip('-n', ns1, 'addr', 'add', `${addr1}/30`, 'dev', dev1);
    ip('-n', ns0, 'link', 'set', dev0, 'up');
    ip('-n', ns1, 'link', 'set', dev1, 'up');
  }
}

function teardown(): void {
  for (const ns of Object.values(NS)) spawnSync('ip', ['netns', 'del', ns], { timeout: 10_000 });
}

function inNs(ns: string, cmd: string, args: string[]): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(child);
  return child;
}

function startGwd(h: Host, bind: string): void {
  const gwd = path.resolve('bin/gwd');
  const child = inNs(h.ns, process.execPath, [gwd, '--data-dir', h.dataDir, '--port', String(PORT), '--ssl-port', '0', '--bind', bind, '--system-name', h.name]);
  child.stdout!.on('data', (d: Buffer) => (h.out = (h.out + d.toString()).slice(-20_000)));
  child.stderr!.on('data', (d: Buffer) => (h.out = (h.out + d.toString()).slice(-20_000)));
  h.child = child;
}

async function stopAll(): Promise<void> {
  for (const c of procs.splice(0)) {
    if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) continue;
    const exited = new Promise((r) => c.once('exit', r));
    // `ip netns exec` replaces itself with the command (execvp): the PID is the process's own.
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {
      // gone
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  }
}

describe.skipIf(skipWhy !== null)(`witness across real cables in network namespaces${skipWhy ? ` (skipped: ${skipWhy})` : ''}`, () => {
  let m: Host;
  let b: Host;

  beforeAll(async () => {
    teardown();
    build();
    const mk = (name: 'm' | 'b', ns: string): Host => {
      const t = makeTempDir(`gwd-netns-${name}-`);
      temps.push(t.cleanup);
      return { name, ns, dataDir: t.dir, socket: path.join(t.dir, 'gwd.sock'), child: null, deaths: [], out: '' };
    };
    m = mk('m', NS.a);
    b = mk('b', NS.b);
    // etcd listens on its two cables; each node reaches it over its own.
    const etcdDir = makeTempDir('gwd-netns-etcd-');
    temps.push(etcdDir.cleanup);
    const urls = `http://${CABLES.ae.ends[1][2]}:2379,http://${CABLES.be.ends[1][2]}:2379`;
    etcdChild = inNs(NS.e, 'etcd', [
      '--name', 'w', '--data-dir', path.join(etcdDir.dir, 'data'),
      '--listen-client-urls', urls, '--advertise-client-urls', urls,
      '--listen-peer-urls', 'http://127.0.0.1:2380', '--initial-advertise-peer-urls', 'http://127.0.0.1:2380',
      '--initial-cluster', 'w=http://127.0.0.1:2380', '--initial-cluster-state', 'new',
    ]);
    startGwd(m, '0.0.0.0');
    startGwd(b, '0.0.0.0');
    await okOn(m, 'wait', '--ready', '--timeout', '30');
    await okOn(b, 'wait', '--ready', '--timeout', '30');
    const timing = ['--failover-timeout', '1000', '--ping-rate', '200', '--join-wait', '500'];
    const witness = (etcdAddr: string): string[] => ['--witness-etcd', `http://${etcdAddr}:2379`, '--witness-prefix', '/gwd/netns', '--witness-ttl', String(TTL)];
    await okOn(m, 'network', 'configure', '--require-ssl', 'false', '--policy', 'unrestricted');
    await okOn(m, 'redundancy', 'configure', '--mode', 'master', ...timing, ...witness(CABLES.ae.ends[1][2]));
    await okOn(b, 'redundancy', 'configure', '--mode', 'backup', '--master-address', `${CABLES.ab.ends[0][2]}:${PORT}`, '--no-ssl', '--reconnect-period', '200', ...timing, ...witness(CABLES.be.ends[1][2]));
    await okOn(b, 'wait', '--peer-connected', '--activity', 'standby', '--timeout', '30');
    await okOn(m, 'wait', '--activity', 'active', '--timeout', '30');
    await waitFor('the master to hold the key', async () => ((await statusOf(m)).redundancy.witness?.holder === 'self' ? true : undefined), 20_000, 100);
  }, 120_000);

  afterAll(async () => {
    await stopAll();
    teardown();
    temps.splice(0).forEach((c) => c());
  }, 60_000);

  it('the cable between the nodes cut, then the master\'s cable to etcd too: never two Active; the backup takes over only after the lease; one Active when the cables are back', async () => {
    const from = Date.now();
    try {
      setCable('ab', false);
      await new Promise((r) => setTimeout(r, 3 * TTL));
      expect((await statusOf(m)).redundancy.activity).toBe('Active');
      expect((await statusOf(b)).redundancy.activity).not.toBe('Active');
      const isolatedAt = Date.now();
      setCable('ae', false);
      await okOn(b, 'wait', '--activity', 'active', '--timeout', '20');
      const [em, eb] = await Promise.all([readEvents(m), readEvents(b)]);
      const down = em.find((e) => e.type === 'activity.changed' && e.data.from === 'Active' && Date.parse(e.time) >= isolatedAt);
      const up = eb.find((e) => e.type === 'activity.changed' && e.data.to === 'Active' && Date.parse(e.time) >= isolatedAt);
      expect(down?.data.reason).toBe('witness-lost');
      expect(Date.parse(down!.time)).toBeLessThan(Date.parse(up!.time));
    } finally {
      setCable('ab', true);
      setCable('ae', true);
    }
    await waitFor('exactly one Active with the cables back', async () => {
      const [x, y] = await Promise.all([statusOf(m), statusOf(b)]);
      const one = (x.redundancy.activity === 'Active') !== (y.redundancy.activity === 'Active');
      return one && x.redundancy.peer?.connected ? true : undefined;
    }, 30_000, 200);
    const now = Date.now();
    const [em, eb] = await Promise.all([readEvents(m), readEvents(b)]);
    const both = clip(intersect(activeIntervals(em, m.deaths, now), activeIntervals(eb, b.deaths, now)), from);
    if (both.length > 0) process.stderr.write(`\n----- m -----\n${m.out}\n----- b -----\n${b.out}\n`);
    expect(both).toEqual([]);
  }, 120_000);
});
