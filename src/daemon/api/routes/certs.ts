import type { TrustDirection, TrustState } from '../../../core/wire.js';
import type { Daemon } from '../../daemon.js';
import type { Router } from '../router.js';
import { enumParam } from '../query-params.js';

export function registerCertRoutes(router: Router, d: Daemon): void {
  router.get('/v0/certs', (req) => {
    const state = enumParam<TrustState>(req.query, 'state', ['pending', 'approved', 'denied']);
    const direction = enumParam<TrustDirection>(req.query, 'direction', ['incoming', 'outgoing']);
    return d.gan.trust.list({ state, direction });
  });
  router.post(
    '/v0/certs',
    async (req) => {
      const body = req.body as { direction: TrustDirection; pem: string };
      return d.gan.trustCertificate(body.direction, body.pem);
    },
    { bodySchema: 'gwd:api/cert-trust' },
  );
  router.post('/v0/certs/:id/approve', (req) => d.gan.decideCertificate(req.params.id!, 'approved', direction(req.query)));
  router.post('/v0/certs/:id/deny', (req) => d.gan.decideCertificate(req.params.id!, 'denied', direction(req.query)));
  router.delete('/v0/certs/:id', (req) => d.gan.removeCertificate(req.params.id!, direction(req.query)));
}

function direction(query: URLSearchParams): TrustDirection | undefined {
  return enumParam<TrustDirection>(query, 'direction', ['incoming', 'outgoing']);
}
