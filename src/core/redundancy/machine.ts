/**
 * The redundancy state machine (DESIGN.md section 4, rules 1-9): pure, no I/O, no clock. The
 * daemon feeds it inputs with the current time and applies the decisions it returns, in order.
 * See src/core/redundancy/README.md for the contract with the daemon and the link.
 */
import type { Activity, Role } from '../wire.js';
import { Ctx, pairedWithCurrentMaster, peerPresent } from './context.js';
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
import type { MachineInput, MachineSettings, MachineState, PersistedRedundancy, Step } from './types.js';

export interface MachineInit {
  /** This node's UUID: prefixes request ids and breaks ties. */
  nodeId: string;
  settings: MachineSettings;
  persisted?: PersistedRedundancy | null;
}

/** Read-only view for status, /health and gwinfo. */
export interface MachineView {
  role: Role;
  activity: Activity;
  epoch: number;
  since: number | null;
  phase: MachineState['phase'];
  peer: { connected: boolean; uuid: string | null; address: string | null; activity: Activity | null; epoch: number | null } | null;
}

export class RedundancyMachine {
  private readonly s: MachineState;
  private lastNow = -Infinity;

  constructor(init: MachineInit) {
    this.s = {
      nodeId: init.nodeId,
      settings: init.settings,
      phase: 'created',
      joinWaitUntil: null,
      activity: init.settings.standbyActivityLevel,
      since: null,
      epoch: init.persisted?.epoch ?? 0,
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

  view(): MachineView {
    const s = this.s;
    const p = s.peer;
    return {
      role: s.settings.role,
      activity: s.activity,
      epoch: s.epoch,
      since: s.since,
      phase: s.phase,
      peer:
        p.uuid === null
          ? null
          : {
              connected: peerPresent(s),
              uuid: p.uuid,
              address: p.address,
              activity: p.state?.activity ?? null,
              epoch: p.state?.epoch ?? null,
            },
    };
  }

  handle(input: MachineInput): Step {
    // A clock that steps back must not revive expired deadlines: time only moves forward here.
    const now = Math.max(input.now, this.lastNow);
    this.lastNow = now;
    const c = new Ctx(this.s, now);
    let step: Pick<Step, 'error' | 'failoverId'> = { error: null, failoverId: null };
    // A stopping node listens to nothing more, but a command still gets its answer (refused).
    if (this.s.phase !== 'stopping' || input.type === 'failoverRequested') step = this.dispatch(c, input);
    reconcile(c);
    c.flushState();
    return { decisions: c.out, nextDeadline: nextDeadline(c), ...step };
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
      case 'peerMessage':
        if (s.peer.linkUp && s.peer.lost !== 'stopped') this.onMessage(c, input.message);
        break;
      case 'peerDisconnected':
        onPeerDisconnected(c, input.reason);
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
    s.joinWaitUntil = c.now + s.settings.joinWaitTime;
  }

  private applySettings(c: Ctx, next: MachineSettings): void {
    const s = this.s;
    const before = s.settings;
    s.settings = next;
    if (before.role === next.role) return;
    c.emit({ type: 'role.changed', data: { from: before.role, to: next.role } });
    // A new role is a new pair: forget the peer (the daemon re-establishes the link with a hello
    // carrying the new role) and every pending exchange with it.
    abortAcquire(c, 'the role changed');
    if (s.give !== null) c.emit({ type: 'failover.failed', data: { id: s.give.id, reason: 'the role changed' } });
    s.give = null;
    s.promise = null;
    s.holdOff = false;
    s.retryAt = null;
    s.blockedReported = false;
    s.peer = emptyPeer();
    if (s.phase === 'created' || next.role === 'Independent') return;
    s.phase = 'joinWait';
    s.joinWaitUntil = c.now + next.joinWaitTime;
    // Setting up a pair must not make two Active nodes (rule 6): an Active node turned Backup
    // stands by unless it already belongs to this master.
    if (next.role === 'Backup' && s.activity === 'Active' && !pairedWithCurrentMaster(s)) c.standDown('role-changed');
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
