import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { EventRecord } from '../../src/core/wire.js';
import { ctlOn, freePort, okOn, spawnOnPort, statusOf } from '../helpers/fixed-port-node.js';
import { waitFor } from '../helpers/processes.js';
import { activeIntervals, clip, intersect, totalMs, type Interval } from '../helpers/active-timeline.js';
import { configurePair, nodePlace, type RealNode } from '../helpers/real-pair.js';
import { makeTempDir } from '../helpers/temp-dir.js';

/**
 * Two real gwd processes on loopback with small timeouts (failoverTimeout 1000 ms, pingRate 200 ms):
 * the failover and recovery rules of DESIGN.md section 4 as an operator sees them.
 */
type Node = RealNode;

const nodes: Node[] = [];
const temps: Array<() => void> = [];

afterEach(async (ctx) => {
  for (const n of nodes.splice(0)) {
    if (ctx.task.result?.state === 'fail') process.stderr.write(`\n----- ${n.name} -----\n${n.proc.output()}\n`);
    try {
      process.kill(n.proc.pid, 'SIGCONT');
    } catch {
      // gone
    }
    await n.proc.stop(2000);
  }
  temps.splice(0).forEach((c) => c());
});


function launch(n: Omit<Node, 'proc' | 'deaths'> & { deaths?: number[] }): Node {
  const proc = spawnOnPort(n.dataDir, n.name, n.port);
  const node: Node = { ...n, proc, deaths: n.deaths ?? [] };
  const i = nodes.findIndex((x) => x.name === n.name);
  if (i >= 0) nodes[i] = node;
  else nodes.push(node);
  return node;
}

const ctl = ctlOn;

const ok = okOn;

const status = statusOf;

async function activity(n: Node): Promise<string> {
  return (await status(n)).redundancy.activity;
}

/** A master and a backup, paired over plain ws with no approvals (Unrestricted), backup standing by. */
async function pair(opts: { recovery?: 'automatic' | 'manual'; backupHooks?: { onActivityChange?: string; preActivate?: string } } = {}) {
  const mk = async (name: string): Promise<Node> => launch(await nodePlace('gwd-red', name, temps));
  const [master, backup] = await Promise.all([mk('m'), mk('b')]);
  if (opts.backupHooks) {
    const h = opts.backupHooks;
    await ok(backup, 'wait', '--ready', '--timeout', '15');
    await ok(backup, 'redundancy', 'configure', '--hook-timeout', '3000',
      '--on-activity-change', h.onActivityChange ?? 'none', '--pre-activate', h.preActivate ?? 'none');
  }
  const pairedAt = await configurePair(master, backup, { recovery: opts.recovery ?? 'automatic' });
  return { master, backup, pairedAt };
}

async function restart(n: Node): Promise<Node> {
  const again = launch({ ...n });
  await ok(again, 'wait', '--ready', '--timeout', '15');
  return again;
}

async function activityEvents(n: Node): Promise<EventRecord[]> {
  const out = await ok(n, '--json', 'events', '--type', 'activity');
  return out.trim() ? out.trim().split('\n').map((l) => JSON.parse(l) as EventRecord) : [];
}

/** ms of both Active at or after `from`. */
function overlapMs(a: Interval[], b: Interval[], from: number): number {
  return totalMs(clip(intersect(a, b), from));
}

describe('failover and recovery with two real nodes', () => {
  it('kill -9 of the master makes the backup Active at once; a restart under Automatic gives control back with no moment of both Active', async () => {
    const { master, backup, pairedAt } = await pair();
    const killedAt = Date.now();
    master.deaths.push(killedAt);
    master.proc.child.kill('SIGKILL');
    await master.proc.exited;
    await ok(backup, 'wait', '--activity', 'active', '--timeout', '10');
    const tookOver = Date.now() - killedAt;
    // fastFailover: the master's process is gone (closed, redial refused): well under failoverTimeout.
    expect(tookOver).toBeLessThan(1000);
    const ev = (await activityEvents(backup)).at(-1)!;
    expect(ev.data).toMatchObject({ to: 'Active', reason: 'master-gone' });

    const m2 = await restart(master);
    await ok(m2, 'wait', '--activity', 'active', '--timeout', '15');
    await ok(backup, 'wait', '--activity', 'cold', '--timeout', '15');
    const now = Date.now();
    const both = overlapMs(activeIntervals(await activityEvents(m2), m2.deaths, now), activeIntervals(await activityEvents(backup), [], now), pairedAt);
    expect(both).toBe(0);
    const s = await status(m2);
    expect(s.redundancy.epoch).toBeGreaterThan(ev.data.epoch as number);
    expect(s.redundancy.peer).toMatchObject({ connected: true, activity: 'Cold' });
  });

  it('SIGTERM of the Active master: it steps down, exits 0 within 5 s, and the backup takes over at once', async () => {
    const { master, backup } = await pair();
    const t0 = Date.now();
    const code = await master.proc.stop(5000);
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    await ok(backup, 'wait', '--activity', 'active', '--timeout', '5');
    expect(Date.now() - t0).toBeLessThan(1500);
    expect((await activityEvents(backup)).at(-1)!.data).toMatchObject({ to: 'Active', reason: 'master-stopped' });
  });

  it('a silent master (SIGSTOP) makes the backup Active only after failoverTimeout; SIGCONT leaves exactly one Active', async () => {
    const { master, backup } = await pair();
    const stoppedAt = Date.now();
    master.deaths.push(stoppedAt);
    process.kill(master.proc.pid, 'SIGSTOP');
    await ok(backup, 'wait', '--activity', 'active', '--timeout', '10');
    // failoverTimeout counts from the last message heard, up to one pingRate (200 ms) before the stop.
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(1000 - 200);
    expect((await activityEvents(backup)).at(-1)!.data).toMatchObject({ to: 'Active', reason: 'master-lost' });
    process.kill(master.proc.pid, 'SIGCONT');
    // Automatic recovery: the master takes control back through the handshake.
    await waitFor('exactly one Active, the master', async () => {
      const [a, b] = await Promise.all([activity(master), activity(backup)]);
      return a === 'Active' && b !== 'Active' ? true : undefined;
    }, 15_000, 100);
    const [sm, sb] = await Promise.all([status(master), status(backup)]);
    expect(sm.redundancy.peer?.connected && sb.redundancy.peer?.connected).toBe(true);
  });

  it('under Manual recovery a returning master stays standing by until `gwctl redundancy failover`', async () => {
    const { master, backup, pairedAt } = await pair({ recovery: 'manual' });
    master.deaths.push(Date.now());
    master.proc.child.kill('SIGKILL');
    await master.proc.exited;
    await ok(backup, 'wait', '--activity', 'active', '--timeout', '10');
    const m2 = await restart(master);
    await ok(m2, 'wait', '--peer-connected', '--timeout', '15');
    // Give automatic recovery every chance to (wrongly) happen.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await activity(m2)).not.toBe('Active');
    expect(await activity(backup)).toBe('Active');

    const out = await ok(backup, 'redundancy', 'failover', '--wait', '--timeout', '15');
    expect(out).toContain('completed');
    await ok(m2, 'wait', '--activity', 'active', '--timeout', '10');
    expect(await activity(backup)).not.toBe('Active');
    const now = Date.now();
    expect(overlapMs(activeIntervals(await activityEvents(m2), m2.deaths, now), activeIntervals(await activityEvents(backup), [], now), pairedAt)).toBe(0);
  });

  it('failover --to peer is idempotent: run twice it moves control once (was: a toggle, so a retry moved it back)', async () => {
    const { master, backup, pairedAt } = await pair({ recovery: 'manual' });
    const first = await ok(master, 'redundancy', 'failover', '--to', 'peer', '--wait', '--timeout', '15');
    expect(first).toContain('completed');
    await ok(backup, 'wait', '--activity', 'active', '--timeout', '10');
    const again = await ctl(master, 'redundancy', 'failover', '--to', 'peer', '--wait', '--timeout', '15');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('already Active: the peer');
    // From the other side, by UUID prefix and as self: still nothing moves.
    const backupUuid = (await status(backup)).node.uuid;
    const json = JSON.parse(await ok(master, '--json', 'redundancy', 'failover', '--to', backupUuid.slice(0, 8))) as { failoverId: string | null; alreadyActive: boolean };
    expect(json).toMatchObject({ failoverId: null, alreadyActive: true, target: 'peer' });
    expect((await ctl(backup, 'redundancy', 'failover', '--to', 'self')).stdout).toContain('already Active: this node');
    expect(await activity(backup)).toBe('Active');
    expect(await activity(master)).not.toBe('Active');
    const unknown = await ctl(master, 'redundancy', 'failover', '--to', 'ffffffff');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('GW_ERR_REDUNDANCY_FAILOVER_TARGET');
    const now = Date.now();
    expect(overlapMs(activeIntervals(await activityEvents(master), [], now), activeIntervals(await activityEvents(backup), [], now), pairedAt)).toBe(0);
  });

  it('failover with no peer is refused with GW_ERR_REDUNDANCY_NO_PEER; --force on the standing-by node activates it', async () => {
    const { master, backup } = await pair();
    process.kill(master.proc.pid, 'SIGSTOP');
    master.deaths.push(Date.now());
    // Before failoverTimeout the backup still counts the master as present but silent: wait for the link to fault.
    await ok(backup, 'redundancy', 'configure', '--failover-timeout', '60000');
    await waitFor('link down on the backup', async () => ((await status(backup)).redundancy.peer?.connected ? undefined : true), 15_000, 100);
    const refused = await ctl(backup, 'redundancy', 'failover');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('GW_ERR_REDUNDANCY_NO_PEER');
    const forced = await ctl(backup, 'redundancy', 'failover', '--force', '--wait', '--timeout', '10');
    expect(forced.code, forced.stderr).toBe(0);
    expect(await activity(backup)).toBe('Active');
    expect((await activityEvents(backup)).at(-1)!.data).toMatchObject({ to: 'Active', reason: 'forced' });
  });

  it('hooks: onActivityChange gets the env of rule 9; a vetoing preActivate keeps the backup standing by', async () => {
    const t = makeTempDir('gwd-hooks-');
    temps.push(t.cleanup);
    const log = path.join(t.dir, 'calls.log');
    const onChange = path.join(t.dir, 'on-change.sh');
    writeFileSync(onChange, `#!/bin/sh\necho "$GWD_ROLE $GWD_PREVIOUS_ACTIVITY->$GWD_ACTIVITY $GWD_REASON $GWD_EPOCH" >> "${log}"\n`);
    const veto = path.join(t.dir, 'pre-activate.sh');
    writeFileSync(veto, '#!/bin/sh\necho "line 2 to the PLC is down" >&2\nexit 1\n');
    chmodSync(onChange, 0o755);
    chmodSync(veto, 0o755);
    const { master, backup } = await pair({ backupHooks: { onActivityChange: onChange, preActivate: veto } });
    master.deaths.push(Date.now());
    master.proc.child.kill('SIGKILL');
    await master.proc.exited;
    const vetoed = await waitFor('a veto event', async () => {
      const out = await ok(backup, '--json', 'events', '--type', 'activation');
      return out.split('\n').find((l) => l.includes('activation.vetoed'));
    }, 10_000, 100);
    expect(vetoed).toContain('"reason":"master-gone"');
    await new Promise((r) => setTimeout(r, 800));
    expect(await activity(backup)).not.toBe('Active');
    const failed = await ok(backup, '--json', 'events', '--type', 'hook');
    expect(failed).toContain('"hook":"preActivate"');
    // onActivityChange ran for the change to Cold at pairing, with the env of rule 9.
    const calls = readFileSync(log, 'utf8').trim().split('\n');
    expect(calls.some((c) => /^Backup \w+->Cold \S+ \d+$/.test(c))).toBe(true);
  });

  it('regression: the onActivityChange hook of the stand-down at SIGTERM runs to its end (was: killed as soon as it started)', async () => {
    const t = makeTempDir('gwd-stop-hook-');
    temps.push(t.cleanup);
    const log = path.join(t.dir, 'calls.log');
    const onChange = path.join(t.dir, 'on-change.sh');
    // Takes a moment, as a real hook stopping a driver would, and writes only at its end.
    writeFileSync(onChange, `#!/bin/sh\nsleep 0.3\necho "$GWD_PREVIOUS_ACTIVITY->$GWD_ACTIVITY $GWD_REASON" >> "${log}"\n`);
    chmodSync(onChange, 0o755);
    const n = launch({ name: 'solo', dataDir: path.join(t.dir, 'd'), socket: path.join(t.dir, 'd', 'gwd.sock'), port: await freePort() });
    await ok(n, 'wait', '--ready', '--timeout', '15');
    await ok(n, 'redundancy', 'configure', '--mode', 'master', '--hook-timeout', '3000', '--on-activity-change', onChange);
    await ok(n, 'wait', '--activity', 'active', '--timeout', '15');
    n.proc.child.kill('SIGTERM');
    await n.proc.exited;
    const calls = readFileSync(log, 'utf8').trim().split('\n');
    expect(calls.some((c) => c.startsWith('Active->'))).toBe(true);
  });
});
