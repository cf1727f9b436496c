/**
 * A stalled process: frozen by SIGSTOP, a VM pause or live migration, a swap storm or a long GC.
 * Its timers fire late and the frames its peer sent meanwhile wait in the socket, so the first
 * step after it resumes must not read the gap as the peer's silence; and if it was Active for
 * longer than its peer waits, the peer has taken over by now.
 *
 * The machine notices a stall by itself: every step asks for a deadline (a watch tick at most
 * watchInterval away while the peer matters), so an input that comes more than stallSlack after
 * that deadline shows that the process did not run in between. The time since the last input it
 * handled is counted as deaf: the process was surely running then, and not surely after. A node
 * stalled for longer than a peer's shortest join wait waits for its peer again, as at a start,
 * before deciding alone; if it was Active without a link, it stands down first (found by the
 * explorer: a backup frozen while Active met a master that had restarted and gone Active meanwhile).
 *
 * Whether the peer may have judged us silent is worked out from what is known (the latest frame of
 * ours it answered), not from the worst case: see mayHaveJudgedUsSilent.
 */
import { Ctx } from './context.js';
import { JOIN_MARGIN_MS, rejoinWait } from './join-wait.js';
import { abortAcquire } from './handshake.js';
import { askState } from './peer.js';
import type { MachineState } from './types.js';

/** How long the peer waits in silence before it takes over, as it last reported (else our own). */
export function peerFailoverTimeout(s: MachineState): number {
  return s.peer.state?.failoverTimeout ?? s.settings.failoverTimeout;
}

/** At most this long between two steps while the peer matters: a quarter of the shorter timeout. */
export function watchInterval(s: MachineState): number {
  const ft = Math.min(s.settings.failoverTimeout, peerFailoverTimeout(s));
  return Math.min(1000, Math.max(25, Math.round(ft / 4)));
}

/** Lateness beyond a deadline that counts as a stall, not as timer jitter or a busy event loop. */
export function stallSlack(s: MachineState): number {
  return Math.max(50, Math.round(watchInterval(s) / 2));
}

/**
 * May the peer take over (or have taken over) on silence before it hears the frame this step sends?
 * Worked out from what is known, on the machine's clock (wall time, not listening time), from
 * `ackedAt`: the send time of our latest frame the peer is known to have received (a ping it
 * answered, the stand-down request it confirmed, the hello it answered; witness.ts's voteDeadline
 * relies on the same fact).
 *
 * 1. The peer read that frame no sooner than `ackedAt + f0` (f0: its flight), and takes over on
 *    silence no sooner than its failoverTimeout after the last frame of ours it read: not before
 *    `T = ackedAt + f0 + failoverTimeout`. Anything else of ours it read since (frames in flight at
 *    the stall, our pongs, sync) and its own stalls (its deaf time) only make that later.
 * 2. This step sends our next frame (askState's stateQuery): it leaves `L` after `now` (the rest of
 *    this step: the daemon awaits nothing before a send that no persist precedes, and askState
 *    persists nothing here: an Active node adopts no epoch, an acquiring one adopted the peer's when
 *    its report came) and lands in the peer's socket after its flight f1.
 *    The peer reads what is already in its socket before its timer's step (engine.ts `arm`: the tick
 *    waits one event-loop turn), so it hears us in time if `now + L + f1 < T`.
 * 3. So the peer keeps standing by if `(now - ackedAt) + L + (f1 - f0) < failoverTimeout`. The rule
 *    asks `(now - ackedAt) + stallSlack < failoverTimeout`: sound as long as our lateness in sending
 *    plus any growth of the one-way delay since the acked frame stays under stallSlack, the lateness
 *    this machine already takes for a late timer rather than a stall. The old rule,
 *    `ms + pingRate >= failoverTimeout`, took both as zero, and took for granted that our last
 *    frame, sent within a ping interval before the stall, had reached the peer.
 *
 * `now - ackedAt` may be less than the stall's length: a pong read in the step that notices the
 * stall counts first (machine.ts), and its ping may have gone out, from the link's own timer,
 * after the last input this machine handled. That is still sound, as the argument above rests only
 * on when the acked frame was sent. Pongs delayed by load leave ackedAt older: a larger bound, a
 * more careful rule. The same holds for a stand-down request awaiting its confirm: the peer's
 * promise lasts while it hears us, and it drops it on the same silence timer.
 *
 * The old rule stands when no frame is known to have arrived (a master between the link coming up
 * and the first pong), or when the one known was already too old before the stall to pass this test
 * (no pong for about a failoverTimeout: a link the pings are about to close, or a peer that answers
 * none): this node was Active on the link's word then, as it always is without a witness, and the
 * stall is judged by its own length, as before.
 *
 * The explorer does not tell this rule from a looser one: its I1 lets an overlap that begins after a
 * thaw last one flight (the peer's Active report, then a yield), which is what a missed stand-down
 * here gives. What holds the rule is the argument above (test/unit/redundancy-stall-rule.test.ts).
 */
export function mayHaveJudgedUsSilent(s: MachineState, now: number, previousNow: number): boolean {
  const ackedAt = s.peer.ackedAt;
  const ft = peerFailoverTimeout(s);
  const slack = stallSlack(s);
  if (ackedAt === null || previousNow - ackedAt + slack >= ft) return now - previousNow + s.settings.master.pingRate >= ft;
  return now - ackedAt + slack >= ft;
}

/**
 * Called before each input with the time of the previous one and the deadline it asked for.
 * Returns the stalled time in ms (0: none).
 */
export function noticeStall(c: Ctx, previousNow: number, deadline: number | null): number {
  const s = c.s;
  if (deadline === null || !Number.isFinite(previousNow) || c.now <= deadline + stallSlack(s)) return 0;
  const ms = c.now - previousNow;
  const p = s.peer;
  if (p.lost === null && p.lastHeard !== null) p.deafMs += ms;
  // The join wait and a hello under way are also waits for the peer: they get their time back,
  // or a master thawed in its join wait decides before reading the dial that waits in its socket.
  if (s.phase === 'joinWait' && s.joinWaitUntil !== null) s.joinWaitUntil += ms;
  if (p.connectingSince !== null) p.connectingSince += ms;
  // The peer's timeout is read before askState drops its report (and the timeout it named).
  const judged = mayHaveJudgedUsSilent(s, c.now, previousNow);
  const sinceAcked = p.linkUp && p.ackedAt !== null ? { sinceAckedMs: Math.round(c.now - p.ackedAt) } : {};
  c.emit({ type: 'process.stalled', data: { ms: Math.round(ms), activity: s.activity, ...sinceAcked } });
  // A stand-down we asked for before the stall: the peer's confirm (maybe waiting in the socket)
  // promised to stay standing by only while it heard from us. If it may have judged us silent
  // since, or our own deadline passed while we could not run, that promise is void: ask again.
  const a = s.acquire;
  if (a !== null && a.phase === 'awaitConfirm') {
    const expired = a.deadline !== null && c.now >= a.deadline;
    if (expired || judged) {
      abortAcquire(c, 'this node was stalled while it waited for the peer');
      if (!a.operator) s.retryAt = c.now + s.settings.failoverTimeout;
    }
  }
  if (!p.linkUp) {
    // Alone and Active: a peer that came back meanwhile waited its join wait (at least
    // JOIN_MARGIN_MS) without hearing from us and may have taken over. Stand down and wait for it
    // (below); without one, this node takes over again at the end of that wait.
    if (s.activity === 'Active' && s.settings.role !== 'Independent' && ms >= JOIN_MARGIN_MS) c.standDown('frozen');
  } else {
    // The peer's silence timer ran all that time on its side: it may have taken over, or may before
    // our next frame reaches it (mayHaveJudgedUsSilent).
    if (s.activity === 'Active' && judged) {
      if (s.give !== null) {
        c.emit({ type: 'failover.failed', data: { id: s.give.id, reason: 'this node was stalled' } });
        s.give = null;
      }
      c.standDown('frozen');
    }
    // Whatever it reported before the stall may be old news: ask again before relying on it.
    askState(c);
  }
  rejoin(c, ms);
  return ms;
}

/**
 * A standing-by node stalled for as long as a peer's shortest join wait waits for its peer again,
 * as at a start, before it decides alone. Its peer may have stopped, restarted and gone Active
 * alone meanwhile (it heard nobody), and the backlog read next still tells of the peer as it was:
 * a steppingDown or goodbye queued before the restart would hand over "at once" beside the new
 * Active process (found by the explorer, both ways round: a frozen backup read its master's clean
 * stop after the master had restarted Active; a frozen master read its backup's). A fresh report of
 * the peer (a new hello, the answer to the state query) ends the wait; so does rejoinWait, time
 * enough for a restarted peer and this node to meet.
 */
function rejoin(c: Ctx, ms: number): void {
  const s = c.s;
  if (ms < JOIN_MARGIN_MS || s.activity === 'Active' || s.settings.role === 'Independent') return;
  const until = c.now + rejoinWait(s.settings);
  s.phase = 'joinWait';
  s.joinWaitUntil = Math.max(s.joinWaitUntil ?? until, until);
}
