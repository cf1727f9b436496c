import { performance } from 'node:perf_hooks';

import { PRODUCT_VERSION } from '../core/version.js';
import type { Activity, NodeInfo, StatusResponse, WitnessStatus, WitnessView } from '../core/wire.js';
import type { ConfigStore } from './config/config-store.js';
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
  engine: Pick<RedundancyEngine, 'view' | 'sinceIso' | 'machine'>;
  gan: Pick<GatewayNetwork, 'peerSummary' | 'listenerViews'>;
  sync: Pick<SyncEngine, 'summary'>;
  pause: Pick<PauseService, 'summary'>;
  config: Pick<ConfigStore, 'revision' | 'problems'>;
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
  const peer = s.gan.peerSummary();
  // The peer's activity is only known while it is connected; a stale one would mislead.
  if (peer?.connected && view.peer && view.peer.uuid === peer.uuid) peer.activity = view.peer.activity;
  return {
    node: nodeInfo(s),
    redundancy: {
      role: settings.role,
      activity,
      epoch: view.epoch,
      since: s.engine.sinceIso(s.startedAt),
      peer,
      sync: s.sync.summary(),
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
    },
    config: { revision: s.config.revision, invalid: s.config.problems },
    listeners: { enabled: s.settings.network.enabled, ...s.gan.listenerViews() },
  };
}

const NOTHING_KNOWN: WitnessView = { reachable: null, holder: null, otherHolder: null, leaseRemainingMs: null, lastError: null };

function witnessStatus(s: StatusSources): WitnessStatus | null {
  const w = s.settings.redundancy.witness ?? null;
  if (w === null) return null;
  // The machine's own view, dated now (the engine's clock): the lease's remaining time moves.
  const v = s.engine.machine.view(performance.now()).witness ?? NOTHING_KNOWN;
  return { kind: w.kind, endpoints: w.endpoints, prefix: w.prefix, leaseTtlMs: w.leaseTtlMs, ...v };
}
