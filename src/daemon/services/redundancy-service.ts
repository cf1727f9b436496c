import { GwError } from '../../core/errors.js';
import { planFailover } from '../../core/redundancy/index.js';
import type {
  FailoverAccepted,
  PauseRequest,
  PauseResponse,
  RedundancyUpdateRequest,
  RedundancyView,
  ResyncResponse,
} from '../../core/wire.js';
import type { EventLog } from '../events/event-log.js';
import type { PauseService } from '../redundancy/pause-service.js';
import type { RedundancyEngine } from '../redundancy/engine.js';
import { updateRedundancySettings, type SettingsUpdateDeps } from '../settings/settings-update.js';
import type { SyncEngine } from '../sync/sync-engine.js';

/** Redundancy over the local API: its settings, failover, resync, and the pair-wide pause (rule 12). */
export interface RedundancyService {
  view(): RedundancyView;
  /** `force` overrides rule 11 for this change; it never reaches redundancy.json. */
  update(request: RedundancyUpdateRequest): Promise<RedundancyView>;
  failover(request: { force: boolean; to?: string }): Promise<FailoverAccepted>;
  /** Answers once the full snapshot is under way; the events say how it ends. */
  resync(): ResyncResponse;
  pause(request: PauseRequest): Promise<PauseResponse>;
  resume(): Promise<PauseResponse>;
}

export interface RedundancyServiceDeps {
  nodeId: string;
  updates: SettingsUpdateDeps;
  events: Pick<EventLog, 'lastSeq'>;
  engine: Pick<RedundancyEngine, 'requestFailover' | 'view'>;
  sync: Pick<SyncEngine, 'resync'>;
  pause: Pick<PauseService, 'pause' | 'resume' | 'summary'>;
  /** This node's label, for `failover --to <label>` (the peer's comes with updates.peerSummary). */
  label: () => string;
}

export class PairRedundancyService implements RedundancyService {
  constructor(private readonly deps: RedundancyServiceDeps) {}

  view(): RedundancyView {
    const { settings } = this.deps.updates;
    return { settings: settings.redundancy, file: settings.file('redundancy') };
  }

  async update(request: RedundancyUpdateRequest): Promise<RedundancyView> {
    const { force, ...update } = request;
    const { forced } = await updateRedundancySettings(this.deps.updates, update, { force: force === true });
    return { ...this.view(), forced };
  }

  async failover(request: { force: boolean; to?: string }): Promise<FailoverAccepted> {
    const { engine, events } = this.deps;
    const seq = events.lastSeq;
    if (request.to === undefined) return { failoverId: await engine.requestFailover(request.force), seq };
    // Idempotent form: the named node ends Active; if it is already, nothing moves.
    const labels = { self: this.deps.label(), peer: this.deps.updates.peerSummary()?.label ?? null };
    const plan = planFailover(engine.view(), this.deps.nodeId, request.to, labels);
    if (plan.kind === 'refused') throw GwError.from(plan.error);
    if (plan.kind === 'already') return { failoverId: null, seq, target: plan.target, alreadyActive: true };
    return { failoverId: await engine.requestFailover(request.force), seq, target: plan.target, alreadyActive: false };
  }

  resync(): ResyncResponse {
    const seq = this.deps.events.lastSeq;
    return { ...this.deps.sync.resync(), seq };
  }

  async pause(request: PauseRequest): Promise<PauseResponse> {
    return { paused: await this.deps.pause.pause(request) };
  }

  async resume(): Promise<PauseResponse> {
    const ended = await this.deps.pause.resume();
    return { paused: this.deps.pause.summary(), ended };
  }
}
