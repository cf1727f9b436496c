import type { Daemon } from '../../daemon.js';
import type { Router } from '../router.js';

export function registerConnectionRoutes(router: Router, d: Daemon): void {
  router.get('/v0/connections', () => d.gan.listConnections());
  router.post('/v0/connections/:id/approve', (req) => d.gan.decideConnection(req.params.id!, 'approved'));
  router.post('/v0/connections/:id/deny', (req) => d.gan.decideConnection(req.params.id!, 'denied'));
}
