import type { NodeUpdate } from '../../../core/wire.js';
import type { StatusService } from '../../services/status-service.js';
import type { Router } from '../router.js';

export function registerStatusRoutes(router: Router, status: StatusService): void {
  router.get('/v0/status', () => status.status());
  router.get('/v0/node', () => status.node());
  router.put('/v0/node', (req) => status.configure(req.body as NodeUpdate), { bodySchema: 'gwd:api/node-update' });
  router.get('/v0/node/cert', () => status.cert());
}
