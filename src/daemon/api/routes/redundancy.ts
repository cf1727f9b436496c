import type { PauseRequest, RedundancyUpdateRequest } from '../../../core/wire.js';
import type { RedundancyService } from '../../services/redundancy-service.js';
import type { Router } from '../router.js';

export function registerRedundancySettingsRoutes(router: Router, redundancy: RedundancyService): void {
  router.get('/v0/redundancy', () => redundancy.view());
  router.put('/v0/redundancy', (req) => redundancy.update(req.body as RedundancyUpdateRequest), { bodySchema: 'gwd:api/redundancy-update' });
  router.post('/v0/redundancy/failover', (req) => redundancy.failover(req.body as { force: boolean; to?: string }), {
    bodySchema: 'gwd:api/redundancy-failover',
  });
  // Answers once the full snapshot is under way; `gwctl redundancy resync --wait` follows the events.
  router.post('/v0/redundancy/resync', () => redundancy.resync());
  // Rule 12: both answer what status shows as redundancy.paused.
  router.post('/v0/redundancy/pause', (req) => redundancy.pause(req.body as PauseRequest), { bodySchema: 'gwd:api/redundancy-pause' });
  router.post('/v0/redundancy/resume', () => redundancy.resume());
}
