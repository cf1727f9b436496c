import { GwError } from '../../../core/errors.js';
import { planFailover } from '../../../core/redundancy/index.js';
import type { FailoverAccepted, PauseRequest, PauseResponse, RedundancyUpdateRequest, RedundancyView, ResyncResponse } from '../../../core/wire.js';
import type { Daemon } from '../../daemon.js';
import { updateRedundancySettings } from '../../settings/settings-update.js';
import type { Router } from '../router.js';

export function registerRedundancySettingsRoutes(router: Router, d: Daemon): void {
  const view = (): RedundancyView => ({ settings: d.redundancy, file: d.dataDir.redundancyFile });
  router.get('/v0/redundancy', view);
  router.put(
    '/v0/redundancy',
    async (req): Promise<RedundancyView> => {
      // `force` is a request flag (rule 11), never a setting: it does not reach redundancy.json.
      const { force, ...update } = req.body as RedundancyUpdateRequest;
      const { forced } = await updateRedundancySettings(d.settingsUpdates, update, { force: force === true });
      return { ...view(), forced };
    },
    { bodySchema: 'gwd:api/redundancy-update' },
  );
  router.post(
    '/v0/redundancy/failover',
    async (req): Promise<FailoverAccepted> => {
      const seq = d.events.lastSeq;
      const body = req.body as { force: boolean; to?: string };
      if (body.to === undefined) return { failoverId: await d.engine.requestFailover(body.force), seq };
      // Idempotent form: the named node ends Active; if it is already, nothing moves.
      const plan = planFailover(d.engine.view(), d.identity.node.uuid, body.to);
      if (plan.kind === 'refused') throw GwError.from(plan.error);
      if (plan.kind === 'already') return { failoverId: null, seq, target: plan.target, alreadyActive: true };
      return { failoverId: await d.engine.requestFailover(body.force), seq, target: plan.target, alreadyActive: false };
    },
    { bodySchema: 'gwd:api/redundancy-failover' },
  );
  // Answers once the full snapshot is under way; `gwctl redundancy resync --wait` follows the events.
  router.post('/v0/redundancy/resync', (): ResyncResponse => {
    const seq = d.events.lastSeq;
    return { ...d.sync.resync(), seq };
  });
  // Rule 12: both answer what status shows as redundancy.paused.
  router.post(
    '/v0/redundancy/pause',
    async (req): Promise<PauseResponse> => ({ paused: await d.pause.pause(req.body as PauseRequest) }),
    { bodySchema: 'gwd:api/redundancy-pause' },
  );
  router.post('/v0/redundancy/resume', async (): Promise<PauseResponse> => {
    const ended = await d.pause.resume();
    return { paused: d.pause.summary(), ended };
  });
}
