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
  c.emit({ type: 'process.stalled', data: { ms: Math.round(ms), activity: s.activity } });
  // A stand-down we asked for before the stall: the peer's confirm (maybe waiting in the socket)
  // promised to stay standing by only while it heard from us. If it may have judged us silent
  // since, or our own deadline passed while we could not run, that promise is void: ask again.
  const a = s.acquire;
  if (a !== null && a.phase === 'awaitConfirm') {
    const expired = a.deadline !== null && c.now >= a.deadline;
    if (expired || ms + s.settings.master.pingRate >= peerFailoverTimeout(s)) {
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
    // The peer's silence timer ran all that time on its side. It takes over after its failoverTimeout
    // of silence, counted from our last frame, which may be a ping interval before the stall.
    if (s.activity === 'Active' && ms + s.settings.master.pingRate >= peerFailoverTimeout(s)) {
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
