/**
 * The core of a simulated pair for the redundancy machine: two nodes, a fake clock and a link that
 * delivers each node's `send` decisions to the other after a delay, in order per direction, like
 * one WebSocket. Timers, hooks and link changes are events on the same clock, so a whole scenario
 * runs in microseconds with no sleeps. Faults (kill, stop, freeze) are in redundancy-sim.ts.
 */
import { RedundancyMachine } from '../../src/core/redundancy/index.js';
import type {
  Decision,
  MachineEvent,
  MachineInput,
  MachineSettings,
  PersistedRedundancy,
  RedundancyMessage,
  Step,
} from '../../src/core/redundancy/index.js';
import type { Activity } from '../../src/core/wire.js';
import { settings, type InputBody } from './redundancy-fixtures.js';

export interface SimNode {
  name: 'master' | 'backup';
  uuid: string;
  settings: MachineSettings;
  machine: RedundancyMachine | null;
  persisted: PersistedRedundancy | null;
  frozen: boolean;
  /** Inputs that reached a frozen process; handled in order when it is thawed. */
  backlog: InputBody[];
  timerToken: number;
  /** preActivate answer; a function so a test can change its mind over time. */
  preActivate: () => boolean;
  hookDelay: number;
  changes: { t: number; from: Activity; to: Activity; reason: string; epoch: number }[];
  events: { t: number; event: MachineEvent }[];
  sent: { t: number; message: RedundancyMessage }[];
  decisions: { t: number; decision: Decision }[];
}

interface Conn {
  id: number;
  stalled: boolean;
  held: [RedundancyMessage[], RedundancyMessage[]];
  last: [number, number];
}

export class SimCore {
  now = 0;
  readonly nodes: [SimNode, SimNode];
  conn: Conn | null = null;
  /** Network between the hosts is cut: dials time out, nothing is delivered. */
  cut = false;
  violations: string[] = [];
  /** Set to an array to record every input and decision (debugging a failing seed). */
  trace: string[] | null = null;
  delay: () => number = () => 5;
  /** One way of the hello exchange; 0: both sides learn of the link at the same instant. */
  handshakeDelay: () => number = () => 0;
  pingRate = 1000;
  reconnectPeriod = 1000;
  private queue: { t: number; seq: number; run: () => void }[] = [];
  private seq = 0;
  private connIds = 0;
  /** Sides that have not yet noticed the last link went down. */
  protected pendingDown = new Map<SimNode, () => void>();

  constructor(master: Partial<MachineSettings> = {}, backup: Partial<MachineSettings> = {}) {
    const mk = (name: SimNode['name'], uuid: string, s: MachineSettings): SimNode => ({
      name, uuid, settings: s, machine: null, persisted: null, frozen: false, backlog: [], timerToken: 0,
      preActivate: () => true, hookDelay: 50, changes: [], events: [], sent: [], decisions: [],
    });
    this.nodes = [
      mk('master', 'm-uuid', settings({ role: 'Master', ...master })),
      mk('backup', 'b-uuid', settings({ role: 'Backup', ...backup })),
    ];
  }

  get master(): SimNode {
    return this.nodes[0];
  }

  get backup(): SimNode {
    return this.nodes[1];
  }

  peerOf(n: SimNode): SimNode {
    return n === this.nodes[0] ? this.nodes[1] : this.nodes[0];
  }

  activity(n: SimNode): Activity | null {
    return n.machine?.view().activity ?? null;
  }

  at(t: number, run: () => void): void {
    this.queue.push({ t: Math.max(t, this.now), seq: this.seq++, run });
  }

  /** Run every event up to `until` (inclusive), checking the pair invariant after each one. */
  runUntil(until: number): void {
    for (;;) {
      this.queue.sort((a, b) => a.t - b.t || a.seq - b.seq);
      const next = this.queue[0];
      if (next === undefined || next.t > until) break;
      this.queue.shift();
      this.now = next.t;
      next.run();
      this.check();
    }
    this.now = until;
  }

  run(ms: number): void {
    this.runUntil(this.now + ms);
  }

  /** Never two Active nodes while both consider themselves connected to each other (rule 3). */
  private check(): void {
    const [a, b] = this.nodes;
    const va = a.machine?.view();
    const vb = b.machine?.view();
    if (!va || !vb || !va.peer?.connected || !vb.peer?.connected) return;
    if (va.activity === 'Active' && vb.activity === 'Active') {
      this.violations.push(`t=${this.now}: both Active while connected (epochs ${va.epoch}/${vb.epoch})`);
    }
  }

  input(n: SimNode, body: InputBody): Step | null {
    if (n.machine === null) return null;
    if (n.frozen) {
      n.backlog.push(body);
      return null;
    }
    const step = n.machine.handle({ ...body, now: this.now } as MachineInput);
    if (this.trace !== null && body.type !== 'peerAlive') {
      this.trace.push(`${this.now} ${n.name} <- ${JSON.stringify(body)}`);
      for (const d of step.decisions) this.trace.push(`${this.now} ${n.name} -> ${JSON.stringify(d).slice(0, 200)}`);
    }
    this.apply(n, step);
    return step;
  }

  private apply(n: SimNode, step: Step): void {
    for (const d of step.decisions) {
      n.decisions.push({ t: this.now, decision: d });
      if (d.type === 'setActivity') n.changes.push({ t: this.now, from: d.from, to: d.to, reason: d.reason, epoch: d.epoch });
      else if (d.type === 'emit') n.events.push({ t: this.now, event: d.event });
      else if (d.type === 'persist') n.persisted = structuredClone(d.persisted);
      else if (d.type === 'send') this.send(n, d.message);
      else if (d.type === 'runPreActivate') {
        const machine = n.machine;
        this.at(this.now + n.hookDelay, () => {
          if (n.machine === machine) this.input(n, { type: 'preActivateResult', id: d.id, ok: n.preActivate() });
        });
      }
    }
    const token = ++n.timerToken;
    if (step.nextDeadline !== null) {
      this.at(step.nextDeadline, () => {
        if (n.timerToken === token) this.input(n, { type: 'tick' });
      });
    }
  }

  private send(from: SimNode, message: RedundancyMessage): void {
    from.sent.push({ t: this.now, message });
    const conn = this.conn;
    if (conn === null) return;
    const dir = from === this.nodes[0] ? 0 : 1;
    if (conn.stalled) {
      conn.held[dir].push(message);
      return;
    }
    this.deliver(conn, dir, message);
  }

  private deliver(conn: Conn, dir: 0 | 1, message: RedundancyMessage): void {
    const t = Math.max(this.now + this.delay(), conn.last[dir]);
    conn.last[dir] = t;
    const to = this.nodes[dir === 0 ? 1 : 0];
    this.at(t, () => {
      if (this.conn === conn) this.input(to, { type: 'peerMessage', message });
    });
  }

  start(n: SimNode): void {
    n.machine = new RedundancyMachine({ nodeId: n.uuid, settings: n.settings, persisted: n.persisted });
    n.frozen = false;
    n.backlog = [];
    this.input(n, { type: 'started' });
  }

  /** Both hellos cross: each side learns the other's state as it was when the link came up. */
  connect(): void {
    const [a, b] = this.nodes;
    if (this.conn !== null || this.cut || !a.machine || !b.machine || a.frozen || b.frozen) return;
    // One connection per pair: a side still holding the dead one learns of it before the new one.
    for (const notify of [...this.pendingDown.values()]) notify();
    const conn: Conn = { id: ++this.connIds, stalled: false, held: [[], []], last: [0, 0] };
    this.conn = conn;
    // The backup dials with its hello; the master answers with its own one handshake delay later,
    // then sends whatever it decided, which the backup reads only after the master's hello.
    const d = this.handshakeDelay();
    const [am, bm] = [a.machine, b.machine];
    this.input(b, { type: 'linkConnecting' });
    const rb = bm.report();
    const abort = (): void => {
      if (this.conn !== conn) return;
      this.conn = null;
      if (b.machine === bm) this.input(b, { type: 'peerDisconnected', reason: 'closed' });
    };
    this.at(this.now + d, () => {
      if (this.conn !== conn || a.machine !== am || b.machine !== bm || a.frozen) return abort();
      const ra = am.report();
      this.at(this.now + d, () => {
        if (this.conn !== conn || b.machine !== bm) return abort();
        this.input(b, { type: 'peerConnected', peer: { uuid: a.uuid, state: ra } });
      });
      conn.last[0] = this.now + d;
      this.input(a, { type: 'peerConnected', peer: { uuid: b.uuid, state: rb } });
    });
    const beat = (): void => {
      if (this.conn !== conn) return;
      if (!conn.stalled) {
        if (!a.frozen) this.input(b, { type: 'peerAlive' });
        if (!b.frozen) this.input(a, { type: 'peerAlive' });
      }
      this.at(this.now + this.pingRate, beat);
    };
    this.at(this.now + this.pingRate, beat);
  }

  /** The link drops; each live side sees it after `lag` ms with the given reason. */
  disconnect(reason: 'closed' | 'timeout' | 'bye' = 'closed', lag = 1): void {
    if (this.conn === null) return;
    this.conn = null;
    for (const n of this.nodes) {
      const machine = n.machine;
      const notify = (): void => {
        if (this.pendingDown.get(n) !== notify) return;
        this.pendingDown.delete(n);
        if (n.machine === machine) this.input(n, { type: 'peerDisconnected', reason });
      };
      this.pendingDown.set(n, notify);
      this.at(this.now + lag, notify);
    }
  }

  /** Silence without a close (a frozen peer, a black-holed route): messages wait in buffers. */
  stall(): void {
    if (this.conn) this.conn.stalled = true;
  }

  unstall(): void {
    const conn = this.conn;
    if (conn === null || !conn.stalled) return;
    conn.stalled = false;
    for (const dir of [0, 1] as const) {
      for (const m of conn.held[dir].splice(0)) this.deliver(conn, dir, m);
    }
  }
}
