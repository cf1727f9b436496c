import { spawn, type ChildProcess } from 'node:child_process';

import { afterEach, describe, expect, it } from 'vitest';

import type { EventRecord } from '../../src/core/wire.js';
import { okOn, spawnOnPort, statusOf } from '../helpers/fixed-port-node.js';
import { GWCTL, waitFor } from '../helpers/processes.js';
import { configurePair, nodePlace, type RealNode } from '../helpers/real-pair.js';

/**
 * Issue 19, the pair through gwctl on two real gwd processes (plain link, failoverTimeout 1000 ms,
 * pings every 200 ms): `status` shows both nodes and who is Active and why, `status --watch` shows a
 * kill -9 of the master as it happens, `redundancy history` has one id per failover on both nodes.
 */
const nodes: RealNode[] = [];
const temps: Array<() => void> = [];
const watchers: ChildProcess[] = [];

afterEach(async (ctx) => {
  for (const w of watchers.splice(0)) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  for (const n of nodes.splice(0)) {
    if (ctx.task.result?.state === 'fail') process.stderr.write(`\n----- ${n.name} -----\n${n.proc.output()}\n`);
    await n.proc.stop(2000);
  }
  temps.splice(0).forEach((c) => c());
});

function launch(n: Omit<RealNode, 'proc' | 'deaths'>): RealNode {
  const node: RealNode = { ...n, proc: spawnOnPort(n.dataDir, n.name, n.port), deaths: [] };
  const i = nodes.findIndex((x) => x.name === n.name);
  if (i >= 0) nodes[i] = node;
  else nodes.push(node);
  return node;
}

async function pair(): Promise<{ master: RealNode; backup: RealNode }> {
  const [master, backup] = await Promise.all([launch(await nodePlace('gwd-pair', 'plant-a', temps)), launch(await nodePlace('gwd-pair', 'plant-b', temps))]);
  await configurePair(master, backup);
  await okOn(master, 'wait', '--peer-connected', '--timeout', '15');
  await okOn(backup, 'wait', '--synced', '--timeout', '15');
  return { master, backup };
}

async function kill9(n: RealNode): Promise<void> {
  n.proc.child.kill('SIGKILL');
  await n.proc.exited;
}

/** `gwctl status --watch` with its stdout a pipe: its lines as they come, its exit. */
function watch(n: RealNode, ...more: string[]) {
  const child = spawn(process.execPath, [GWCTL, '--socket', n.socket, 'status', '--watch', ...more], { stdio: ['ignore', 'pipe', 'pipe'] });
  watchers.push(child);
  const lines: Array<{ at: number; text: string }> = [];
  let pending = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => {
    pending += c.toString();
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      lines.push({ at: Date.now(), text: pending.slice(0, nl) });
      pending = pending.slice(nl + 1);
    }
  });
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  return { child, lines, stderr: () => stderr, exited };
}

async function history(n: RealNode): Promise<EventRecord[]> {
  return JSON.parse(await okOn(n, '--json', 'redundancy', 'history', '--limit', '200')) as EventRecord[];
}

const completed = (h: EventRecord[]): string[] => h.filter((e) => e.type === 'failover.completed').map((e) => (e.data as { id: string }).id);

describe('gwctl status: the pair', () => {
  it('on either node shows both nodes, who is Active and why, the peer as it reported itself, pid and uptime', async () => {
    const { master, backup } = await pair();
    const [ms, bs] = await Promise.all([statusOf(master), statusOf(backup)]);
    // JSON: the new fields beside the old ones.
    expect(ms.redundancy.reason).toMatch(/^(independent|startup-alone|peer-standby)$/);
    expect(ms.redundancy.peer).toMatchObject({ connected: true, uuid: bs.node.uuid, role: 'Backup', epoch: bs.redundancy.epoch, link: 'Running' });
    expect(bs.redundancy.peer).toMatchObject({ connected: true, uuid: ms.node.uuid, role: 'Master', activity: 'Active', reason: ms.redundancy.reason, link: 'Running' });
    expect(bs.redundancy.peer!.syncRevision).toBe(bs.redundancy.sync.peerRevision);
    expect(Date.now() - Date.parse(bs.redundancy.peer!.lastHeardAt!)).toBeLessThan(5000);
    expect(ms.daemon.eventSeq).toBeGreaterThan(0);

    const onMaster = await okOn(master, 'status');
    const onBackup = await okOn(backup, 'status');
    // Each node by its own name (the label when the daemon has one; the system name is the pair's).
    const name = (s: typeof ms): string => s.node.label || s.node.systemName;
    expect(onMaster).toMatch(new RegExp(`^Active\\s+${name(ms)} \\(this node\\) since \\d\\d:\\d\\d:\\d\\d \\((just now|\\d+ (s|min) ago)\\): ${ms.redundancy.reason}$`, 'm'));
    expect(onBackup).toMatch(new RegExp(`^Active\\s+${name(ms)} \\(the peer, epoch ${ms.redundancy.epoch}\\): ${ms.redundancy.reason}$`, 'm'));
    // One row per node, this node first; the peer as it reported itself, heard within a ping.
    const heard = '(just now|\\d s ago)';
    expect(onMaster).toMatch(/^NODE\s+ROLE\s+ACTIVITY\s+EPOCH\s+REVISION\s+LAST HEARD\s+LINK$/m);
    expect(onMaster).toMatch(new RegExp(`^${name(ms)} \\(here\\)\\s+Master\\s+Active\\s+${ms.redundancy.epoch}\\s+\\d+\\s+-\\s+-$`, 'm'));
    expect(onMaster).toMatch(new RegExp(`^${name(bs)}\\s+Backup\\s+Cold\\s+${bs.redundancy.epoch}\\s+\\d+ \\(in sync\\)\\s+${heard}\\s+Running$`, 'm'));
    expect(onBackup).toMatch(new RegExp(`^${name(bs)} \\(here\\)\\s+Backup\\s+Cold\\s+${bs.redundancy.epoch}\\s+\\d+ \\(in sync\\)\\s+-\\s+-$`, 'm'));
    expect(onBackup).toMatch(new RegExp(`^${name(ms)}\\s+Master\\s+Active\\s+${ms.redundancy.epoch}\\s+\\d+\\s+${heard}\\s+Running$`, 'm'));
    expect(onMaster).toMatch(new RegExp(`^Process\\s+pid ${master.proc.pid}, up \\d+ (s|min)$`, 'm'));
    // The one-key lines scripts grep for are still there.
    expect(onBackup).toMatch(/^Activity\s+Cold$/m);
    expect(onMaster).toMatch(/^Peer\s+.*\(connected/m);
    // The pair view (what comes before this node's details) reads at 80 columns.
    for (const out of [onMaster, onBackup]) {
      for (const line of out.split(/^System name/m)[0]!.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
    }
  }, 60_000);

  it('status --watch into a pipe prints the kill -9 of the master as it happens; the watcher of the dead node says it went away (exit 3)', async () => {
    const { master, backup } = await pair();
    const onBackup = watch(backup);
    const onMaster = watch(master);
    await waitFor('the first line of each watcher', () => (onBackup.lines.length > 0 && onMaster.lines.length > 0 ? true : undefined), 10_000);
    expect(onBackup.lines[0]!.text).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z  \S+ Backup Cold epoch \d+ \(.*\); peer \S+ Master Active epoch \d+/);
    const before = onBackup.lines.length;
    const killedAt = Date.now();
    await kill9(master);
    const line = await waitFor(
      'a line with the backup Active (master-gone)',
      () => onBackup.lines.slice(before).find((l) => / Backup Active epoch \d+ \(master-gone\); peer \S+ Master not connected/.test(l.text)),
      10_000,
    );
    // fastFailover: the redial is refused within a reconnect period (100 ms); the line follows the event.
    expect(line.at - killedAt).toBeLessThan(3000);
    expect(await onMaster.exited).toBe(3);
    expect(onMaster.stderr()).toMatch(/GW_ERR_CLI_DAEMON_UNREACHABLE: .*gwd went away while watched/);
    // Said once: the inner error's detail, not its whole message again.
    expect(onMaster.stderr().match(/not reachable on/g)).toHaveLength(1);
    // Ctrl-C ends the watcher quietly.
    onBackup.child.kill('SIGINT');
    expect(await onBackup.exited).toBe(0);
    expect(onBackup.stderr()).toBe('');
  }, 60_000);

  it('status --watch into a pipe that closes (| head -1) ends at the next change, quietly, with 141', async () => {
    const { master, backup } = await pair();
    const w = watch(backup);
    await waitFor('the first line', () => (w.lines.length > 0 ? true : undefined), 10_000);
    w.child.stdout!.destroy();
    // A change of the pair (paused) makes it write again, into the closed pipe.
    await okOn(master, 'redundancy', 'pause', '--for', '1m');
    expect(await Promise.race([w.exited, new Promise((r) => setTimeout(() => r('still running'), 10_000))])).toBe(141);
    expect(w.stderr()).toBe('');
  }, 60_000);

  it('redundancy history lists a failover under the same id on both nodes; ids differ across a restart', async () => {
    const { master, backup } = await pair();
    const first = JSON.parse(await okOn(master, '--json', 'redundancy', 'failover', '--wait', '--timeout', '15')) as { failoverId?: string; id?: string };
    await okOn(backup, 'wait', '--activity', 'active', '--timeout', '15');
    const id1 = await waitFor('the failover completed on both nodes', async () => {
      const [hm, hb] = await Promise.all([history(master), history(backup)]);
      const m = completed(hm);
      return m.length === 1 && completed(hb).join() === m.join() ? m[0] : undefined;
    }, 10_000);
    expect(JSON.stringify(first)).toContain(id1);
    expect(await okOn(backup, 'redundancy', 'history')).toMatch(new RegExp(`failover\\.completed\\s+${id1} done, epoch \\d+$`, 'm'));

    // The backup restarts (clean stop: the master takes over), then hands over again from the master.
    await backup.proc.stop(5000);
    const b2 = launch({ name: backup.name, dataDir: backup.dataDir, socket: backup.socket, port: backup.port });
    await okOn(b2, 'wait', '--peer-connected', '--timeout', '15');
    await okOn(master, 'wait', '--activity', 'active', '--timeout', '15');
    await okOn(b2, 'redundancy', 'failover', '--wait', '--timeout', '15');
    const ids = await waitFor('the second failover on both nodes', async () => {
      const [hm, hb] = await Promise.all([history(master), history(b2)]);
      const m = completed(hm);
      return m.length === 2 && completed(hb).slice(-1)[0] === m[1] ? m : undefined;
    }, 10_000);
    expect(ids[0]).toBe(id1);
    expect(ids[1]).not.toBe(id1);
    // The master stood down for the backup's request: it recorded it under the backup's id.
    const asked = (await history(master)).filter((e) => e.type === 'failover.requested').map((e) => e.data);
    expect(asked.at(-1)).toEqual({ id: ids[1], origin: 'peer', force: false });
  }, 90_000);
});
