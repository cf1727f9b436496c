/**
 * Wire types of the local API, declared once and shared by the daemon, the client, gwctl and tests.
 * Field names are part of the contract in DESIGN.md section 8: add fields, never rename them.
 */

import type { ConfigStatusSummary } from './config-wire.js';
import type { ErrorRecord } from './errors.js';
import type { PauseSummary } from './redundancy/pause-record.js';
import type { Activity, Role } from './roles.js';

export type { PauseActor, PauseSummary } from './redundancy/pause-record.js';
export type { Activity, Role } from './roles.js';

export type Edition = 'standard' | 'edge';
export type SyncState = 'InSync' | 'Syncing' | 'OutOfDate' | 'NotApplicable';

export interface NodeInfo {
  uuid: string;
  systemName: string;
  /** The local name of this machine (node.json, never synced; `gwctl node configure --label`). */
  label: string;
  edition: Edition;
  version: string;
  certFingerprint: string;
  createdAt: string;
}

export interface NodeCert {
  fingerprint: string;
  subject: string;
  notBefore: string;
  notAfter: string;
  pem: string;
  path: string;
}

export interface PeerSummary {
  connected: boolean;
  uuid: string | null;
  systemName: string | null;
  /** The peer's own label, as its last hello said; null until one was heard. */
  label: string | null;
  address: string | null;
  activity: Activity | null;
}

/**
 * The peer in `gwctl status`: what the link knows (PeerSummary) and the peer as it last reported
 * itself to this node (its hello and state reports), kept after the link goes down so the pair view
 * can say what it was and when it was last heard. `activity` stays null while not connected.
 */
export interface PeerStatus extends PeerSummary {
  /** Its role, as it last reported; null until heard. */
  role: Role | null;
  /** Its epoch, as it last reported; null until heard. */
  epoch: number | null;
  /** Why its activity last changed (an activity reason code, e.g. `master-gone`), as it last reported. */
  reason: string | null;
  /** Its configuration revision as this node knows it (the same as `sync.peerRevision`). */
  syncRevision: number | null;
  /** ISO time the last frame of any kind came from it; null: never heard since this process started. */
  lastHeardAt: string | null;
  /** Status of the Gateway Network connection to it (`gwctl connections list`), null when there is none. */
  link: ConnectionStatus | null;
}

export interface SyncSummary {
  state: SyncState;
  revision: number;
  peerRevision: number | null;
}

export interface RedundancySummary {
  role: Role;
  activity: Activity;
  epoch: number;
  /** ISO time of the last activity change. */
  since: string;
  /**
   * Why the activity last changed (an activity reason code: `master-gone`, `requested`,
   * `startup-alone`, ...; the events' `activity.changed` reason); null: not changed since start.
   */
  reason: string | null;
  peer: PeerStatus | null;
  sync: SyncSummary;
  /** Rule 12: the pair is paused (`gwctl redundancy pause`), else null. */
  paused: PauseSummary | null;
  /**
   * Why this standing-by node does not take over when it otherwise might: `peer-left-active`
   * (rule 10), `never-connected` (rule 6), `paused` (rule 12); null when nothing holds it.
   */
  hold: StandbyHold | null;
  /** Section 9: the witness, null without one. */
  witness: WitnessStatus | null;
}

export type StandbyHold = 'peer-left-active' | 'never-connected' | 'paused';

/**
 * Section 9, the leader key as this node knows it (the machine's view). holder: `self` (this node's
 * lease holds the key), `other` (held by otherHolder, as the last refused acquire said), null (not
 * known from here: this node does not hold it). leaseRemainingMs: while this node holds it, at
 * least this long.
 */
export interface WitnessView {
  reachable: boolean | null;
  holder: 'self' | 'other' | null;
  otherHolder: { uuid: string; epoch: number } | null;
  leaseRemainingMs: number | null;
  lastError: string | null;
}

/** Section 9 in status: the settings that name the witness, and what this node knows of its key. */
export interface WitnessStatus extends WitnessView {
  kind: 'etcd';
  endpoints: string[];
  prefix: string;
  leaseTtlMs: number;
}

export interface DaemonSummary {
  pid: number;
  startedAt: string;
  uptimeSecs: number;
  ready: boolean;
  dataDir: string;
  socket: string;
  /**
   * The seq of the last event when this status was read: `GET /v0/events?follow=1&since=<eventSeq>`
   * gives what changes after it (how `gwctl status --watch` follows the pair without polling).
   */
  eventSeq: number;
}

export interface StatusResponse {
  node: NodeInfo;
  redundancy: RedundancySummary;
  daemon: DaemonSummary;
  /** Configuration store: its revision and every file that failed to load. */
  config: ConfigStatusSummary;
  /**
   * The Gateway Network listeners as they are (not as configured): one that failed to bind at start,
   * or was lost, has `listening` false and its `error`. `enabled` false: gateway-network.json turns them off.
   */
  listeners: { enabled: boolean; plain: ListenerView; ssl: ListenerView };
}

export interface EventRecord<T = Record<string, unknown>> {
  seq: number;
  time: string;
  type: string;
  data: T;
}

// ---- Gateway Network (DESIGN.md sections 3 and 8) ----

export type TrustDirection = 'incoming' | 'outgoing';
export type TrustState = 'pending' | 'approved' | 'denied';

/** A peer as far as this node knows it. */
export interface PeerRef {
  uuid: string | null;
  systemName: string | null;
  /** The peer's label, as its last hello said (absent or null: not heard yet). */
  label?: string | null;
  address: string | null;
  role?: Role | null;
}

/** One entry of `gwctl certs list --json`. */
export interface CertEntry {
  fingerprint: string;
  direction: TrustDirection;
  state: TrustState;
  subject: string;
  notAfter: string;
  peer: PeerRef | null;
  /** Set when a known peer UUID showed this certificate instead of its approved one. */
  flag: 'CertificateChanged' | null;
  firstSeen: string;
  updatedAt: string;
}

export type ConnectionStatus =
  | 'Running'
  | 'Connecting'
  | 'PendingApproval'
  | 'CertificateNotApproved'
  | 'Faulted'
  | 'Incompatible'
  | 'Disconnected';

/** One entry of `gwctl connections list --json`. */
export interface ConnectionEntry {
  /** `<systemname>|<uuid>` lower case; `outgoing|<host>:<port>` for a dial not yet identified. */
  id: string;
  direction: TrustDirection;
  /** Approval state: incoming connections are approved per peer UUID; outgoing ones are always approved. */
  state: TrustState;
  status: ConnectionStatus;
  peer: PeerRef;
  lastError: ErrorRecord | null;
  /** Round trip of the last answered ping, ms. */
  pingMs: number | null;
  /** Transport: ssl or plain. */
  ssl: boolean | null;
  since: string;
}

export interface ListenerView {
  address: string;
  /** The port actually bound (differs from the setting when the setting is 0). */
  port: number | null;
  listening: boolean;
  error: string | null;
}

/** GET /v0/network */
export interface NetworkView {
  settings: import('./settings/types.js').GatewayNetworkSettings;
  /** What this process uses: the file, overridden by gwd --port/--ssl-port/--bind. */
  effective: { bindAddress: string; port: number; sslPort: number };
  overridden: string[];
  listeners: { plain: ListenerView; ssl: ListenerView };
  path: string;
}

/** GET /v0/redundancy */
export interface RedundancyView {
  settings: import('./settings/types.js').RedundancySettings;
  file: string;
  /**
   * PUT only, with `force`: the guard that `force` overrode (rule 11), as its code and message;
   * null when nothing was overridden. Absent from GET.
   */
  forced?: { code: string; message: string } | null;
}

/** Body of PUT /v0/node: this node's local settings. */
export interface NodeUpdate {
  label: string;
}

/** Body of PUT /v0/redundancy: the settings to change, and `force` (never stored). */
export type RedundancyUpdateRequest = import('./settings/types.js').RedundancyUpdate & { force?: boolean };

/** Body of POST /v0/redundancy/pause. */
export interface PauseRequest {
  /** How long, ms; 0: until resumed; absent: 60 minutes. */
  forMs?: number;
  reason?: string;
}

/** Answer of POST /v0/redundancy/pause and /resume: what status shows as `redundancy.paused`. */
export interface PauseResponse {
  paused: PauseSummary | null;
  /** resume only: a pause in force ended (false: the pair was not paused). */
  ended?: boolean;
}

/** Answer of POST /v0/redundancy/failover: follow /v0/events?since=seq for failover.completed|failed {id}. */
export interface FailoverAccepted {
  /** The failover under way; null when `to` named a node that is Active already (nothing moved). */
  failoverId: string | null;
  /** With `to`: the node that is (or becomes) Active, and whether it already was. */
  target?: 'self' | 'peer';
  alreadyActive?: boolean;
  /** Last event seq before the request: the outcome event comes after it. */
  seq: number;
}

/** POST /v0/redundancy/resync: a full snapshot is under way (a backup asked for one, a master pushes one). */
export interface ResyncResponse {
  kind: 'full';
  side: 'master' | 'backup';
  /** Last event seq before the request: its sync.completed (or sync.failed) comes after it. */
  seq: number;
}
