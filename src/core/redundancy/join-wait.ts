/**
 * How long a node waits for its peer before it decides alone (rule 2), whatever joinWaitTime says.
 */
import type { MachineSettings } from './types.js';

/**
 * Margin over the peer's redial period in a master's join wait: a hello over TLS on a plant network
 * takes tens of ms; this leaves room for a slow one.
 */
export const JOIN_MARGIN_MS = 500;

/**
 * The join wait a node actually uses. A backup waits at least JOIN_MARGIN_MS, time for its first
 * dial to connect. A master that starts may have a backup that took over while
 * it was down and now redials it every reconnectPeriod: deciding before that redial could reach it
 * would make two Active nodes (until the link comes up). So a master waits at least one redial
 * period plus a margin, whatever joinWaitTime says (a floor rather than a validation error: an
 * existing redundancy.json with a short join wait keeps loading). Both nodes are expected to use
 * the same timings; docs/safety.md says so.
 */
export function effectiveJoinWait(settings: MachineSettings): number {
  if (settings.role !== 'Master' && settings.role !== 'Backup') return settings.joinWaitTime;
  // A backup dials at once when it starts or is given a master, and does not decide alone while
  // its hello is out (linkConnecting); the floor covers the connect before that hello. Found by
  // the explorer: with join wait 0 a restarted backup went Active beside its Active master.
  const floor = settings.role === 'Master' ? settings.master.reconnectPeriod + JOIN_MARGIN_MS : JOIN_MARGIN_MS;
  return Math.max(settings.joinWaitTime, floor, witnessVoteFloor(settings));
}

/**
 * With a witness, a node that starts (or is set up anew) waits at least failoverTimeout before it
 * decides alone. Its peer may be Active on this node's vote alone (witness.ts, voteDeadline): it
 * counts on it until `ackedAt + failoverTimeout - 200 ms`, ackedAt being a ping this node answered,
 * trusting that this node takes over no sooner than failoverTimeout after it last heard the peer.
 * A new process (or a new pair) forgot when that was; every such answer came before now, so
 * failoverTimeout from now keeps that promise. Without the floor (explorer seed 23): a backup
 * killed and restarted behind a cut, join wait 0, took the key 2 s after its restart, as soon as
 * the master's lease ran out at etcd, while the master, cut off from etcd, still stood on the vote
 * the old backup process had given 2 s before.
 */
function witnessVoteFloor(settings: MachineSettings): number {
  return settings.witness ? settings.failoverTimeout : 0;
}

/**
 * How long a node that was stalled (stall.ts) waits for its peer again before deciding alone. While
 * this process did not run, its peer may have stopped, restarted and be about to decide alone too;
 * what waits in the socket (a steppingDown, a goodbye, a close) describes the peer as it was before.
 * A peer that restarted meets this node within one redial period plus a margin, whichever side
 * dials (the backup redials every reconnectPeriod; a master waits at least that long in its join
 * wait), so that is the wait, whatever joinWaitTime says: a fresh report of the peer ends it sooner.
 */
export function rejoinWait(settings: MachineSettings): number {
  return settings.master.reconnectPeriod + JOIN_MARGIN_MS;
}
