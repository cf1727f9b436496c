/**
 * The etcd witness of DESIGN section 9: the pair's third vote, a leader key `<prefix>/leader` =
 * {uuid, epoch} held under this node's etcd lease. This file is the I/O adapter only; the rules
 * (when to grant, renew, acquire, stand down) live in the pure core. Talks to etcd's v3 JSON gateway
 * over HTTP(S) through etcd-http.ts (undici, imported when the first EtcdWitness is made, never by a
 * daemon without a witness).
 *
 * Interface:
 *
 *   new EtcdWitness(settings, { requestTimeoutMs?, logger? })
 *   clusterId(): Promise<string>           etcd's cluster id (decimal string), for the hello check
 *   grant(): Promise<{ leaseId, ttlMs, sentAt }>
 *   renew(leaseId): Promise<{ ttlMs, sentAt }>       keepalive; lease gone -> GW_ERR_WITNESS_LEASE_LOST
 *   revoke(leaseId): Promise<void>         a lease already gone counts as revoked
 *   acquire(leaseId, { uuid, epoch }): Promise<{ acquired, holder }>
 *   release(leaseId): Promise<void>        delete the key if this lease holds it, then revoke
 *   read(): Promise<{ holder, leaseId }>
 *   close(): Promise<void>
 *   requestTimeoutMs, endpoints, leaderKey  (read-only, for status and logs)
 *
 * - Lease ids are etcd's int64 as decimal strings (JSON numbers would lose precision).
 * - TTLs: etcd counts whole seconds, so leaseTtlMs is rounded up to the next second, and etcd
 *   raises a TTL below its minimum (2 s with etcd's default timing: 1.5 × election timeout) to that
 *   minimum. `ttlMs` is always the TTL etcd granted, which is never shorter than the one asked for.
 * - `sentAt` is performance.now() (monotonic) just before the request etcd answered was sent: the
 *   lease lives at least `ttlMs` from then, so the holder's deadline is sentAt + ttlMs − margin.
 *   Whether an answer that came back too late still counts is the caller's decision.
 * - Every request is bounded by `requestTimeoutMs`: by default min(leaseTtlMs / 3 − 50, 1500) ms,
 *   at least 100 ms; a larger value given in opts is lowered to that bound. With several endpoints
 *   one request takes at most requestTimeoutMs × endpoints (each endpoint is tried once).
 * - Errors are GwError: GW_ERR_WITNESS_UNREACHABLE (no endpoint answered; each one and why),
 *   GW_ERR_WITNESS_REFUSED (etcd answered with an error, or the leader key holds something that is
 *   not {uuid, epoch}), GW_ERR_WITNESS_LEASE_LOST (the lease is gone: keepalive with TTL 0, or
 *   "requested lease not found" on acquire), GW_ERR_WITNESS_TLS (ca/cert/key file missing,
 *   unreadable or not usable: which file and why; checked before the first connection).
 * - acquire and release are idempotent, so a request that timed out on one endpoint and is sent
 *   again to the next is harmless; a repeated grant may leave an unused lease behind, which expires
 *   on its own after its TTL and holds no key.
 */
import { GwError } from '../../core/errors.js';
import { EtcdHttp, type EtcdAnswer, type WitnessLogger } from './etcd-http.js';
import type { WitnessSettings } from '../../core/settings/types.js';
import type { WitnessHolder } from '../../core/redundancy/types.js';

export type { WitnessLogger } from './etcd-http.js';
export type { WitnessTlsPaths } from './etcd-tls.js';

// The settings (redundancy.json `witness`) and the key's value are the core's types.
export type { WitnessSettings } from '../../core/settings/types.js';
export type { WitnessHolder } from '../../core/redundancy/types.js';

export interface EtcdWitnessOptions {
  requestTimeoutMs?: number | undefined;
  logger?: WitnessLogger | undefined;
}

/** The request timeout for a lease: a little under a third of it, at most 1500 ms, at least 100 ms. */
export function maxRequestTimeoutMs(leaseTtlMs: number): number {
  return Math.max(100, Math.min(Math.floor(leaseTtlMs / 3) - 50, 1500));
}

const LEASE_NOT_FOUND = /lease not found/i;

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

function unb64(text: unknown): string {
  return typeof text === 'string' ? Buffer.from(text, 'base64').toString('utf8') : '';
}

function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export class EtcdWitness {
  readonly leaderKey: string;
  readonly requestTimeoutMs: number;
  private readonly http: EtcdHttp;
  private readonly ttlSeconds: number;

  constructor(
    readonly settings: WitnessSettings,
    opts: EtcdWitnessOptions = {},
  ) {
    if (!Number.isFinite(settings.leaseTtlMs) || settings.leaseTtlMs <= 0) {
      throw new GwError('GW_ERR_REDUNDANCY_INVALID_SETTINGS', { detail: `witness.leaseTtlMs must be a positive number of ms, not ${settings.leaseTtlMs}` });
    }
    const prefix = String(settings.prefix ?? '').replace(/\/+$/, '');
    if (prefix === '') {
      throw new GwError('GW_ERR_REDUNDANCY_INVALID_SETTINGS', { detail: 'witness.prefix is empty: give one per pair, e.g. /gwd/plant-a' });
    }
    this.leaderKey = `${prefix}/leader`;
    this.ttlSeconds = Math.max(1, Math.ceil(settings.leaseTtlMs / 1000));
    const bound = maxRequestTimeoutMs(settings.leaseTtlMs);
    const asked = opts.requestTimeoutMs;
    this.requestTimeoutMs = asked !== undefined && Number.isFinite(asked) && asked > 0 ? Math.min(Math.floor(asked), bound) : bound;
    this.http = new EtcdHttp({ endpoints: settings.endpoints, requestTimeoutMs: this.requestTimeoutMs, tls: settings.tls, logger: opts.logger });
    this.http.preload();
  }

  get endpoints(): readonly string[] {
    return this.http.endpoints;
  }

  /** The endpoint the next request goes to first (the one that answered last). */
  currentEndpoint(): string {
    return this.http.currentEndpoint();
  }

  async clusterId(): Promise<string> {
    const { body, endpoint } = await this.http.post('/v3/maintenance/status', {}, 'status');
    const id = obj(body.header).cluster_id;
    if (typeof id !== 'string' || id === '') throw this.malformed(endpoint, 'status', 'no header.cluster_id in the answer');
    return id;
  }

  async grant(): Promise<{ leaseId: string; ttlMs: number; sentAt: number }> {
    const { body, endpoint, sentAt } = await this.http.post('/v3/lease/grant', { TTL: String(this.ttlSeconds) }, 'lease grant');
    if (typeof body.error === 'string' && body.error !== '') {
      throw new GwError('GW_ERR_WITNESS_REFUSED', { endpoint, operation: 'lease grant', detail: body.error });
    }
    const leaseId = body.ID;
    const ttl = Number(body.TTL);
    if (typeof leaseId !== 'string' || leaseId === '' || !(ttl > 0)) {
      throw this.malformed(endpoint, 'lease grant', `no lease ID and TTL in the answer (${JSON.stringify(body).slice(0, 120)})`);
    }
    return { leaseId, ttlMs: ttl * 1000, sentAt };
  }

  async renew(leaseId: string): Promise<{ ttlMs: number; sentAt: number }> {
    const operation = 'lease keepalive';
    let answer: EtcdAnswer;
    try {
      answer = await this.http.post('/v3/lease/keepalive', { ID: leaseId }, operation, true);
    } catch (err) {
      throw this.leaseGone(err, leaseId, operation);
    }
    const ttl = Number(answer.body.TTL ?? 0);
    if (!(ttl > 0)) {
      throw new GwError('GW_ERR_WITNESS_LEASE_LOST', { leaseId, endpoint: answer.endpoint, operation, detail: 'TTL 0: the lease expired or was revoked' });
    }
    return { ttlMs: ttl * 1000, sentAt: answer.sentAt };
  }

  async revoke(leaseId: string): Promise<void> {
    try {
      await this.http.post('/v3/lease/revoke', { ID: leaseId }, 'lease revoke');
    } catch (err) {
      if (isLeaseNotFound(err)) return; // already gone: what revoking was for
      throw err;
    }
  }

  async acquire(leaseId: string, value: WitnessHolder): Promise<{ acquired: boolean; holder: WitnessHolder | null }> {
    const operation = 'acquire of the leader key';
    const key = b64(this.leaderKey);
    const put = { request_put: { key, value: b64(JSON.stringify({ uuid: value.uuid, epoch: value.epoch })), lease: leaseId } };
    // Absent (create_revision 0): create it. Else, held by this lease: write it again. Else: read the holder.
    const txn = {
      compare: [{ target: 'CREATE', key, create_revision: '0', result: 'EQUAL' }],
      success: [put],
      failure: [
        {
          request_txn: {
            compare: [{ target: 'LEASE', key, lease: leaseId, result: 'EQUAL' }],
            success: [put],
            failure: [{ request_range: { key } }],
          },
        },
      ],
    };
    let answer: EtcdAnswer;
    try {
      answer = await this.http.post('/v3/kv/txn', txn, operation);
    } catch (err) {
      throw this.leaseGone(err, leaseId, operation);
    }
    const { body, endpoint } = answer;
    if (body.succeeded === true) return { acquired: true, holder: { uuid: value.uuid, epoch: value.epoch } };
    const inner = obj(obj(arr(body.responses)[0]).response_txn);
    if (inner.succeeded === true) return { acquired: true, holder: { uuid: value.uuid, epoch: value.epoch } };
    const kv = arr(obj(obj(arr(inner.responses)[0]).response_range).kvs)[0];
    // Deleted between the two compares of this one transaction cannot happen; absent here means the
    // answer is not what was asked for.
    if (!kv) throw this.malformed(endpoint, operation, 'the failure branch returned no holder');
    return { acquired: false, holder: this.parseHolder(obj(kv).value, endpoint, operation) };
  }

  async release(leaseId: string): Promise<void> {
    const key = b64(this.leaderKey);
    const txn = {
      compare: [{ target: 'LEASE', key, lease: leaseId, result: 'EQUAL' }],
      success: [{ request_delete_range: { key } }],
      failure: [],
    };
    await this.http.post('/v3/kv/txn', txn, 'release of the leader key');
    await this.revoke(leaseId);
  }

  async read(): Promise<{ holder: WitnessHolder | null; leaseId: string | null }> {
    const operation = 'read of the leader key';
    const { body, endpoint } = await this.http.post('/v3/kv/range', { key: b64(this.leaderKey) }, operation);
    const kv = arr(body.kvs)[0];
    if (!kv) return { holder: null, leaseId: null };
    const lease = obj(kv).lease;
    return {
      holder: this.parseHolder(obj(kv).value, endpoint, operation),
      leaseId: typeof lease === 'string' && lease !== '' && lease !== '0' ? lease : null,
    };
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  private parseHolder(raw: unknown, endpoint: string, operation: string): WitnessHolder {
    const text = unb64(raw);
    try {
      const v = JSON.parse(text) as unknown;
      const o = obj(v);
      if (typeof o.uuid === 'string' && o.uuid !== '' && typeof o.epoch === 'number' && Number.isInteger(o.epoch) && o.epoch >= 0) {
        return { uuid: o.uuid, epoch: o.epoch };
      }
    } catch {
      // reported below
    }
    return this.throwMalformed(endpoint, operation, `${this.leaderKey} holds ${JSON.stringify(text.slice(0, 80))}, not {uuid, epoch}: was it written by something else than gwd?`);
  }

  private throwMalformed(endpoint: string, operation: string, detail: string): never {
    throw this.malformed(endpoint, operation, detail);
  }

  private malformed(endpoint: string, operation: string, detail: string): GwError {
    return new GwError('GW_ERR_WITNESS_REFUSED', { endpoint, operation, detail });
  }

  private leaseGone(err: unknown, leaseId: string, operation: string): unknown {
    if (!isLeaseNotFound(err)) return err;
    const d = obj((err as GwError).details);
    return new GwError('GW_ERR_WITNESS_LEASE_LOST', { leaseId, endpoint: String(d.endpoint), operation, detail: String(d.etcdMessage) });
  }
}

function isLeaseNotFound(err: unknown): boolean {
  if (!(err instanceof GwError) || err.code !== 'GW_ERR_WITNESS_REFUSED') return false;
  const d = obj(err.details);
  return d.grpcCode === 5 && LEASE_NOT_FOUND.test(String(d.etcdMessage ?? ''));
}
