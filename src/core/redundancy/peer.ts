/**
 * What this node knows of its peer: link up or down, when it was last heard, whether it counts
 * as lost (rules 4 and 6) and how, and its last reported state.
 */
import { Ctx, masterAddress } from './context.js';
import { abortAcquire } from './handshake.js';
import { notePeerActivity } from './peer-facts.js';
import type { StateMessage } from './messages.js';
import type { DisconnectReason, PeerHello, PeerLoss, PeerView } from './types.js';

export function emptyPeer(): PeerView {
  return {
    uuid: null,
    address: null,
    linkUp: false,
    connectingSince: null,
    ackedAt: null,
    lastHeard: null,
    lost: null,
    closedWithoutBye: false,
    deafMs: 0,
    awaitingReply: null,
    state: null,
  };
}

export function markLost(c: Ctx, how: PeerLoss): void {
  const s = c.s;
  if (s.peer.lost !== null) return;
  s.peer.lost = how;
  // An operator's failover needs the peer (as when the link goes down): it fails rather than
  // turning into a takeover alone; the loss rules then decide, with their holds (explorer seed
  // 734199421: a backup thawed with the master's failoverRequest and steppingDown in its backlog
  // took over on that stale request beside the master restarted Active meanwhile).
  if (s.acquire?.operator && !s.acquire.forced) abortAcquire(c, 'the peer was lost');
  // An operator's handover and a confirm's promise only hold while the pair is together.
  s.holdOff = false;
  s.promise = null;
  if (s.give !== null) {
    c.emit({ type: 'failover.failed', data: { id: s.give.id, reason: 'the peer was lost' } });
    s.give = null;
  }
  c.emit({ type: 'peer.lost', data: { how, uuid: s.peer.uuid } });
}

export function heard(c: Ctx): void {
  const p = c.s.peer;
  // A gap this long is a silence even if no timer saw it: this process may have been the one
  // frozen (SIGSTOP), and its timers run only now.
  const gap = p.lastHeard !== null && c.now >= silenceDeadline(c);
  p.lastHeard = c.now;
  p.deafMs = 0;
  // Silence ends when the peer speaks again on the same link (e.g. after SIGSTOP/SIGCONT). A
  // stepping-down or gone peer only comes back through a new hello.
  if (p.lost !== 'silent' && !(p.lost === null && gap)) return;
  p.lost = null;
  askState(c);
}

/**
 * What we knew of the peer predates a silence (its or ours): it counts as connected again only
 * once a fresh report arrives, and it gets ours, since it may have given up on us too.
 */
export function askState(c: Ctx): void {
  const p = c.s.peer;
  // The report no longer counts, but the epoch it named was used: keep it as a floor for this
  // node's next activation (rule 8; explorer seed 1401234684: a master that had yielded to an
  // Active backup at epoch 2 was frozen, forgot that report at the thaw and later activated at 2).
  if (p.state !== null) c.adoptEpoch(p.state.epoch);
  p.state = null;
  p.awaitingReply = c.nextId('q');
  c.forceStateReport();
  c.send({ type: 'redundancy.stateQuery', id: p.awaitingReply });
}

function compatible(c: Ctx, hello: PeerHello): boolean {
  const own = c.s.settings.role;
  const theirs = hello.state.role;
  return (own === 'Master' && theirs === 'Backup') || (own === 'Backup' && theirs === 'Master');
}

export function onPeerConnected(c: Ctx, hello: PeerHello): void {
  const s = c.s;
  if (!compatible(c, hello)) return; // the link refuses such a pair; never let it decide anything
  if (s.peer.uuid !== hello.uuid) {
    s.holdOff = false;
    s.promise = null;
  }
  s.peer = {
    uuid: hello.uuid,
    address: hello.address ?? null,
    linkUp: true,
    connectingSince: null,
    // The peer's hello answered ours (sent when linkConnecting came): it heard us then.
    ackedAt: s.peer.connectingSince,
    lastHeard: c.now,
    lost: null,
    closedWithoutBye: false,
    deafMs: 0,
    awaitingReply: null,
    state: { ...hello.state, failoverIds: [...hello.state.failoverIds] },
  };
  if (s.settings.role === 'Backup') {
    const address = masterAddress(s);
    const ssl = s.settings.master.enableSsl;
    const p = s.pairedMaster;
    if (p?.uuid !== hello.uuid || p.address !== address || p.ssl !== ssl) {
      s.pairedMaster = { uuid: hello.uuid, address, ssl };
      c.persist();
    }
  }
  c.adoptEpoch(hello.state.epoch);
  // --force vouches that the peer is down; a peer that connects disproves it. From here the
  // activation is an ordinary operator failover: it asks the peer, and fails if the peer leaves
  // again before the hook is done (explorer seed 1629306125: a forced master whose Active backup
  // connected and left again during the hook took over beside it).
  if (s.acquire?.forced) s.acquire.forced = false;
  // Rule 2: the join wait ends early once the peer and its state are known.
  if (s.phase === 'joinWait') {
    s.phase = 'running';
    s.joinWaitUntil = null;
  }
  c.forceStateReport();
}

export function onPeerDisconnected(c: Ctx, reason: DisconnectReason, peerActive?: boolean, peerStopping?: boolean): void {
  const s = c.s;
  s.peer.connectingSince = null; // also ends an attempt that never came up
  if (!s.peer.linkUp) return;
  s.peer.linkUp = false;
  s.promise = null;
  // An operator's failover needs the peer; it fails rather than turning into something else.
  if (s.acquire?.operator && !s.acquire.forced) abortAcquire(c, 'the peer disconnected');
  // The ordered channel delivered every report the peer sent before it left: its last one stands.
  const lastActive = s.peer.state?.activity === 'Active';
  if (s.defects.goodbyeMeansStopped && (reason === 'bye' || reason === 'local')) {
    markLost(c, 'stopped');
    return;
  }
  if (reason === 'bye') {
    // Rule 10: one that leaves while Active (its role, master address or link settings changed)
    // stays the Active node. Only a clean stop hands over at once: its goodbye says it is stopping
    // (and its steppingDown came first). A peer that leaves standing by for any other reason (a
    // revoked certificate, a settings change) keeps running and keeps its own rules: silence
    // decides, as after any close (explorer seed 705089324: a master frozen 2.9 s read the Cold
    // backup's goodbye of a revoke from its backlog as a stop and took over beside the backup,
    // which had taken over on the freeze meanwhile).
    if (peerActive ?? lastActive) markLost(c, 'left-active');
    else if (peerStopping) markLost(c, 'stopped');
    return;
  }
  if (reason === 'local') {
    // This node closed the link itself (a revoked certificate, a denied connection): that says
    // nothing about the peer, which keeps running as it was. An Active peer stays the Active one.
    if (lastActive) markLost(c, 'left-active');
    return;
  }
  s.peer.closedWithoutBye = reason === 'closed';
  // The peer closed the link after a stall (or a silence) of this node and before it answered the
  // state query sent since (pings and frames from the backlog prove nothing): the peer closes for
  // missed pings well before its failoverTimeout runs out, takes over when that runs out, and our
  // frames since the thaw no longer reach it. An Active node stands down rather than overlap it
  // until the redial (explorer seed 578859015: a backup frozen for 759 ms of a 1000 ms
  // failoverTimeout). A peer killed meanwhile closes the link the same way: the redial then tells
  // (refused: gone) and this node takes over again.
  if (reason === 'closed' && s.activity === 'Active' && s.peer.awaitingReply !== null) c.standDown('frozen');
}

/** fastFailover: a close without bye followed by a refused redial means the process is gone. */
export function onRedialRefused(c: Ctx): void {
  const s = c.s;
  s.peer.connectingSince = null;
  if (s.peer.linkUp || !s.peer.closedWithoutBye || !s.settings.fastFailover) return;
  markLost(c, 'gone');
}

export function onStateMessage(c: Ctx, msg: StateMessage): void {
  const s = c.s;
  const { type: _type, replyTo, ...report } = msg;
  // An epoch the peer used is never stale: even a report sent before a silence or a stall names
  // it, and this node's next activation must be above it (rule 8, I3; explorer seed 768626911: a
  // master thawed with the backup's report of its activation in the backlog discarded it as stale
  // and later activated with the same epoch).
  c.adoptEpoch(report.epoch);
  if (s.peer.awaitingReply !== null) {
    if (replyTo !== s.peer.awaitingReply) return; // sent before the silence ended: stale
    s.peer.awaitingReply = null;
    // A wait for the peer after a stall (stall.ts rejoin) ends once its fresh state is known, as a
    // join wait ends at the hello.
    if (s.phase === 'joinWait') {
      s.phase = 'running';
      s.joinWaitUntil = null;
    }
  }
  notePeerActivity(c, report.activity, report.epoch, report.reason);
  s.peer.state = report;
  c.adoptEpoch(report.epoch);
  if (report.activity === 'Active' && s.promise !== null) {
    // The requester we confirmed to took over: the failovers it carried are complete here too.
    for (const id of s.promise.failoverIds) {
      if (report.failoverIds.includes(id)) c.emit({ type: 'failover.completed', data: { id, epoch: report.epoch } });
    }
    s.promise = null;
  }
  if (s.give !== null && report.activity === 'Active' && report.failoverIds.includes(s.give.id)) {
    c.emit({ type: 'failover.completed', data: { id: s.give.id, epoch: report.epoch } });
    s.give = null;
  }
}

/** A hello exchange that hangs must not block a takeover for longer than failoverTimeout. */
export function connectingUntil(c: Ctx): number | null {
  const since = c.s.peer.connectingSince;
  return since === null ? null : since + c.s.settings.failoverTimeout;
}

export function onLinkConnecting(c: Ctx): void {
  if (!c.s.peer.linkUp) c.s.peer.connectingSince = c.now;
}

/** Rule 6 timing: silence for failoverTimeout; no peer at all by the end of the join wait. */
export function checkSilence(c: Ctx): void {
  const s = c.s;
  const p = s.peer;
  const until = connectingUntil(c);
  if (until !== null && c.now >= until) p.connectingSince = null;
  if (p.lost !== null) return;
  if (p.lastHeard === null) {
    if (s.phase === 'running') markLost(c, 'never');
    return;
  }
  if (c.now < silenceDeadline(c)) return;
  markLost(c, 'silent');
  // Silence is judged on time this process listened, after any stall: news, not backlog. A wait
  // for the peer after a stall (stall.ts rejoin) does not hold back rule 6's takeover on it.
  if (s.phase === 'joinWait') {
    s.phase = 'running';
    s.joinWaitUntil = null;
  }
}

/**
 * When the peer counts as silent: failoverTimeout of time this process was able to listen. Time it
 * was stalled (frozen, starved) is not the peer's silence.
 */
export function silenceDeadline(c: Ctx): number {
  const p = c.s.peer;
  return (p.lastHeard ?? c.now) + c.s.settings.failoverTimeout + p.deafMs;
}

