import type { RedundancyUpdate } from '../../../core/settings/types.js';
import type { FailoverAccepted, RedundancyView, ResyncResponse } from '../../../core/wire.js';
import type { Daemon } from '../../daemon.js';
import { updateRedundancySettings } from '../../settings/settings-update.js';
import type { Router } from '../router.js';

export function registerRedundancySettingsRoutes(router: Router, d: Daemon): void {
  const view = (): RedundancyView => ({ settings: d.redundancy, file: d.dataDir.redundancyFile });
  router.get('/v0/redundancy', view);
  router.put(
    '/v0/redundancy',
    async (req) => {
      await updateRedundancySettings(d, req.body as RedundancyUpdate);
      return view();
    },
    { bodySchema: 'gwd:api/redundancy-update' },
  );
  router.post(
    '/v0/redundancy/failover',
    async (req): Promise<FailoverAccepted> => {
      const seq = d.events.lastSeq;
      const failoverId = await d.engine.requestFailover((req.body as { force: boolean }).force);
      return { failoverId, seq };
    },
    { bodySchema: 'gwd:api/redundancy-failover' },
  );
  // Answers once the full snapshot is under way; `gwctl redundancy resync --wait` follows the events.
  router.post('/v0/redundancy/resync', (): ResyncResponse => {
    const seq = d.events.lastSeq;
    return { ...d.sync.resync(), seq };
  });
}
