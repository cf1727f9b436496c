import { PRODUCT_VERSION } from '../core/version.js';
import type { Activity, NodeInfo, StatusResponse, WitnessStatus } from '../core/wire.js';
import type { Daemon } from './daemon.js';

export function nodeInfo(d: Daemon): NodeInfo {
  return {
    uuid: d.identity.node.uuid,
    systemName: d.systemName,
    edition: d.identity.node.edition,
    version: PRODUCT_VERSION,
    certFingerprint: d.identity.cert.fingerprint,
    createdAt: d.identity.node.createdAt,
  };
}

export function buildStatus(d: Daemon): StatusResponse {
  const role = d.redundancy.role;
  const view = d.engine?.view();
  // Before the engine exists (early in startup) nothing is Active.
  const activity: Activity = view?.activity ?? d.redundancy.standbyActivityLevel;
  const peer = d.gan ? d.gan.peerSummary() : null;
  // The peer's activity is only known while it is connected; a stale one would mislead.
  if (peer?.connected && view?.peer && view.peer.uuid === peer.uuid) peer.activity = view.peer.activity;
  return {
    node: nodeInfo(d),
    redundancy: {
      role,
      activity,
      epoch: view?.epoch ?? 0,
      since: d.engine ? d.engine.sinceIso(d.startedAt) : d.startedAt.toISOString(),
      peer,
      sync: d.sync ? d.sync.summary() : { state: 'NotApplicable', revision: 0, peerRevision: null },
      paused: d.pause ? d.pause.summary() : null,
      hold: view?.hold ?? null,
      witness: witnessStatus(d),
    },
    daemon: {
      pid: process.pid,
      startedAt: d.startedAt.toISOString(),
      uptimeSecs: Math.round((Date.now() - d.startedAt.getTime()) / 1000),
      ready: d.ready,
      dataDir: d.dataDir.root,
      socket: d.options.socketPath,
    },
    config: { revision: d.config.revision, invalid: d.config.problems },
  };
}

function witnessStatus(d: Daemon): WitnessStatus | null {
  const w = d.redundancy.witness ?? null;
  if (w === null) return null;
  // The machine's view is fresh (not the last published one): the lease's remaining time moves.
  const v = d.engine?.machine.view().witness ?? null;
  return {
    kind: w.kind,
    endpoints: w.endpoints,
    prefix: w.prefix,
    leaseTtlMs: w.leaseTtlMs,
    reachable: v?.reachable ?? null,
    holder: v?.holder ?? null,
    otherHolder: v?.otherHolder ?? null,
    leaseRemainingMs: v?.leaseRemainingMs ?? null,
    lastError: v?.lastError ?? null,
  };
}
