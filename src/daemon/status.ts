import { PRODUCT_VERSION } from '../core/version.js';
import type { Activity, NodeInfo, StatusResponse } from '../core/wire.js';
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
  // Until the redundancy engine decides otherwise, only an Independent node is Active (rule 1).
  const activity: Activity = role === 'Independent' ? 'Active' : d.redundancy.standbyActivityLevel;
  return {
    node: nodeInfo(d),
    redundancy: {
      role,
      activity,
      epoch: 0,
      since: d.startedAt.toISOString(),
      peer: null,
      sync: { state: 'NotApplicable', revision: 0, peerRevision: null },
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
