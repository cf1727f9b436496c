import type { NodeCert, NodeInfo, StatusResponse } from '../../core/wire.js';
import type { Identity } from '../identity/identity.js';
import { buildStatus, nodeInfo, type StatusSources } from '../status.js';

/** This node as the local API shows it: status, identity, certificate. */
export interface StatusService {
  status(): StatusResponse;
  node(): NodeInfo;
  cert(): NodeCert;
}

export interface StatusServiceDeps extends StatusSources {
  identity: Pick<Identity, 'node' | 'cert' | 'certPem'>;
  certFile: string;
}

export class NodeStatusService implements StatusService {
  constructor(private readonly deps: StatusServiceDeps) {}

  status(): StatusResponse {
    return buildStatus(this.deps);
  }

  node(): NodeInfo {
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
