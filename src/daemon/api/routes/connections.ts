import type { TrustService } from '../../services/trust-service.js';
import type { Router } from '../router.js';

export function registerConnectionRoutes(router: Router, trust: TrustService): void {
  router.get('/v0/connections', () => trust.listConnections());
  router.post('/v0/connections/:id/approve', (req) => trust.decideConnection(req.params.id!, 'approved'));
  router.post('/v0/connections/:id/deny', (req) => trust.decideConnection(req.params.id!, 'denied'));
}
