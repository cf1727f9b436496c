import type { NodeCert, NodeInfo, NodeUpdate, StatusResponse } from '../../core/wire.js';
import type { Identity } from '../identity/identity.js';
import { buildStatus, nodeInfo, type StatusSources } from '../status.js';

/** This node as the local API shows it: status, identity, certificate. */
export interface StatusService {
  status(): StatusResponse;
  node(): NodeInfo;
  cert(): NodeCert;
  /** Change this node's local settings (its label); answers the node as it is then. */
  configure(update: NodeUpdate): Promise<NodeInfo>;
}

export interface StatusServiceDeps extends StatusSources {
  identity: Pick<Identity, 'node' | 'cert' | 'certPem'>;
  certFile: string;
  /** Write a new label to node.json (checked, atomic, announced). */
  setLabel: (label: string) => Promise<unknown>;
}

export class NodeStatusService implements StatusService {
  constructor(private readonly deps: StatusServiceDeps) {}

  status(): StatusResponse {
    return buildStatus(this.deps);
  }

  node(): NodeInfo {
    return nodeInfo(this.deps);
  }

  async configure(update: NodeUpdate): Promise<NodeInfo> {
    await this.deps.setLabel(update.label);
    return nodeInfo(this.deps);
  }

  cert(): NodeCert {
    const { cert, certPem } = this.deps.identity;
    return {
      fingerprint: cert.fingerprint,
      subject: cert.subject,
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
      pem: certPem,
      path: this.deps.certFile,
    };
  }
}
