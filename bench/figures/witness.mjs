import { activeIntervals, ctl, events, freePort, json, lastSeq, Node, overlapMs } from '../lib/pair.mjs';
import { cutProxy } from '../lib/cut-proxy.mjs';
import { startEtcd } from '../lib/etcd.mjs';
import { tempDir } from '../lib/procs.mjs';
import { summarize } from '../lib/stats.mjs';
import path from 'node:path';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const TTL = 5000;
const FAILOVER = 1000;

/**
 * Section 9 figures (issue 17): with an etcd witness (lease 5000 ms), the takeover after kill -9
 * of the master, and both-Active time across partitions of the link between the nodes, beside the
 * same partitions without a witness. The backup dials the master through a cuttable TCP pipe; both
 * reach etcd directly. Times come from the daemons' event timestamps (one machine, one clock).
 */
export async function witnessFigures({ kills, partitions, plainPartitions }) {
  const results = [];
  // Without a healthy etcd the run fails with why (startEtcd's message), rather than leave the
  // witness rows out of a table that would look complete.
  const etcd = await startEtcd();
  try {
    // 1. kill -9 with a witness: the backup needs the key, free once the master's lease ran out.
    {
      const pair = await witnessPair(etcd.clientUrl, '/gwd/bench-kill');
      const takeovers = [];
      try {
        for (let i = 0; i < kills; i++) {
          const since = lastSeq(pair.backup.socket);
          const killedAt = Date.now();
          await pair.master.kill('SIGKILL');
          ctl(pair.backup.socket, 'wait', '--activity', 'active', '--timeout', '30');
          const ev = events(pair.backup.socket, 'activity', since).find((e) => e.data.to === 'Active');
          takeovers.push(Date.parse(ev.time) - killedAt);
          pair.master.start();
          ctl(pair.master.socket, 'wait', '--activity', 'active', '--timeout', '60');
          ctl(pair.backup.socket, 'wait', '--activity', 'standby', '--timeout', '30');
          await waitHolder(pair.master.socket);
        }
      } finally {
        await pair.close();
      }
      const s = summarize(takeovers);
      results.push({
        id: 'witness-kill-takeover',
        name: `kill -9 of the master with a witness (lease ${TTL} ms): backup Active`,
        unit: 'ms',
        stats: s,
        baseline: { name: 'the lease TTL', stats: summarize([TTL]) },
        ratio: s.p99 / TTL,
        target: `p99 <= leaseTtl + 500 ms (${TTL + 500})`,
        met: s.p99 <= TTL + 500,
      });
    }
    // 2. partitions of the link, with and without a witness.
    for (const [withWitness, n] of [[true, partitions], [false, plainPartitions]]) {
      const pair = withWitness ? await witnessPair(etcd.clientUrl, '/gwd/bench-cut') : await witnessPair(null, null);
      const overlaps = [];
      try {
        for (let i = 0; i < n; i++) {
          const from = Date.now();
          await pair.proxy.cut();
          await sleep(2 * FAILOVER + 500);
          await pair.proxy.heal();
          ctl(pair.backup.socket, 'wait', '--peer-connected', '--timeout', '30');
          ctl(pair.master.socket, 'wait', '--activity', 'active', '--timeout', '30');
          ctl(pair.backup.socket, 'wait', '--activity', 'standby', '--timeout', '30');
          const now = Date.now();
          const mEv = events(pair.master.socket, 'activity').filter((e) => Date.parse(e.time) >= from);
          const bEv = events(pair.backup.socket, 'activity').filter((e) => Date.parse(e.time) >= from);
          overlaps.push(overlapMs(activeIntervals([{ time: new Date(from).toISOString(), data: { to: 'Active' } }, ...mEv], now), activeIntervals(bEv, now)));
        }
      } finally {
        await pair.close();
      }
      const s = summarize(overlaps);
      results.push({
        id: withWitness ? 'witness-partition-overlap' : 'plain-partition-overlap',
        name: `link cut for ${2 * FAILOVER + 500} ms (failoverTimeout ${FAILOVER}), ${withWitness ? 'with a witness' : 'no witness'}: both Active per partition`,
        unit: 'ms',
        stats: s,
        target: withWitness ? 'max = 0' : 'reported (no third vote: the Ignition behaviour)',
        met: withWitness ? s.max === 0 : true,
      });
    }
  } finally {
    await etcd.stop();
  }
  return results;
}

async function waitHolder(socket) {
  for (let i = 0; i < 100; i++) {
    if (json(socket, 'status').redundancy.witness?.holder === 'self') return;
    await sleep(100);
  }
  throw new Error('the master never held the leader key');
}

/** A pair whose backup dials through a cuttable pipe; with a witness when `etcdUrl` is given. */
async function witnessPair(etcdUrl, prefix) {
  const t = tempDir('gwd-bench-witness-');
  const master = new Node('bench-m', path.join(t.dir, 'm'), await freePort());
  const backup = new Node('bench-b', path.join(t.dir, 'b'), await freePort());
  master.start();
  backup.start();
  const proxy = await cutProxy(master.port);
  const close = async () => {
    await Promise.all([master.stop(), backup.stop()]);
    await proxy.close();
    t.cleanup();
  };
  // Nothing is left running when the setup fails half-way.
  try {
    configurePair(master, backup, proxy, etcdUrl, prefix);
    if (etcdUrl) await waitHolder(master.socket);
  } catch (err) {
    await close();
    throw err;
  }
  return { master, backup, proxy, close };
}

function configurePair(master, backup, proxy, etcdUrl, prefix) {
  const timing = ['--failover-timeout', String(FAILOVER), '--ping-rate', '200', '--join-wait', '500'];
  const witness = etcdUrl ? ['--witness-etcd', etcdUrl, '--witness-prefix', prefix, '--witness-ttl', String(TTL)] : [];
  ctl(master.socket, 'network', 'configure', '--require-ssl', 'false', '--policy', 'unrestricted');
  ctl(master.socket, 'redundancy', 'configure', '--mode', 'master', ...timing, ...witness);
  ctl(backup.socket, 'redundancy', 'configure', '--mode', 'backup', '--master-address', `127.0.0.1:${proxy.port}`, '--no-ssl', '--reconnect-period', '200', ...timing, ...witness);
  ctl(backup.socket, 'wait', '--peer-connected', '--activity', 'standby', '--timeout', '60');
  ctl(master.socket, 'wait', '--activity', 'active', '--timeout', '60');
}
