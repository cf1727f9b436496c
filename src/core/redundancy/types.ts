/**
 * Types of the pure redundancy state machine (DESIGN.md section 4): its settings, inputs, state
 * and the decisions it returns. Times are plain numbers on the caller's clock (ms); the machine
 * never reads a clock itself.
 */
import type { ErrorSpec } from '../errors.js';
import type { Activity, Role } from '../wire.js';
import type { RecoveryMode, RedundancyMessage, StandbyLevel, StateReport } from './messages.js';

export type { RecoveryMode, StandbyLevel } from './messages.js';

/** The part of redundancy.json the machine reads. The daemon's RedundancySettings fits it. */
export interface MachineSettings {
  role: Role;
  standbyActivityLevel: StandbyLevel;
  joinWaitTime: number;
  failoverTimeout: number;
  masterRecoveryMode: RecoveryMode;
  fastFailover: boolean;
  /**
   * Where the backup dials and how: host, port and SSL together name the pairing (a change of any
   * is a new pair). pingRate and reconnectPeriod bound how stale the peer's view of us can be.
   */
  master: { host: string; port: number; enableSsl: boolean; pingRate: number; reconnectPeriod: number };
  hooks: { onActivityChange: string | null; preActivate: string | null; timeoutMs: number };
  /** Section 9: the witness's lease length; null or absent: no witness (the rules of section 4 alone). */
  witness?: { leaseTtlMs: number } | null;
}

/** Who the leader key names: the node that holds it and the epoch of its activation. */
export interface WitnessHolder {
  uuid: string;
  epoch: number;
}

/**
 * The answer to a witness request. `held`: our lease holds the key (acquire) or was renewed
 * (renew), counted from `sentAt`, the machine-clock time the granting or renewing request was sent.
 * `taken`: another lease holds the key. `lost`: our lease is gone. `unreachable`: no answer in time.
 */
export type WitnessResult =
  | { kind: 'held'; sentAt: number; ttlMs: number }
  | { kind: 'taken'; holder: WitnessHolder | null }
  | { kind: 'lost' }
  | { kind: 'unreachable'; error: string };

/** Why an activity changed. Codes, not prose: they end up in events, hooks and scripts. */
export type ActivityReason =
  | 'independent' // rule 1
  | 'startup-alone' // rules 4 and 6: join wait ended with no peer
  | 'peer-standby' // rule 3: the connected peer stands by, so the master takes over
  | 'master-lost' // rule 6: failoverTimeout of silence
  | 'master-gone' // rule 6: closed without bye and redial refused (fastFailover)
  | 'master-stopped' // rule 6: the master said it was stepping down
  | 'backup-lost' // rule 4, same three ways as rule 6 seen from the master
  | 'backup-gone'
  | 'backup-stopped'
  | 'recovery-automatic' // rule 3: the master takes control back
  | 'requested' // rule 7: failover command with a peer
  | 'forced' // rule 7: failover --force without a peer
  | 'peer-active' // both Active while connected: this node yields
  | 'fenced' // both Active while connected: this node stays Active under a fresh epoch
  | 'role-changed'
  | 'settings-changed'
  | 'stopping'
  /** This process did not run (SIGSTOP, VM pause) for longer than its peer waits: the peer may have taken over. */
  | 'frozen'
  /** Section 9: neither the peer's vote nor the witness's leader key (the lease ran out, or was never had). */
  | 'witness-lost';

/** How the peer was found to be lost; decides the reason code of the takeover. */
export type PeerLoss = 'silent' | 'gone' | 'stopped' | 'never' | 'left-active';

/**
 * How the link went down. `bye`: the peer said goodbye (with `peerActive` if it said whether it is
 * still Active); `local`: this node closed it itself (a settings change, a revoked certificate),
 * which says nothing about the peer.
 */
export type DisconnectReason = 'closed' | 'bye' | 'timeout' | 'error' | 'local';

/** What the link knows when it comes up: the peer's identity and its hello's StateReport. */
export interface PeerHello {
  uuid: string;
  address?: string | null;
  state: StateReport;
}

export type MachineInput =
  | { type: 'started'; now: number }
  | { type: 'tick'; now: number }
  | { type: 'settingsChanged'; now: number; settings: MachineSettings }
  | { type: 'peerConnected'; now: number; peer: PeerHello }
  | { type: 'peerMessage'; now: number; message: RedundancyMessage }
  /**
   * This node just sent its hello (carrying report()) and waits for the peer's: until the link is
   * up or the attempt fails, it must not take over alone, or the peer would join holding a stale
   * copy of its state.
   */
  | { type: 'linkConnecting'; now: number }
  /** Any frame from the peer that is not for the machine (ping, pong, sync): proof of life. */
  | { type: 'peerAlive'; now: number }
  /**
   * The peer answered a frame this node sent at `sentAt` (machine clock): a pong to our ping. Proof
   * that the peer heard us then, which hearing the peer is not (a one-way partition). Section 9.
   */
  | { type: 'peerAck'; now: number; sentAt: number }
  /**
   * peerActive: the peer's goodbye said whether it is still Active. peerStopping: its goodbye said
   * its process is stopping (a clean stop, which says steppingDown first as well).
   */
  | { type: 'peerDisconnected'; now: number; reason: DisconnectReason; peerActive?: boolean; peerStopping?: boolean }
  /** Redialling the peer was refused (host up, port closed): its process is gone. */
  | { type: 'redialRefused'; now: number }
  | { type: 'failoverRequested'; now: number; force: boolean }
  | { type: 'preActivateResult'; now: number; id: string; ok: boolean; detail?: string }
  | { type: 'stopRequested'; now: number }
  /** Rule 12: the pair is paused (maintenance) or no longer is. The daemon owns the record and its expiry. */
  | { type: 'pauseChanged'; now: number; paused: boolean }
  /** Section 9: the answer to the witness request `id` (decision `witness`). */
  | { type: 'witnessResult'; now: number; id: string; result: WitnessResult };

export type HookEnv = Readonly<Record<string, string>>;

export type MachineEvent =
  | { type: 'activity.changed'; data: { from: Activity; to: Activity; reason: ActivityReason; epoch: number } }
  | { type: 'epoch.changed'; data: { from: number; to: number; reason: ActivityReason } }
  | { type: 'role.changed'; data: { from: Role; to: Role } }
  | { type: 'failover.requested'; data: { id: string; origin: 'local' | 'peer'; force: boolean } }
  | { type: 'failover.completed'; data: { id: string; epoch: number } }
  | { type: 'failover.failed'; data: { id: string; reason: string } }
  | { type: 'activation.vetoed'; data: { reason: ActivityReason; detail: string; retryAt: number } }
  | { type: 'activation.blocked'; data: { reason: 'never-connected'; master: string } }
  | { type: 'peer.lost'; data: { how: PeerLoss; uuid: string | null } }
  /**
   * The peer's activity changed, as it reported it over the link (its own `activity.changed`, seen
   * from here): with it, each node's history tells the pair's story, not only its own half.
   */
  | { type: 'peer.activity.changed'; data: { uuid: string | null; from: Activity; to: Activity; reason: string | null; epoch: number } }
  /** Rule 10: the peer left while Active; this node keeps its standby level and waits. */
  | { type: 'peer.leftActive'; data: { uuid: string | null; reason: 'peer-left-active' } }
  /**
   * The process was not running for `ms` (frozen or starved): silence is judged on listening time.
   * `sinceAckedMs` (link up, once a frame of ours is known to have reached the peer): the time since
   * that frame was sent, the longest the peer may have gone without hearing us (the stall rule's bound).
   */
  | { type: 'process.stalled'; data: { ms: number; activity: Activity; sinceAckedMs?: number } }
  | { type: 'witness.acquired'; data: { epoch: number } }
  | { type: 'witness.released'; data: { epoch: number } }
  | { type: 'witness.lost'; data: { reason: 'lease-expired' | 'lease-gone' } }
  | { type: 'witness.unreachable'; data: { error: string } }
  | { type: 'witness.reachable'; data: Record<string, never> };

export type Decision =
  /** Apply first: status, /health, gwinfo. The event and hook decisions that follow describe it. */
  | { type: 'setActivity'; from: Activity; to: Activity; reason: ActivityReason; epoch: number }
  | { type: 'send'; message: RedundancyMessage }
  | { type: 'runPreActivate'; id: string; path: string; env: HookEnv; timeoutMs: number }
  | { type: 'runHook'; hook: 'onActivityChange'; path: string; env: HookEnv; timeoutMs: number }
  | { type: 'emit'; event: MachineEvent }
  /** Write to var/ before acting on anything later in the list. */
  | { type: 'persist'; persisted: PersistedRedundancy }
  /**
   * Section 9, run one at a time in order. acquire: take `<prefix>/leader` = {uuid, epoch} under
   * this node's lease (grant one if it has none), answer with witnessResult. renew: keep the lease
   * alive, answer likewise. release: revoke the lease (its key goes with it) and forget it, even if
   * etcd does not answer: a lease given up is never used again. Apply release before the `send`
   * decisions after it (a clean stop releases the key before its goodbye); no answer.
   */
  | { type: 'witness'; op: 'acquire'; id: string; epoch: number }
  | { type: 'witness'; op: 'renew'; id: string }
  | { type: 'witness'; op: 'release' };

/** What the daemon keeps across restarts (var/): the epoch and the backup's pairing. */
export interface PersistedRedundancy {
  epoch: number;
  /**
   * The epoch of this node's own last activation (absent in files of earlier builds: 0). A peer
   * reporting one equal to the Active node's epoch activated with it too (a partition): fence.
   */
  activatedEpoch?: number;
  /**
   * The master this backup was last connected to, keyed by the configured address and transport
   * (`ssl` absent in files written before it was kept: taken as the current setting).
   */
  pairedMaster: { uuid: string; address: string; ssl?: boolean } | null;
}

export interface Step {
  decisions: Decision[];
  /** Call `tick` at this time (or later); null: no timer needed. Replaces any earlier deadline. */
  nextDeadline: number | null;
  /** Set when a command (failoverRequested) is refused; it then changed nothing (a deadline that
   * fell due at the same time may still have produced decisions: apply them as usual). */
  error: ErrorSpec | null;
  /** Set when failoverRequested was accepted. */
  failoverId: string | null;
}

export interface PeerView {
  uuid: string | null;
  address: string | null;
  /** The link is up (hello exchanged) as the daemon sees it. */
  linkUp: boolean;
  /** Our hello is out and the peer's not yet in (linkConnecting): since when. */
  connectingSince: number | null;
  lastHeard: number | null;
  /**
   * The latest send time of a frame of ours the peer is known to have received (a ping it answered,
   * the stand-down request it confirmed, the hello it answered): the peer's vote lasts from there.
   */
  ackedAt: number | null;
  /** Set once the peer counts as lost (rules 4 and 6); cleared when it is heard again. */
  lost: PeerLoss | null;
  /** The last close came without a stepping-down notice (first half of fastFailover). */
  closedWithoutBye: boolean;
  /** Time since lastHeard during which this process was not running: not the peer's silence. */
  deafMs: number;
  /** After a silence: the stateQuery whose reply makes the peer's state count again. */
  awaitingReply: string | null;
  state: StateReport | null;
}

export interface Acquire {
  id: string;
  reason: ActivityReason;
  /** preActivate: hook running; ready: hook said yes (or none), handshake next; awaitConfirm: asked the peer. */
  phase: 'preActivate' | 'ready' | 'awaitConfirm';
  /** awaitConfirm only: give up (and cancel) if no confirm by then. */
  deadline: number | null;
  /** awaitConfirm only: when the stand-down request went out (its confirm proves the peer heard it). */
  askedAt?: number;
  /** An operator asked for it: outranks automatic decisions, never retried on its own. */
  operator: boolean;
  /** --force without a peer: skips join wait, pairing and the handshake. */
  forced: boolean;
  localFailoverId: string | null;
  peerFailoverIds: string[];
}

/**
 * Old behaviours planted back on purpose, for tests only: the explorer must find each of them
 * (test/unit/redundancy-explore.test.ts). Never set by the daemon.
 */
export interface PlantedDefects {
  /** Any goodbye, the node's own included, means "the peer stopped" (before rule 10). */
  goodbyeMeansStopped?: boolean;
  /** A stalled process judges silence on wall time and stays Active after a long stall. */
  ignoreStalls?: boolean;
  /** A master decides after joinWaitTime even when it is shorter than the peer's redial period. */
  noJoinWaitFloor?: boolean;
  /** A pause is ignored. */
  ignorePause?: boolean;
  /** Section 9: a node takes over alone without the leader key. */
  ignoreWitness?: boolean;
  /** Section 9: a lease counts until sentAt + ttl, with no margin. */
  noLeaseMargin?: boolean;
  /** Section 9: the peer's vote counts until lastHeard + failoverTimeout, with no margin. */
  noVoteMargin?: boolean;
}

export interface MachineState {
  nodeId: string;
  /** This run of the process (MachineInit.bootId): keeps failover ids unique across restarts. */
  bootId: string;
  defects: PlantedDefects;
  settings: MachineSettings;
  phase: 'created' | 'joinWait' | 'running' | 'stopping';
  joinWaitUntil: number | null;
  activity: Activity;
  since: number | null;
  /** Own epoch: the last activation's, or the peer's when higher and this node stands by. */
  epoch: number;
  /** The epoch of this node's own last activation (or fence): never adopted from the peer. */
  activatedEpoch: number;
  peer: PeerView;
  pairedMaster: PersistedRedundancy['pairedMaster'];
  acquire: Acquire | null;
  /**
   * We confirmed a stand-down: do not take over until the requester activates or gives up. The
   * operator failovers the request carried complete here too when the requester reports Active
   * with them (the node that stands down records the failover as well).
   */
  promise: { id: string; until: number; failoverIds: string[] } | null;
  /** We handed over on an operator's failover: no automatic recovery until the peer is lost. */
  holdOff: boolean;
  /** Local failover on the Active node, waiting for the peer to take over. */
  give: { id: string; deadline: number } | null;
  retryAt: number | null;
  vetoes: number;
  seq: number;
  blockedReported: boolean;
  lastReason: ActivityReason | null;
  /** Rule 12: nothing changes activity by itself while set (operator failovers still work). */
  paused: boolean;
  /** The deadline the last step asked for: an input well after it means this process was stalled. */
  lastDeadline: number | null;
  /** Section 9: the leader key as this node knows it (unused without a witness). */
  witness: WitnessState;
}

/** What the machine knows of the witness (section 9); the rules are in witness.ts. */
export interface WitnessState {
  /**
   * The leader key is ours until `validUntil` (this node's clock, the margin taken off); renewed
   * last from a request sent at `renewedAt`; the lease itself runs at etcd at least until `endsAt`.
   */
  held: { validUntil: number; renewedAt: number; endsAt: number } | null;
  /** The one request in flight; a result with another id (sent before a give-up) is ignored. */
  pending: { id: string; op: 'acquire' | 'renew'; epoch?: number } | null;
  /** The last answer said etcd was reachable (null: not asked yet). */
  reachable: boolean | null;
  /** The other holder the last refused acquire named. */
  other: WitnessHolder | null;
  /** No new acquire before this (after a refusal or an unreachable witness). */
  retryAt: number | null;
  lastError: string | null;
  /** Active by `failover --force` with no peer: the operator vouches; kept without the key. */
  forced: boolean;
}

/**
 * What a rule may do within one step of the machine: read and change the state, emit decisions.
 * context.ts's Ctx implements it; rule files that context.ts itself calls (witness.ts) name this
 * interface instead of the class, so the two files do not import each other.
 */
export interface StepContext {
  readonly s: MachineState;
  readonly now: number;
  readonly out: Decision[];
  emit(event: MachineEvent): void;
  nextId(prefix: string): string;
  standDown(reason: ActivityReason): void;
  adoptEpoch(epoch: number): void;
}
