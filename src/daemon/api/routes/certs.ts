import type { TrustDirection, TrustState } from '../../../core/wire.js';
import type { TrustService } from '../../services/trust-service.js';
import type { Router } from '../router.js';
import { enumParam } from '../query-params.js';

export function registerCertRoutes(router: Router, trust: TrustService): void {
  router.get('/v0/certs', (req) => {
    const state = enumParam<TrustState>(req.query, 'state', ['pending', 'approved', 'denied']);
    const direction = enumParam<TrustDirection>(req.query, 'direction', ['incoming', 'outgoing']);
    return trust.listCertificates({ state, direction });
  });
  router.post(
    '/v0/certs',
    (req) => {
      const body = req.body as { direction: TrustDirection; pem: string };
      return trust.trustCertificate(body.direction, body.pem);
    },
    { bodySchema: 'gwd:api/cert-trust' },
  );
  router.post('/v0/certs/:id/approve', (req) => trust.decideCertificate(req.params.id!, 'approved', direction(req.query)));
  router.post('/v0/certs/:id/deny', (req) => trust.decideCertificate(req.params.id!, 'denied', direction(req.query)));
  router.delete('/v0/certs/:id', (req) => trust.removeCertificate(req.params.id!, direction(req.query)));
}

function direction(query: URLSearchParams): TrustDirection | undefined {
  return enumParam<TrustDirection>(query, 'direction', ['incoming', 'outgoing']);
}
