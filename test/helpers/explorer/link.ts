/**
 * The link between the two hosts, as the daemon's Gateway Network link behaves: the backup dials
 * its configured master every reconnectPeriod (at once after a close without goodbye), the
 * upgrade and hellos cross, frames go in order per direction with that direction's delay, pings
 * every pingRate with a pong due within PING_TIMEOUT, pingMaxMissed misses close the link. The
 * network can delay each way, cut (frames wait, dials time out), stall a connection (silence
 * without close) or drop one direction of it (every later frame that way is lost, as on a TCP
 * connection that dies; it never loses one frame and delivers the next).
 */
import type { DisconnectReason, RedundancyMessage, StateReport } from '../../../src/core/redundancy/index.js';
import { ADDRESSES, HELLO_TIMEOUT, LISTENER_SSL, PING_TIMEOUT, pairKey, type NodeIx, type WNode, type World } from './world.js';

export type Frame =
  | { kind: 'upgrade' }
  | { kind: 'accept' }
  | { kind: 'reset' }
  | { kind: 'hello'; report: StateReport; sentAt: number }
  | { kind: 'msg'; message: RedundancyMessage; sentAt: number }
  | { kind: 'ping'; id: number }
  | { kind: 'pong'; id: number }
  | { kind: 'pause'; paused: boolean; ver: number }
  | { kind: 'close'; reason: 'closed' | 'bye' | 'error'; peerActive?: boolean; stopping?: boolean };

export interface Conn {
  id: number;
  dialer: NodeIx;
  target: NodeIx;
  /** Process generation of each side when it joined: frames to a later process are not its. */
  gen: [number, number];
  /** The side's link is up (its peerConnected was fed) and it has not closed it. */
  open: [boolean, boolean];
  /** The dialer fed linkConnecting and has not yet seen the link up or down. */
  connecting: boolean;
  /** The side is done with this connection: frames reaching it are discarded. */
  dead: [boolean, boolean];
  /** Frames sent by this side are lost (a direction of the connection died). */
  dropping: [boolean, boolean];
  stalled: boolean;
  held: [Frame[], Frame[]];
  last: [number, number];
  pingOut: [number | null, number | null];
  missed: [number, number];
  /** When each side's next ping timer fires (set with the pingRate of its time, as link-connection.ts does). */
  pingDue: [number, number];
  /** Each side's current ping timer; a re-armed one (retimePing) makes the old one a no-op. */
  pingToken: [number, number];
  /** When each side's outstanding ping was sent. */
  pingSentAt: [number, number];
}

export type LinkState = Link;

export function newLinkState(world: World, delay: number): Link {
  return new Link(world, delay);
}

export class Link {
  /** One-way delay per direction, indexed by the sending node. */
  delay: [number, number];
  cut = false;
  /** Certificates/connections approved; a revocation sets false until re-approved. */
  approved = true;
  conns: Conn[] = [];
  /** The last frame sent with a delay beyond pingTimeout / 2 lands then. */
  slowUntil = -Infinity;
  private ids = 0;
  private pingSeq = 0;

  constructor(
    private readonly w: World,
    delay: number,
  ) {
    this.delay = [delay, delay];
  }

  /** Both sides have this connection up: the pair is linked. */
  linked(): Conn | null {
    const [a, b] = this.w.nodes;
    const c = a.conn;
    return c !== null && c === b.conn && c.open[0] && c.open[1] ? c : null;
  }

  live(): Conn[] {
    this.conns = this.conns.filter((c) => !(c.dead[0] && c.dead[1]));
    return this.conns;
  }

  // ---- frames ----------------------------------------------------------------------------

  send(conn: Conn, from: NodeIx, frame: Frame): void {
    if (conn.dropping[from]) return;
    if (this.cut || conn.stalled) {
      conn.held[from].push(frame);
      return;
    }
    this.transmit(conn, from, frame);
  }

  private transmit(conn: Conn, from: NodeIx, frame: Frame): void {
    const t = Math.max(this.w.now + this.delay[from], conn.last[from]);
    conn.last[from] = t;
    // A frame sent slowly is still a fault when it lands after the delay is back to normal; so is
    // one queued behind it (in order), which lands as late (explorer: a steppingDown sent after
    // the delay was healed landed 2.5 s late, behind a slow frame).
    if (this.delay[from] >= PING_TIMEOUT / 2 || t - this.w.now >= PING_TIMEOUT / 2) this.slowUntil = Math.max(this.slowUntil, t);
    const to = this.w.nodes[from === 0 ? 1 : 0];
    this.w.clock.at(t, () => this.arrive(conn, to, frame));
  }

  /** Frames held by a cut or a stall go out again, in order (TCP retransmits). */
  release(): void {
    if (this.cut) return;
    for (const c of this.live()) {
      if (c.stalled) continue;
      for (const dir of [0, 1] as const) {
        for (const f of c.held[dir].splice(0)) {
          if (c.dropping[dir]) continue;
          this.transmit(c, dir, f);
          // Held by the cut or stall: it lands late, as part of that partition (a steppingDown sent
          // at the start of a 2.5 s cut is read at its end), so it counts as a slow frame.
          this.slowUntil = Math.max(this.slowUntil, c.last[dir]);
        }
      }
    }
  }

  private arrive(conn: Conn, to: WNode, frame: Frame): void {
    if (frame.kind === 'upgrade') {
      // A dead process's port answers with a reset; a frozen one's kernel accepts and waits.
      if (to.machine === null) return this.send(conn, to.ix, { kind: 'reset' });
      conn.gen[to.ix] = to.gen;
    }
    if (conn.gen[to.ix] !== to.gen) return;
    this.w.runProc(to, to.gen, 'io', () => this.receive(conn, to, frame));
  }

  private receive(conn: Conn, n: WNode, frame: Frame): void {
    const w = this.w;
    const i = n.ix;
    if (conn.dead[i]) return;
    const peer = w.peerOf(n);
    if (frame.kind !== 'upgrade' && frame.kind !== 'accept' && frame.kind !== 'reset' && frame.kind !== 'close') n.heardAt = w.now;
    switch (frame.kind) {
      case 'upgrade':
        return this.send(conn, i, { kind: 'accept' });
      case 'reset':
        conn.dead[i] = true;
        if (n.conn === conn) n.conn = null;
        w.feed(n, { type: 'redialRefused' });
        return this.scheduleDial(n, n.settings.master.reconnectPeriod);
      case 'accept':
        // The WebSocket is open: the dialer sends its hello with its state as of now.
        conn.connecting = true;
        w.feed(n, { type: 'linkConnecting' });
        if (n.machine === null) return;
        return this.send(conn, i, { kind: 'hello', report: n.machine.report(), sentAt: w.order() });
      case 'hello': {
        if (i === conn.target) {
          // The listener checks the pair, answers with its own hello, then learns the peer's.
          if (n.settings.role !== 'Master' || frame.report.role !== 'Backup' || n.machine === null) {
            conn.dead[i] = true;
            return this.send(conn, i, { kind: 'close', reason: 'error' });
          }
          const old = n.conn;
          if (old !== null && old !== conn && !old.dead[i]) this.close(old, n, 'closed', { kind: 'close', reason: 'closed' });
          n.conn = conn;
          this.send(conn, i, { kind: 'hello', report: n.machine.report(), sentAt: w.order() });
        }
        conn.open[i] = true;
        if (i === conn.dialer) conn.connecting = false;
        n.heardSentAt = Math.max(n.heardSentAt, frame.sentAt);
        w.feed(n, { type: 'peerConnected', peer: { uuid: peer.uuid, address: null, state: frame.report } });
        if (n.settings.role === 'Backup' && n.machine !== null) n.pairedKeys.add(pairKey(n.settings));
        // The pause service tells the peer its record whenever the link comes up.
        if (conn.open[i]) this.send(conn, i, { kind: 'pause', paused: n.pauseRecord, ver: n.pauseVer });
        if (conn.open[i]) this.schedulePing(conn, n);
        return;
      }
      case 'msg':
        if (!conn.open[i]) return;
        n.heardSentAt = Math.max(n.heardSentAt, frame.sentAt);
        w.feed(n, { type: 'peerMessage', message: frame.message });
        return;
      case 'ping':
        if (!conn.open[i]) return;
        this.send(conn, i, { kind: 'pong', id: frame.id });
        w.feed(n, { type: 'peerAlive' });
        return;
      case 'pong':
        if (!conn.open[i]) return;
        if (conn.pingOut[i] === frame.id) {
          conn.pingOut[i] = null;
          conn.missed[i] = 0;
          // The peer heard our ping: the daemon's link reports when it was sent (section 9's vote),
          // before the frame's proof of life, as link-connection.ts does.
          w.feed(n, { type: 'peerAck', sentAt: conn.pingSentAt[i] });
        }
        w.feed(n, { type: 'peerAlive' });
        return;
      case 'pause':
        if (!conn.open[i]) return;
        w.adoptPause(n, frame.paused, frame.ver);
        return;
      case 'close': {
        const wasUp = conn.open[i] || (i === conn.dialer && conn.connecting);
        const running = conn.open[i];
        this.markDead(conn, n);
        if (wasUp) {
          const reason: DisconnectReason = frame.reason;
          w.feed(n, {
            type: 'peerDisconnected',
            reason,
            ...(frame.peerActive === undefined ? {} : { peerActive: frame.peerActive }),
            ...(frame.stopping ? { peerStopping: true } : {}),
          });
        }
        // A running link closed without a bye is redialled at once (dialer.ts REDIAL_AT_ONCE).
        if (i === conn.dialer) this.scheduleDial(n, running && frame.reason === 'closed' ? 0 : n.settings.master.reconnectPeriod);
        return;
      }
    }
  }

  private markDead(conn: Conn, n: WNode): void {
    conn.dead[n.ix] = true;
    conn.open[n.ix] = false;
    if (n.ix === conn.dialer) conn.connecting = false;
    if (n.conn === conn) n.conn = null;
  }

  /**
   * This side closes the connection: it sends `frame` to the peer and, if its link was up (or
   * connecting), gets `reason` itself (null: the process is going away and hears nothing).
   */
  close(conn: Conn, n: WNode, reason: DisconnectReason | null, frame: Frame): void {
    if (conn.dead[n.ix]) return;
    const wasUp = conn.open[n.ix] || (n.ix === conn.dialer && conn.connecting);
    this.markDead(conn, n);
    this.send(conn, n.ix, frame);
    if (wasUp && reason !== null) this.w.feed(n, { type: 'peerDisconnected', reason });
    // The dialer keeps dialling every reconnectPeriod whatever happened (dialer.ts).
    if (n.ix === conn.dialer) this.scheduleDial(n, n.settings.master.reconnectPeriod);
  }

  /** Closed for silence (pings missed, or the machine judged the peer silent): redial at once. */
  abort(conn: Conn, n: WNode, reason: 'timeout'): void {
    if (conn.dead[n.ix]) return;
    const wasUp = conn.open[n.ix] || (n.ix === conn.dialer && conn.connecting);
    this.markDead(conn, n);
    this.send(conn, n.ix, { kind: 'close', reason: 'closed' });
    // The 'down' event reaches the machine as the next input, after the current step; unless a
    // newer connection came up first, whose 'up' the daemon's PeerLink reports only after the old
    // connection's 'down' (attach), never before it (seed 167806995: the old down arrived after
    // the new up and made the machine take a live link for a dead one).
    if (wasUp) {
      this.w.proc(n, this.w.now, 'io', () => {
        if (n.conn !== null && n.conn !== conn) return;
        this.w.feed(n, { type: 'peerDisconnected', reason });
      });
    }
    if (n.ix === conn.dialer) this.scheduleDial(n, 0);
  }

  /** kill -9: the kernel closes every socket of the process. */
  processGone(n: WNode): void {
    for (const c of this.live()) {
      if (c.dead[n.ix]) continue;
      this.markDead(c, n);
      this.send(c, n.ix, { kind: 'close', reason: 'closed' });
    }
    n.dialToken += 1;
  }

  // ---- pings -----------------------------------------------------------------------------

  private schedulePing(conn: Conn, n: WNode): void {
    const token = ++conn.pingToken[n.ix];
    conn.pingDue[n.ix] = this.w.now + n.settings.master.pingRate;
    this.w.proc(n, this.w.now + n.settings.master.pingRate, 'timer', () => {
      if (!conn.open[n.ix] || conn.pingToken[n.ix] !== token) return;
      if (conn.pingOut[n.ix] === null) {
        const id = ++this.pingSeq;
        conn.pingOut[n.ix] = id;
        conn.pingSentAt[n.ix] = this.w.now;
        this.send(conn, n.ix, { kind: 'ping', id });
        this.w.proc(n, this.w.now + PING_TIMEOUT, 'timer', () => {
          if (!conn.open[n.ix] || conn.pingOut[n.ix] !== id) return;
          conn.pingOut[n.ix] = null;
          conn.missed[n.ix] += 1;
          if (conn.missed[n.ix] >= this.w.cfg.pingMaxMissed) this.abort(conn, n, 'timeout');
        });
      }
      this.schedulePing(conn, n);
    });
  }

  /**
   * pingRate shortened live: a ping pending at the old rate is re-armed to one new rate from now,
   * as LinkConnection.retimePing does (the peer's silence timer may have been shortened with it).
   */
  retimePing(n: WNode): void {
    const conn = n.conn;
    if (conn === null || !conn.open[n.ix] || conn.dead[n.ix]) return;
    if (conn.pingDue[n.ix] - this.w.now <= n.settings.master.pingRate) return;
    this.schedulePing(conn, n);
  }

  // ---- the dialer (the Backup's side) -----------------------------------------------------

  /** reconnectPeriod shortened live: a pending redial comes within one new period (Dialer.retime). */
  retimeDial(n: WNode): void {
    const due = n.dialDue;
    if (n.machine === null || due === null || due.token !== n.dialToken) return;
    const period = n.settings.master.reconnectPeriod;
    if (due.t - this.w.now <= period) return;
    this.scheduleDial(n, period);
  }

  scheduleDial(n: WNode, delay: number): void {
    const token = ++n.dialToken;
    n.dialDue = { token, t: this.w.now + delay };
    this.w.proc(n, this.w.now + delay, 'timer', () => {
      if (n.dialToken !== token) return;
      n.dialDue = null;
      this.dial(n);
    });
  }

  private dial(n: WNode): void {
    const w = this.w;
    if (n.settings.role !== 'Backup' || n.machine === null) return;
    if (n.conn !== null && !n.conn.dead[n.ix]) return; // a connection is up or under way
    // Read when the redial is scheduled, as the daemon's dialer does (a settings change meanwhile
    // counts): a period captured at dial time modelled a defect the daemon does not have.
    const period = (): number => n.settings.master.reconnectPeriod;
    const m = n.settings.master;
    const ix = ADDRESSES.findIndex((a) => a.host === m.host && a.port === m.port);
    const target = ix < 0 || ix === n.ix ? null : w.nodes[ix as NodeIx];
    const rt = this.delay[0] + this.delay[1];
    // A refusal that comes back slowly is a slow frame too (see transmit).
    if (Math.max(this.delay[0], this.delay[1]) >= PING_TIMEOUT / 2) this.slowUntil = Math.max(this.slowUntil, w.now + rt);
    w.log(`${n.name} dials ${m.host}:${m.port}${this.cut ? ' (cut)' : ''}`);
    if (this.cut) return this.scheduleDial(n, period()); // the connect times out
    const refused = (): void => {
      // Nothing listens there: ECONNREFUSED, a round trip after the dial.
      w.feed(n, { type: 'redialRefused' });
      this.scheduleDial(n, period());
    };
    if (target === null) return w.proc(n, w.now + rt, 'io', refused);
    if (m.enableSsl !== LISTENER_SSL || !this.approved) {
      // The TLS handshake or the trust decision fails before a byte of the protocol; whether a
      // process listens at all is decided when the SYN arrives (a dial can race a restart).
      const dialGen = n.gen;
      w.clock.at(w.now + this.delay[n.ix], () => {
        const listening = target.machine !== null;
        w.clock.at(w.now + this.delay[target.ix], () => {
          if (n.gen !== dialGen) return;
          w.runProc(n, dialGen, 'io', () => (listening ? this.scheduleDial(n, period()) : refused()));
        });
      });
      return;
    }
    // A target that is down when the upgrade arrives answers with a reset (arrive): a dial that
    // races a restart is refused or answered by the restarted process, as the SYN finds it.
    const conn: Conn = {
      id: ++this.ids,
      dialer: n.ix,
      target: target.ix,
      gen: [0, 0],
      open: [false, false],
      connecting: false,
      dead: [false, false],
      dropping: [false, false],
      stalled: false,
      held: [[], []],
      last: [0, 0],
      pingOut: [null, null],
      missed: [0, 0],
      pingDue: [-Infinity, -Infinity],
      pingToken: [0, 0],
      pingSentAt: [0, 0],
    };
    conn.gen[n.ix] = n.gen;
    this.conns.push(conn);
    n.conn = conn;
    this.send(conn, n.ix, { kind: 'upgrade' });
    w.proc(n, w.now + HELLO_TIMEOUT, 'timer', () => {
      if (conn.open[n.ix] || conn.dead[n.ix]) return;
      this.close(conn, n, 'error', { kind: 'close', reason: 'error' });
      this.scheduleDial(n, period());
    });
  }
}
