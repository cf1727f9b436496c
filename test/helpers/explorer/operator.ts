/**
 * Operator actions and faults as the daemon maps them onto the machine and the link: `redundancy
 * configure` (rule 11's refusal unless forced, settingsChanged, then the link closed with this
 * node's goodbye when the role or, for a Backup, the master's address or SSL changed), failover,
 * pause/resume, revoking and re-approving the peer, kill -9, SIGTERM, SIGSTOP/SIGCONT, restart and
 * the network faults. Actions on a dead or frozen node are skipped (gwctl gets no answer).
 */
import { wouldDualActive } from '../../../src/core/redundancy/index.js';
import type { MachineSettings, RecoveryMode, StandbyLevel } from '../../../src/core/redundancy/index.js';
import type { Role } from '../../../src/core/wire.js';
import { ADDRESSES, canonicalSettings, WRONG_ADDRESS, type HookMode, type NodeIx, type WNode, type World } from './world.js';

export type Who = 'master' | 'backup';

/** Timings are changed on both nodes together: they must agree (docs/safety.md). */
export interface Timings {
  failoverTimeout: number;
  pingRate: number;
  reconnectPeriod: number;
}

export type ConfigChange =
  | { field: 'role'; value: Role }
  | { field: 'address'; value: 'right' | 'wrong' }
  | { field: 'ssl'; value: boolean }
  | { field: 'recovery'; value: RecoveryMode }
  | { field: 'standby'; value: StandbyLevel }
  | { field: 'fastFailover'; value: boolean }
  | { field: 'joinWait'; value: number }
  | { field: 'hook'; value: HookMode }
  | { field: 'timings'; value: Timings };

export type Action =
  | { op: 'kill' | 'stop' | 'start' | 'freeze' | 'pause' | 'resume' | 'revoke'; node: Who }
  | { op: 'thaw'; node: Who; timersFirst: boolean }
  | { op: 'cut' | 'heal' | 'stall' | 'unstall' | 'approve' | 'healAll' }
  | { op: 'drop'; from: Who }
  | { op: 'delay'; from: Who; ms: number }
  | { op: 'configure'; node: Who; change: ConfigChange; force: boolean }
  | { op: 'failover'; node: Who; force: boolean }
  /** Section 9: etcd itself stops or starts; one node's cable to etcd is cut or mended. */
  | { op: 'etcdDown' | 'etcdUp' }
  | { op: 'etcdCut' | 'etcdHeal'; node: Who };

export type Outcome = 'ok' | 'skipped' | 'refused';

function nodeOf(w: World, who: Who): WNode {
  return w.nodes[who === 'master' ? 0 : 1];
}

function changed(s: MachineSettings, c: ConfigChange, ix: NodeIx): MachineSettings {
  const m = { ...s.master };
  switch (c.field) {
    case 'role':
      return { ...s, role: c.value };
    case 'address': {
      const a = c.value === 'right' ? ADDRESSES[ix === 0 ? 1 : 0] : WRONG_ADDRESS;
      return { ...s, master: { ...m, host: a.host, port: a.port } };
    }
    case 'ssl':
      return { ...s, master: { ...m, enableSsl: c.value } };
    case 'recovery':
      return { ...s, masterRecoveryMode: c.value };
    case 'standby':
      return { ...s, standbyActivityLevel: c.value };
    case 'fastFailover':
      return { ...s, fastFailover: c.value };
    case 'joinWait':
      return { ...s, joinWaitTime: c.value };
    case 'hook':
      return { ...s, hooks: { ...s.hooks, preActivate: c.value === 'none' ? null : 'pre' } };
    case 'timings':
      return {
        ...s,
        failoverTimeout: c.value.failoverTimeout,
        master: { ...m, pingRate: c.value.pingRate, reconnectPeriod: c.value.reconnectPeriod },
      };
  }
}

/** `gwctl redundancy configure` on one node, as src/daemon maps it. */
function configureNode(w: World, n: WNode, next: MachineSettings, force: boolean): Outcome {
  const m = n.machine;
  if (m === null || n.frozen) return 'skipped';
  const before = n.settings;
  if (before.role !== next.role && wouldDualActive(m.view(), before.role, next.role)) {
    if (!force) return 'refused';
    w.forced = true;
  }
  const masterIx = [0, 1].find((i) => w.nodes[i as NodeIx].settings.role === 'Master');
  if (n.ix === masterIx && before.masterRecoveryMode !== next.masterRecoveryMode) w.recoveryChangedAt = w.now;
  n.settings = next;
  w.feed(n, { type: 'settingsChanged', settings: next });
  const roleChanged = before.role !== next.role;
  const b = before.master;
  const a = next.master;
  const target = b.host !== a.host || b.port !== a.port || b.enableSsl !== a.enableSsl;
  if (roleChanged || (next.role === 'Backup' && target)) {
    const conn = n.conn;
    if (conn !== null && !conn.dead[n.ix] && n.machine !== null) {
      const active = n.machine.view().activity === 'Active';
      w.link.close(conn, n, 'local', { kind: 'close', reason: 'bye', peerActive: active });
    }
    if (next.role === 'Backup') w.link.scheduleDial(n, 0);
    else n.dialToken += 1;
  }
  // The daemon re-arms a redial or ping pending at a longer period (gateway-network.ts: Dialer.retime,
  // LinkConnection.retimePing), so a shortened failoverTimeout always has something to hear.
  if (a.reconnectPeriod < b.reconnectPeriod) w.link.retimeDial(n);
  if (a.pingRate < b.pingRate) w.link.retimePing(n);
  if (n.ix !== masterIx && next.role === 'Master' && next.masterRecoveryMode !== w.peerOf(n).settings.masterRecoveryMode) {
    w.recoveryChangedAt = w.now;
  }
  return 'ok';
}

function configure(w: World, n: WNode, c: ConfigChange, force: boolean): Outcome {
  if (c.field === 'hook') {
    if (!w.running(n)) return 'skipped';
    n.hook = c.value;
  }
  if (c.field !== 'timings') return configureNode(w, n, changed(n.settings, c, n.ix), force);
  // Pair-wide: both processes must be up to take it.
  const peer = w.peerOf(n);
  if (!w.running(n) || !w.running(peer)) return 'skipped';
  configureNode(w, n, changed(n.settings, c, n.ix), false);
  configureNode(w, peer, changed(peer.settings, c, peer.ix), false);
  return 'ok';
}

/** The end of every run: every fault healed, the canonical pair restored, then time to settle. */
function healAll(w: World): void {
  const link = w.link;
  for (const n of w.nodes) if (n.frozen) w.thaw(n, true);
  link.cut = false;
  for (const c of link.live()) c.stalled = false;
  link.release();
  link.delay = [w.cfg.delay, w.cfg.delay];
  if (w.etcd !== null) {
    w.etcd.up = true;
    w.etcd.reach = [true, true];
  }
  for (const n of w.nodes) if (n.hook === 'no') n.hook = 'yes';
  for (const n of w.nodes) {
    if (!n.pauseRecord) continue;
    if (w.running(n)) w.setPause(n, false);
    else w.clearPauseRecord(n);
  }
  if (!link.approved) {
    link.approved = true;
    for (const n of w.nodes) if (n.settings.role === 'Backup' && n.machine !== null) w.link.scheduleDial(n, 0);
  }
  // A node whose settings left the canonical pair is stopped cleanly, fixed and started again.
  for (const n of w.nodes) {
    const canon = { ...canonicalSettings(w.cfg, n.ix), hooks: n.settings.hooks };
    const s = n.settings;
    const timings = { ...canon, master: { ...canon.master, pingRate: s.master.pingRate, reconnectPeriod: s.master.reconnectPeriod }, failoverTimeout: s.failoverTimeout };
    const target = { ...timings, masterRecoveryMode: s.masterRecoveryMode, standbyActivityLevel: s.standbyActivityLevel, fastFailover: s.fastFailover, joinWaitTime: s.joinWaitTime };
    if (JSON.stringify(target) !== JSON.stringify(s)) {
      w.stop(n);
      n.settings = target;
    }
  }
  for (const n of w.nodes) if (n.machine === null) w.start(n);
}

export function applyAction(w: World, a: Action): Outcome {
  const ok = (done: boolean): Outcome => (done ? 'ok' : 'skipped');
  const link = w.link;
  switch (a.op) {
    case 'kill':
      return ok(w.kill(nodeOf(w, a.node)));
    case 'stop':
      return ok(w.stop(nodeOf(w, a.node)));
    case 'start':
      return ok(w.start(nodeOf(w, a.node)));
    case 'freeze':
      return ok(w.freeze(nodeOf(w, a.node)));
    case 'thaw':
      return ok(w.thaw(nodeOf(w, a.node), a.timersFirst));
    case 'cut':
      link.cut = true;
      return 'ok';
    case 'heal':
      link.cut = false;
      link.release();
      return 'ok';
    case 'stall':
      for (const c of link.live()) c.stalled = true;
      return 'ok';
    case 'unstall':
      for (const c of link.live()) c.stalled = false;
      link.release();
      return 'ok';
    case 'drop': {
      const ix = a.from === 'master' ? 0 : 1;
      for (const c of link.live()) c.dropping[ix] = true;
      return 'ok';
    }
    case 'delay':
      link.delay[a.from === 'master' ? 0 : 1] = a.ms;
      return 'ok';
    case 'approve':
      if (link.approved) return 'skipped';
      link.approved = true;
      // The dialer is kicked at once (a frozen one when it thaws).
      for (const n of w.nodes) if (n.settings.role === 'Backup' && n.machine !== null) link.scheduleDial(n, 0);
      return 'ok';
    case 'revoke': {
      const n = nodeOf(w, a.node);
      if (!w.running(n)) return 'skipped';
      link.approved = false;
      const conn = n.conn;
      if (conn !== null && !conn.dead[n.ix]) {
        const active = n.machine?.view().activity === 'Active';
        link.close(conn, n, 'local', { kind: 'close', reason: 'bye', peerActive: active });
      }
      return 'ok';
    }
    case 'pause':
    case 'resume': {
      const n = nodeOf(w, a.node);
      if (!w.running(n)) return 'skipped';
      w.setPause(n, a.op === 'pause');
      return 'ok';
    }
    case 'failover': {
      const n = nodeOf(w, a.node);
      if (!w.running(n)) return 'skipped';
      const step = w.feed(n, { type: 'failoverRequested', force: a.force });
      if (step === null || step.error !== null) return 'refused';
      if (a.force) w.forced = true;
      return 'ok';
    }
    case 'configure':
      return configure(w, nodeOf(w, a.node), a.change, a.force);
    case 'etcdDown':
    case 'etcdUp':
      if (w.etcd === null) return 'skipped';
      w.etcd.up = a.op === 'etcdUp';
      return 'ok';
    case 'etcdCut':
    case 'etcdHeal':
      if (w.etcd === null) return 'skipped';
      w.etcd.reach[nodeOf(w, a.node).ix] = a.op === 'etcdHeal';
      return 'ok';
    case 'healAll':
      healAll(w);
      return 'ok';
  }
}
