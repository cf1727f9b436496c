import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

import type { EventRecord, StatusResponse, WitnessStatus } from '../core/wire.js';

const ROLES = ['Independent', 'Master', 'Backup'] as const;
const ACTIVITIES = ['Active', 'Warm', 'Cold'] as const;
const SYNC_STATES = ['InSync', 'Syncing', 'OutOfDate', 'NotApplicable'] as const;

export interface MetricsSource {
  status(): StatusResponse;
  /** ms since the last message from the peer, or null when there is no peer yet. */
  msSinceLastPeerMessage(): number | null;
  /** Certificates and connections waiting for an operator's approval. */
  pendingApprovals(): number;
}

/**
 * Prometheus metrics of one gwd. Gauges are read from the live status at scrape time, so they can
 * never drift from what `gwctl status` shows; counters are driven by the event stream.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly failovers: Counter<'reason' | 'to'>;
  private readonly hookFailures: Counter<'hook'>;

  /** The status of the scrape in progress: built once, read by every gauge. */
  private scrape: StatusResponse | null = null;

  constructor(private readonly source: MetricsSource) {
    const r = this.registry;
    const status = (): StatusResponse => this.scrape ?? source.status();
    // Without a prefix: stock Node.js and process dashboards and alert rules look for
    // process_resident_memory_bytes, nodejs_heap_size_used_bytes, ... (DESIGN.md section 7).
    collectDefaultMetrics({ register: r });
    const gauge = <L extends string>(name: string, help: string, labelNames: L[], collect: (g: Gauge<L>) => void): void => {
      new Gauge<L>({
        name,
        help,
        labelNames,
        registers: [r],
        collect() {
          collect(this);
        },
      });
    };
    gauge('gwd_role', 'Configured role of this node (1 for the current role)', ['role'], (g) => {
      const role = status().redundancy.role;
      for (const x of ROLES) g.set({ role: x }, x === role ? 1 : 0);
    });
    gauge('gwd_activity', 'Activity level of this node (1 for the current level)', ['level'], (g) => {
      const a = status().redundancy.activity;
      for (const x of ACTIVITIES) g.set({ level: x }, x === a ? 1 : 0);
    });
    gauge('gwd_epoch', 'Pair-wide activation epoch (fencing token)', [], (g) => g.set(status().redundancy.epoch));
    gauge('gwd_peer_connected', '1 when the redundancy peer is connected', [], (g) =>
      g.set(status().redundancy.peer?.connected ? 1 : 0),
    );
    gauge('gwd_peer_last_message_seconds', 'Seconds since the last message from the peer (NaN: no peer)', [], (g) => {
      const ms = source.msSinceLastPeerMessage();
      g.set(ms === null ? Number.NaN : ms / 1000);
    });
    gauge('gwd_sync_state', 'Configuration sync state (1 for the current state)', ['state'], (g) => {
      const s = status().redundancy.sync.state;
      for (const x of SYNC_STATES) g.set({ state: x }, x === s ? 1 : 0);
    });
    gauge('gwd_sync_revision_lag', 'Master revision minus the revision the backup has applied', [], (g) => {
      const { role, sync } = status().redundancy;
      const { revision, peerRevision } = sync;
      if (peerRevision === null) g.set(0);
      else g.set(Math.max(0, role === 'Backup' ? peerRevision - revision : revision - peerRevision));
    });
    gauge('gwd_config_revision', 'Revision of this node\'s configuration store', [], (g) =>
      g.set(status().config.revision),
    );
    gauge('gwd_paused', '1 while the pair is paused (gwctl redundancy pause): no activity changes by itself', [], (g) =>
      g.set(status().redundancy.paused ? 1 : 0),
    );
    // The witness (DESIGN.md section 9). Without one the three families are declared with no
    // sample, so an alert on `gwd_witness_reachable == 0` never fires on a pair without a witness;
    // gwd_witness_reachable has none either until this node has asked etcd (a standing-by node
    // asks only when it takes over): unknown is not unreachable.
    const witness = (): WitnessStatus | null => status().redundancy.witness ?? null;
    gauge('gwd_witness_reachable', '1 when the witness (etcd) answered the last request of this node, 0 when it did not; no sample without a witness or before the first request', [], (g) => {
      const w = witness();
      if (w === null || w.reachable === null) g.remove({});
      else g.set(w.reachable ? 1 : 0);
    });
    gauge('gwd_witness_holder', '1 while this node holds the leader key of the witness, else 0; no sample without a witness', [], (g) => {
      const w = witness();
      if (w === null) g.remove({});
      else g.set(w.holder === 'self' ? 1 : 0);
    });
    gauge(
      'gwd_witness_lease_remaining_seconds',
      'Seconds the lease of the leader key held by this node runs at least (0 when it holds no key); no sample without a witness',
      [],
      (g) => {
        const w = witness();
        if (w === null) g.remove({});
        else g.set(w.holder === 'self' && w.leaseRemainingMs !== null ? w.leaseRemainingMs / 1000 : 0);
      },
    );
    // Which machine a scrape came from, and which its peer is, by label: after a sync both nodes
    // carry the master's system name, so only the label (node.json, never synced) tells them apart.
    // Join on it (`* on(instance) group_left(label) gwd_node_info`) rather than adding it everywhere.
    gauge('gwd_node_info', 'This node: 1, with its uuid, label (local, never synced) and system name (shared by the pair)', ['uuid', 'label', 'system_name'], (g) => {
      const n = status().node;
      g.reset();
      g.set({ uuid: n.uuid, label: n.label, system_name: n.systemName }, 1);
    });
    gauge('gwd_peer_info', 'The redundancy peer: 1 while connected, else 0, with its uuid, label and system name as last heard; no sample without a peer', ['uuid', 'label', 'system_name'], (g) => {
      const p = status().redundancy.peer;
      g.reset();
      if (p && p.uuid) g.set({ uuid: p.uuid, label: p.label ?? '', system_name: p.systemName ?? '' }, p.connected ? 1 : 0);
    });
    gauge('gwd_pending_approvals', 'Certificates and connections waiting for approval', [], (g) => g.set(source.pendingApprovals()));
    this.failovers = new Counter({
      name: 'gwd_activations_total',
      help: 'Activity changes of this node by reason (failovers, recoveries, forced)',
      labelNames: ['reason', 'to'],
      registers: [r],
    });
    this.hookFailures = new Counter({
      name: 'gwd_hook_failures_total',
      help: 'Hook runs that failed, timed out or could not start',
      labelNames: ['hook'],
      registers: [r],
    });
  }

  /** Feed every event here (subscribe to the event log). */
  onEvent(e: EventRecord): void {
    if (e.type === 'activity.changed') {
      const d = e.data as { to?: unknown; reason?: unknown };
      this.failovers.inc({ reason: String(d.reason ?? 'unknown'), to: String(d.to ?? 'unknown') });
    } else if (e.type === 'hook.failed') {
      this.hookFailures.inc({ hook: String((e.data as { hook?: unknown }).hook ?? 'unknown') });
    }
  }

  contentType(): string {
    return this.registry.contentType;
  }

  async text(): Promise<string> {
    this.scrape = this.source.status();
    try {
      return await this.registry.metrics();
    } finally {
      this.scrape = null;
    }
  }
}
