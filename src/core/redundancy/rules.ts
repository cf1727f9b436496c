/**
 * Rules 1-6 as one function of the facts: after every input the machine recomputes what this node
 * wants (hold, stand by, or become Active for a reason) and moves towards it. Recomputing rather
 * than reacting to each event keeps races simple: whatever order inputs arrive in, the same facts
 * give the same decision.
 */
import { Ctx, masterAddress, pairedWithCurrentMaster, peerActive, peerPresent, peerReachable } from './context.js';
import { expireFailover } from './failover.js';
import { abortAcquire, activate, expireHandshake, proceed, startAcquire } from './handshake.js';
import { checkSilence, connectingUntil, silenceDeadline } from './peer.js';
import { watchInterval } from './stall.js';
import { mayActivateAlone, reconcileWitness, witnessDeadlines } from './witness.js';
import type { ActivityReason, PeerLoss } from './types.js';

type Want = { kind: 'hold' } | { kind: 'acquire'; reason: ActivityReason };

const HOLD: Want = { kind: 'hold' };

function lossReason(role: 'Master' | 'Backup', how: PeerLoss): ActivityReason {
  if (how === 'never') return 'startup-alone';
  const suffix = how === 'silent' ? 'lost' : how;
  return `${role === 'Master' ? 'backup' : 'master'}-${suffix}` as ActivityReason;
}

/**
 * Both Active while connected (a healed partition, a master started with join wait 0): one yields
 * at once. The master always does: under Automatic recovery it then takes control back through
 * the stand-down handshake (rule 3), under Manual it stays standing by. The backup yields only when
 * the master's recovery mode is Automatic (rule 5). The backup knows that mode from the master's
 * reports, which may lag a settings change; because the master never keeps Active on its own
 * judgement, a stale mode can leave the pair with no Active node for a round trip, never with two.
 */
function winnerIsSelf(c: Ctx): boolean {
  const s = c.s;
  const peer = s.peer.state;
  if (peer === null) return true;
  const own = s.settings.role;
  // Paused (rule 12; the daemon merges both nodes' pause before the link is up, so both judge
  // alike) under Automatic recovery: no recovery will follow, so the master keeps Active and the
  // backup yields, leaving one Active node for the rest of the pause instead of none. Under Manual
  // the backup keeps Active, paused or not (rule 3: the master stays standing by; I5): the explorer
  // found the paused backup yielding to the master under Manual (seed 1760513346).
  if (own === 'Master' && peer.role === 'Backup') return s.paused && s.settings.masterRecoveryMode === 'Automatic';
  if (own === 'Backup' && peer.role === 'Master') return peer.recoveryMode === 'Manual';
  // Not a valid pair; still never leave two Active: the later activation (higher epoch) wins.
  if (s.epoch !== peer.epoch) return s.epoch > peer.epoch;
  return s.nodeId < (s.peer.uuid ?? '');
}

function resolveConflict(c: Ctx): void {
  const s = c.s;
  if (s.activity !== 'Active' || !peerPresent(s)) return;
  const both = peerActive(s);
  if (both && !winnerIsSelf(c)) {
    c.standDown('peer-active');
    return;
  }
  // Fencing: the Active node's epoch must be above any the peer ever activated with (during a
  // partition, or before a restart it reports now); a tie between two Active nodes is no fence.
  // A standing-by peer normally reports the epoch it adopted from us; one that reports its own
  // activation at our epoch activated beside us (a partition): that token names two activations.
  const peerEpoch = s.peer.state?.epoch ?? 0;
  // Epoch 0 is no activation's (a node that never activated reports 0).
  const peerActivated = s.peer.state?.activatedEpoch ?? 0;
  if (peerEpoch > s.epoch || (both && peerEpoch === s.epoch) || (peerActivated > 0 && peerActivated >= s.epoch)) {
    c.bumpEpoch(Math.max(peerEpoch, peerActivated) + 1, 'fenced');
  }
}

function desire(c: Ctx): Want {
  const s = c.s;
  const a = s.acquire;
  if (a !== null && a.operator) return { kind: 'acquire', reason: a.reason };
  if (peerPresent(s)) {
    if (s.activity === 'Active' || s.promise !== null) return HOLD;
    if (s.settings.role !== 'Master') return HOLD; // rule 5: the backup never takes over from a connected master
    if (s.paused) return HOLD; // rule 12: a paused pair changes no activity by itself
    if (s.peer.state?.activity === 'Active') {
      if (s.settings.masterRecoveryMode === 'Manual' || s.holdOff) return HOLD;
      return { kind: 'acquire', reason: 'recovery-automatic' };
    }
    return { kind: 'acquire', reason: 'peer-standby' };
  }
  // Rule 2, then rules 4 and 6: a peer that is merely disconnected gets its failoverTimeout.
  if (s.phase === 'joinWait' || s.peer.lost === null || s.activity === 'Active') return HOLD;
  // Rule 10: a peer that left while Active is still the Active node; wait for it or an operator.
  if (s.peer.lost === 'left-active' || s.paused) return HOLD;
  const role = s.settings.role === 'Master' ? 'Master' : 'Backup';
  if (role === 'Backup' && !pairedWithCurrentMaster(s)) {
    if (!s.blockedReported) {
      s.blockedReported = true;
      c.emit({ type: 'activation.blocked', data: { reason: 'never-connected', master: masterAddress(s) } });
    }
    return HOLD;
  }
  return { kind: 'acquire', reason: lossReason(role, s.peer.lost) };
}

function pursue(c: Ctx, reason: ActivityReason): void {
  const s = c.s;
  let a = s.acquire;
  if (a === null) {
    if (s.retryAt !== null) return; // backing off after a veto or a refused request
    a = startAcquire(c, reason);
  }
  if (a.phase === 'awaitConfirm' && !peerReachable(s) && s.peer.connectingSince === null) {
    // The peer we were asking is now lost: nobody left to confirm, and nobody to be Active with.
    if (!a.operator) a.reason = reason;
    if (mayActivateAlone(c, a.forced)) activate(c, 0);
    return;
  }
  // Once asked, the peer stands down for the reason in our request: the activation keeps it.
  if (!a.operator && a.phase !== 'awaitConfirm') a.reason = reason;
  proceed(c);
}

export function reconcile(c: Ctx): void {
  const s = c.s;
  if (s.phase === 'created' || s.phase === 'stopping') return;
  if (s.settings.role === 'Independent') {
    c.setActivity('Active', 'independent'); // rule 1
    return;
  }
  if (s.phase === 'joinWait' && s.joinWaitUntil !== null && c.now >= s.joinWaitUntil) {
    s.phase = 'running';
    s.joinWaitUntil = null;
  }
  checkSilence(c);
  expireHandshake(c);
  expireFailover(c);
  resolveConflict(c);
  reconcileWitness(c);
  const want = desire(c);
  if (want.kind === 'acquire') {
    if (s.activity !== 'Active') pursue(c, want.reason);
    return;
  }
  if (s.acquire !== null) abortAcquire(c, 'no longer wanted');
  // Backoff is for consecutive failed attempts at one need; a later need starts afresh.
  s.vetoes = 0;
  s.retryAt = null;
  // Standby level follows the setting live (Cold <-> Warm).
  if (s.activity !== 'Active' && s.activity !== c.standbyLevel()) c.standDown('settings-changed');
}

/** The earliest time at which reconcile could decide something new without any other input. */
export function nextDeadline(c: Ctx): number | null {
  const s = c.s;
  if (s.phase === 'created' || s.phase === 'stopping' || s.settings.role === 'Independent') return null;
  const times: number[] = [];
  if (s.phase === 'joinWait' && s.joinWaitUntil !== null) times.push(s.joinWaitUntil);
  if (s.peer.lost === null && s.peer.lastHeard !== null) times.push(silenceDeadline(c));
  // A watch tick, always (the peer matters to every Master and Backup): a step that comes far later
  // than this shows that this process was stalled (stall.ts), even when nothing else was due. The
  // explorer found each case where it was missing: an Active node alone (after a stall it must
  // wait for a peer that may be back), a node in its join wait (frozen through most of it, it woke
  // on time for its end and decided before reading the dial in its socket, seed 1637489654), and a
  // standing-by node whose peer was lost (frozen 4.9 s while paused, it took over at the resume on
  // a silence judged before the freeze, beside the master that had taken over, seed 1532786998).
  times.push(c.now + watchInterval(s));
  if (s.acquire?.deadline != null) times.push(s.acquire.deadline);
  if (s.promise !== null) times.push(s.promise.until);
  if (s.give !== null) times.push(s.give.deadline);
  if (s.retryAt !== null) times.push(s.retryAt);
  const connecting = connectingUntil(c);
  if (connecting !== null) times.push(connecting);
  times.push(...witnessDeadlines(s, c.now));
  return times.length === 0 ? null : Math.min(...times);
}
