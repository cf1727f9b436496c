import { performance } from 'node:perf_hooks';

import { PRODUCT_VERSION } from '../core/version.js';
import type { Activity, NodeInfo, StatusResponse, WitnessStatus, WitnessView } from '../core/wire.js';
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

const NOTHING_KNOWN: WitnessView = { reachable: null, holder: null, otherHolder: null, leaseRemainingMs: null, lastError: null };

function witnessStatus(d: Daemon): WitnessStatus | null {
  const w = d.redundancy.witness ?? null;
  if (w === null) return null;
  // The machine's own view, dated now (the engine's clock): the lease's remaining time moves.
  const v = d.engine?.machine.view(performance.now()).witness ?? NOTHING_KNOWN;
  return { kind: w.kind, endpoints: w.endpoints, prefix: w.prefix, leaseTtlMs: w.leaseTtlMs, ...v };
}
