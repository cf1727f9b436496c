import type { RedundancyUpdate } from '../../../core/settings/types.js';
import type { RedundancyView, ResyncResponse } from '../../../core/wire.js';
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
  // Answers once the full snapshot is under way; `gwctl redundancy resync --wait` follows the events.
  router.post('/v0/redundancy/resync', (): ResyncResponse => {
    const eventSeq = d.events.lastSeq;
    return { ...d.sync.resync(), eventSeq };
  });
}
