import type { NodeCert } from '../../../core/wire.js';
import type { Daemon } from '../../daemon.js';
import { buildStatus, nodeInfo } from '../../status.js';
import type { Router } from '../router.js';

export function registerStatusRoutes(router: Router, d: Daemon): void {
  router.get('/v0/status', () => buildStatus(d));
  router.get('/v0/node', () => nodeInfo(d));
  router.get('/v0/node/cert', (): NodeCert => ({
    fingerprint: d.identity.cert.fingerprint,
    subject: d.identity.cert.subject,
    notBefore: d.identity.cert.notBefore,
    notAfter: d.identity.cert.notAfter,
    pem: d.identity.certPem,
    path: d.dataDir.certFile,
  }));
}
