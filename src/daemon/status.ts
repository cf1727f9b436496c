import { performance } from 'node:perf_hooks';

import { PRODUCT_VERSION } from '../core/version.js';
import type { MachineView } from '../core/redundancy/index.js';
import type { Activity, ConnectionStatus, NodeInfo, PeerStatus, StatusResponse, WitnessStatus, WitnessView } from '../core/wire.js';
import type { ConfigStore } from './config/config-store.js';
import type { EventLog } from './events/event-log.js';
import type { GatewayNetwork } from './gan/gateway-network.js';
import type { Identity } from './identity/identity.js';
import type { RedundancyEngine } from './redundancy/engine.js';
import type { PauseService } from './redundancy/pause-service.js';
import type { SettingsReader } from './settings/settings-store.js';
import type { SyncEngine } from './sync/sync-engine.js';

/** What `gwctl status` is made of, each read at the moment it is asked. */
export interface StatusSources {
  identity: Pick<Identity, 'node' | 'cert'>;
  /** The system name in effect (gateway-settings, else --system-name). */
  systemName: () => string;
  /** This node's label (node.json, never synced). */
  label: () => string;
  settings: SettingsReader;
  engine: Pick<RedundancyEngine, 'view' | 'sinceIso' | 'isoOf' | 'machine'>;
  gan: Pick<GatewayNetwork, 'peerSummary' | 'listConnections' | 'listenerViews'>;
  sync: Pick<SyncEngine, 'summary'>;
  pause: Pick<PauseService, 'summary'>;
  config: Pick<ConfigStore, 'revision' | 'problems'>;
  events: Pick<EventLog, 'lastSeq'>;
  startedAt: Date;
  ready: () => boolean;
  dataDir: string;
  socketPath: string;
}

export function nodeInfo(s: Pick<StatusSources, 'identity' | 'systemName' | 'label'>): NodeInfo {
  return {
    uuid: s.identity.node.uuid,
    systemName: s.systemName(),
    label: s.label(),
    edition: s.identity.node.edition,
    version: PRODUCT_VERSION,
    certFingerprint: s.identity.cert.fingerprint,
    createdAt: s.identity.node.createdAt,
  };
}

export function buildStatus(s: StatusSources): StatusResponse {
  const settings = s.settings.redundancy;
  const view = s.engine.view();
  const activity: Activity = view.activity;
  const sync = s.sync.summary();
  const peer = peerStatus(s, view, sync.peerRevision);
  return {
    node: nodeInfo(s),
    redundancy: {
      role: settings.role,
      activity,
      epoch: view.epoch,
      since: s.engine.sinceIso(s.startedAt),
      reason: view.reason,
      peer,
      sync,
      paused: s.pause.summary(),
      hold: view.hold ?? null,
      witness: witnessStatus(s),
    },
    daemon: {
      pid: process.pid,
      startedAt: s.startedAt.toISOString(),
      uptimeSecs: Math.round((Date.now() - s.startedAt.getTime()) / 1000),
      ready: s.ready(),
      dataDir: s.dataDir,
      socket: s.socketPath,
      eventSeq: s.events.lastSeq,
    },
    config: { revision: s.config.revision, invalid: s.config.problems },
    listeners: { enabled: s.settings.network.enabled, ...s.gan.listenerViews() },
  };
}

/**
 * The peer as the link knows it and as it last reported itself to the machine. Its activity counts
 * only while connected (a stale one would mislead); role, epoch and reason stay, dated by lastHeardAt.
 */
function peerStatus(s: StatusSources, view: MachineView, syncRevision: number | null): PeerStatus | null {
  const link = s.gan.peerSummary();
  if (link === null) return null;
  const known = view.peer !== null && view.peer.uuid === link.uuid ? view.peer : null;
  return {
    ...link,
    activity: link.connected && known ? known.activity : link.activity,
    role: known?.role ?? null,
    epoch: known?.epoch ?? null,
    reason: known?.reason ?? null,
    syncRevision,
    lastHeardAt: known?.lastHeard == null ? null : s.engine.isoOf(known.lastHeard),
    link: linkStatus(s, link.uuid),
  };
}

/** The connection to the peer: the backup's dial, or the master's incoming connection from it. */
function linkStatus(s: StatusSources, uuid: string | null): ConnectionStatus | null {
  const role = s.settings.redundancy.role;
  const conns = s.gan.listConnections();
  const conn = role === 'Backup' ? conns.find((c) => c.direction === 'outgoing') : conns.find((c) => c.direction === 'incoming' && uuid !== null && c.peer.uuid === uuid);
  return conn?.status ?? null;
}

const NOTHING_KNOWN: WitnessView = { reachable: null, holder: null, otherHolder: null, leaseRemainingMs: null, lastError: null };

function witnessStatus(s: StatusSources): WitnessStatus | null {
  const w = s.settings.redundancy.witness ?? null;
  if (w === null) return null;
  // The machine's own view, dated now (the engine's clock): the lease's remaining time moves.
  const v = s.engine.machine.view(performance.now()).witness ?? NOTHING_KNOWN;
  return { kind: w.kind, endpoints: w.endpoints, prefix: w.prefix, leaseTtlMs: w.leaseTtlMs, ...v };
}
