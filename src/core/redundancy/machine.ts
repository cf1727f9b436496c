/**
 * The redundancy state machine (DESIGN.md section 4, rules 1-9): pure, no I/O, no clock. The
 * daemon feeds it inputs with the current time and applies the decisions it returns, in order.
 * See src/core/redundancy/README.md for the contract with the daemon and the link.
 */
import type { Activity, Role, WitnessView } from '../wire.js';
import { Ctx, pairedWithCurrentMaster, pairingKey, peerPresent } from './context.js';
import { onFailoverReject, onFailoverRequest, requestFailover } from './failover.js';
import {
  abortAcquire,
  onPreActivateResult,
  onStandDownConfirm,
  onStandDownReject,
  onStandDownRequest,
} from './handshake.js';
import type { RedundancyMessage, StateReport } from './messages.js';
import {
  emptyPeer,
  heard,
  markLost,
  onLinkConnecting,
  onPeerConnected,
  onPeerDisconnected,
  onRedialRefused,
  onStateMessage,
} from './peer.js';
import { nextDeadline, reconcile } from './rules.js';
import { noticeStall } from './stall.js';
import { emptyWitness, holdsKey, onWitnessResult } from './witness.js';
import { effectiveJoinWait, rejoinWait } from './join-wait.js';
import type { ActivityReason, MachineInput, MachineSettings, MachineState, PersistedRedundancy, PlantedDefects, Step } from './types.js';

export interface MachineInit {
  /** This node's UUID: prefixes request ids and breaks ties. */
  nodeId: string;
  /**
   * Tells this run of the process from earlier ones (the daemon passes a random token): with the
   * persisted epoch it makes failover ids unique across restarts. Absent: '' (tests).
   */
  bootId?: string;
  settings: MachineSettings;
  persisted?: PersistedRedundancy | null;
  /** Tests only: old defects planted back, to check that the explorer finds them. */
  defects?: PlantedDefects;
}

/** Read-only view for status, /health and gwinfo. */
export interface MachineView {
  role: Role;
  activity: Activity;
  epoch: number;
  since: number | null;
  phase: MachineState['phase'];
  /** Rule 12: the pair is paused. */
  paused: boolean;
  /**
   * Why this node stands by when it might otherwise take over: `peer-left-active` (rule 10),
   * `never-connected` (rule 6), `paused` (rule 12); null when nothing holds it.
   */
  hold: 'peer-left-active' | 'never-connected' | 'paused' | null;
  /** Section 9, null without a witness. */
  witness: WitnessView | null;
  /** Why the activity last changed; null: not since start. */
  reason: ActivityReason | null;
  /**
   * The peer; role, epoch and reason as it last reported them (kept after the link goes down),
   * lastHeard on the machine's clock.
   */
  peer: {
    connected: boolean;
    uuid: string | null;
    address: string | null;
    activity: Activity | null;
    epoch: number | null;
    role: Role | null;
    reason: string | null;
    lastHeard: number | null;
  } | null;
}

export class RedundancyMachine {
  private readonly s: MachineState;
  private lastNow = -Infinity;

  constructor(init: MachineInit) {
    this.s = {
      nodeId: init.nodeId,
      bootId: init.bootId ?? '',
      defects: { ...init.defects },
      settings: init.settings,
      phase: 'created',
      joinWaitUntil: null,
      activity: init.settings.standbyActivityLevel,
      since: null,
      epoch: init.persisted?.epoch ?? 0,
      activatedEpoch: init.persisted?.activatedEpoch ?? 0,
      peer: emptyPeer(),
      pairedMaster: init.persisted?.pairedMaster ?? null,
      acquire: null,
      promise: null,
      holdOff: false,
      give: null,
      retryAt: null,
      vetoes: 0,
      seq: 0,
      blockedReported: false,
      lastReason: null,
      paused: false,
      lastDeadline: null,
      witness: emptyWitness(),
    };
  }

  /** A deep copy of the internal state, for tests and diagnostics. */
  get state(): MachineState {
    return structuredClone(this.s);
  }

  /** What the link puts in its hello. */
  report(): StateReport {
    return new Ctx(this.s, this.lastNow).report();
  }

  /**
   * `now` (the caller's clock, never before the last input) dates what moves between inputs: the
   * lease's remaining time. Without it, the time of the last input.
   */
  view(now?: number): MachineView {
    const s = this.s;
    const p = s.peer;
    return {
      role: s.settings.role,
      activity: s.activity,
      epoch: s.epoch,
      since: s.since,
      phase: s.phase,
      paused: s.paused,
      hold: holdOf(s),
      witness: witnessView(s, Math.max(now ?? this.lastNow, this.lastNow)),
      reason: s.lastReason,
      peer:
        p.uuid === null
          ? null
          : {
              connected: peerPresent(s),
              uuid: p.uuid,
              address: p.address,
              activity: p.state?.activity ?? null,
              epoch: p.state?.epoch ?? null,
              role: p.state?.role ?? null,
              reason: p.state?.reason ?? null,
              lastHeard: p.lastHeard,
            },
    };
  }

  handle(input: MachineInput): Step {
    // A clock that steps back must not revive expired deadlines: time only moves forward here.
    const now = Math.max(input.now, this.lastNow);
    const previous = this.lastNow;
    this.lastNow = now;
    const s = this.s;
    const c = new Ctx(s, now);
    let step: Pick<Step, 'error' | 'failoverId'> = { error: null, failoverId: null };
    // A pong read at a thaw answers a ping sent before the stall: that the peer heard it is a fact
    // about the past, whenever it is read, so it counts before the stall is judged (stall.ts judges
    // from ackedAt; without this, a pong waiting in the socket left the ping before it as ackedAt,
    // a pingRate older, and an Active node stood down for nothing).
    if (input.type === 'peerAck' && s.phase !== 'stopping' && s.peer.linkUp) noteAck(s, input.sentAt, now);
    // Before anything this input says: if this process was stalled, what it knew may be stale.
    if ((s.phase === 'running' || s.phase === 'joinWait') && !s.defects.ignoreStalls) noticeStall(c, previous, s.lastDeadline);
    // A stopping node listens to nothing more, but a command still gets its answer (refused).
    if (s.phase !== 'stopping' || input.type === 'failoverRequested') step = this.dispatch(c, input);
    reconcile(c);
    c.flushState();
    const deadline = nextDeadline(c);
    s.lastDeadline = deadline;
    return { decisions: c.out, nextDeadline: deadline, ...step };
  }

  private dispatch(c: Ctx, input: MachineInput): Pick<Step, 'error' | 'failoverId'> {
    const s = this.s;
    const none = { error: null, failoverId: null };
    switch (input.type) {
      case 'started':
        if (s.phase === 'created') this.start(c);
        return none;
      case 'tick':
        return none;
      case 'settingsChanged':
        this.applySettings(c, input.settings);
        return none;
      case 'failoverRequested': {
        const outcome = requestFailover(c, input.force);
        return { error: outcome.error, failoverId: outcome.id };
      }
      case 'preActivateResult':
        onPreActivateResult(c, input.id, input.ok, input.detail);
        return none;
      case 'stopRequested':
        this.stop(c);
        return none;
      case 'witnessResult':
        onWitnessResult(c, input.id, input.result);
        return none;
      case 'pauseChanged':
        s.paused = input.paused && !s.defects.ignorePause;
        // A pause that begins or ends starts the rules afresh: a back-off earned while a paused
        // peer refused our request (reason paused) must not delay the decision that follows.
        s.retryAt = null;
        s.vetoes = 0;
        return none;
    }
    if (s.settings.role === 'Independent') return none; // no pair, nothing from a peer matters
    switch (input.type) {
      case 'peerConnected':
        onPeerConnected(c, input.peer);
        break;
      case 'linkConnecting':
        onLinkConnecting(c);
        break;
      case 'peerAlive':
        if (s.peer.linkUp) heard(c);
        break;
      case 'peerAck':
        // Taken before the stall check (handle).
        break;
      case 'peerMessage':
        if (s.peer.linkUp && s.peer.lost !== 'stopped') this.onMessage(c, input.message);
        break;
      case 'peerDisconnected':
        onPeerDisconnected(c, input.reason, input.peerActive, input.peerStopping);
        break;
      case 'redialRefused':
        onRedialRefused(c);
        break;
    }
    return none;
  }

  private onMessage(c: Ctx, msg: RedundancyMessage): void {
    heard(c);
    switch (msg.type) {
      case 'redundancy.state':
        return onStateMessage(c, msg);
      case 'redundancy.stateQuery':
        return c.sendState([], msg.id);
      case 'redundancy.standDownRequest':
        return onStandDownRequest(c, msg);
      case 'redundancy.standDownConfirm':
        return onStandDownConfirm(c, msg);
      case 'redundancy.standDownReject':
        return onStandDownReject(c, msg);
      case 'redundancy.standDownCancel':
        if (this.s.promise?.id === msg.id) this.s.promise = null;
        return;
      case 'redundancy.failoverRequest':
        return onFailoverRequest(c, msg);
      case 'redundancy.failoverReject':
        return onFailoverReject(c, msg);
      case 'redundancy.steppingDown':
        // Rule 6: a clean stop is known at once; the close that follows changes nothing more.
        return markLost(c, 'stopped');
    }
  }

  private start(c: Ctx): void {
    const s = this.s;
    s.since = c.now;
    if (s.settings.role === 'Independent') {
      s.phase = 'running';
      return;
    }
    s.phase = 'joinWait';
    s.joinWaitUntil = c.now + this.joinWait(s.settings);
  }

  private applySettings(c: Ctx, next: MachineSettings): void {
    const s = this.s;
    const before = s.settings;
    s.settings = next;
    // A longer redial period (timings change on both nodes together) while waiting for the peer:
    // its next redial may now be that far away, and the floor was computed with the old period
    // (explorer seed 229824242: a master restarted just before redial went 500 -> 2000 ms went
    // Active at the end of its old floor beside the backup that had taken over).
    if (s.phase === 'joinWait' && s.joinWaitUntil !== null && next.master.reconnectPeriod > before.master.reconnectPeriod) {
      s.joinWaitUntil = Math.max(s.joinWaitUntil, c.now + rejoinWait(next));
    }
    // Section 9: another witness (or none) is another key: what this node knew of the old one
    // (held, refused, the holder it named) says nothing about the new one. The daemon revokes the
    // old lease with the old client.
    if (JSON.stringify(before.witness ?? null) !== JSON.stringify(next.witness ?? null)) s.witness = emptyWitness();
    if (s.defects.goodbyeMeansStopped ? before.role === next.role : pairingKey(before) === pairingKey(next)) return;
    const roleChanged = before.role !== next.role;
    if (roleChanged) c.emit({ type: 'role.changed', data: { from: before.role, to: next.role } });
    // A new role, or another master address, port or transport, is a new pair: forget the peer
    // (the daemon re-establishes the link with a hello carrying the new settings) and every pending
    // exchange with it. Nothing the old link said or did (a goodbye included) carries over.
    const why = roleChanged ? 'the role changed' : 'the master address changed';
    abortAcquire(c, why);
    if (s.give !== null) c.emit({ type: 'failover.failed', data: { id: s.give.id, reason: why } });
    s.give = null;
    s.promise = null;
    s.holdOff = false;
    s.retryAt = null;
    s.blockedReported = false;
    s.peer = emptyPeer();
    if (s.phase === 'created' || next.role === 'Independent') return;
    s.phase = 'joinWait';
    s.joinWaitUntil = c.now + this.joinWait(next);
    // Setting up a pair must not make two Active nodes (rule 6): an Active node turned Backup
    // stands by unless it already belongs to this master.
    // An Active backup sent to another master keeps Active until it meets that master (rule 3 then
    // decides): standing down would leave the plant with no Active node in the meantime.
    if (roleChanged && next.role === 'Backup' && s.activity === 'Active' && !pairedWithCurrentMaster(s)) c.standDown('role-changed');
  }

  /** The join wait this node uses (the planted noJoinWaitFloor defect skips the floor). */
  private joinWait(settings: MachineSettings): number {
    return this.s.defects.noJoinWaitFloor ? settings.joinWaitTime : effectiveJoinWait(settings);
  }

  private stop(c: Ctx): void {
    const s = this.s;
    if (s.phase === 'stopping') return;
    abortAcquire(c, 'the node is stopping');
    if (s.give !== null) c.emit({ type: 'failover.failed', data: { id: s.give.id, reason: 'the node is stopping' } });
    s.give = null;
    s.phase = 'stopping';
    if (s.settings.role === 'Independent') return;
    // Stand down before saying so: the peer takes over the moment it reads steppingDown.
    if (s.activity === 'Active') c.standDown('stopping');
    c.sendState();
    c.send({ type: 'redundancy.steppingDown', epoch: s.epoch });
  }
}

function holdOf(s: MachineState): MachineView['hold'] {
  if (s.activity === 'Active' || s.settings.role === 'Independent') return null;
  if (s.peer.lost === 'left-active') return 'peer-left-active';
  if (s.paused) return 'paused';
  if (s.blockedReported && !pairedWithCurrentMaster(s)) return 'never-connected';
  return null;
}

function witnessView(s: MachineState, now: number): WitnessView | null {
  if (!s.settings.witness) return null;
  const w = s.witness;
  const held = holdsKey(s, now) ? w.held : null;
  return {
    reachable: w.reachable,
    holder: held ? 'self' : w.other !== null ? 'other' : null,
    otherHolder: held ? null : w.other,
    // Until the lease itself runs out at etcd (at the earliest): the margin is this node's own.
    leaseRemainingMs: held ? Math.max(0, Math.round(held.endsAt - now)) : null,
    lastError: w.lastError,
  };
}

/** The peer answered our frame sent at `sentAt` (a ping): ackedAt only moves forward, and never past now. */
function noteAck(s: MachineState, sentAt: number, now: number): void {
  s.peer.ackedAt = Math.max(s.peer.ackedAt ?? -Infinity, Math.min(sentAt, now));
}
