import type { Decision, WitnessResult } from '../../core/redundancy/index.js';
import { GwError, type ErrorCode } from '../../core/errors.js';
import type { WitnessSettings } from '../../core/settings/types.js';
import type { Logger } from '../logger.js';
import type { EtcdWitness } from '../witness/etcd-client.js';

/** The machine's `witness` decisions, handed over as they are. */
export type WitnessRequest = Extract<Decision, { type: 'witness' }>;

/**
 * Section 9 in the daemon: runs the machine's witness requests against etcd, one at a time and in
 * order, and answers each acquire and renew with a witnessResult. It owns this process's lease:
 * an acquire renews it (or grants a new one) and then takes the leader key with it; a release
 * forgets the lease at once and revokes it, so a lease given up is never used again even if etcd
 * does not hear the revoke (it then runs out by itself). `sentAt` in each answer is the
 * performance.now() of the request that granted or renewed the lease: the clock the machine uses.
 * The etcd client (and undici with it) is loaded only when a witness is configured.
 */
export class WitnessService {
  private lease: string | null = null;
  private queue: Promise<void> = Promise.resolve();
  private client: EtcdWitness | null = null;
  private loading: Promise<EtcdWitness> | null = null;
  private closed = false;
  /** The cluster id, once etcd has answered (the hello carries it for the peer's check). */
  clusterId: string | null = null;

  constructor(
    readonly settings: WitnessSettings,
    private readonly nodeId: string,
    private readonly answer: (id: string, result: WitnessResult) => void,
    private readonly logger: Logger,
  ) {}

  /** Queue a request; resolves once it ran (a release: once etcd answered or the timeout passed). */
  run(request: WitnessRequest): Promise<void> {
    const next = this.queue.then(() => this.handle(request)).catch((err: unknown) => {
      this.logger.error({ err }, 'witness request failed unexpectedly');
    });
    this.queue = next;
    return next;
  }

  /** Resolves once every request queued so far has run (and its answer was handed over). */
  idle(): Promise<void> {
    return this.queue;
  }

  /** Stop using etcd: the lease is revoked (best effort, bounded) and the client closed. */
  async close(): Promise<void> {
    await this.run({ type: 'witness', op: 'release' });
    this.closed = true;
    const client = this.client;
    this.client = null;
    await client?.close().catch(() => undefined);
  }

  private async etcd(): Promise<EtcdWitness> {
    if (this.client) return this.client;
    this.loading ??= import('../witness/etcd-client.js').then(({ EtcdWitness: Client }) => {
      this.client = new Client(this.settings, { logger: this.logger });
      return this.client;
    });
    return this.loading;
  }

  private async handle(r: WitnessRequest): Promise<void> {
    if (this.closed) {
      if (r.op !== 'release') this.answer(r.id, { kind: 'unreachable', error: 'the witness settings changed' });
      return;
    }
    switch (r.op) {
      case 'acquire':
        return this.answer(r.id, await this.acquire(r.epoch));
      case 'renew':
        return this.answer(r.id, await this.renew());
      case 'release':
        return this.release();
    }
  }

  private async acquire(epoch: number): Promise<WitnessResult> {
    try {
      const etcd = await this.etcd();
      await this.learnClusterId(etcd);
      let held: { sentAt: number; ttlMs: number } | null = null;
      if (this.lease !== null) {
        try {
          held = await etcd.renew(this.lease);
        } catch (err) {
          if (!isCode(err, 'GW_ERR_WITNESS_LEASE_LOST')) throw err;
          this.lease = null;
        }
      }
      if (this.lease === null) {
        const g = await etcd.grant();
        this.lease = g.leaseId;
        held = { sentAt: g.sentAt, ttlMs: g.ttlMs };
      }
      const r = await etcd.acquire(this.lease, { uuid: this.nodeId, epoch });
      if (!r.acquired) return { kind: 'taken', holder: r.holder };
      return { kind: 'held', sentAt: held!.sentAt, ttlMs: held!.ttlMs };
    } catch (err) {
      if (isCode(err, 'GW_ERR_WITNESS_LEASE_LOST')) this.lease = null;
      return { kind: 'unreachable', error: message(err) };
    }
  }

  private async renew(): Promise<WitnessResult> {
    if (this.lease === null) return { kind: 'lost' };
    try {
      const r = await (await this.etcd()).renew(this.lease);
      return { kind: 'held', sentAt: r.sentAt, ttlMs: r.ttlMs };
    } catch (err) {
      if (isCode(err, 'GW_ERR_WITNESS_LEASE_LOST')) {
        this.lease = null;
        return { kind: 'lost' };
      }
      return { kind: 'unreachable', error: message(err) };
    }
  }

  private async release(): Promise<void> {
    const lease = this.lease;
    this.lease = null;
    if (lease === null || this.client === null) return;
    try {
      await this.client.release(lease);
    } catch (err) {
      // It runs out by itself after its TTL; never used again either way.
      this.logger.warn({ err: message(err) }, 'could not revoke the witness lease; it expires by itself');
    }
  }

  private async learnClusterId(etcd: EtcdWitness): Promise<void> {
    if (this.clusterId !== null) return;
    this.clusterId = await etcd.clusterId();
  }
}

function isCode(err: unknown, code: ErrorCode): boolean {
  return err instanceof GwError && err.code === code;
}

function message(err: unknown): string {
  return err instanceof GwError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
}
