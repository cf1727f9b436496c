import type { NetworkUpdate } from '../../../core/settings/types.js';
import type { NetworkService } from '../../services/network-service.js';
import type { Router } from '../router.js';

export function registerNetworkRoutes(router: Router, network: NetworkService): void {
  router.get('/v0/network', () => network.view());
  router.put('/v0/network', (req) => network.update(req.body as NetworkUpdate), { bodySchema: 'gwd:api/network-update' });
}
