/**
 * The explorer's world: two processes (master and backup hosts), each running a RedundancyMachine
 * as the daemon does (inputs in with the time, decisions applied in order, one engine timer), on
 * the fake clock. The link between them lives in link.ts; operator actions in operator.ts. Every
 * behaviour modelled here is one the daemon has (src/daemon/redundancy/engine.ts, gan/dialer.ts,
 * gan/link-connection.ts); docs/safety.md lists them.
 */
import { RedundancyMachine } from '../../../src/core/redundancy/index.js';
import type {
  ActivityReason,
  MachineInput,
  MachineSettings,
  PersistedRedundancy,
  PlantedDefects,
  RecoveryMode,
  StandbyLevel,
  Step,
} from '../../../src/core/redundancy/index.js';
import type { Activity } from '../../../src/core/wire.js';
import { settings as fixtureSettings, type InputBody } from '../redundancy-fixtures.js';
import { Clock } from './clock.js';
import type { Conn, LinkState } from './link.js';
import { newLinkState } from './link.js';
import { FakeEtcd } from './etcd.js';

export type NodeIx = 0 | 1;
export type HookMode = 'none' | 'yes' | 'no';

/** What a run starts from: both nodes' timings are the same (docs/safety.md says why). */
export interface WorldConfig {
  failoverTimeout: number;
  pingRate: number;
  reconnectPeriod: number;
  joinWaitTime: number;
  recovery: RecoveryMode;
  standby: StandbyLevel;
  fastFailover: boolean;
  /** The link closes after this many pings without a pong (pingTimeout each). */
  pingMaxMissed: number;
  /** One-way delay of the link at the start, ms (both ways). */
  delay: number;
  hooks: [HookMode, HookMode];
  hookDelay: number;
  /** Section 9: a witness with this lease TTL (ms) on both nodes; absent or null: none. */
  witness?: number | null;
  /**
   * With a witness: the engine's timer fires this late (a busy event loop, below stallSlack, so not
   * noticed as a stall), while the node keeps acting: what the lease margin is for.
   */
  timerLag?: number;
  /** Whose timers are late (a busy process; its peer's are on time). */
  slowNode?: 'master' | 'backup';
}

/** The daemon's defaults for the link timings the machine does not see. */
export const PING_TIMEOUT = 300;
export const HELLO_TIMEOUT = 5000;
/** Where each host listens; the listeners use TLS. */
export const ADDRESSES = [
  { host: '10.0.0.5', port: 8060 },
  { host: '10.0.0.6', port: 8060 },
] as const;
/** An address nothing listens on (a typo). */
export const WRONG_ADDRESS = { host: '10.0.0.99', port: 8061 } as const;
export const LISTENER_SSL = true;

export interface ChangeRec {
  t: number;
  node: NodeIx;
  from: Activity;
  to: Activity;
  reason: ActivityReason;
  epoch: number;
  /** The node had been told the pair is paused, and this step was not a resume. */
  paused: boolean;
  /**
   * Latest send stamp (World.order: event order, finer than the ms) of a state-carrying frame
   * (hello or redundancy message) from the peer it had handled.
   */
  heardSentAt: number;
  /** The change's own stamp in event order. */
  order: number;
  /** When the node last received any frame from its peer, and when its process started. */
  heardAt: number;
  startedAt: number;
  /** The node's process generation (WNode.gen) at the change. */
  gen: number;
  toldPeerActive: boolean;
  /** The node was a Backup whose pairing (host, port, SSL) it had connected to at least once. */
  pairedNow: boolean;
  role: MachineSettings['role'];
}

export interface BumpRec {
  t: number;
  node: NodeIx;
  to: number;
  heardSentAt: number;
  order: number;
}

export interface WNode {
  ix: NodeIx;
  name: 'master' | 'backup';
  uuid: string;
  settings: MachineSettings;
  machine: RedundancyMachine | null;
  /** Process generation: callbacks of an earlier process are dropped. */
  gen: number;
  persisted: PersistedRedundancy | null;
  frozen: boolean;
  frozenAt: number;
  /** While frozen: timers that came due, and I/O that arrived, handled in order at thaw. */
  timersDue: (() => void)[];
  framesDue: (() => void)[];
  engineToken: number;
  dialToken: number;
  /** When the redial scheduled with dialToken `token` fires (the daemon's dialer keeps its timer). */
  dialDue: { token: number; t: number } | null;
  /** The connection this node uses now (dialled, or accepted and up). */
  conn: Conn | null;
  hook: HookMode;
  /** The pause record in var/ and the version it came with (pair-wide, newest wins). */
  pauseRecord: boolean;
  pauseVer: number;
  /** The last pauseChanged fed to the current process. */
  pausedTold: boolean;
  /** The pairing this node, as a Backup, has connected to: the world's record of var/ (I4). */
  pairedKeys: Set<string>;
  heardSentAt: number;
  heardAt: number;
  startedAt: number;
  /**
   * Rule 10: the peer's last goodbye said it was still Active, and since then this node has not
   * met it again, restarted, or been given an operator's command.
   */
  toldPeerActive: boolean;
}

export function pairKey(s: MachineSettings): string {
  return `${s.master.host}:${s.master.port}|${s.master.enableSsl}`;
}

export function canonicalSettings(cfg: WorldConfig, ix: NodeIx): MachineSettings {
  const peer = ADDRESSES[ix === 0 ? 1 : 0];
  return fixtureSettings({
    role: ix === 0 ? 'Master' : 'Backup',
    standbyActivityLevel: cfg.standby,
    joinWaitTime: cfg.joinWaitTime,
    failoverTimeout: cfg.failoverTimeout,
    masterRecoveryMode: cfg.recovery,
    fastFailover: cfg.fastFailover,
    master: {
      host: peer.host,
      port: peer.port,
      enableSsl: LISTENER_SSL,
      pingRate: cfg.pingRate,
      reconnectPeriod: cfg.reconnectPeriod,
    },
    hooks: { onActivityChange: null, preActivate: cfg.hooks[ix] === 'none' ? null : 'pre', timeoutMs: 10_000 },
    witness: cfg.witness ? { leaseTtlMs: cfg.witness } : null,
  });
}

export class World {
  readonly clock = new Clock();
  readonly nodes: [WNode, WNode];
  readonly link: LinkState;
  readonly changes: ChangeRec[] = [];
  readonly bumps: BumpRec[] = [];
  /** Latest retry time announced by a preActivate veto (I2 waits for it). */
  vetoRetryAt = 0;
  /** An operator forced something (failover --force, a forced configure) since the pair last settled. */
  forced = false;
  /** Time of the last change of the Master node's recovery mode (a stale mode is allowed a round trip, I5). */
  recoveryChangedAt = -Infinity;
  trace: string[] | null = null;
  /** Section 9: the witness both nodes use, if the run has one. */
  readonly etcd: FakeEtcd | null;
  private pauseVersions = 0;

  constructor(
    readonly cfg: WorldConfig,
    readonly defects: PlantedDefects = {},
  ) {
    const mk = (ix: NodeIx): WNode => ({
      ix,
      name: ix === 0 ? 'master' : 'backup',
      uuid: ix === 0 ? 'm-uuid' : 'b-uuid',
      settings: canonicalSettings(cfg, ix),
      machine: null,
      gen: 0,
      persisted: null,
      frozen: false,
      frozenAt: 0,
      timersDue: [],
      framesDue: [],
      engineToken: 0,
      dialToken: 0,
      dialDue: null,
      conn: null,
      hook: cfg.hooks[ix],
      pauseRecord: false,
      pauseVer: 0,
      pausedTold: false,
      pairedKeys: new Set(),
      heardSentAt: -Infinity,
      heardAt: -Infinity,
      startedAt: 0,
      toldPeerActive: false,
    });
    this.nodes = [mk(0), mk(1)];
    this.link = newLinkState(this, cfg.delay);
    this.etcd = cfg.witness ? new FakeEtcd(this, cfg.witness) : null;
  }

  private orders = 0;

  /** A stamp in event order (several events share a ms): what was sent before what was used. */
  order(): number {
    return ++this.orders;
  }

  get now(): number {
    return this.clock.now;
  }

  peerOf(n: WNode): WNode {
    return this.nodes[n.ix === 0 ? 1 : 0];
  }

  activity(n: WNode): Activity | null {
    return n.machine?.view().activity ?? null;
  }

  running(n: WNode): boolean {
    return n.machine !== null && !n.frozen;
  }

  log(line: string): void {
    this.trace?.push(`${this.now} ${line}`);
  }

  /**
   * Schedule work for a process: dropped if the process died meanwhile, queued while it is frozen
   * (a timer fires late, I/O waits in the socket) and run at thaw.
   */
  proc(n: WNode, t: number, kind: 'timer' | 'io', fn: () => void): void {
    const gen = n.gen;
    this.clock.at(t, () => this.runProc(n, gen, kind, fn));
  }

  runProc(n: WNode, gen: number, kind: 'timer' | 'io', fn: () => void): void {
    if (n.gen !== gen || n.machine === null) return;
    if (n.frozen) {
      (kind === 'timer' ? n.timersDue : n.framesDue).push(() => this.runProc(n, gen, kind, fn));
      return;
    }
    fn();
  }

  /** One machine step, applied as the engine applies it. */
  feed(n: WNode, body: InputBody): Step | null {
    const m = n.machine;
    if (m === null || n.frozen) return null;
    const pausedBefore = n.pausedTold && !(body.type === 'pauseChanged' && !body.paused);
    if (body.type === 'pauseChanged') n.pausedTold = body.paused;
    if (body.type === 'peerDisconnected' && body.reason === 'bye') n.toldPeerActive = body.peerActive === true;
    if (body.type === 'peerConnected' || body.type === 'failoverRequested' || body.type === 'settingsChanged') n.toldPeerActive = false;
    const step = m.handle({ ...body, now: this.now } as MachineInput);
    if (this.trace !== null && body.type !== 'peerAlive' && !(body.type === 'tick' && step.decisions.length === 0)) {
      this.log(`${n.name} <- ${JSON.stringify(body).slice(0, 160)}`);
      for (const d of step.decisions) this.log(`${n.name} -> ${JSON.stringify(d).slice(0, 160)}`);
    }
    // The engine drops the link of a peer judged silent before applying anything else.
    const silent = step.decisions.some((d) => d.type === 'emit' && d.event.type === 'peer.lost' && d.event.data.how === 'silent');
    const conn = n.conn;
    // Only the running link (engine.ts: link.abort aborts the attached connection); a dial whose
    // hello is under way goes on.
    if (silent && conn !== null && conn.open[n.ix] && !conn.dead[n.ix]) {
      this.link.abort(conn, n, 'timeout');
    }
    for (const d of step.decisions) {
      switch (d.type) {
        case 'persist':
          n.persisted = structuredClone(d.persisted);
          break;
        case 'setActivity':
          this.changes.push({
            t: this.now,
            node: n.ix,
            from: d.from,
            to: d.to,
            reason: d.reason,
            epoch: d.epoch,
            paused: pausedBefore,
            heardSentAt: n.heardSentAt,
            order: this.order(),
            heardAt: n.heardAt,
            startedAt: n.startedAt,
            gen: n.gen,
            toldPeerActive: n.toldPeerActive,
            pairedNow: n.pairedKeys.has(pairKey(n.settings)),
            role: n.settings.role,
          });
          break;
        case 'emit':
          if (d.event.type === 'epoch.changed' && m.view().activity === 'Active') {
            this.bumps.push({ t: this.now, node: n.ix, to: d.event.data.to, heardSentAt: n.heardSentAt, order: this.order() });
          }
          if (d.event.type === 'activation.vetoed') this.vetoRetryAt = Math.max(this.vetoRetryAt, d.event.data.retryAt);
          break;
        case 'runPreActivate': {
          const id = d.id;
          this.proc(n, this.now + this.cfg.hookDelay, 'io', () => {
            this.feed(n, { type: 'preActivateResult', id, ok: n.hook !== 'no' });
          });
          break;
        }
        case 'send':
          if (conn !== null && conn.open[n.ix]) this.link.send(conn, n.ix, { kind: 'msg', message: d.message, sentAt: this.order() });
          break;
        case 'runHook':
          break;
        case 'witness':
          this.etcd?.request(n, d);
          break;
      }
    }
    const token = ++n.engineToken;
    if (step.nextDeadline !== null) {
      const slow = (this.cfg.slowNode ?? 'master') === n.name;
      const lag = this.etcd !== null && slow ? (this.cfg.timerLag ?? 0) : 0;
      this.proc(n, step.nextDeadline + lag, 'timer', () => {
        if (n.engineToken === token) this.feed(n, { type: 'tick' });
      });
    }
    return step;
  }

  // ---- processes -------------------------------------------------------------------------

  start(n: WNode): boolean {
    if (n.machine !== null) return false;
    n.gen += 1;
    n.machine = new RedundancyMachine({ nodeId: n.uuid, settings: n.settings, persisted: n.persisted, defects: this.defects });
    n.frozen = false;
    n.timersDue = [];
    n.framesDue = [];
    n.conn = null;
    n.pausedTold = false;
    n.heardSentAt = -Infinity;
    n.heardAt = -Infinity;
    n.startedAt = this.now;
    n.toldPeerActive = false;
    this.feed(n, { type: 'started' });
    // The pause record in var/ survives restarts (rule 12).
    if (n.pauseRecord) this.feed(n, { type: 'pauseChanged', paused: true });
    if (n.settings.role === 'Backup') this.link.scheduleDial(n, 0);
    return true;
  }

  /** kill -9: the kernel closes its sockets (the peer reads a close without bye); the port is closed. */
  kill(n: WNode): boolean {
    if (n.machine === null) return false;
    this.link.processGone(n);
    n.machine = null;
    n.gen += 1;
    n.frozen = false;
    n.timersDue = [];
    n.framesDue = [];
    n.conn = null;
    return true;
  }

  /** SIGTERM: stopRequested, its decisions (stand down, state, steppingDown), a goodbye, exit. */
  stop(n: WNode): boolean {
    if (!this.running(n)) return false;
    this.feed(n, { type: 'stopRequested' });
    const active = n.machine?.view().activity === 'Active';
    const conn = n.conn;
    if (conn !== null && !conn.dead[n.ix]) this.link.close(conn, n, null, { kind: 'close', reason: 'bye', peerActive: active, stopping: true });
    this.link.processGone(n);
    n.machine = null;
    n.gen += 1;
    n.conn = null;
    return true;
  }

  freeze(n: WNode): boolean {
    if (!this.running(n)) return false;
    n.frozen = true;
    n.frozenAt = this.now;
    return true;
  }

  /** SIGCONT: the backlog is handled now, timers first or frames first. */
  thaw(n: WNode, timersFirst: boolean): boolean {
    if (n.machine === null || !n.frozen) return false;
    n.frozen = false;
    const timers = n.timersDue.splice(0);
    const frames = n.framesDue.splice(0);
    for (const fn of timersFirst ? [...timers, ...frames] : [...frames, ...timers]) fn();
    return true;
  }

  // ---- pause (rule 12): pair-wide, sent over the link, newest record wins ------------------

  setPause(n: WNode, paused: boolean): void {
    n.pauseRecord = paused;
    n.pauseVer = ++this.pauseVersions;
    this.feed(n, { type: 'pauseChanged', paused });
    const conn = n.conn;
    if (conn !== null && conn.open[n.ix]) this.link.send(conn, n.ix, { kind: 'pause', paused, ver: n.pauseVer });
  }

  /** The record of a node that is down, edited by the operator: newer than any the peer holds. */
  clearPauseRecord(n: WNode): void {
    n.pauseRecord = false;
    n.pauseVer = ++this.pauseVersions;
  }

  adoptPause(n: WNode, paused: boolean, ver: number): void {
    if (ver <= n.pauseVer) return;
    n.pauseVer = ver;
    n.pauseRecord = paused;
    this.feed(n, { type: 'pauseChanged', paused });
  }
}
