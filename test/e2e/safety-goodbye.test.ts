import { afterEach, describe, expect, it } from 'vitest';

import type { EventRecord, StatusResponse } from '../../src/core/wire.js';
import { ActiveSampler, clip, pairTimeline, type PairTimeline, type SampleReport } from '../helpers/active-timeline.js';
import { freePort, okOn, spawnOnPort, statusOf } from '../helpers/fixed-port-node.js';
import { waitFor } from '../helpers/processes.js';
import { configurePair, nodePlace, type PairTimings, type RealNode } from '../helpers/real-pair.js';

/**
 * Issue 15, rule 10: a node that leaves the link while Active stays the one Active node, and a
 * node's own goodbye (a settings change, a denied connection) is no evidence about its peer.
 * Real gwd processes on loopback, plain link, failoverTimeout 1000 ms, pingRate 200 ms. Each case
 * watches 5 s after the action: never two 200s from /health/active in one 50 ms sample, and 0 ms
 * of both Active on the merged event timeline (the two can talk, or one of them left while Active:
 * the issue allows no overlap in either case).
 */
const WATCH_MS = 5000;

type Node = RealNode;

const nodes: Node[] = [];
const temps: Array<() => void> = [];
/** Printed when a test fails: the merged timeline says more than either log alone. */
let lastTimeline: (() => Promise<string>) | null = null;

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') {
    if (lastTimeline) process.stderr.write(`\n----- merged timeline -----\n${await lastTimeline().catch((e: Error) => e.message)}\n`);
    for (const n of nodes) process.stderr.write(`\n----- ${n.name} -----\n${n.proc.output()}\n`);
  }
  lastTimeline = null;
  for (const n of nodes.splice(0)) await n.proc.stop(2000);
  temps.splice(0).forEach((c) => c());
});

const ok = okOn;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function launch(n: Omit<Node, 'proc'>): Node {
  const node: Node = { ...n, proc: spawnOnPort(n.dataDir, n.name, n.port, n.sslPort) };
  const i = nodes.findIndex((x) => x.name === n.name);
  if (i >= 0) nodes[i] = node;
  else nodes.push(node);
  return node;
}

async function restart(n: Node): Promise<Node> {
  const again = launch(n);
  await ok(again, 'wait', '--ready', '--timeout', '15');
  return again;
}

async function kill9(n: Node): Promise<void> {
  n.deaths.push(Date.now());
  n.proc.child.kill('SIGKILL');
  await n.proc.exited;
}

/** A master and a backup paired over plain ws, no approvals (Unrestricted), backup standing by. */
async function pair(opts: Pick<PairTimings, 'recovery' | 'masterJoinWait' | 'backupReconnect'> & { tls?: boolean } = {}) {
  const place = async (name: string): Promise<Omit<Node, 'proc'>> => {
    const p = await nodePlace('gwd-bye', name, temps);
    return opts.tls ? { ...p, sslPort: await freePort() } : p;
  };
  const [master, backup] = await Promise.all(['m', 'b'].map(async (name) => launch(await place(name))));
  const pairedAt = await configurePair(master!, backup!, opts);
  const cur = (name: string): Node => nodes.find((n) => n.name === name)!;
  lastTimeline = async () => (await pairTimeline(cur('m'), cur('b'), pairedAt)).describe();
  return { master: master!, backup: backup!, pairedAt };
}

const status = (n: Node): Promise<StatusResponse> => statusOf(n);
const activity = async (n: Node): Promise<string> => (await status(n)).redundancy.activity;

/** Sample both /health/active every 50 ms while `action` runs and WATCH_MS after it. */
async function watch(m: Node, b: Node, action: () => Promise<void>): Promise<{ report: SampleReport; actionAt: number }> {
  const sampler = new ActiveSampler([{ name: m.name, port: m.port }, { name: b.name, port: b.port }]).start();
  const actionAt = Date.now();
  try {
    await action();
    await sleep(WATCH_MS);
  } catch (err) {
    await sampler.stop();
    throw err;
  }
  return { report: await sampler.stop(), actionAt };
}

/**
 * The two checks of every case: no sample with both 200, no overlap on the merged timeline. Returns
 * the timeline: both event logs as read after the watch, for the case's own checks.
 */
async function expectOneActive(m: Node, b: Node, from: number, report: SampleReport): Promise<PairTimeline> {
  const tl = await pairTimeline(m, b, from);
  expect(report.bothActive.length, `samples with both /health/active 200:\n${report.describe(report.bothActive, from)}\n${tl.describe()}`).toBe(0);
  expect(tl.overlapMs, `both Active on the merged timeline:\n${tl.describe()}`).toBe(0);
  return tl;
}

/** Active intervals of a node that start at or after `from` (its deaths end an open one). */
function activationsSince(tl: PairTimeline, n: Node, from: number): Array<[number, number]> {
  return tl.active[n.name]!.filter(([s]) => s >= from);
}

/** A node's own events, from the timeline. */
const eventsOf = (tl: PairTimeline, n: Node): EventRecord[] => tl.merged.filter((e) => e.node === n.name);

/** Rule 10 on the receiving side: the peer left while Active; reported as peer.lost how=left-active (or peer.leftActive). */
function leftActive(events: EventRecord[], from: number): EventRecord | undefined {
  return events.find(
    (e) => Date.parse(e.time) >= from && ((e.type === 'peer.lost' && e.data.how === 'left-active') || e.type === 'peer.leftActive'),
  );
}

/** kill -9 of the master, the backup takes over, the master restarts and stands by (Manual recovery). */
async function backupActiveMasterCold(tls = false) {
  const p = await pair({ recovery: 'manual', tls });
  await kill9(p.master);
  await ok(p.backup, 'wait', '--activity', 'active', '--timeout', '10');
  const master = await restart(p.master);
  await ok(master, 'wait', '--peer-connected', '--timeout', '15');
  await ok(p.backup, 'wait', '--peer-connected', '--timeout', '15');
  expect(await activity(master)).not.toBe('Active');
  expect(await activity(p.backup)).toBe('Active');
  return { master, backup: p.backup, pairedAt: p.pairedAt };
}

/**
 * Under Unrestricted a denied connection is closed and let in again at the next redial: approve the
 * backup by name first and switch to ApprovedOnly, so that a deny keeps the link down.
 */
async function approvedOnly(master: Node, backup: Node): Promise<string> {
  const uuid = (await status(backup)).node.uuid;
  await ok(master, 'connections', 'approve', uuid);
  await ok(master, 'network', 'configure', '--policy', 'approved-only');
  await ok(backup, 'wait', '--peer-connected', '--timeout', '10');
  return uuid;
}

describe('a goodbye from a node that stays Active makes no second Active', () => {
  it('(a) Active backup re-pointed at an address nothing listens on: the restarted master (Manual) stays Cold, reports peer-left-active', async () => {
    const { master, backup, pairedAt } = await backupActiveMasterCold();
    const nowhere = await freePort();
    const { report, actionAt } = await watch(master, backup, async () => {
      await ok(backup, 'redundancy', 'configure', '--master-address', `127.0.0.1:${nowhere}`);
    });
    const tl = await expectOneActive(master, backup, pairedAt, report);
    expect(activationsSince(tl, master, actionAt)).toEqual([]);
    expect(await activity(master)).not.toBe('Active');
    expect(await activity(backup)).toBe('Active');
    const ev = leftActive(eventsOf(tl, master), actionAt);
    expect(ev, 'peer.lost how=left-active on the master').toBeDefined();
  }, 60_000);

  it('(b) Active backup switched to --ssl while the plain link is what works: the master (Manual) stays Cold', async () => {
    const { master, backup, pairedAt } = await backupActiveMasterCold();
    const { report, actionAt } = await watch(master, backup, async () => {
      await ok(backup, 'redundancy', 'configure', '--ssl');
    });
    const tl = await expectOneActive(master, backup, pairedAt, report);
    expect(activationsSince(tl, master, actionAt)).toEqual([]);
    expect(await activity(master)).not.toBe('Active');
    expect(await activity(backup)).toBe('Active');
    expect(leftActive(eventsOf(tl, master), actionAt), 'peer.lost how=left-active on the master').toBeDefined();
  }, 60_000);

  it('(c) Cold backup switched to --ssl on a plain pair: it stays Cold (its own goodbye is not the master stopping), the master stays Active', async () => {
    const { master, backup, pairedAt } = await pair();
    const { report, actionAt } = await watch(master, backup, async () => {
      await ok(backup, 'redundancy', 'configure', '--ssl');
    });
    const tl = await expectOneActive(master, backup, pairedAt, report);
    expect(activationsSince(tl, backup, actionAt)).toEqual([]);
    expect(await activity(master)).toBe('Active');
    expect(await activity(backup)).not.toBe('Active');
  }, 60_000);

  it('(d) Cold backup given a typo address, then the right one again: it never goes Active, the master (Manual) stays Active', async () => {
    const { master, backup, pairedAt } = await pair({ recovery: 'manual' });
    const typo = await freePort();
    const { report, actionAt } = await watch(master, backup, async () => {
      await ok(backup, 'redundancy', 'configure', '--master-address', `127.0.0.1:${typo}`);
      await waitFor('the backup to lose the link', async () => ((await status(backup)).redundancy.peer?.connected ? undefined : true), 10_000);
      // Longer than failoverTimeout at the wrong address: a never-connected pairing must not act on it either.
      await sleep(1500);
      await ok(backup, 'redundancy', 'configure', '--master-address', `127.0.0.1:${master.port}`);
      await ok(backup, 'wait', '--peer-connected', '--timeout', '10');
    });
    const tl = await expectOneActive(master, backup, pairedAt, report);
    expect(activationsSince(tl, backup, actionAt)).toEqual([]);
    const masterChanges = eventsOf(tl, master).filter((e) => e.type === 'activity.changed' && Date.parse(e.time) >= actionAt);
    expect(masterChanges.map((e) => e.data), 'the master never left Active').toEqual([]);
    expect(await activity(master)).toBe('Active');
    expect(await activity(backup)).not.toBe('Active');
  }, 60_000);

  it('(e) reverse: the Active master made Independent: the backup does not go Active', async () => {
    const { master, backup, pairedAt } = await pair();
    const { report, actionAt } = await watch(master, backup, async () => {
      await ok(master, 'redundancy', 'configure', '--mode', 'independent');
    });
    const tl = await expectOneActive(master, backup, pairedAt, report);
    expect(activationsSince(tl, backup, actionAt)).toEqual([]);
    expect(await activity(master)).toBe('Active');
    expect(await activity(backup)).not.toBe('Active');
  }, 60_000);

  it('(f) `connections deny` on the Active master for the backup: the backup does not go Active', async () => {
    const { master, backup, pairedAt } = await pair();
    const uuid = await approvedOnly(master, backup);
    const { report, actionAt } = await watch(master, backup, async () => {
      await ok(master, 'connections', 'deny', uuid);
      await waitFor('the link down on the backup', async () => ((await status(backup)).redundancy.peer?.connected ? undefined : true), 10_000);
    });
    const tl = await expectOneActive(master, backup, pairedAt, report);
    expect(activationsSince(tl, backup, actionAt)).toEqual([]);
    expect(await activity(master)).toBe('Active');
  }, 60_000);

  it('(f) `connections deny` on the standing-by master for the Active backup: the master does not go Active', async () => {
    const { master, backup, pairedAt } = await backupActiveMasterCold();
    const uuid = await approvedOnly(master, backup);
    const { report, actionAt } = await watch(master, backup, async () => {
      await ok(master, 'connections', 'deny', uuid);
      await waitFor('the link down on the master', async () => ((await status(master)).redundancy.peer?.connected ? undefined : true), 10_000);
    });
    const tl = await expectOneActive(master, backup, pairedAt, report);
    expect(activationsSince(tl, master, actionAt)).toEqual([]);
    expect(await activity(backup)).toBe('Active');
  }, 60_000);

  it('(g) a master restarted with --join-wait 200 (below the backup\'s 1000 ms redial) while the backup is Active: never both Active', async () => {
    const p = await pair({ masterJoinWait: 200, backupReconnect: 1000 });
    await kill9(p.master);
    await ok(p.backup, 'wait', '--activity', 'active', '--timeout', '10');
    let master = p.master;
    const { report } = await watch(p.master, p.backup, async () => {
      master = launch(p.master);
      await ok(master, 'wait', '--ready', '--timeout', '15');
    });
    await expectOneActive(master, p.backup, p.pairedAt, report);
    // Automatic recovery: the master has control back through the handshake, or is about to.
    await waitFor('exactly one Active', async () => {
      const [a, b] = await Promise.all([activity(master), activity(p.backup)]);
      return (a === 'Active') !== (b === 'Active') ? true : undefined;
    }, 10_000, 100);
    expect(clip((await pairTimeline(master, p.backup, p.pairedAt)).overlaps, p.pairedAt)).toEqual([]);
  }, 60_000);
});

describe('a certificate denied or removed on a TLS pair makes no second Active', () => {
  const fingerprint = async (n: Node): Promise<string> => (await status(n)).node.certFingerprint;

  it("(h) `certs deny` of the backup's certificate on the Active master: the backup does not go Active", async () => {
    const { master, backup, pairedAt } = await pair({ tls: true });
    const peer = (await status(backup)).redundancy.peer;
    expect(peer?.connected).toBe(true);
    expect(peer?.address, 'the backup dials the SSL port').toBe(`127.0.0.1:${master.sslPort}`);
    const fp = await fingerprint(backup);
    const { report, actionAt } = await watch(master, backup, async () => {
      await ok(master, 'certs', 'deny', fp);
      await waitFor('the link down on the backup', async () => ((await status(backup)).redundancy.peer?.connected ? undefined : true), 10_000);
    });
    const tl = await expectOneActive(master, backup, pairedAt, report);
    expect(activationsSince(tl, backup, actionAt)).toEqual([]);
    expect(await activity(master)).toBe('Active');
  }, 60_000);

  it("(h) `certs remove` of the master's certificate on the Active backup: the standing-by master (Manual) does not go Active", async () => {
    const { master, backup, pairedAt } = await backupActiveMasterCold(true);
    const fp = await fingerprint(master);
    const { report, actionAt } = await watch(master, backup, async () => {
      await ok(backup, 'certs', 'remove', fp);
      await waitFor('the link down on the master', async () => ((await status(master)).redundancy.peer?.connected ? undefined : true), 10_000);
    });
    const tl = await expectOneActive(master, backup, pairedAt, report);
    expect(activationsSince(tl, master, actionAt)).toEqual([]);
    expect(await activity(backup)).toBe('Active');
    expect(leftActive(eventsOf(tl, master), actionAt), 'peer.lost how=left-active on the master').toBeDefined();
  }, 60_000);
});
