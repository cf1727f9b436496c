/**
 * The explorer's witness (DESIGN.md section 9): one etcd with leases and the leader key, and each
 * node's client as the daemon's adapter behaves (src/daemon/witness): requests one at a time, in
 * order; each takes ETCD_DELAY ms to reach etcd and as long back; a node that cannot reach etcd (its
 * cable cut, or etcd down) gets `unreachable` after the request timeout, and a request applied at
 * etcd whose answer is lost on the way back is reported the same way (the ambiguity is real). An
 * acquire renews the node's lease (or grants one) and takes the key if it is free or already the
 * lease's; a release forgets the lease at once, whether or not etcd hears the revoke. A lease ends
 * at etcd `leaseTtlMs` after etcd handled its last grant or keep-alive.
 */
import type { WitnessResult } from '../../../src/core/redundancy/index.js';
import { maxRequestTimeoutMs } from '../../../src/daemon/witness/etcd-client.js';
import type { NodeIx, WNode, World } from './world.js';

/** One-way time between a node and etcd, ms. */
export const ETCD_DELAY = 3;


type Op = { op: 'acquire'; id: string; epoch: number } | { op: 'renew'; id: string } | { op: 'release' };

interface Lease {
  owner: NodeIx;
  expiresAt: number;
}

export class FakeEtcd {
  up = true;
  /** Each node's cable to etcd. */
  reach: [boolean, boolean] = [true, true];
  private leases = new Map<number, Lease>();
  private key: { lease: number; uuid: string; epoch: number } | null = null;
  private nextLease = 1;
  /** Each node's client: the lease it uses, its queue, whether a request is out. */
  private client: { lease: number | null; queue: Op[]; busy: boolean; gen: number }[] = [
    { lease: null, queue: [], busy: false, gen: -1 },
    { lease: null, queue: [], busy: false, gen: -1 },
  ];

  constructor(
    private readonly w: World,
    readonly ttl: number,
  ) {}

  /** Who holds the key now, by etcd's own clock (for the trace and tests). */
  holder(): NodeIx | null {
    this.expire();
    return this.key === null ? null : (this.leases.get(this.key.lease)?.owner ?? null);
  }

  reachable(ix: NodeIx): boolean {
    return this.up && this.reach[ix];
  }

  /** A `witness` decision of node n's machine. */
  request(n: WNode, op: Op): void {
    const c = this.client[n.ix];
    if (c.gen !== n.gen) {
      // A new process: the old one's lease lives on at etcd until it runs out, unknown to this one.
      this.client[n.ix] = { lease: null, queue: [], busy: false, gen: n.gen };
    }
    const cl = this.client[n.ix];
    cl.queue.push(op);
    this.pump(n);
  }

  private pump(n: WNode): void {
    const cl = this.client[n.ix];
    if (cl.busy || cl.queue.length === 0) return;
    const op = cl.queue.shift()!;
    if (op.op === 'release') {
      // In order, after any acquire before it (whose lease it then revokes), and forgotten at
      // once: a lease given up is never used again, even if the revoke is lost on the way.
      const lease = cl.lease;
      cl.lease = null;
      if (lease !== null) this.send(n, () => this.revoke(lease));
      return this.pump(n);
    }
    cl.busy = true;
    const sentAt = this.w.now;
    const gen = n.gen;
    const timeout = maxRequestTimeoutMs(this.ttl);
    const answer = (result: WitnessResult, at: number): void => {
      this.w.proc(n, at, 'io', () => {
        if (this.client[n.ix].gen !== gen) return;
        cl.busy = false;
        this.w.feed(n, { type: 'witnessResult', id: op.id, result });
        this.pump(n);
      });
    };
    const unreachable = (): void => answer({ kind: 'unreachable', error: 'timeout' }, sentAt + timeout);
    if (!this.reachable(n.ix)) return unreachable();
    this.w.clock.at(sentAt + ETCD_DELAY, () => {
      if (!this.reachable(n.ix)) return unreachable();
      const result = op.op === 'acquire' ? this.acquire(n, op.epoch, sentAt) : this.renew(n, sentAt);
      // The answer comes back, or is lost on a cable cut meanwhile (then: a timeout, as in the daemon).
      this.w.clock.at(sentAt + 2 * ETCD_DELAY, () => {
        if (!this.reachable(n.ix)) return unreachable();
        if (result.kind === 'lost') cl.lease = null;
        answer(result, this.w.now);
      });
    });
  }

  /** Fire-and-forget (a revoke): applied if etcd can be reached on the way there. */
  private send(n: WNode, apply: () => void): void {
    if (!this.reachable(n.ix)) return;
    this.w.clock.at(this.w.now + ETCD_DELAY, () => {
      if (this.reachable(n.ix)) apply();
    });
  }

  private expire(): void {
    const now = this.w.now;
    for (const [id, l] of this.leases) if (now >= l.expiresAt) this.leases.delete(id);
    if (this.key !== null && !this.leases.has(this.key.lease)) this.key = null;
  }

  private revoke(lease: number): void {
    this.leases.delete(lease);
    this.expire();
  }

  private acquire(n: WNode, epoch: number, sentAt: number): WitnessResult {
    this.expire();
    const cl = this.client[n.ix];
    let lease = cl.lease !== null && this.leases.has(cl.lease) ? cl.lease : null;
    if (lease === null) {
      lease = this.nextLease++;
      this.leases.set(lease, { owner: n.ix, expiresAt: this.w.now + this.ttl });
    } else {
      this.leases.get(lease)!.expiresAt = this.w.now + this.ttl;
    }
    // The answer carries the lease id: lost on the way back, the lease is unknown to the node and
    // runs out by itself (holding the key, if it took it, until then).
    const granted = lease;
    this.w.clock.at(this.w.now + ETCD_DELAY, () => {
      if (this.reachable(n.ix) && this.client[n.ix].gen === n.gen) this.client[n.ix].lease = granted;
    });
    if (this.key === null || this.key.lease === lease) {
      this.key = { lease, uuid: n.uuid, epoch };
      return { kind: 'held', sentAt, ttlMs: this.ttl };
    }
    return { kind: 'taken', holder: { uuid: this.key.uuid, epoch: this.key.epoch } };
  }

  private renew(n: WNode, sentAt: number): WitnessResult {
    this.expire();
    const lease = this.client[n.ix].lease;
    const l = lease === null ? undefined : this.leases.get(lease);
    if (l === undefined) return { kind: 'lost' };
    l.expiresAt = this.w.now + this.ttl;
    return { kind: 'held', sentAt, ttlMs: this.ttl };
  }
}
