/**
 * Facts about the peer that every rule file reads, and the note of a change in its activity. They
 * need only the state (and the step's emit), so they live apart from the step context (context.ts)
 * and the rules, which all import them.
 */
import type { Activity } from '../roles.js';
import type { MachineState, StepContext } from './types.js';

/** The peer counts as connected for rules 3, 5 and 7: link up and not given up on. */
export function peerPresent(s: MachineState): boolean {
  return s.peer.linkUp && s.peer.lost === null && s.peer.state !== null;
}

/**
 * The link to the peer is up and not given up on, even if its state is being asked for again (after
 * a silence or a stall): such a peer is reachable, so this node must ask it before taking over.
 */
export function peerReachable(s: MachineState): boolean {
  return s.peer.linkUp && s.peer.lost === null;
}

export function peerActive(s: MachineState): boolean {
  return peerPresent(s) && s.peer.state?.activity === 'Active';
}

export function nextEpoch(s: MachineState, floor = 0): number {
  return Math.max(s.epoch, s.peer.state?.epoch ?? 0, floor) + 1;
}

/**
 * Record a change of the peer's activity as it told us (a state report, or the confirm of a
 * stand-down). The first report after a connect is not a change: `peer.connected` says where the
 * peer stands.
 */
export function notePeerActivity(c: StepContext, to: Activity, epoch: number, reason: string | null): void {
  const before = c.s.peer.state;
  if (before === null || before.activity === to) return;
  c.emit({ type: 'peer.activity.changed', data: { uuid: c.s.peer.uuid, from: before.activity, to, reason, epoch } });
}
