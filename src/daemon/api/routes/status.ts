import type { StatusService } from '../../services/status-service.js';
import type { Router } from '../router.js';

export function registerStatusRoutes(router: Router, status: StatusService): void {
  router.get('/v0/status', () => status.status());
  router.get('/v0/node', () => status.node());
  router.get('/v0/node/cert', () => status.cert());
}
