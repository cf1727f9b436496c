import { GwError } from '../../../core/errors.js';
import type { TrustDirection, TrustState } from '../../../core/wire.js';
import type { Daemon } from '../../daemon.js';
import type { Router } from '../router.js';

export function registerCertRoutes(router: Router, d: Daemon): void {
  router.get('/v0/certs', (req) => {
    const state = enumParam(req.query, 'state', ['pending', 'approved', 'denied']) as TrustState | undefined;
    const direction = enumParam(req.query, 'direction', ['incoming', 'outgoing']) as TrustDirection | undefined;
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
  return enumParam(query, 'direction', ['incoming', 'outgoing']) as TrustDirection | undefined;
}

function enumParam(query: URLSearchParams, name: string, allowed: string[]): string | undefined {
  const raw = query.get(name);
  if (raw === null || raw === '') return undefined;
  if (!allowed.includes(raw)) {
    throw new GwError('GW_ERR_API_INVALID_QUERY', { name, detail: `"${raw}" is not one of ${allowed.join(', ')}` });
  }
  return raw;
}
