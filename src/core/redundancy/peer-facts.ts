/**
 * Facts about the peer that every rule file reads. They depend on the state alone, so they live
 * apart from the step context (context.ts) and the rules, which all import them.
 */
import type { MachineState } from './types.js';

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
