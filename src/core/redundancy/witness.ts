/**
 * The witness (DESIGN.md section 9): an etcd cluster as the pair's third vote. Each node has one
 * vote and the witness one; a node is Active only while it holds two: its own and either the
 * connected peer's (the stand-down handshake) or the pair's leader key, held under this node's own
 * lease. Pure rules only: the daemon runs the requests this file decides on (acquire, renew,
 * release) one at a time, in order, and reports each result with the time it sent the request
 * that granted or renewed the lease, on the machine's clock.
 *
 * Margins, each on the deciding node's own monotonic clock (docs/safety.md, "Witness"):
 * - The lease: etcd starts a lease's TTL when it handles the grant or keep-alive, after we sent it,
 *   so the key is surely ours until `sentAt + leaseTtlMs`. This node counts on it only until
 *   `sentAt + leaseTtlMs - leaseMargin(ttl)`, and stands down then if no renewal came back: strictly
 *   before the other node can acquire the key.
 * - The peer's vote: a node that is Active by the peer's vote alone (it could not get the key) keeps
 *   it only until `ackedAt + failoverTimeout - VOTE_SLACK_MS` (wall time), ackedAt being the send
 *   time of our latest frame the peer is known to have received (a ping it answered). The peer
 *   takes over (needing the key, which nobody holds) no sooner than failoverTimeout after it last
 *   heard us.
 */
import { nextEpoch, peerPresent } from './peer-facts.js';
import type { MachineState, StepContext as Ctx, WitnessResult, WitnessState } from './types.js';

export type { WitnessState } from './types.js';

/** How much earlier than the lease's end this node stops counting on it (clock drift, delays, the stand-down itself). */
export function leaseMargin(ttlMs: number): number {
  return Math.min(1000, Math.max(200, Math.round(ttlMs / 10)));
}

/** Renew a held lease this often: two more chances before the margin runs out. */
export function renewInterval(ttlMs: number): number {
  return Math.max(50, Math.floor(ttlMs / 3));
}

/** After a refused or failed acquire: try again this soon (the holder's lease may just have run out). */
export function retryInterval(ttlMs: number): number {
  return Math.min(100, Math.max(50, Math.floor(ttlMs / 20)));
}

/** How much before the peer can take over this node stops counting on its vote: a late timer, the stand-down itself. */
export const VOTE_SLACK_MS = 200;


export function emptyWitness(): WitnessState {
  return { held: null, pending: null, reachable: null, other: null, retryAt: null, lastError: null, forced: false };
}

export function witnessTtl(s: MachineState): number | null {
  return s.settings.witness?.leaseTtlMs ?? null;
}

export function holdsKey(s: MachineState, now: number): boolean {
  const h = s.witness.held;
  return h !== null && now < h.validUntil;
}

/**
 * When the connected peer's vote stops counting for an Active node without the key. The vote rests
 * on what proves the peer hears us (a ping it answered, a request it confirmed), not on hearing
 * it: behind a one-way partition we hear the peer while it hears nothing from us and takes over
 * (explorer seed 1478155512). The peer takes over no sooner than its failoverTimeout after it last
 * heard us, which is at or after `ackedAt`; wall time, not listening time (a stall of ours gives
 * the peer no more patience).
 */
export function voteDeadline(s: MachineState): number | null {
  const p = s.peer;
  if (!peerPresent(s) || p.ackedAt === null) return null;
  const ft = Math.min(s.settings.failoverTimeout, p.state?.failoverTimeout ?? s.settings.failoverTimeout);
  return p.ackedAt + ft - (s.defects.noVoteMargin ? 0 : VOTE_SLACK_MS);
}

function peerVote(s: MachineState, now: number): boolean {
  const until = voteDeadline(s);
  return until !== null && now < until;
}

/** Ask for the key (a new lease if we have none), unless a request is out or a retry is not due. */
export function requestKey(c: Ctx): void {
  const w = c.s.witness;
  if (w.pending !== null || (w.retryAt !== null && c.now < w.retryAt)) return;
  const id = c.nextId('w');
  const epoch = c.s.activity === 'Active' ? c.s.epoch : nextEpoch(c.s);
  w.pending = { id, op: 'acquire', epoch };
  c.out.push({ type: 'witness', op: 'acquire', id, epoch });
}

/**
 * May this node become Active with no peer to confirm it? With a witness, only while it holds the
 * key (asked for here); a forced activation goes ahead (the operator vouches) and takes the key after.
 */
export function mayActivateAlone(c: Ctx, forced: boolean): boolean {
  const s = c.s;
  if (witnessTtl(s) === null || forced || holdsKey(s, c.now) || s.defects.ignoreWitness) return true;
  requestKey(c);
  return false;
}

/** Called when this node leaves Active: give the key back (revoke the lease) and never use that lease again. */
export function releaseKey(c: Ctx): void {
  const s = c.s;
  const w = s.witness;
  w.forced = false;
  if (witnessTtl(s) === null) return;
  const held = w.held !== null;
  // A pending acquire may yet succeed at etcd: its lease is revoked too, but nothing was held.
  const had = held || w.pending !== null;
  w.held = null;
  w.pending = null;
  w.retryAt = null;
  if (!had) return;
  c.out.push({ type: 'witness', op: 'release' });
  if (held) c.emit({ type: 'witness.released', data: { epoch: s.epoch } });
}

export function onWitnessResult(c: Ctx, id: string, result: WitnessResult): void {
  const s = c.s;
  const w = s.witness;
  const ttl = witnessTtl(s);
  if (ttl === null || w.pending?.id !== id) return; // settled or given up on: a late answer counts for nothing
  const { op, epoch } = w.pending;
  w.pending = null;
  const reachable = result.kind !== 'unreachable';
  if (reachable !== w.reachable) {
    c.emit(reachable ? { type: 'witness.reachable', data: {} } : { type: 'witness.unreachable', data: { error: result.kind === 'unreachable' ? result.error : '' } });
    w.reachable = reachable;
  }
  switch (result.kind) {
    case 'held': {
      const endsAt = result.sentAt + result.ttlMs;
      const validUntil = endsAt - (s.defects.noLeaseMargin ? 0 : leaseMargin(result.ttlMs));
      const wasHeld = w.held !== null;
      // An answer that comes after the margin ran out is no lease at all (it may already be gone).
      if (c.now >= validUntil) {
        w.held = null;
        w.retryAt = c.now + retryInterval(ttl);
        return;
      }
      w.held = { validUntil, renewedAt: result.sentAt, endsAt };
      w.other = null;
      w.lastError = null;
      // The epoch written into the key: the one this node activates with (or is Active at).
      if (!wasHeld && op === 'acquire') c.emit({ type: 'witness.acquired', data: { epoch: epoch ?? s.epoch } });
      return;
    }
    case 'taken':
      w.other = result.holder;
      // The epoch in the key was used by an activation: ours must be above it (rule 8).
      if (result.holder !== null) c.adoptEpoch(result.holder.epoch);
      w.retryAt = c.now + retryInterval(ttl);
      w.lastError = result.holder ? `the leader key is held by ${result.holder.uuid} (epoch ${result.holder.epoch})` : 'the leader key is held by another lease';
      return;
    case 'lost':
    case 'unreachable':
      w.lastError = result.kind === 'lost' ? 'the lease is gone' : result.error;
      if (result.kind === 'lost' && w.held !== null) c.emit({ type: 'witness.lost', data: { reason: 'lease-gone' } });
      if (result.kind === 'lost') w.held = null; // a renew that failed for lack of answer keeps the lease until validUntil
      w.retryAt = c.now + retryInterval(ttl);
      return;
  }
}

/**
 * Every step: renew a held key, keep an Active node's key (fetch it if it lacks one), and stand an
 * Active node down when it holds neither the peer's vote nor the key.
 */
export function reconcileWitness(c: Ctx): void {
  const s = c.s;
  const w = s.witness;
  const ttl = witnessTtl(s);
  if (ttl === null || s.settings.role === 'Independent') return;
  if (w.held !== null && c.now >= w.held.validUntil) {
    w.held = null;
    c.emit({ type: 'witness.lost', data: { reason: 'lease-expired' } });
  }
  if (s.activity !== 'Active') {
    // A key that came back after the need for it passed (the peer returned, the takeover was
    // dropped): a standing-by node must not sit on it, or the Active one could not take it.
    if (w.held !== null && s.acquire === null) releaseKey(c);
    return;
  }
  if (holdsKey(s, c.now) || peerPresent(s)) w.forced = false;
  if (!holdsKey(s, c.now) && !peerVote(s, c.now) && !w.forced) {
    c.standDown('witness-lost');
    return;
  }
  if (w.held === null) requestKey(c);
  else if (w.pending === null && c.now >= w.held.renewedAt + renewInterval(ttl)) {
    const id = c.nextId('w');
    w.pending = { id, op: 'renew' };
    c.out.push({ type: 'witness', op: 'renew', id });
  }
}

/** The times after `now` at which reconcileWitness could decide something new. */
export function witnessDeadlines(s: MachineState, now: number): number[] {
  const ttl = witnessTtl(s);
  const w = s.witness;
  if (ttl === null) return [];
  const out: number[] = [];
  if (w.held !== null) {
    out.push(w.held.validUntil);
    if (w.pending === null) out.push(w.held.renewedAt + renewInterval(ttl));
  }
  if (w.retryAt !== null) out.push(w.retryAt);
  if (s.activity === 'Active') {
    const vote = voteDeadline(s);
    if (vote !== null) out.push(vote);
  }
  // A time already passed was acted on in this step (or waits for an answer): no busy timer.
  return out.filter((t) => t > now);
}
