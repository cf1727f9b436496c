import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { RedundancyView, StatusResponse } from '../../src/core/wire.js';
import { ctlOn, freePort, okOn, spawnOnPort, statusOf } from '../helpers/fixed-port-node.js';
import { waitFor } from '../helpers/processes.js';
import { configurePair, nodePlace, type RealNode } from '../helpers/real-pair.js';
import { makeTempDir } from '../helpers/temp-dir.js';

/**
 * Rules 11 and 12 with two real gwd processes on loopback (plain link, failoverTimeout 1000 ms,
 * pingRate 200 ms), driven through gwctl as an operator would.
 */
type Node = RealNode;

const nodes: Node[] = [];
const temps: Array<() => void> = [];

afterEach(async (ctx) => {
  for (const n of nodes.splice(0)) {
    if (ctx.task.result?.state === 'fail') process.stderr.write(`\n----- ${n.name} -----\n${n.proc.output()}\n`);
    await n.proc.stop(2000);
  }
  temps.splice(0).forEach((c) => c());
});

function launch(n: Omit<Node, 'proc' | 'deaths'>): Node {
  const node: Node = { ...n, proc: spawnOnPort(n.dataDir, n.name, n.port), deaths: [] };
  const i = nodes.findIndex((x) => x.name === n.name);
  if (i >= 0) nodes[i] = node;
  else nodes.push(node);
  return node;
}

const ok = okOn;
const ctl = ctlOn;
const status = statusOf;

async function pair(): Promise<{ master: Node; backup: Node }> {
  const [master, backup] = await Promise.all([launch(await nodePlace('gwd-pause', 'm', temps)), launch(await nodePlace('gwd-pause', 'b', temps))]);
  await configurePair(master, backup);
  await ok(master, 'wait', '--peer-connected', '--timeout', '15');
  // Synced: the backup then carries the pair's system name (the master's), which the tests read
  // back in gwctl's answers (connected alone, a loaded machine let the pause come first, once).
  await ok(backup, 'wait', '--synced', '--timeout', '15');
  return { master, backup };
}

async function restart(n: Node): Promise<Node> {
  await n.proc.stop(5000);
  const again = launch({ name: n.name, dataDir: n.dataDir, socket: n.socket, port: n.port });
  await ok(again, 'wait', '--ready', '--timeout', '15');
  return again;
}

async function kill9(n: Node): Promise<void> {
  n.proc.child.kill('SIGKILL');
  await n.proc.exited;
}

/** /health/active on the node's plain port, every 50 ms for `ms`: how many samples said Active. */
async function activeSamples(n: Node, ms: number): Promise<{ samples: number; active: number }> {
  const end = Date.now() + ms;
  let samples = 0;
  let active = 0;
  while (Date.now() < end) {
    const res = await fetch(`http://127.0.0.1:${n.port}/health/active`);
    await res.arrayBuffer();
    samples++;
    if (res.status === 200) active++;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { samples, active };
}

async function pausedOn(n: Node): Promise<StatusResponse['redundancy']['paused']> {
  return (await status(n)).redundancy.paused;
}

describe('gwctl redundancy pause (rule 12) on a real pair', () => {
  it('a pause on one node shows on both; kill -9 of the master while paused leaves the backup standing by; resume lets it take over', async () => {
    const { master, backup } = await pair();
    const out = await ok(backup, 'redundancy', 'pause', '--for', '10m', '--reason', 'network work');
    // The backup carries the pair's system name (the master's, m) once synced.
    // The end's date shows when it is not today (a pause of 10 minutes begun before midnight).
    expect(out).toMatch(/^paused until (\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d \(by m, this node: network work\)/);
    const onBackup = await pausedOn(backup);
    expect(onBackup).toMatchObject({ reason: 'network work', by: { name: 'm', uuid: (await status(backup)).node.uuid } });
    const onMaster = await waitFor('the master to learn the pause', async () => (await pausedOn(master)) ?? undefined, 5000, 50);
    expect(onMaster).toEqual(onBackup);
    expect(await ok(master, 'status')).toMatch(/^Paused\s+until \d\d:\d\d:\d\d \(by m, the peer: network work\)$/m);
    expect((await ok(master, 'events', '--type', 'redundancy.paused')).trim()).not.toBe('');

    await kill9(master);
    // Fast failover would act within ms and silence within 1 s: 3 s of samples cover both, twice over.
    const held = await activeSamples(backup, 3000);
    expect(held.samples).toBeGreaterThan(20);
    expect(held.active).toBe(0);
    const s = await status(backup);
    expect(s.redundancy).toMatchObject({ activity: 'Cold', hold: 'paused' });
    expect(await ok(backup, 'status')).toMatch(/^Standby hold\s+paused$/m);

    expect(await ok(backup, 'redundancy', 'resume')).toContain('resumed');
    await ok(backup, 'wait', '--activity', 'active', '--timeout', '5');
    expect((await status(backup)).redundancy.paused).toBeNull();
    const resumed = (await ok(backup, '--json', 'events', '--type', 'redundancy.resumed')).trim().split('\n').at(-1)!;
    expect(JSON.parse(resumed).data).toMatchObject({ expired: false, reason: 'network work' });
  }, 60_000);

  it('a pause survives a restart of a node, holds it after the master is gone, and ends by itself when --for runs out', async () => {
    const { master, backup } = await pair();
    await ok(master, 'redundancy', 'pause', '--for', '0', '--reason', 'replacing b');
    await waitFor('the backup paused', async () => ((await pausedOn(backup)) ? true : undefined), 5000, 50);
    const b2 = await restart(backup);
    // Known from its own disk at once, before any link is up.
    expect(await pausedOn(b2)).toMatchObject({ until: null, reason: 'replacing b' });
    await ok(b2, 'wait', '--peer-connected', '--timeout', '10');

    // A shorter pause replaces it (the newer decision wins on both nodes), then the master dies.
    await ok(b2, 'redundancy', 'pause', '--for', '6s');
    await waitFor('the master to take the newer pause', async () => ((await pausedOn(master))?.until ? true : undefined), 5000, 50);
    const pausedUntil = Date.parse((await pausedOn(b2))!.until!);
    await kill9(master);
    const held = await activeSamples(b2, Math.max(0, pausedUntil - Date.now() - 200));
    expect(held.samples).toBeGreaterThan(5);
    expect(held.active).toBe(0);
    await ok(b2, 'wait', '--activity', 'active', '--timeout', '5');
    expect(Date.now()).toBeGreaterThanOrEqual(pausedUntil - 50);
    const resumed = (await ok(b2, '--json', 'events', '--type', 'redundancy.resumed')).trim().split('\n').at(-1)!;
    expect(JSON.parse(resumed).data).toMatchObject({ expired: true, resumedBy: null });
    expect(await ok(b2, 'redundancy', 'resume')).toContain('not paused');
  }, 90_000);

  it('usage errors name the flag and exit 2', async () => {
    const t = makeTempDir('gwd-pause-x-');
    temps.push(t.cleanup);
    const backup = launch({ name: 'x', dataDir: t.dir, socket: path.join(t.dir, 'gwd.sock'), port: await freePort() });
    await ok(backup, 'wait', '--ready', '--timeout', '15');
    const r = await ctl(backup, 'redundancy', 'pause', '--for', '10 days');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--for');
    expect(await pausedOn(backup)).toBeNull();
  });
});

describe('rule 11 through gwctl', () => {
  it('configure --mode independent on the Cold backup of an Active master exits 1 and changes nothing; --force applies it and says so', async () => {
    const { master, backup } = await pair();
    const before = backup.proc; // the same process throughout: nothing restarts
    const refused = await ctl(backup, 'redundancy', 'configure', '--mode', 'independent');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('GW_ERR_REDUNDANCY_WOULD_DUAL_ACTIVE');
    expect(refused.stderr).toContain('--force');
    expect(refused.stdout).toBe('');
    const view = JSON.parse(await ok(backup, '--json', 'redundancy', 'show')) as RedundancyView;
    expect(view.settings.role).toBe('Backup');
    const held = await activeSamples(backup, 1000);
    expect(held.active).toBe(0);
    expect((await status(master)).redundancy.activity).toBe('Active');
    expect(before.pid).toBe(backup.proc.pid);

    const forced = await ctl(backup, 'redundancy', 'configure', '--mode', 'independent', '--force');
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(/^# forced: the role changed to Independent .*GW_ERR_REDUNDANCY_WOULD_DUAL_ACTIVE/m);
    expect(forced.stdout).toMatch(/^Role\s+Independent$/m);
    await ok(backup, 'wait', '--activity', 'active', '--timeout', '5');
  }, 60_000);
});
