/**
 * The activation handshake (rules 3 and 7): preActivate first, then, while the peer is connected,
 * a stand-down request that the peer must confirm before this node becomes Active. The hook runs
 * before the request so that a veto leaves the pair exactly as it was (the peer keeps Active).
 */
import { Ctx, peerPresent, peerReachable } from './context.js';
import { preActivateEnv } from './hook-env.js';
import { nextEpoch, notePeerActivity } from './peer-facts.js';
import { holdsKey, mayActivateAlone, requestKey } from './witness.js';
import type { StandbyLevel, StandDownConfirm, StandDownReject, StandDownRequest } from './messages.js';
import type { Acquire, ActivityReason, MachineState } from './types.js';

const KNOWN_REASONS: ReadonlySet<string> = new Set<ActivityReason>([
  'peer-standby',
  'recovery-automatic',
  'requested',
  'forced',
  'peer-active',
]);

/** Veto backoff: 1 s doubling to 60 s, so a broken hook is retried without hammering. */
export function retryDelay(vetoes: number): number {
  return Math.min(1000 * 2 ** Math.min(Math.max(vetoes - 1, 0), 6), 60_000);
}

export interface AcquireOptions {
  operator?: boolean;
  forced?: boolean;
  localFailoverId?: string | null;
  peerFailoverIds?: string[];
}

export function startAcquire(c: Ctx, reason: ActivityReason, opts: AcquireOptions = {}): Acquire {
  const s = c.s;
  const hook = s.settings.hooks.preActivate;
  const a: Acquire = {
    id: c.nextId('a'),
    reason,
    phase: hook === null ? 'ready' : 'preActivate',
    deadline: null,
    operator: opts.operator ?? false,
    forced: opts.forced ?? false,
    localFailoverId: opts.localFailoverId ?? null,
    peerFailoverIds: opts.peerFailoverIds ?? [],
  };
  s.acquire = a;
  if (hook !== null) {
    const env = preActivateEnv(s.settings.role, s.activity, reason, nextEpoch(s));
    c.out.push({ type: 'runPreActivate', id: a.id, path: hook, env, timeoutMs: s.settings.hooks.timeoutMs });
  }
  return a;
}

/** The hook said yes (or there is none): ask the connected peer, or take over alone. */
export function proceed(c: Ctx): void {
  const s = c.s;
  const a = s.acquire;
  if (a === null || a.phase !== 'ready') return;
  // Even a forced activation asks a peer that turned up meanwhile: --force vouches for a peer
  // that is down, and this one is evidently not.
  if (peerPresent(s)) {
    a.phase = 'awaitConfirm';
    a.askedAt = c.now;
    // One failoverTimeout: a live peer answers in a round trip; a dead one is lost by then anyway.
    a.deadline = c.now + s.settings.failoverTimeout;
    c.send({
      type: 'redundancy.standDownRequest',
      id: a.id,
      reason: a.reason,
      epoch: s.epoch,
      operator: a.operator,
      failoverIds: a.localFailoverId === null ? [...a.peerFailoverIds] : [a.localFailoverId, ...a.peerFailoverIds],
    });
    return;
  }
  // Our hello is on its way: the peer may join believing we stand by. Wait for the link (or its
  // failure) before taking over alone. Likewise a peer on a live link whose state is being asked
  // for again (after a stall or a silence): it answers in a round trip, or is soon lost.
  if (s.peer.connectingSince !== null || peerReachable(s)) return;
  // Section 9: alone, the witness's leader key is the second vote (asked for here, then retried).
  if (!mayActivateAlone(c, a.forced)) return;
  activate(c, 0);
}

export function activate(c: Ctx, confirmedEpoch: number): void {
  const s = c.s;
  const a = s.acquire;
  if (a === null) return;
  s.acquire = null;
  s.epoch = nextEpoch(s, confirmedEpoch);
  s.activatedEpoch = s.epoch;
  c.persist();
  s.vetoes = 0;
  s.retryAt = null;
  s.promise = null;
  s.holdOff = false;
  s.blockedReported = false;
  c.setActivity('Active', a.reason);
  // --force: the operator vouches for the peer being down; Active without the key until it is had.
  s.witness.forced = a.forced && !peerPresent(s);
  // Section 9: an Active node holds the leader key, however it became Active (it is the second
  // vote should the peer's be lost).
  if (s.settings.witness && !holdsKey(s, c.now)) requestKey(c);
  const ids = a.localFailoverId === null ? a.peerFailoverIds : [a.localFailoverId, ...a.peerFailoverIds];
  c.sendState(ids);
  for (const id of ids) c.emit({ type: 'failover.completed', data: { id, epoch: s.epoch } });
}

function fail(c: Ctx, a: Acquire, why: 'vetoed' | 'aborted', detail: string): void {
  if (a.localFailoverId !== null) c.emit({ type: 'failover.failed', data: { id: a.localFailoverId, reason: detail } });
  for (const id of a.peerFailoverIds) c.send({ type: 'redundancy.failoverReject', id, reason: why });
}

export function abortAcquire(c: Ctx, detail: string): void {
  const a = c.s.acquire;
  if (a === null) return;
  c.s.acquire = null;
  if (a.phase === 'awaitConfirm') c.send({ type: 'redundancy.standDownCancel', id: a.id });
  fail(c, a, 'aborted', detail);
}

export function onPreActivateResult(c: Ctx, id: string, ok: boolean, detail: string | undefined): void {
  const s = c.s;
  const a = s.acquire;
  if (a === null || a.id !== id || a.phase !== 'preActivate') return; // a stale answer
  if (ok) {
    a.phase = 'ready'; // reconcile decides whether it is still wanted, then proceeds
    return;
  }
  s.acquire = null;
  s.vetoes += 1;
  // An operator's failover is not retried behind their back; an automatic decision is.
  const retryAt = c.now + retryDelay(s.vetoes);
  if (!a.operator) s.retryAt = retryAt;
  c.emit({ type: 'activation.vetoed', data: { reason: a.reason, detail: detail ?? 'preActivate vetoed', retryAt } });
  fail(c, a, 'vetoed', 'vetoed by preActivate');
}

/**
 * Crossing requests: both nodes want Active. An operator's request outranks an automatic one;
 * between equals the master wins. Both sides compute the same answer, so exactly one backs off.
 */
function outranks(s: MachineState, own: Acquire, theirs: StandDownRequest): boolean {
  if (own.operator !== theirs.operator) return own.operator;
  return s.settings.role === 'Master';
}

export function onStandDownRequest(c: Ctx, msg: StandDownRequest): void {
  const s = c.s;
  // Rule 12: a paused Active node gives up Active for no automatic reason, even one its peer asks
  // for before it has heard of the pause; only an operator's request moves control. A standing-by
  // node confirms: its activity does not change, and the pair gets an Active node.
  if (s.paused && !msg.operator && s.activity === 'Active') {
    c.send({ type: 'redundancy.standDownReject', id: msg.id, reason: 'paused' });
    return;
  }
  // Rule 3 under Manual recovery: an Active backup gives the Active role back to its master only on
  // an operator's word. An automatic request made on a stale report that this node stood by (it
  // crossed this node's takeover) is refused (explorer seed 1790925332; I5). A `recovery-automatic`
  // request is not: it says the master is under Automatic now (its report of the change may follow).
  const premiseStale = msg.reason === 'peer-standby' && s.peer.state?.recoveryMode === 'Manual';
  if (s.activity === 'Active' && s.settings.role === 'Backup' && !msg.operator && premiseStale) {
    c.send({ type: 'redundancy.standDownReject', id: msg.id, reason: 'contended' });
    return;
  }
  const own = s.acquire;
  if (own !== null) {
    if (outranks(s, own, msg)) {
      c.send({ type: 'redundancy.standDownReject', id: msg.id, reason: 'contended' });
      return;
    }
    abortAcquire(c, 'contended by the peer');
  }
  // The operator's failovers this handover serves are recorded on this side too, under the
  // requester's ids, before the stand-down they cause (one asked on this node is its own `give`).
  const failoverIds = msg.failoverIds.filter((id) => id !== s.give?.id);
  for (const id of failoverIds) c.emit({ type: 'failover.requested', data: { id, origin: 'peer', force: false } });
  if (s.activity === 'Active') {
    c.standDown(KNOWN_REASONS.has(msg.reason) ? (msg.reason as ActivityReason) : 'requested');
  }
  // Until the requester reports Active or gives up, taking over ourselves would ping-pong.
  s.promise = { id: msg.id, until: c.now + 2 * s.settings.failoverTimeout, failoverIds };
  // A handover an operator asked for sticks: no automatic recovery undoes it while the pair is up.
  if (msg.operator) s.holdOff = true;
  // Never Active here: it stood down above (the peer's schema refuses a confirm that says Active).
  const confirm: StandDownConfirm = { type: 'redundancy.standDownConfirm', id: msg.id, epoch: s.epoch, activity: s.activity as StandbyLevel };
  c.send(confirm);
}

export function onStandDownConfirm(c: Ctx, msg: StandDownConfirm): void {
  const s = c.s;
  // The channel is ordered: whatever the peer reported before confirming is superseded by this.
  if (s.peer.state !== null) {
    // It stood down for this node, which asked: the peer's own event says `requested` or
    // `peer-active`; here it is the confirm.
    notePeerActivity(c, msg.activity, msg.epoch, 'stand-down-confirmed');
    s.peer.state = { ...s.peer.state, activity: msg.activity, epoch: msg.epoch };
  }
  const a = s.acquire;
  if (a === null || a.id !== msg.id || a.phase !== 'awaitConfirm') return; // late: we gave up already
  if (a.askedAt !== undefined) s.peer.ackedAt = Math.max(s.peer.ackedAt ?? -Infinity, a.askedAt);
  activate(c, msg.epoch);
}

export function onStandDownReject(c: Ctx, msg: StandDownReject): void {
  const s = c.s;
  const a = s.acquire;
  if (a === null || a.id !== msg.id) return;
  s.acquire = null;
  // A peer paused before us is resumed (or we are paused) within a message's flight: ask again soon.
  if (!a.operator) s.retryAt = c.now + (msg.reason === 'paused' ? s.settings.master.pingRate : s.settings.failoverTimeout);
  fail(c, a, 'aborted', `the peer refused: ${msg.reason}`);
}

/** Deadlines of the handshake, checked on every step. */
export function expireHandshake(c: Ctx): void {
  const s = c.s;
  if (s.promise !== null && c.now >= s.promise.until) s.promise = null;
  const a = s.acquire;
  if (a !== null && a.phase === 'awaitConfirm' && a.deadline !== null && c.now >= a.deadline) {
    abortAcquire(c, 'no confirmation from the peer in time');
    if (!a.operator) s.retryAt = c.now + s.settings.failoverTimeout;
  }
  if (s.retryAt !== null && c.now >= s.retryAt) s.retryAt = null;
}
